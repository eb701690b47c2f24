"""The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) and its extension table (§6.2.1.1).

SMPP carries ``data_coding`` 0 text as *unpacked* septets, one per octet (sms-stack.md §6); the
air interface packs them 8 septets into 7 octets (TS 23.038 §6.1.2.1.1). Both forms are here:
unpacked for the wire, packed for the 140-octet TP-User-Data budget and its UDH fill bits.

An extension character is sent as the escape septet 0x1B followed by its code, so it costs two
septets; the segmenter must never cut between the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from columba.sms.errors import SmsUsageError, UserDataError

#: The escape to the extension table (TS 23.038 §6.2.1, code 0x1B).
ESCAPE = 0x1B

# TS 23.038 §6.2.1 basic character set, indexed by septet value. 0x1B is the escape and is
# never produced by a character; it is a placeholder in this string.
BASIC_CHARSET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# TS 23.038 §6.2.1.1 extension table: code after the escape -> character.
EXTENSION_CHARSET: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_BASIC_ENCODE: dict[str, int] = {
    char: code for code, char in enumerate(BASIC_CHARSET) if code != ESCAPE
}
_EXTENSION_ENCODE: dict[str, int] = {char: code for code, char in EXTENSION_CHARSET.items()}

#: Characters the default alphabet can carry, with their cost in septets.
SEPTETS_PER_CHAR: dict[str, int] = {
    **dict.fromkeys(_BASIC_ENCODE, 1),
    **dict.fromkeys(_EXTENSION_ENCODE, 2),
}


def can_encode_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the default alphabet or its extension."""
    return all(char in SEPTETS_PER_CHAR for char in text)


def count_septets(text: str) -> int:
    """The septets ``text`` takes: one per basic character, two per extension character.

    Raises:
        SmsUsageError: a character is not in the GSM 7-bit alphabet.
    """
    try:
        return sum(SEPTETS_PER_CHAR[char] for char in text)
    except KeyError as exc:
        raise SmsUsageError(f"{exc.args[0]!r} is not in the GSM 7-bit alphabet") from None


def encode_gsm7(text: str) -> bytes:
    """Encode ``text`` as unpacked septets (one per octet), as SMPP ``data_coding`` 0 carries it.

    Raises:
        SmsUsageError: a character is not in the GSM 7-bit alphabet.
    """
    out = bytearray()
    for char in text:
        code = _BASIC_ENCODE.get(char)
        if code is not None:
            out.append(code)
            continue
        code = _EXTENSION_ENCODE.get(char)
        if code is None:
            raise SmsUsageError(f"{char!r} is not in the GSM 7-bit alphabet")
        out += bytes((ESCAPE, code))
    return bytes(out)


def decode_gsm7(septets: bytes) -> str:
    """Decode unpacked septets (one per octet) into text.

    Following TS 23.038 §6.2.1.1, an escape followed by a code the extension table does not
    define shows the basic character of that code, and a second escape (reserved for a future
    table) shows a space. A lone escape at the very end is dropped.

    Raises:
        UserDataError: an octet has its high bit set, so it is not a septet.
    """
    return "".join(_decode_chars(septets))


def _decode_chars(septets: bytes) -> Iterator[str]:
    escaped = False
    for code in septets:
        if code > 0x7F:
            raise UserDataError(f"octet 0x{code:02X} is not a GSM 7-bit septet")
        if escaped:
            escaped = False
            if code == ESCAPE:
                yield " "
            else:
                yield EXTENSION_CHARSET.get(code, BASIC_CHARSET[code])
        elif code == ESCAPE:
            escaped = True
        else:
            yield BASIC_CHARSET[code]


def iter_char_septets(text: str) -> Iterator[tuple[str, int]]:
    """Yield each character of ``text`` with its septet cost (for splitting at char boundaries).

    Raises:
        SmsUsageError: a character is not in the GSM 7-bit alphabet.
    """
    for char in text:
        cost = SEPTETS_PER_CHAR.get(char)
        if cost is None:
            raise SmsUsageError(f"{char!r} is not in the GSM 7-bit alphabet")
        yield char, cost


