"""Delivery receipts: SMPP 3.4 Appendix B text, its variants, and the receipt TLVs."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.sms.errors import UserDataError
from columba.sms.receipt import (
    DeliveryReceipt,
    MessageState,
    format_receipt,
    is_delivery_receipt,
    parse_receipt,
    same_message_id,
)

APPENDIX_B = (
    b"id:0123456789 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201"
    b" stat:DELIVRD err:000 text:Hello from Columba"
)


def test_appendix_b_example() -> None:
    assert parse_receipt(APPENDIX_B) == DeliveryReceipt(
        message_id="0123456789",
        state=MessageState.DELIVERED,
        submitted=1,
        delivered=1,
        submit_date=datetime(2025, 1, 1, 12, 0),
        done_date=datetime(2025, 1, 1, 12, 1),
        error="000",
        text="Hello from Columba",
    )


@pytest.mark.parametrize(
    ("text", "message_id", "state"),
    [
        (
            "ID:ab12 SUB:001 DLVRD:000 SUBMIT DATE:2501011200 DONE DATE:2501011300 "
            "STAT:UNDELIV ERR:001 TEXT:x",
            "ab12",
            MessageState.UNDELIVERABLE,
        ),
        ("id:77 stat:expired", "77", MessageState.EXPIRED),
        (
            "id:77 submit_date:250101120030 done_date:250101120105 stat:REJECTD err:0b",
            "77",
            MessageState.REJECTED,
        ),
        ("id:5 stat:ACCEPTD", "5", MessageState.ACCEPTED),
        ("id:5 stat:ENROUTE", "5", MessageState.ENROUTE),
        ("id:5 stat:DELETED", "5", MessageState.DELETED),
        ("id:5 stat:UNKNOWN", "5", MessageState.UNKNOWN),
        ("id:5 stat:DELIVERED", "5", MessageState.DELIVERED),
        ("id:5 stat:WHATEVER", "5", MessageState.UNKNOWN),
        ("id:5", "5", MessageState.UNKNOWN),
        ("stat:DELIVRD", None, MessageState.DELIVERED),
    ],
)
def test_variants(text: str, message_id: str | None, state: MessageState) -> None:
    receipt = parse_receipt(text)
    assert (receipt.message_id, receipt.state) == (message_id, state)


def test_seconds_and_missing_fields() -> None:
    receipt = parse_receipt("id:77 submit_date:250101120030 done date:bogus stat:DELIVRD")
    assert receipt.submit_date == datetime(2025, 1, 1, 12, 0, 30)
    assert receipt.done_date is None
    assert receipt.submitted is None
    assert receipt.error is None
    assert receipt.text is None


def test_text_field_keeps_everything_after_it() -> None:
    receipt = parse_receipt("id:1 stat:DELIVRD err:000 text:id:2 stat:UNDELIV")
    assert receipt.message_id == "1"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.text == "id:2 stat:UNDELIV"


def test_tlvs_win_over_the_text() -> None:
    receipt = parse_receipt(
        b"id:123 stat:UNDELIV",
        receipted_message_id="7b",
        message_state=2,
        network_error_code=bytes([3, 0x00, 0x0B]),
    )
    assert receipt.message_id == "7b"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.network_error_code == (3, 11)
    assert parse_receipt(b"", message_state=99).state is MessageState.UNKNOWN
    assert parse_receipt(b"", receipted_message_id="x").message_id == "x"


def test_not_a_receipt() -> None:
    with pytest.raises(UserDataError):
        parse_receipt(b"hello, are you there?")


def test_state_finality() -> None:
    assert not MessageState.ENROUTE.is_final
    assert all(s.is_final for s in MessageState if s is not MessageState.ENROUTE)


def test_esm_class_receipt_bits() -> None:
    assert is_delivery_receipt(0x04)
    assert is_delivery_receipt(0x44)  # with UDHI
    assert is_delivery_receipt(0x20)  # intermediate notification
    assert not is_delivery_receipt(0x00)
    assert not is_delivery_receipt(0x40)
    assert not is_delivery_receipt(0x08)  # SME delivery acknowledgement


def test_message_id_spellings() -> None:
    assert same_message_id("1A2B", "1a2b")
    assert same_message_id("0a", "10")
    assert same_message_id("00042", "42")
    assert not same_message_id("10", "16")
    assert same_message_id("10", "16", digits_may_be_hex=True)
    assert not same_message_id("abc", "abd")


@given(
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=20),
    st.sampled_from(list(MessageState)),
    st.integers(min_value=0, max_value=999),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.text(alphabet="abc XYZ:123", max_size=20),
)
def test_format_then_parse(
    message_id: str, state: MessageState, count: int, when: datetime, text: str
) -> None:
    when = when.replace(second=0, microsecond=0)
    receipt = DeliveryReceipt(
        message_id=message_id,
        state=state,
        submitted=count,
        delivered=count,
        submit_date=when,
        done_date=when,
        error="000",
        text=text,
    )
    assert parse_receipt(format_receipt(receipt)) == receipt


_NO_SPACE = st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc")), max_size=12)


@given(_NO_SPACE, _NO_SPACE, _NO_SPACE, _NO_SPACE, st.text(max_size=30))
def test_canonical_fast_path_reads_what_the_general_scan_reads(
    message_id: str, sub: str, stat: str, err: str, excerpt: str
) -> None:
    import re

    from columba.sms import receipt as module

    text = (
        f"id:{message_id} sub:{sub} dlvrd:001 submit date:2611240101 done date:2611240102"
        f" stat:{stat} err:{err} text:{excerpt}"
    )
    fast = module._fields(text)
    saved = module._CANONICAL
    module._CANONICAL = re.compile(r"(?!)")  # the general scan only
    try:
        slow = module._fields(text)
    finally:
        module._CANONICAL = saved
    if module._FIELD.search(f" {message_id} {sub} {stat} {err} ") is None:
        assert fast == slow
