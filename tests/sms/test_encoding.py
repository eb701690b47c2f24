"""UCS-2/UTF-16BE and data_coding mapping."""

from __future__ import annotations

import pytest
from hypothesis import given

from columba.sms.encoding import DataCoding, choose_coding, decode_text, encode_text
from columba.sms.errors import SmsUsageError, UserDataError
from columba.sms.ucs2 import count_units, decode_ucs2, encode_ucs2

from .strategies import any_text


def test_emoji_is_a_surrogate_pair() -> None:
    assert encode_ucs2("😀").hex() == "d83dde00"
    assert count_units("你😀") == 3
    assert decode_ucs2(bytes.fromhex("4f60d83dde00")) == "你😀"


def test_broken_utf16_is_the_peers_fault() -> None:
    with pytest.raises(UserDataError):
        decode_ucs2(bytes.fromhex("d83d"))  # half a pair
    with pytest.raises(UserDataError):
        decode_ucs2(b"\x4f")  # odd length
    assert decode_ucs2(bytes.fromhex("d83d"), errors="replace") == "\ufffd"


def test_lone_surrogate_cannot_be_sent() -> None:
    with pytest.raises(SmsUsageError):
        encode_ucs2("\ud83d")


def test_coding_choice() -> None:
    assert choose_coding("Hello €") is DataCoding.DEFAULT
    assert choose_coding("你好") is DataCoding.UCS2
    assert choose_coding("café") is DataCoding.DEFAULT  # é is in the basic table
    assert choose_coding("ça va") is DataCoding.UCS2  # lower-case ç is not
    assert choose_coding("") is DataCoding.DEFAULT


@pytest.mark.parametrize(
    ("data", "coding", "text"),
    [
        (b"hello", DataCoding.DEFAULT, "hello"),
        (b"\x00\x11", DataCoding.DEFAULT, "@_"),
        (b"hello", DataCoding.IA5, "hello"),
        ("café".encode("latin-1"), DataCoding.LATIN_1, "café"),
        ("你好".encode("utf-16-be"), DataCoding.UCS2, "你好"),
        ("你好".encode("utf-16-be"), 0x18, "你好"),  # UCS-2, class 0 (flash)
        (b"hi", 0x10, "hi"),  # GSM, class 0 (flash)
        (b"hi", 0xF0, "hi"),  # GSM, class 0, TS 23.038 group 1111
        ("한국".encode("euc_kr"), DataCoding.KS_C_5601, "한국"),
    ],
)
def test_decode_by_data_coding(data: bytes, coding: int, text: str) -> None:
    assert decode_text(data, coding) == text


@pytest.mark.parametrize("coding", [DataCoding.BINARY, DataCoding.BINARY_ALIAS, 0xF4, 0x14])
def test_binary_codings_are_not_text(coding: int) -> None:
    with pytest.raises(UserDataError):
        decode_text(b"\x01\x02", coding)


def test_only_gsm_and_ucs2_are_sent() -> None:
    with pytest.raises(SmsUsageError):
        encode_text("hi", DataCoding.LATIN_1)


@given(any_text)
def test_text_round_trips_in_its_chosen_coding(text: str) -> None:
    coding = choose_coding(text)
    assert decode_text(encode_text(text, coding), coding) == text
