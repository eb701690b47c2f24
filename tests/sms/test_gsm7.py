"""GSM 03.38 default alphabet: tables, septet counts, packing (3GPP TS 23.038)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.sms.errors import SmsUsageError, UserDataError
from columba.sms.gsm7 import (
    BASIC_CHARSET,
    ESCAPE,
    EXTENSION_CHARSET,
    can_encode_gsm7,
    count_septets,
    decode_gsm7,
    decode_gsm7_packed,
    encode_gsm7,
    encode_gsm7_packed,
    fill_bits_after,
    max_septets,
    pack_septets,
    unpack_septets,
)

from .strategies import gsm_heavy_escape_text, gsm_text


def test_basic_table_round_trips_every_code() -> None:
    assert len(BASIC_CHARSET) == 128
    for code, char in enumerate(BASIC_CHARSET):
        if code == ESCAPE:
            continue
        assert encode_gsm7(char) == bytes([code])
        assert decode_gsm7(bytes([code])) == char


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("@", 0x00),
        ("£", 0x01),
        ("$", 0x02),
        ("\n", 0x0A),
        ("\r", 0x0D),
        ("Δ", 0x10),
        ("_", 0x11),
        ("ß", 0x1E),
        (" ", 0x20),
        ("¤", 0x24),
        ("¡", 0x40),
        ("§", 0x5F),
        ("¿", 0x60),
        ("à", 0x7F),
    ],
)
def test_basic_table_spot_checks(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([code])


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\f", 0x0A),
        ("^", 0x14),
        ("{", 0x28),
        ("}", 0x29),
        ("\\", 0x2F),
        ("[", 0x3C),
        ("~", 0x3D),
        ("]", 0x3E),
        ("|", 0x40),
        ("€", 0x65),
    ],
)
def test_extension_table_uses_the_escape(char: str, code: int) -> None:
    assert EXTENSION_CHARSET[code] == char
    assert encode_gsm7(char) == bytes([0x1B, code])
    assert decode_gsm7(bytes([0x1B, code])) == char
    assert count_septets(char) == 2


def test_counting_and_encodability() -> None:
    assert count_septets("Hello") == 5
    assert count_septets("€10 [ok]") == 11
    assert can_encode_gsm7("Hello {world} €")
    assert not can_encode_gsm7("你好")
    assert not can_encode_gsm7("ç")  # only capital Ç is in the basic table
    with pytest.raises(SmsUsageError):
        count_septets("😀")
    with pytest.raises(SmsUsageError):
        encode_gsm7("a你")


def test_decoding_unknown_escapes_follows_the_spec() -> None:
    # An undefined extension code shows the basic character; ESC ESC shows a space.
    assert decode_gsm7(bytes([0x1B, 0x41])) == "A"
    assert decode_gsm7(bytes([0x1B, 0x1B, 0x41])) == " A"
    assert decode_gsm7(b"ab\x1b") == "ab"  # a lone trailing escape is dropped


def test_decoding_rejects_octets_above_0x7f() -> None:
    with pytest.raises(UserDataError):
        decode_gsm7(b"ab\x80")


def test_packing_golden() -> None:
    # The classic example: "hellohello" packs into E8 32 9B FD 46 97 D9 EC 37.
    assert encode_gsm7_packed("hellohello").hex() == "e8329bfd4697d9ec37"
    assert decode_gsm7_packed(bytes.fromhex("e8329bfd4697d9ec37")) == "hellohello"


def test_udh_fill_bits_and_limits() -> None:
    assert fill_bits_after(0) == 0
    assert fill_bits_after(6) == 1  # UDHL + 5: 48 bits, one fill bit to 49
    assert fill_bits_after(7) == 0  # UDHL + 6: 56 bits is 8 septets
    assert max_septets(0) == 160
    assert max_septets(6) == 153
    assert max_septets(7) == 152
    # 153 septets after a 6-octet UDH and one fill bit take exactly 134 octets.
    assert len(pack_septets(bytes(153), fill_bits=1)) == 134


def test_seven_spare_bits_are_filled_with_cr() -> None:
    packed = pack_septets(encode_gsm7("1234567"))
    assert len(packed) == 7
    assert packed[-1] >> 1 == 0x0D
    assert decode_gsm7_packed(packed) == "1234567"
    assert decode_gsm7_packed(packed, count=7) == "1234567"


@given(gsm_text, st.integers(min_value=0, max_value=6))
def test_packed_round_trip_with_count(text: str, fill: int) -> None:
    septets = encode_gsm7(text)
    packed = pack_septets(septets, fill_bits=fill)
    assert len(packed) <= (fill + 7 * len(septets) + 7 + 7) // 8
    assert unpack_septets(packed, fill_bits=fill, count=len(septets)) == septets


@given(gsm_heavy_escape_text)
def test_unpacked_round_trip(text: str) -> None:
    encoded = encode_gsm7(text)
    assert len(encoded) == count_septets(text)
    assert decode_gsm7(encoded) == text
    assert can_encode_gsm7(text)


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=6))
def test_unpacking_any_octets_gives_septets(data: bytes, fill: int) -> None:
    septets = unpack_septets(data, fill_bits=fill)
    assert all(code < 0x80 for code in septets)
    decode_gsm7(septets)  # never raises on septets
