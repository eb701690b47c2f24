"""Reassembly of mobile-originated long messages (sms-stack.md §6).

Parts of one message may arrive in any order (smpp34.Server and jasmin both reorder), by UDH
with an 8- or 16-bit reference, by SAR TLVs, or whole in ``message_payload``. A message is
identified by (source, destination, reference, total). The reassembler is sans-I/O: time is
a parameter, memory is bounded, and a message that never completes comes out as
:class:`Expired` so the caller can say so instead of losing it silently.

The octets of all parts are joined before decoding, so a peer that cut a surrogate pair or a
GSM escape across parts still reads correctly.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from columba.sms.encoding import decode_text
from columba.sms.errors import SmsUsageError, UserDataError
from columba.sms.segment import Part
from columba.sms.udh import Concat, Iei, InformationElement, find_concat, split_udh

#: (source, destination, reference, total)
Key = tuple[str, str, int, int]

_CONCAT_IEIS = (Iei.CONCAT_8BIT_REF, Iei.CONCAT_16BIT_REF)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReassemblyLimits:
    """Bounds of a :class:`Reassembler`; the defaults suit one SMS server.

    Attributes:
        timeout: Seconds an incomplete message waits after its latest part before it expires.
        max_pending: Incomplete messages held at once; past it the stalest is evicted.
        completed_memory: Seconds a completed message's key is remembered, so a part the SMSC
            delivers again (our deliver_sm_resp was lost) is a duplicate, not a new message.
            A new message that reuses the same key within this time is taken for a duplicate
            too, so keep it well below the time a phone takes to wrap its 8-bit references.
        max_completed: Completed keys remembered at once.
    """

    timeout: float = 300.0
    max_pending: int = 1024
    completed_memory: float = 120.0
    max_completed: int = 4096

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.completed_memory < 0:
            raise SmsUsageError("reassembly timeouts must be positive")
        if self.max_pending < 1 or self.max_completed < 0:
            raise SmsUsageError("reassembly bounds must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class Completed:
    """A whole message.

    Attributes:
        source: The sender's address (the phone).
        destination: The address it was sent to (the access code and extension digits).
        data: The joined message octets, UDHs removed.
        data_coding: The first part's data_coding.
        text: The decoded text, or None for a binary coding.
        is_malformed: The octets were invalid for the coding; ``text`` shows U+FFFD there.
        total: How many parts it came in (1 for a single SMS or a message_payload).
        reference: The concatenation reference, None for a single part.
        elements: The first part's other UDH elements (application ports, for example).
    """

    source: str
    destination: str
    data: bytes
    data_coding: int
    text: str | None
    is_malformed: bool = False
    total: int = 1
    reference: int | None = None
    elements: tuple[InformationElement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """A part was stored; ``received`` of ``total`` parts are in."""

    source: str
    destination: str
    reference: int
    total: int
    received: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate:
    """A part already received (or of a message already completed): ignore it, but ack it."""

    source: str
    destination: str
    reference: int
    total: int
    seqnum: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Expired:
    """A message that will not complete.

    Attributes:
        reason: ``"timeout"`` (no part for ``timeout`` seconds) or ``"evicted"`` (memory full).
        received: The part numbers that arrived.
        missing: The part numbers that never did.
        partial_text: The received parts decoded in order, U+FFFD where parts are missing;
            None for a binary coding.
    """

    source: str
    destination: str
    reference: int
    total: int
    reason: Literal["timeout", "evicted"]
    received: tuple[int, ...]
    missing: tuple[int, ...]
    partial_text: str | None


Outcome = Completed | Waiting | Duplicate


@dataclass(slots=True, kw_only=True)
class _Pending:
    data_coding: int
    deadline: float
    parts: dict[int, bytes] = field(default_factory=dict)
    elements: tuple[InformationElement, ...] = ()


class Reassembler:
    """Joins the parts of long MO messages.

    Call :meth:`receive` for every deliver_sm (or data_sm) that is not a delivery receipt, and
    :meth:`expire` when :meth:`next_deadline` passes (and after a receive, which may evict).
    """

    def __init__(self, limits: ReassemblyLimits | None = None) -> None:
        self._limits = limits or ReassemblyLimits()
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()  # stalest first
        self._completed: OrderedDict[Key, float] = OrderedDict()  # key -> forget-after time
        self._evicted: list[Expired] = []

    @property
    def pending(self) -> int:
        """Incomplete messages held."""
        return len(self._pending)

    def receive(self, part: Part, *, source: str, destination: str, now: float) -> Outcome:
        """Take one inbound part.

        Raises:
            UserDataError: the part's UDH is malformed.
        """
        data = part.short_message if part.message_payload is None else part.message_payload
        elements: tuple[InformationElement, ...] = ()
        concat: Concat | None = None
        if part.has_udh:
            elements, data = split_udh(data)
            concat = find_concat(elements)
        elif part.message_payload is None:
            concat = _sar(part)
        if concat is None or concat.total == 1:
            return _completed(source, destination, data, part.data_coding, elements=elements)

        key: Key = (source, destination, concat.reference, concat.total)
        self._forget_completed(now)
        if key in self._completed:
            return self._duplicate(key, concat.seqnum)
        entry = self._pending.get(key)
        if entry is None:
            if len(self._pending) >= self._limits.max_pending:
                stale_key, stale = self._pending.popitem(last=False)
                self._evicted.append(_expired(stale_key, stale, "evicted"))
            entry = _Pending(data_coding=part.data_coding, deadline=0.0)
            self._pending[key] = entry
        elif concat.seqnum in entry.parts:
            return self._duplicate(key, concat.seqnum)
        entry.parts[concat.seqnum] = data
        if concat.seqnum == 1:
            entry.elements = tuple(e for e in elements if e.iei not in _CONCAT_IEIS)
        entry.deadline = now + self._limits.timeout
        self._pending.move_to_end(key)
        if len(entry.parts) < concat.total:
            return Waiting(
                source=source,
                destination=destination,
                reference=concat.reference,
                total=concat.total,
                received=len(entry.parts),
            )
        del self._pending[key]
        self._remember_completed(key, now)
        joined = b"".join(entry.parts[seqnum] for seqnum in range(1, concat.total + 1))
        return _completed(
            source,
            destination,
            joined,
            entry.data_coding,
            elements=entry.elements,
            total=concat.total,
            reference=concat.reference,
        )

    def expire(self, now: float) -> list[Expired]:
        """Messages evicted since the last call, then those whose deadline is ``now`` or past."""
        out, self._evicted = self._evicted, []
        while self._pending:
            key, entry = next(iter(self._pending.items()))
            if entry.deadline > now:
                break
            del self._pending[key]
            out.append(_expired(key, entry, "timeout"))
        self._forget_completed(now)
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has something to report (now, if something was evicted)."""
        if self._evicted:
            return float("-inf")
        if not self._pending:
            return None
        return next(iter(self._pending.values())).deadline

    def _duplicate(self, key: Key, seqnum: int) -> Duplicate:
        source, destination, reference, total = key
        return Duplicate(
            source=source, destination=destination, reference=reference, total=total, seqnum=seqnum
        )

    def _remember_completed(self, key: Key, now: float) -> None:
        if self._limits.max_completed == 0:
            return
        self._completed[key] = now + self._limits.completed_memory
        self._completed.move_to_end(key)
        while len(self._completed) > self._limits.max_completed:
            self._completed.popitem(last=False)

    def _forget_completed(self, now: float) -> None:
        completed = self._completed
        while completed:
            key, until = next(iter(completed.items()))
            if until > now:
                break
            del completed[key]


