"""SMPP ``data_coding`` values (SMPP 3.4 §5.2.19) and text codecs for the ones we read.

Columba sends only GSM 7-bit (0, unpacked) and UCS-2 (8). It reads the text codings an SMSC
may use for MO too. Note that SMPP 0x0E is KS C 5601, while CMPP's Msg_Fmt 15 means GB/GBK;
the two tables must be mapped explicitly, never shared (sms-stack.md §6).
"""

from __future__ import annotations

from enum import IntEnum

from columba.sms.errors import SmsUsageError, UserDataError
from columba.sms.gsm7 import can_encode_gsm7, decode_gsm7, encode_gsm7
from columba.sms.ucs2 import decode_ucs2, encode_ucs2


class DataCoding(IntEnum):
    """SMPP 3.4 ``data_coding`` (§5.2.19)."""

    DEFAULT = 0x00  # SMSC default alphabet: GSM 03.38, unpacked, on every SMSC we target
    IA5 = 0x01  # IA5 (CCITT T.50) / ASCII
    BINARY_ALIAS = 0x02  # octet unspecified (TDMA/CDMA)
    LATIN_1 = 0x03  # ISO-8859-1
    BINARY = 0x04  # octet unspecified (8-bit binary)
    JIS = 0x05  # JIS X 0208-1990
    CYRILLIC = 0x06  # ISO-8859-5
    LATIN_HEBREW = 0x07  # ISO-8859-8
    UCS2 = 0x08  # ISO/IEC 10646, sent as UTF-16BE
    PICTOGRAM = 0x09
    ISO_2022_JP = 0x0A  # music codes
    EXTENDED_KANJI_JIS = 0x0D  # JIS X 0212-1990
    KS_C_5601 = 0x0E


# Python codecs for the single-byte and multi-byte text codings. JIS X 0212 alone has no
# Python codec, so 0x0D is not decoded.
_PYTHON_CODECS: dict[int, str] = {
    DataCoding.IA5: "ascii",
    DataCoding.LATIN_1: "latin-1",
    DataCoding.JIS: "iso2022_jp",
    DataCoding.CYRILLIC: "iso8859_5",
    DataCoding.LATIN_HEBREW: "iso8859_8",
    DataCoding.ISO_2022_JP: "iso2022_jp",
    DataCoding.KS_C_5601: "euc_kr",
}


def choose_coding(text: str) -> DataCoding:
    """GSM 7-bit when every character fits (160 per SMS), else UCS-2 (70 per SMS)."""
    return DataCoding.DEFAULT if can_encode_gsm7(text) else DataCoding.UCS2


def encode_text(text: str, data_coding: int) -> bytes:
    """Encode ``text`` for ``data_coding`` 0 (unpacked GSM 7-bit) or 8 (UCS-2).

    Raises:
        SmsUsageError: another coding, or text the coding cannot carry.
    """
    if data_coding == DataCoding.DEFAULT:
        return encode_gsm7(text)
    if data_coding == DataCoding.UCS2:
        return encode_ucs2(text)
    raise SmsUsageError(f"Columba sends text only as data_coding 0 or 8, not {data_coding}")


def decode_text(data: bytes, data_coding: int, *, errors: str = "strict") -> str:
    """Decode message octets (without UDH) sent with ``data_coding``.

    Args:
        data: The octets after any UDH.
        data_coding: The PDU's data_coding. Values in the TS 23.038 §4 coding groups that
            SMSCs pass through (0x10-0x3F, 0xC0-0xFF) are read by their alphabet bits.
        errors: ``"strict"``, or ``"replace"`` to show broken input with U+FFFD.

    Raises:
        UserDataError: binary or unknown coding, or octets invalid for the coding.
    """
    coding = _text_coding(data_coding)
    if coding == DataCoding.DEFAULT:
        if errors == "strict":
            return decode_gsm7(data)
        return decode_gsm7(bytes(code if code < 0x80 else 0x3F for code in data))
    if coding == DataCoding.UCS2:
        return decode_ucs2(data, errors=errors)
    codec = _PYTHON_CODECS.get(coding)
    if codec is None:
        raise UserDataError(f"data_coding 0x{data_coding:02X} is not text")
    try:
        return data.decode(codec, errors)
    except UnicodeDecodeError as exc:
        raise UserDataError(f"invalid {codec} user data: {exc.reason}") from None


def _text_coding(data_coding: int) -> int:
    """Map a TS 23.038 §4 data coding scheme that SMSCs pass through to its alphabet."""
    group = data_coding & 0xF0
    if 0x10 <= data_coding <= 0x3F:  # general data coding with a class (flash SMS is 0x10/0x18)
        if data_coding & 0x20:
            return DataCoding.BINARY  # compressed: we do not read it
        return (DataCoding.DEFAULT, DataCoding.BINARY, DataCoding.UCS2, DataCoding.BINARY)[
            (data_coding >> 2) & 0x03
        ]
    if group in (0xC0, 0xD0):  # message waiting indication, GSM 7-bit
        return DataCoding.DEFAULT
    if group == 0xE0:  # message waiting indication, UCS-2
        return DataCoding.UCS2
    if group == 0xF0:  # data coding / message class: bit 2 selects 8-bit data
        return DataCoding.BINARY if data_coding & 0x04 else DataCoding.DEFAULT
    return data_coding
