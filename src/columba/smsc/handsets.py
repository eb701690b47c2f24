"""Virtual handsets: a phone number and the inbox of SMS that reached it.

The simulator lands every mobile-terminated part here; a :class:`HandsetBook` joins the parts
with the same :class:`~columba.sms.reassembly.Reassembler` the ESME uses, so an inbox holds
whole texts (or, when a part never came, the partial text marked ``is_partial``). Watchers
(the control channel, a test) get each message as it lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from columba.sms.reassembly import Completed, Expired, Reassembler, ReassemblyLimits, Waiting
from columba.sms.segment import Part


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxMessage:
    """One SMS on a virtual phone.

    Attributes:
        source: Who sent it (the ESME's source_addr: an access code and extension digits).
        destination: The phone's number.
        text: The text; for a partial message, the parts that came, U+FFFD for the others.
        parts: How many parts it was sent in.
        message_ids: The SMSC message ids of the parts that arrived, in arrival order.
        is_partial: Some parts never arrived (the reassembly timed out).
        received_at: Wall-clock time (seconds since the epoch) it landed.
    """

    source: str
    destination: str
    text: str
    parts: int = 1
    message_ids: tuple[str, ...] = ()
    is_partial: bool = False
    received_at: float = 0.0

    def as_json(self) -> dict[str, object]:
        """The fields for the control channel's ``SMS`` lines."""
        return {
            "from": self.source,
            "to": self.destination,
            "text": self.text,
            "parts": self.parts,
            "message_ids": list(self.message_ids),
            "partial": self.is_partial,
            "at": self.received_at,
        }


@dataclass(slots=True, kw_only=True)
class Handset:
    """A virtual phone.

    Attributes:
        number: Its MSISDN.
        inbox: Messages received, oldest first.
        is_reachable: When False, submit_sm to it is accepted but fails as UNDELIVERABLE.
    """

    number: str
    inbox: list[InboxMessage] = field(default_factory=list)
    is_reachable: bool = True
    _watchers: list[asyncio.Queue[InboxMessage]] = field(default_factory=list)
    _landed: asyncio.Event = field(default_factory=asyncio.Event)

    def land(self, message: InboxMessage) -> None:
        """Put a message in the inbox and tell the watchers."""
        self.inbox.append(message)
        for queue in self._watchers:
            queue.put_nowait(message)
        self._landed.set()

    @contextlib.contextmanager
    def watch(self) -> Iterator[asyncio.Queue[InboxMessage]]:
        """A queue that gets every message landing while the ``with`` block runs."""
        queue: asyncio.Queue[InboxMessage] = asyncio.Queue()
        self._watchers.append(queue)
        try:
            yield queue
        finally:
            self._watchers.remove(queue)

    async def wait_messages(self, count: int = 1) -> list[InboxMessage]:
        """Wait until the inbox holds ``count`` messages; return them (bound it with
        ``asyncio.timeout``)."""
        while len(self.inbox) < count:
            self._landed.clear()
            await self._landed.wait()
        return self.inbox[:count]


class HandsetBook:
    """Every virtual phone, created on first use, and the reassembly of their MT parts."""

    def __init__(self, limits: ReassemblyLimits | None = None) -> None:
        self._handsets: dict[str, Handset] = {}
        self._reassembler = Reassembler(limits)
        self._ids: dict[tuple[str, str, int, int], list[str]] = {}

    def __getitem__(self, number: str) -> Handset:
        handset = self._handsets.get(number)
        if handset is None:
            handset = self._handsets[number] = Handset(number=number)
        return handset

    def __iter__(self) -> Iterator[Handset]:
        return iter(list(self._handsets.values()))

    def receive(
        self, part: Part, *, source: str, destination: str, message_id: str, now: float
    ) -> InboxMessage | None:
        """Take one MT part; return the message it completes (already in the inbox).

        Raises:
            UserDataError: the part's UDH is malformed.
        """
        outcome = self._reassembler.receive(part, source=source, destination=destination, now=now)
        if isinstance(outcome, Completed):
            key = (source, destination, outcome.reference or 0, outcome.total)
            ids = (*self._ids.pop(key, []), message_id) if outcome.total > 1 else (message_id,)
            message = InboxMessage(
                source=source,
                destination=destination,
                text=outcome.text if outcome.text is not None else outcome.data.hex(),
                parts=outcome.total,
                message_ids=ids,
                received_at=time.time(),
            )
            self[destination].land(message)
            return message
        if isinstance(outcome, Waiting):
            key = (source, destination, outcome.reference, outcome.total)
            self._ids.setdefault(key, []).append(message_id)
        return None

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has work."""
        return self._reassembler.next_deadline()

    def expire(self, now: float) -> list[InboxMessage]:
        """Land what arrived of messages whose missing parts never came."""
        return [self._land_partial(expired) for expired in self._reassembler.expire(now)]

    def _land_partial(self, expired: Expired) -> InboxMessage:
        key = (expired.source, expired.destination, expired.reference, expired.total)
        message = InboxMessage(
            source=expired.source,
            destination=expired.destination,
            text=expired.partial_text or "",
            parts=expired.total,
            message_ids=tuple(self._ids.pop(key, [])),
            is_partial=True,
            received_at=time.time(),
        )
        self[expired.destination].land(message)
        return message
