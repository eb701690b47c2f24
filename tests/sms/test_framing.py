"""The PDU stream framer: whole, byte by byte, trailing data, bad PDUs, and random bytes."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columba.sms.errors import FramingError, SmsError
from columba.sms.framing import BadPdu, PduFramer
from columba.sms.pdu import (
    CommandId,
    CommandStatus,
    DeliverSm,
    EnquireLink,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    encode_pdu,
)

STREAM: list[Pdu] = [
    EnquireLink(sequence_number=1),
    SubmitSm(sequence_number=2, source_addr="12520", destination_addr="8613800138000"),
    SubmitSmResp(sequence_number=2, message_id="abc"),
    DeliverSm(sequence_number=3, short_message="你好".encode("utf-16-be"), data_coding=8),
]
WIRE = b"".join(encode_pdu(p) for p in STREAM)


def test_whole() -> None:
    framer = PduFramer()
    assert framer.feed(WIRE) == STREAM
    assert framer.buffered == 0


def test_byte_by_byte() -> None:
    framer = PduFramer()
    out: list[Pdu | BadPdu] = []
    for index in range(len(WIRE)):
        out += framer.feed(WIRE[index : index + 1])
    assert out == STREAM


def test_trailing_partial_pdu_waits() -> None:
    framer = PduFramer()
    # 20 octets: the 16-octet enquire_link and the start of the submit_sm
    assert framer.feed(WIRE + WIRE[:20]) == [*STREAM, STREAM[0]]
    assert framer.buffered == 4
    assert framer.feed(WIRE[20:]) == STREAM[1:]


def test_bad_body_keeps_the_stream_in_step() -> None:
    unknown = bytes.fromhex("00000014 00000099 00000000 0000002a deadbeef")
    framer = PduFramer()
    out = framer.feed(unknown + encode_pdu(EnquireLink(sequence_number=43)))
    assert isinstance(out[0], BadPdu)
    assert out[0].error.command_status == CommandStatus.ESME_RINVCMDID
    assert out[0].error.sequence_number == 42
    assert out[0].data == unknown
    assert out[1] == EnquireLink(sequence_number=43)


@pytest.mark.parametrize("length", [0, 15, 0x7FFFFFFF])
def test_impossible_length_loses_the_stream_for_good(length: int) -> None:
    framer = PduFramer()
    wire = length.to_bytes(4, "big") + bytes.fromhex("00000015 00000000 00000009")
    with pytest.raises(FramingError) as info:
        framer.feed(wire)
    assert info.value.command_status == CommandStatus.ESME_RINVCMDLEN
    assert info.value.command_id == CommandId.ENQUIRE_LINK
    assert info.value.sequence_number == 9
    with pytest.raises(FramingError):
        framer.feed(encode_pdu(EnquireLink(sequence_number=1)))


def test_limit_is_configurable() -> None:
    framer = PduFramer(max_command_length=100)
    big = encode_pdu(SubmitSm(sequence_number=1, short_message=b"x" * 200))
    with pytest.raises(FramingError):
        framer.feed(big)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_our_error(data: bytes) -> None:
    framer = PduFramer()
    with contextlib.suppress(SmsError):
        for item in framer.feed(data):
            assert isinstance(item, Pdu | BadPdu)


@settings(max_examples=300)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=8))
def test_mutated_streams_only_raise_our_error(rnd: random.Random, flips: int) -> None:
    data = bytearray(WIRE)
    for _ in range(flips):
        data[rnd.randrange(len(data))] = rnd.randrange(256)
    framer = PduFramer()
    with contextlib.suppress(SmsError):
        for item in framer.feed(bytes(data)):
            assert isinstance(item, Pdu | BadPdu)


@settings(max_examples=300)
@given(st.binary(min_size=0, max_size=300))
def test_random_bodies_behind_valid_headers(body: bytes) -> None:
    # a sound length with every command_id the codec knows: only BadPdu, never a crash
    for command_id in CommandId:
        header = (16 + len(body)).to_bytes(4, "big") + command_id.to_bytes(4, "big")
        framer = PduFramer()
        (item,) = framer.feed(header + bytes(8) + body)
        assert isinstance(item, Pdu | BadPdu)
