"""Splitting a text into SMPP parts: GSM 7-bit when possible, else UCS-2 (sms-stack.md §6).

One SMS carries 140 octets of TP-User-Data: 160 GSM septets or 70 UCS-2 units. A long text
is sent one of three ways, chosen by the bind's configuration:

- ``"udh"``: each part starts with a concatenation UDH (esm_class 0x40), leaving 153 septets /
  67 units per part with an 8-bit reference or 152 / 66 with a 16-bit one;
- ``"sar"``: the same sizes, with ``sar_msg_ref_num``/``sar_total_segments``/
  ``sar_segment_seqnum`` TLVs instead, so the SMSC builds the UDH;
- ``"payload"``: the whole text in one ``message_payload`` TLV; the SMSC splits it.

Parts are cut only between characters, so a GSM escape sequence or a UTF-16 surrogate pair
(an emoji) is never divided: each part decodes on its own (smpplib gets this wrong).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from columba.slots import builder
from columba.sms.encoding import DataCoding, choose_coding, encode_text
from columba.sms.errors import SmsUsageError
from columba.sms.gsm7 import fill_bits_after, iter_char_septets, max_septets
from columba.sms.ucs2 import MAX_UNITS_SINGLE, iter_char_units
from columba.sms.udh import (
    CONCAT_UDH_OCTETS_8,
    CONCAT_UDH_OCTETS_16,
    ESM_CLASS_UDHI,
    Concat,
    concat_udh,
)

Mode = Literal["udh", "sar", "payload"]

#: TP-User-Data octets in one SMS (TS 23.040 §9.2.3.24).
USER_DATA_OCTETS = 140
#: Longest ``message_payload`` (its TLV length field is 16 bits).
MAX_PAYLOAD_OCTETS = 0xFFFF
#: Most parts a concatenated message can have (one-octet total).
MAX_PARTS = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """The user-data fields of one submit_sm / deliver_sm / data_sm.

    Attributes:
        data_coding: SMPP data_coding (:class:`DataCoding`, 0 or 8 for what we send).
        short_message: UDH (when ``esm_class`` has 0x40) and text octets; empty in payload mode.
        esm_class: SMPP esm_class; 0x40 (UDHI) when short_message starts with a UDH.
        sar_msg_ref_num: SAR reference TLV (0x020C), in SAR mode.
        sar_total_segments: SAR total TLV (0x020E), in SAR mode.
        sar_segment_seqnum: SAR part number TLV (0x020F, from 1), in SAR mode.
        message_payload: The ``message_payload`` TLV (0x0424), in payload mode.
    """

    data_coding: int
    short_message: bytes = b""
    esm_class: int = 0
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    message_payload: bytes | None = None

    @property
    def has_udh(self) -> bool:
        """Whether short_message starts with a User Data Header (esm_class UDHI)."""
        return bool(self.esm_class & ESM_CLASS_UDHI)

    @property
    def air_octets(self) -> int:
        """The TP-User-Data octets this part takes on the air, GSM septets packed.

        The 140-octet budget applies to this, not to the unpacked short_message: a 153-septet
        part is 159 octets over SMPP and 140 once packed after its UDH.
        """
        data = self.short_message if self.message_payload is None else self.message_payload
        if self.data_coding != DataCoding.DEFAULT:
            return len(data)
        udh = data[0] + 1 if self.has_udh and data else 0
        septets = len(data) - udh
        return udh + (fill_bits_after(udh) + 7 * septets + 7) // 8


def split_message(
    text: str,
    *,
    reference: int,
    use_16bit_ref: bool = False,
    mode: Mode = "udh",
    data_coding: DataCoding | None = None,
) -> list[Part]:
    """Split ``text`` into the parts that carry it, in order.

    Args:
        text: The message.
        reference: The concatenation reference shared by the parts (0-255, or 0-65535 with
            ``use_16bit_ref``); the caller keeps a counter per destination. Unused when the
            text fits one SMS or in payload mode.
        use_16bit_ref: Use IEI 0x08 (152 septets / 66 units per part) instead of IEI 0x00.
            In SAR mode it only widens the reference range and the SMSC's UDH room.
        mode: ``"udh"``, ``"sar"`` or ``"payload"`` (see the module docstring).
        data_coding: Force :attr:`DataCoding.UCS2` (some operators want only UCS-2) or
            :attr:`DataCoding.DEFAULT`; by default GSM 7-bit when every character fits.

    Raises:
        SmsUsageError: the reference or mode is out of range, the forced coding cannot carry
            the text, or the text needs more than 255 parts (or 65535 payload octets).
    """
    coding = choose_coding(text) if data_coding is None else DataCoding(data_coding)
    if mode == "payload":
        payload = encode_text(text, coding)
        if len(payload) > MAX_PAYLOAD_OCTETS:
            raise SmsUsageError(f"{len(payload)} octets exceed message_payload's 65535")
        return [Part(data_coding=coding, message_payload=payload)]
    if mode not in ("udh", "sar"):
        raise SmsUsageError(f"unknown segmentation mode {mode!r}")
    limit = 0xFFFF if use_16bit_ref else 0xFF
    if not 0 <= reference <= limit:
        raise SmsUsageError(f"reference {reference} does not fit 0-{limit}")
    chunks = _chunks(text, coding, use_16bit_ref=use_16bit_ref)
    if len(chunks) == 1:  # the usual text: one part, built positionally
        return [_new_part(coding, encode_text(chunks[0], coding), 0, None, None, None, None)]
    if len(chunks) > MAX_PARTS:
        raise SmsUsageError(f"text needs {len(chunks)} parts; at most {MAX_PARTS} are allowed")
    total = len(chunks)
    parts: list[Part] = []
    for seqnum, chunk in enumerate(chunks, start=1):
        body = encode_text(chunk, coding)
        if mode == "udh":
            concat = Concat(
                reference=reference, total=total, seqnum=seqnum, is_16bit_ref=use_16bit_ref
            )
            parts.append(
                Part(
                    data_coding=coding,
                    short_message=concat_udh(concat) + body,
                    esm_class=ESM_CLASS_UDHI,
                )
            )
        else:
            parts.append(
                Part(
                    data_coding=coding,
                    short_message=body,
                    sar_msg_ref_num=reference,
                    sar_total_segments=total,
                    sar_segment_seqnum=seqnum,
                )
            )
    return parts


#: ``Part(...)`` with every field in field order (``columba.slots.builder``).
_new_part = builder(Part)


def count_parts(text: str, *, use_16bit_ref: bool = False) -> int:
    """How many SMS ``text`` costs when split (for quotas and for showing the sender).

    Raises:
        SmsUsageError: ``text`` holds a lone surrogate.
    """
    return len(_chunks(text, choose_coding(text), use_16bit_ref=use_16bit_ref))


def part_limits(data_coding: int, *, use_16bit_ref: bool = False) -> tuple[int, int]:
    """(single-part, per-part) capacity in septets (GSM) or 16-bit units (UCS-2).

    ``(160, 153)``, ``(160, 152)``, ``(70, 67)`` or ``(70, 66)``.
    """
    udh = CONCAT_UDH_OCTETS_16 if use_16bit_ref else CONCAT_UDH_OCTETS_8
    if data_coding == DataCoding.DEFAULT:
        return max_septets(0), max_septets(udh)
    return MAX_UNITS_SINGLE, (USER_DATA_OCTETS - udh) // 2


#: A character from U+D800 up (a surrogate, or beyond the simple one-unit case).
_surrogate_or_above = re.compile("[\ud800-\U0010ffff]").search


def _chunks(text: str, coding: DataCoding, *, use_16bit_ref: bool) -> list[str]:
    """Cut ``text`` between characters into pieces that each fit one part (greedily)."""
    single, per_part = part_limits(coding, use_16bit_ref=use_16bit_ref)
    # Fast path for the common short text: UCS-2 costs one unit per BMP character; a GSM
    # character costs at most two septets (an escape). Lone surrogates still go the slow way.
    if coding == DataCoding.UCS2 and len(text) <= single:
        if _surrogate_or_above(text) is None:
            return [text]
    elif coding == DataCoding.DEFAULT and 2 * len(text) <= single:
        return [text]
    costs = list(_costs(text, coding))
    if sum(cost for _, cost in costs) <= single:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for char, cost in costs:
        if used + cost > per_part:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    chunks.append("".join(current))
    return chunks


def _costs(text: str, coding: DataCoding) -> Iterator[tuple[str, int]]:
    if coding == DataCoding.DEFAULT:
        return iter_char_septets(text)
    if coding == DataCoding.UCS2:
        return iter_char_units(text)
    raise SmsUsageError(f"Columba sends text only as data_coding 0 or 8, not {coding}")
