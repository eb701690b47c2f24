"""``columba.slots``: direct construction of frozen, slotted dataclasses."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.slots import builder, replacer
from columba.sms.pdu import PDU_CLASSES, DeliverSm, SubmitSm, with_sequence_number


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    x: int
    y: int = 0
    label: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Point3(Point):
    z: int = 0


@given(st.integers(), st.integers(), st.text(), st.integers())
def test_a_replacer_is_dataclasses_replace(x: int, y: int, label: str, value: int) -> None:
    point = Point(x=x, y=y, label=label)
    for name in ("x", "y"):
        replaced = replacer(Point, name)(point, value)
        assert replaced == dataclasses.replace(point, **{name: value})
        assert type(replaced) is Point


def test_a_subclass_goes_the_general_way() -> None:
    replaced = replacer(Point, "x")(Point3(x=1, z=3), 5)
    assert replaced == Point3(x=5, z=3)


def test_a_field_that_is_not_there_is_refused() -> None:
    with pytest.raises(TypeError):
        replacer(Point, "w")


@pytest.mark.parametrize("cls", sorted(set(PDU_CLASSES.values()), key=lambda c: c.__name__))
def test_every_pdu_gets_its_sequence_number_as_replace_gives_it(cls: type) -> None:
    pdu = cls(sequence_number=1)
    assert with_sequence_number(pdu, 9) == dataclasses.replace(pdu, sequence_number=9)


def test_a_full_submit_sm_keeps_every_field() -> None:
    pdu = SubmitSm(
        sequence_number=0,
        source_addr="12520",
        destination_addr="8613800000002",
        esm_class=0x40,
        data_coding=8,
        short_message=b"\x05\x00\x03\x01\x02\x01abc",
        registered_delivery=1,
    )
    assert with_sequence_number(pdu, 77) == dataclasses.replace(pdu, sequence_number=77)
    assert with_sequence_number(DeliverSm(sequence_number=3), 4) == DeliverSm(sequence_number=4)


@given(st.integers(), st.integers(), st.text())
def test_a_builder_makes_what_init_makes(x: int, y: int, label: str) -> None:
    built = builder(Point)(x, y, label)
    assert built == Point(x=x, y=y, label=label)
    assert type(built) is Point
    assert builder(Point3)(x, y, label, 4) == Point3(x=x, y=y, label=label, z=4)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Unslotted:
    x: int = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    x: int

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("negative")


def test_a_field_that_is_not_a_slot_is_refused() -> None:
    with pytest.raises(TypeError, match="not a slot"):
        builder(Unslotted)


def test_a_post_init_is_refused_unless_skipped_on_purpose() -> None:
    with pytest.raises(TypeError, match="__post_init__"):
        builder(Checked)
    copy = builder(Checked, skip_post_init=True)(-1)  # a copy: the check is not run again
    assert copy.x == -1
