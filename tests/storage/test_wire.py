"""Storage records pickled by their field values (``storage/wire.py``)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from columba.storage import wire
from columba.storage.records import DeviceAck, NewMessage, Recipient, StoredMessage


def _round_trip(value: object) -> object:
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def test_records_come_back_equal() -> None:
    stored = StoredMessage(
        message_id="0" * 32,
        conversation_id=1,
        seq=2,
        sender_id=3,
        content_type="text/plain",
        body="你好".encode(),
        client_key="1|1 M",
        created_at=datetime(2026, 11, 24, tzinfo=UTC),
        is_duplicate=True,
    )
    new = NewMessage(
        conversation_id=1,
        sender_id=3,
        recipients=(Recipient(user_id=4, devices=("pc", "phone")),),
        content_type="text/plain",
        body=b"hi",
        client_key="k",
    )
    ack = DeviceAck(user_id=4, device_id="pc", message_id="0" * 32, conversation_id=1, seq=2)
    for value in (stored, new, ack):
        copy = _round_trip(value)
        assert copy == value
        assert type(copy) is type(value)


@dataclass(frozen=True)
class _Plain:  # not slotted: rebuilt through object.__setattr__
    a: int
    b: str = "x"


def test_a_class_without_slots_is_rebuilt_too() -> None:
    wire.register(_Plain)
    assert _round_trip(_Plain(a=1, b="y")) == _Plain(a=1, b="y")


def test_rebuild_refuses_the_wrong_number_of_values() -> None:
    with pytest.raises(TypeError):
        wire.rebuild(DeviceAck, (1, "pc"))
