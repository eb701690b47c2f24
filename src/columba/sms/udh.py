"""The User Data Header (3GPP TS 23.040 §9.2.3.24) and its concatenation elements.

A UDH is ``UDHL`` (its own length, not counted) then information elements, each
``IEI, IEDL, data``. Long messages use IEI 0x00 (8-bit reference, 5 octets with UDHL) or
IEI 0x08 (16-bit reference, 6 octets); SMPP flags the UDH with esm_class bit 0x40 (UDHI).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from columba.sms.errors import SmsUsageError, UserDataError

#: SMPP esm_class bit saying short_message starts with a UDH (SMPP 3.4 §5.2.12).
ESM_CLASS_UDHI = 0x40

#: UDH octets (UDHL included) of one concatenation element: 6 for 8-bit, 7 for 16-bit refs.
CONCAT_UDH_OCTETS_8 = 6
CONCAT_UDH_OCTETS_16 = 7


class Iei(IntEnum):
    """Information element identifiers used here (TS 23.040 §9.2.3.24)."""

    CONCAT_8BIT_REF = 0x00
    SPECIAL_SMS_INDICATION = 0x01
    APPLICATION_PORT_8BIT = 0x04
    APPLICATION_PORT_16BIT = 0x05
    CONCAT_16BIT_REF = 0x08


@dataclass(frozen=True, slots=True, kw_only=True)
class InformationElement:
    """One UDH element, kept as read so unknown ones survive."""

    iei: int
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Concat:
    """Where one part sits in a concatenated message.

    Attributes:
        reference: The message's reference (0-255, or 0-65535 with a 16-bit reference).
        total: How many parts the message has (1-255).
        seqnum: This part's number, from 1.
        is_16bit_ref: Whether IEI 0x08 carried it.
    """

    reference: int
    total: int
    seqnum: int
    is_16bit_ref: bool = False


def concat_udh(concat: Concat) -> bytes:
    """Build the UDH (UDHL included) for one part of a concatenated message.

    Raises:
        SmsUsageError: a value does not fit its field.
    """
    limit = 0xFFFF if concat.is_16bit_ref else 0xFF
    if not 0 <= concat.reference <= limit:
        raise SmsUsageError(f"reference {concat.reference} does not fit 0-{limit}")
    if not 1 <= concat.seqnum <= concat.total <= 255:
        raise SmsUsageError(f"part {concat.seqnum} of {concat.total} is not in 1-255")
    if concat.is_16bit_ref:
        ref = concat.reference.to_bytes(2, "big")
        return bytes((6, Iei.CONCAT_16BIT_REF, 4, *ref, concat.total, concat.seqnum))
    return bytes((5, Iei.CONCAT_8BIT_REF, 3, concat.reference, concat.total, concat.seqnum))


def split_udh(short_message: bytes) -> tuple[tuple[InformationElement, ...], bytes]:
    """Separate a UDH-carrying short_message into its elements and the message octets.

    Raises:
        UserDataError: the header's lengths run past the data.
    """
    if not short_message:
        raise UserDataError("UDHI is set but short_message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise UserDataError("UDH length runs past short_message")
    elements: list[InformationElement] = []
    index = 1
    while index < end:
        if index + 2 > end:
            raise UserDataError("truncated UDH information element")
        iei, length = short_message[index], short_message[index + 1]
        start = index + 2
        if start + length > end:
            raise UserDataError(f"UDH element 0x{iei:02X} runs past the header")
        elements.append(InformationElement(iei=iei, data=short_message[start : start + length]))
        index = start + length
    return tuple(elements), short_message[end:]


def find_concat(elements: tuple[InformationElement, ...]) -> Concat | None:
    """The concatenation element among ``elements``, or None.

    As TS 23.040 §9.2.3.24.1 says, an element with a total of 0 or a sequence number of 0 or
    above the total is ignored; of repeated elements the last one counts.
    """
    found: Concat | None = None
    for element in elements:
        data = element.data
        if element.iei == Iei.CONCAT_8BIT_REF and len(data) == 3:
            candidate = Concat(reference=data[0], total=data[1], seqnum=data[2])
        elif element.iei == Iei.CONCAT_16BIT_REF and len(data) == 4:
            candidate = Concat(
                reference=int.from_bytes(data[:2], "big"),
                total=data[2],
                seqnum=data[3],
                is_16bit_ref=True,
            )
        else:
            continue
        if 1 <= candidate.seqnum <= candidate.total:
            found = candidate
    return found
