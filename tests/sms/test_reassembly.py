"""Reassembly of MO parts: UDH (8/16-bit), SAR, payload, order, duplicates, expiry, bounds."""

from __future__ import annotations

import pytest

from columba.sms.encoding import DataCoding
from columba.sms.errors import SmsUsageError, UserDataError
from columba.sms.reassembly import (
    Completed,
    Duplicate,
    Expired,
    Reassembler,
    ReassemblyLimits,
    Waiting,
)
from columba.sms.segment import Part, split_message

PHONE, ACCESS = "8613800138000", "125201234"
TEXT = "你好" * 50 + "😀"  # 102 units: 2 parts


def receive(r: Reassembler, part: Part, now: float = 0.0, source: str = PHONE) -> object:
    return r.receive(part, source=source, destination=ACCESS, now=now)


@pytest.mark.parametrize(
    ("mode", "wide"), [("udh", False), ("udh", True), ("sar", False), ("sar", True)]
)
def test_out_of_order(mode: str, wide: bool) -> None:
    parts = split_message(TEXT * 2, reference=200, use_16bit_ref=wide, mode=mode)  # type: ignore[arg-type]
    assert len(parts) == 4
    r = Reassembler()
    order = [parts[2], parts[0], parts[3], parts[1]]
    outcomes = [receive(r, p) for p in order]
    assert outcomes[:3] == [
        Waiting(source=PHONE, destination=ACCESS, reference=200, total=4, received=n)
        for n in (1, 2, 3)
    ]
    done = outcomes[3]
    assert isinstance(done, Completed)
    assert done.text == TEXT * 2
    assert (done.total, done.reference, done.data_coding) == (4, 200, DataCoding.UCS2)


def test_single_part_and_payload_complete_at_once() -> None:
    r = Reassembler()
    done = receive(r, Part(data_coding=0, short_message=b"hello"))
    assert isinstance(done, Completed)
    assert (done.text, done.total, done.reference) == ("hello", 1, None)
    (payload,) = split_message(TEXT, reference=0, mode="payload")
    done = receive(r, payload)
    assert isinstance(done, Completed)
    assert done.text == TEXT


def test_senders_and_references_are_kept_apart() -> None:
    r = Reassembler()
    a = split_message("a" * 200, reference=5)
    b = split_message("b" * 200, reference=5)
    c = split_message("c" * 200, reference=6)
    assert isinstance(receive(r, a[0]), Waiting)
    assert isinstance(receive(r, b[0], source="other"), Waiting)
    assert isinstance(receive(r, c[1]), Waiting)
    assert r.pending == 3
    done_b = receive(r, b[1], source="other")
    assert isinstance(done_b, Completed)
    assert done_b.text == "b" * 200
    done_a = receive(r, a[1])
    assert isinstance(done_a, Completed)
    assert done_a.text == "a" * 200


def test_duplicates_are_ignored_before_and_after_completion() -> None:
    r = Reassembler(ReassemblyLimits(completed_memory=60))
    first, second = split_message(TEXT, reference=1)
    receive(r, first)
    assert receive(r, first) == Duplicate(
        source=PHONE, destination=ACCESS, reference=1, total=2, seqnum=1
    )
    assert isinstance(receive(r, second), Completed)
    # The SMSC delivers part 2 again because our deliver_sm_resp was lost.
    assert isinstance(receive(r, second, now=30), Duplicate)
    assert r.pending == 0
    # After completed_memory the key is free again (8-bit references wrap).
    assert isinstance(receive(r, second, now=61), Waiting)


def test_incomplete_message_times_out_with_what_arrived() -> None:
    r = Reassembler(ReassemblyLimits(timeout=10))
    parts = split_message("x" * 153 + "y" * 153 + "z" * 10, reference=9)
    receive(r, parts[0], now=0)
    receive(r, parts[2], now=5)
    assert r.next_deadline() == 15
    assert r.expire(14.9) == []
    (expired,) = r.expire(15)
    assert expired == Expired(
        source=PHONE,
        destination=ACCESS,
        reference=9,
        total=3,
        reason="timeout",
        received=(1, 3),
        missing=(2,),
        partial_text="x" * 153 + "\ufffd" + "z" * 10,
    )
    assert r.pending == 0
    assert r.next_deadline() is None
    # A late part starts over, and expires alone.
    assert isinstance(receive(r, parts[1], now=20), Waiting)


def test_memory_is_bounded_by_evicting_the_stalest() -> None:
    r = Reassembler(ReassemblyLimits(max_pending=2))
    for ref in (1, 2, 3):
        receive(r, split_message("a" * 200, reference=ref)[0], now=ref)
    assert r.pending == 2
    assert r.next_deadline() == float("-inf")
    (evicted,) = r.expire(3)
    assert (evicted.reference, evicted.reason, evicted.missing) == (1, "evicted", (2,))


def test_a_peer_that_split_a_surrogate_pair_still_reads() -> None:
    # smpplib cuts UCS-2 at a fixed 134 octets, so part 1 ends on d83d.
    data = ("你" * 66 + "😀" + "好").encode("utf-16-be")
    cuts = [data[:134], data[134:]]
    parts = [
        Part(
            data_coding=DataCoding.UCS2,
            esm_class=0x40,
            short_message=bytes([5, 0, 3, 77, 2, n]) + chunk,
        )
        for n, chunk in enumerate(cuts, start=1)
    ]
    r = Reassembler()
    receive(r, parts[1])
    done = receive(r, parts[0])
    assert isinstance(done, Completed)
    assert done.text == "你" * 66 + "😀" + "好"
    assert not done.is_malformed


def test_invalid_concat_element_is_ignored_as_the_spec_says() -> None:
    # total 0 (TS 23.040 §9.2.3.24.1): the element is ignored, the part is a whole message
    part = Part(data_coding=0, esm_class=0x40, short_message=bytes([5, 0, 3, 1, 0, 1]) + b"hi")
    done = Reassembler().receive(part, source=PHONE, destination=ACCESS, now=0)
    assert isinstance(done, Completed)
    assert done.text == "hi"


def test_other_udh_elements_are_reported() -> None:
    # an application port element (IEI 0x05) with a one-part concat element
    udh = bytes([11, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x00, 3, 1, 1, 1])
    part = Part(data_coding=4, esm_class=0x40, short_message=udh + b"\x01\x02")
    done = Reassembler().receive(part, source=PHONE, destination=ACCESS, now=0)
    assert isinstance(done, Completed)
    assert done.text is None  # binary
    assert done.data == b"\x01\x02"
    assert [e.iei for e in done.elements] == [0x05]


def test_malformed_user_data() -> None:
    r = Reassembler()
    with pytest.raises(UserDataError):
        receive(r, Part(data_coding=0, esm_class=0x40, short_message=bytes([9, 0, 3])))
    broken = receive(r, Part(data_coding=8, short_message=b"\xd8\x3d"))
    assert isinstance(broken, Completed)
    assert broken.is_malformed
    assert broken.text == "\ufffd"


def test_limits_are_checked() -> None:
    with pytest.raises(SmsUsageError):
        ReassemblyLimits(timeout=0)
    with pytest.raises(SmsUsageError):
        ReassemblyLimits(max_pending=0)