def _sar(part: Part) -> Concat | None:
    """The SAR TLVs as a :class:`Concat`, or None when absent or out of range."""
    ref, total, seqnum = part.sar_msg_ref_num, part.sar_total_segments, part.sar_segment_seqnum
    if ref is None or total is None or seqnum is None or not 1 <= seqnum <= total:
        return None
    return Concat(reference=ref, total=total, seqnum=seqnum, is_16bit_ref=True)


def _completed(
    source: str,
    destination: str,
    data: bytes,
    data_coding: int,
    *,
    elements: tuple[InformationElement, ...],
    total: int = 1,
    reference: int | None = None,
) -> Completed:
    text: str | None
    is_malformed = False
    try:
        text = decode_text(data, data_coding)
    except UserDataError:
        text = _decode_lenient(data, data_coding)
        is_malformed = text is not None
    return Completed(
        source=source,
        destination=destination,
        data=data,
        data_coding=data_coding,
        text=text,
        is_malformed=is_malformed,
        total=total,
        reference=reference,
        elements=tuple(e for e in elements if e.iei not in _CONCAT_IEIS),
    )


def _decode_lenient(data: bytes, data_coding: int) -> str | None:
    """Decode with U+FFFD for bad octets; None when the coding is not text at all."""
    try:
        return decode_text(data, data_coding, errors="replace")
    except UserDataError:
        return None


def _expired(key: Key, entry: _Pending, reason: Literal["timeout", "evicted"]) -> Expired:
    source, destination, reference, total = key
    received = tuple(sorted(entry.parts))
    missing = tuple(n for n in range(1, total + 1) if n not in entry.parts)
    pieces: list[str] = []
    is_text = True
    for seqnum in range(1, total + 1):
        data = entry.parts.get(seqnum)
        if data is None:
            pieces.append("\ufffd")
            continue
        piece = _decode_lenient(data, entry.data_coding)
        if piece is None:
            is_text = False
            break
        pieces.append(piece)
    return Expired(
        source=source,
        destination=destination,
        reference=reference,
        total=total,
        reason=reason,
        received=received,
        missing=missing,
        partial_text="".join(pieces) if is_text else None,
    )
