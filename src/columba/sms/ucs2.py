"""UCS-2 as SMS carries it today: UTF-16BE (SMPP ``data_coding`` 8, TS 23.038 §6.2.3).

Handsets and SMSCs treat data_coding 8 as UTF-16BE, so characters outside the Basic
Multilingual Plane (emoji) travel as surrogate pairs and cost two 16-bit units (sms-stack.md
§6). A pair must never be cut across two parts: each half alone is not a character.
"""

from __future__ import annotations

from collections.abc import Iterator

from columba.sms.errors import SmsUsageError, UserDataError

#: 16-bit units in one part: 140 octets alone, 134 after an 8-bit-ref UDH, 132 after 16-bit.
MAX_UNITS_SINGLE = 70


def utf16_units(char: str) -> int:
    """The 16-bit units one character takes: 2 outside the BMP (a surrogate pair), else 1."""
    return 2 if ord(char) > 0xFFFF else 1


def count_units(text: str) -> int:
    """The 16-bit units ``text`` takes in UTF-16 (its UCS-2 octet length is twice this)."""
    return sum(utf16_units(char) for char in text)


def iter_char_units(text: str) -> Iterator[tuple[str, int]]:
    """Yield each character with its cost in 16-bit units (for splitting at char boundaries).

    Raises:
        SmsUsageError: ``text`` holds a lone surrogate, which has no UTF-16 encoding.
    """
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise SmsUsageError(f"lone surrogate U+{ord(char):04X} cannot be sent")
        yield char, utf16_units(char)


def encode_ucs2(text: str) -> bytes:
    """Encode ``text`` as UTF-16BE, with surrogate pairs for characters outside the BMP.

    Raises:
        SmsUsageError: ``text`` holds a lone surrogate.
    """
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise SmsUsageError(f"text cannot be encoded as UTF-16: {exc.reason}") from None


def decode_ucs2(data: bytes, *, errors: str = "strict") -> str:
    """Decode UTF-16BE octets (data_coding 8) into text.

    Args:
        data: The octets, an even number of them.
        errors: ``"strict"`` raises on a lone surrogate or an odd length; ``"replace"`` puts
            U+FFFD in their place (for showing what a broken sender sent).

    Raises:
        UserDataError: the octets are not valid UTF-16BE (strict only).
    """
    try:
        return data.decode("utf-16-be", errors)
    except UnicodeDecodeError as exc:
        raise UserDataError(f"invalid UCS-2/UTF-16BE user data: {exc.reason}") from None
