"""Storage records pickled by their field values (``storage/wire.py``)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest

from columba.storage import wire
from columba.storage.records import DeviceAck


def _round_trip(value: object) -> object:
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


# Storage records themselves: tests/storage/test_sqlite_process.py
# (test_records_pickle_to_equal_copies).


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