# -- packing (TS 23.038 §6.1.2.1.1) -------------------------------------------------------------


def fill_bits_after(udh_octets: int) -> int:
    """Fill bits that align the first septet after a UDH of ``udh_octets`` (TS 23.040 §9.2.3.24).

    The UDH (including its length octet) is octet-aligned; 7-bit text after it starts on the
    next septet boundary counted from the start of TP-User-Data.
    """
    return (7 - (udh_octets * 8) % 7) % 7


def max_septets(udh_octets: int, *, user_data_octets: int = 140) -> int:
    """How many septets fit in TP-User-Data after a UDH of ``udh_octets`` (0 for none).

    ``max_septets(0) == 160``, ``max_septets(6) == 153`` (8-bit reference),
    ``max_septets(7) == 152`` (16-bit reference).
    """
    return (user_data_octets * 8 - udh_octets * 8 - fill_bits_after(udh_octets)) // 7


def pack_septets(septets: bytes, *, fill_bits: int = 0) -> bytes:
    """Pack septets 8 into 7 octets, least significant bit first, after ``fill_bits`` zero bits.

    When the final octet has exactly 7 spare bits (a receiver would read an extra ``@``), they
    are filled with CR, as TS 23.038 §6.1.2.3.1 says; a wanted CR that would end on an octet
    boundary is followed by a second CR for the same reason (a receiver shows CR CR as CR).

    Raises:
        SmsUsageError: a value is not a septet, or ``fill_bits`` is not 0-6.
    """
    if not 0 <= fill_bits <= 6:
        raise SmsUsageError(f"fill_bits must be 0-6, not {fill_bits}")
    value = 0
    for index, code in enumerate(septets):
        if code > 0x7F:
            raise SmsUsageError(f"0x{code:02X} is not a septet")
        value |= code << (fill_bits + 7 * index)
    bits = fill_bits + 7 * len(septets)
    if bits % 8 == 1 or (bits % 8 == 0 and septets.endswith(b"\r")):
        # Seven spare bits would read as '@', so they carry CR; and a wanted CR that ends on
        # an octet boundary gets a second CR so that it is not taken for that padding.
        value |= 0x0D << bits
        bits += 7
    return value.to_bytes((bits + 7) // 8, "little")


def unpack_septets(data: bytes, *, fill_bits: int = 0, count: int | None = None) -> bytes:
    """Unpack packed 7-bit data into one septet per octet.

    Args:
        data: The packed octets.
        fill_bits: Zero bits before the first septet (after a UDH).
        count: The number of septets (TP-User-Data-Length); when omitted it is inferred from
            the octets, and a CR that fills 7 spare bits at the end is dropped.

    Raises:
        UserDataError: ``count`` needs more octets than ``data`` holds.
    """
    available = max(0, (len(data) * 8 - fill_bits) // 7)
    if count is None:
        count = available
        strip_cr = True
    else:
        strip_cr = False
        if count > available:
            raise UserDataError(f"{count} septets need more than {len(data)} octets")
    value = int.from_bytes(data, "little") >> fill_bits
    out = bytes((value >> (7 * index)) & 0x7F for index in range(count))
    if strip_cr and out.endswith(b"\r") and (fill_bits + 7 * count) % 8 == 0:
        # An exact fit that ends in CR is ambiguous: it is the §6.1.2.3.1 padding only when
        # the CR sits in the last octet's top seven bits (the septets before it left 7 spare).
        out = out[:-1]
    return out


def encode_gsm7_packed(text: str, *, fill_bits: int = 0) -> bytes:
    """Encode ``text`` as packed 7-bit octets (for the air interface or packing SMSCs).

    Raises:
        SmsUsageError: a character is not in the GSM 7-bit alphabet.
    """
    return pack_septets(encode_gsm7(text), fill_bits=fill_bits)


def decode_gsm7_packed(data: bytes, *, fill_bits: int = 0, count: int | None = None) -> str:
    """Decode packed 7-bit octets into text (see :func:`unpack_septets` for the arguments).

    Raises:
        UserDataError: the data is shorter than ``count`` septets.
    """
    return decode_gsm7(unpack_septets(data, fill_bits=fill_bits, count=count))
