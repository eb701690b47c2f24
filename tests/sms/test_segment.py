"""Splitting texts into parts: limits, modes, and the worked examples of sms-stack.md §6."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.sms.encoding import DataCoding, decode_text
from columba.sms.errors import SmsUsageError
from columba.sms.gsm7 import ESCAPE, can_encode_gsm7, count_septets
from columba.sms.reassembly import Completed, Reassembler
from columba.sms.segment import Part, count_parts, part_limits, split_message
from columba.sms.ucs2 import count_units
from columba.sms.udh import split_udh

from .strategies import any_text, gsm_heavy_escape_text

CHINESE_159 = "你" * 157 + "😀"  # 159 UTF-16 units, 318 octets


def body(part: Part) -> bytes:
    """A part's text octets, UDH removed."""
    return split_udh(part.short_message)[1] if part.has_udh else part.short_message


def test_chinese_159_with_emoji_is_three_ucs2_parts() -> None:
    assert len(CHINESE_159.encode("utf-16-be")) == 318
    parts = split_message(CHINESE_159, reference=0x42)
    assert [p.data_coding for p in parts] == [DataCoding.UCS2] * 3
    assert [len(p.short_message) for p in parts] == [140, 140, 6 + 318 - 2 * 134]
    assert parts[0].short_message[:6] == bytes.fromhex("050003420301")
    assert parts[2].short_message[:6] == bytes.fromhex("050003420303")
    assert all(p.esm_class == 0x40 for p in parts)
    assert "".join(decode_text(body(p), 8) for p in parts) == CHINESE_159


def test_emoji_on_the_boundary_moves_to_the_next_part() -> None:
    # smpplib cuts 66×'你'+'😀' at 134 octets, ending part 1 on d83d; we must not.
    text = "你" * 66 + "😀" + "好" * 10
    first, second = split_message(text, reference=1)
    assert body(first) == ("你" * 66).encode("utf-16-be")
    assert body(second).startswith("😀".encode("utf-16-be"))


def test_161_gsm_chars_are_two_parts() -> None:
    parts = split_message("a" * 161, reference=9)
    assert len(parts) == 2
    assert [len(body(p)) for p in parts] == [153, 8]
    assert parts[0].short_message[:6] == bytes.fromhex("050003090201")
    assert [p.air_octets for p in parts] == [140, 6 + 8]  # 1 fill bit + 8 septets = 57 bits


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("a" * 159 + "€", 2),
        ("你" * 70, 1),
        ("你" * 71, 2),
        ("你" * 134, 2),
        ("你" * 135, 3),
        ("你" * 69 + "😀", 2),
        ("", 1),
    ],
)
def test_single_and_multi_part_limits(text: str, parts: int) -> None:
    assert len(split_message(text, reference=0)) == parts
    assert count_parts(text) == parts


def test_16bit_reference_limits_and_header() -> None:
    assert part_limits(DataCoding.DEFAULT, use_16bit_ref=True) == (160, 152)
    assert part_limits(DataCoding.UCS2, use_16bit_ref=True) == (70, 66)
    parts = split_message("a" * 305, reference=0x1234, use_16bit_ref=True)
    assert len(parts) == 3  # 152 + 152 + 1
    assert parts[0].short_message[:7] == bytes.fromhex("0608041234" + "0301")
    assert [p.air_octets for p in parts] == [140, 140, 8]


def test_escape_on_the_boundary_is_not_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = split_message(text, reference=3)
    assert body(first) == b"a" * 152  # 152 + 2 septets would be 154 > 153
    assert body(second)[:2] == bytes([ESCAPE, 0x65])


def test_sar_mode() -> None:
    parts = split_message("a" * 200, reference=300, use_16bit_ref=True, mode="sar")
    assert [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in parts] == [
        (300, 2, 1),
        (300, 2, 2),
    ]
    assert all(p.esm_class == 0 and not p.has_udh for p in parts)
    assert [len(p.short_message) for p in parts] == [152, 48]


def test_payload_mode_is_one_part() -> None:
    (part,) = split_message(CHINESE_159, reference=0, mode="payload")
    assert part.short_message == b""
    assert part.message_payload == CHINESE_159.encode("utf-16-be")
    assert part.data_coding == DataCoding.UCS2


def test_forced_ucs2_and_impossible_gsm() -> None:
    (part,) = split_message("hi", reference=0, data_coding=DataCoding.UCS2)
    assert part.short_message == "hi".encode("utf-16-be")
    with pytest.raises(SmsUsageError):
        split_message("你", reference=0, data_coding=DataCoding.DEFAULT)


@pytest.mark.parametrize(
    ("reference", "wide"), [(-1, False), (256, False), (65536, True), (-1, True)]
)
def test_reference_out_of_range(reference: int, wide: bool) -> None:
    with pytest.raises(SmsUsageError):
        split_message("a" * 200, reference=reference, use_16bit_ref=wide)


def test_too_many_parts() -> None:
    split_message("a" * 153 * 255, reference=0)
    with pytest.raises(SmsUsageError):
        split_message("a" * (153 * 255 + 1), reference=0)


def test_unknown_mode() -> None:
    with pytest.raises(SmsUsageError):
        split_message("a", reference=0, mode="smoke")  # type: ignore[arg-type]


modes = st.sampled_from(["udh", "sar", "payload"])


@given(any_text, modes, st.booleans(), st.integers(min_value=0, max_value=255), st.randoms())
def test_any_text_splits_and_reassembles_in_any_order(
    text: str, mode: str, wide: bool, reference: int, rnd: random.Random
) -> None:
    parts = split_message(text, reference=reference, use_16bit_ref=wide, mode=mode)  # type: ignore[arg-type]
    rnd.shuffle(parts)
    reassembler = Reassembler()
    outcomes = [
        reassembler.receive(p, source="8613800138000", destination="12520", now=0.0) for p in parts
    ]
    done = [o for o in outcomes if isinstance(o, Completed)]
    assert len(done) == 1
    assert outcomes[-1] is done[0]
    assert done[0].text == text
    assert reassembler.pending == 0


@given(any_text, st.sampled_from(["udh", "sar"]), st.booleans())
def test_parts_fit_one_sms_and_decode_alone(text: str, mode: str, wide: bool) -> None:
    parts = split_message(text, reference=1, use_16bit_ref=wide, mode=mode)  # type: ignore[arg-type]
    pieces = []
    for part in parts:
        assert part.air_octets <= 140
        assert len(part.short_message) <= 254
        data = body(part)
        if part.data_coding == DataCoding.DEFAULT:
            assert data[-1:] != bytes([ESCAPE])  # an escape sequence is never cut
        # strict decoding fails on a split surrogate pair or a dangling escape
        pieces.append(decode_text(data, part.data_coding))
    assert "".join(pieces) == text


@given(any_text)
def test_gsm7_is_chosen_exactly_when_it_can_carry_the_text(text: str) -> None:
    parts = split_message(text, reference=0)
    expected = DataCoding.DEFAULT if can_encode_gsm7(text) else DataCoding.UCS2
    assert {p.data_coding for p in parts} == {expected}


@given(st.one_of(gsm_heavy_escape_text, st.text(alphabet="你😀a", max_size=400)))
def test_part_count_is_minimal(text: str) -> None:
    parts = split_message(text, reference=0)
    if can_encode_gsm7(text):
        cost, single, per_part = count_septets(text), 160, 153
    else:
        cost, single, per_part = count_units(text), 70, 67
    if cost <= single:
        assert len(parts) == 1
    else:
        # never more than one part beyond the lower bound; chars of cost 2 can waste 1 unit
        lower = -(-cost // per_part)
        assert lower <= len(parts) <= -(-cost // (per_part - 1))
