"""One device's outbox on a reliable link: messages handed over in memory, acked in batches.

The store stays the truth: every message an outbox sends is committed with a pending delivery
row for the device first, and the row goes only when the device has answered 200 and the ack
is committed (``DeliveryService`` batches acks into its group commit). What the outbox adds is
that a message committed while the device is online is handed to it straight from the commit,
in commit order, instead of being read back from the store; the store is read only when the
outbox starts, after a failure or timeout, when the read hit its limit (a backlog), and when
someone else stored something for the device (``binding.wake``).

Sending costs no task, semaphore or timer per message: the request is written at once and the
link calls back with the device's answer; one timer per outbox watches the oldest deadline.

The states, all on the event loop:

* ``queue``: messages to send, in order; ``known``: the ids queued or in flight, so that a
  message both read from the store and handed over is sent once;
* ``wants_store``: stop sending; when nothing is in flight, read the store (the run loop);
* ``backlog``: the last read was full, so newer messages wait in the store: hand-overs are
  dropped (they will be read) and the store is read again when the queue is sent;
* ``failed``: a device refused or did not answer in time: stop, back off, read the store.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Protocol

from columba.core import outbound
from columba.core.registry import Binding
from columba.protocol.sip.message import Request, Response
from columba.storage import StoredMessage


class RequestLink(Protocol):
    """What an outbox needs of a reliable link: requests answered through a callback."""

    def send_request(
        self, request: Request, on_answer: Callable[[Response | None], None]
    ) -> object | None:
        """Write ``request``; ``on_answer`` gets the final response, or None if the link is
        lost. Returns a key for :meth:`forget`, or None if the link is closed."""
        ...

    def send_prepared(
        self,
        data: bytes,
        key: tuple[str, int, str],
        on_answer: Callable[[Response | None], None],
    ) -> object | None:
        """:meth:`send_request` for a request already serialized, with its matching key."""
        ...

    def forget(self, key: object) -> None:
        """Stop waiting for the answer to a request (it timed out)."""
        ...


class Outbox:
    """The delivery state of one device; driven by ``DeliveryService.run_outbox``."""

    def __init__(
        self,
        binding: Binding,
        link: RequestLink,
        *,
        window: int,
        ack_timeout: float,
        domain: str,
        sid_of: Callable[[int], str | None],
        acked: Callable[[Binding, StoredMessage], None],
        groups: set[int] | frozenset[int] = frozenset(),
    ) -> None:
        self.binding = binding
        self.window = window
        self.backoff = 0.0
        self.queue: deque[StoredMessage] = deque()
        self.known: set[str] = set()
        self.in_flight: dict[str, object] = {}
        self.wants_store = True
        self.backlog = False
        self.failed = False
        self._link = link
        self._ack_timeout = ack_timeout
        self._domain = domain
        self._sid_of = sid_of
        self._acked = acked
        self._groups = groups
        self._deadlines: deque[tuple[float, str]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # -- fed by the service -------------------------------------------------------------------

    def offer(self, message: StoredMessage) -> None:
        """A message just committed for this device, in commit order."""
        if self.backlog or message.message_id in self.known:
            return  # read from the store after the backlog, or already on its way
        self.known.add(message.message_id)
        self.queue.append(message)
        self.pump()

    def refilled(self, pending: list[StoredMessage], *, is_full: bool) -> None:
        """The store's pending messages (read with nothing in flight) replace the queue.

        Messages handed over during the read are kept when the read was complete (they may
        have been committed after its snapshot) and dropped when it was full (they are in the
        store behind the unread backlog, and handing them over first would break the order).
        """
        merged = {m.message_id: m for m in pending}
        if not is_full:
            for message in self.queue:
                merged.setdefault(message.message_id, message)
        ordered = sorted(merged.values(), key=lambda m: (m.conversation_id, m.seq))
        self.queue = deque(ordered)
        self.known = set(merged)
        self.backlog = is_full
        self.wants_store = False

    def start_refill(self) -> None:
        """The run loop is about to read the store: hand-overs from now on are kept."""
        self.queue.clear()
        self.known.clear()

    # -- sending -------------------------------------------------------------------------------

    def pump(self) -> None:
        """Send queued messages while the window allows; wake the run loop when it must act."""
        binding = self.binding
        while (
            self.queue
            and len(self.in_flight) < self.window
            and not (self.wants_store or self.failed)
            and binding.is_active
        ):
            message = self.queue[0]
            if self._sid_of(message.sender_id) is None:
                self.wants_store = True  # the run loop resolves senders when it reads
                break
            self.queue.popleft()
            if not self._send(message):
                self.known.discard(message.message_id)
                self.failed = True
                break
        if not self.in_flight and (
            self.wants_store or self.failed or (self.backlog and not self.queue)
        ):
            binding.wake.set()

    def _send(self, message: StoredMessage) -> bool:
        sender_sid = self._sid_of(message.sender_id)
        assert sender_sid is not None  # checked by pump
        instant = outbound.stored_im(
            message, sender_sid, is_group=message.conversation_id in self._groups
        )
        on_answer = partial(self._answered, message)
        wire = outbound.sipc_im_wire(self.binding, instant, domain=self._domain)
        if wire is not None:
            key = self._link.send_prepared(wire[0], wire[1], on_answer)
        else:
            request = outbound.im_request(self.binding, instant, domain=self._domain)
            key = self._link.send_request(request, on_answer)
        if key is None:
            return False
        self.in_flight[message.message_id] = key
        loop = asyncio.get_running_loop()
        self._deadlines.append((loop.time() + self._ack_timeout, message.message_id))
        if self._timer is None:
            self._timer = loop.call_at(self._deadlines[0][0], self._check_deadlines)
        return True

    def _answered(self, message: StoredMessage, response: Response | None) -> None:
        if self.in_flight.pop(message.message_id, None) is None:
            return  # given up on (timed out) or the outbox is gone
        self.known.discard(message.message_id)
        if response is not None and 200 <= response.status < 300:
            self.backoff = 0.0
            self._acked(self.binding, message)
        else:
            self.failed = True
        self.pump()

    def _check_deadlines(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        while deadlines and (deadlines[0][1] not in self.in_flight or deadlines[0][0] <= now):
            _, message_id = deadlines.popleft()
            key = self.in_flight.pop(message_id, None)
            if key is not None:  # no answer in time
                self._link.forget(key)
                self.known.discard(message_id)
                self.failed = True
        if deadlines:
            self._timer = loop.call_at(deadlines[0][0], self._check_deadlines)
        self.pump()

    def close(self) -> None:
        """The run loop ends: stop the timer and stop waiting for answers."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key in self.in_flight.values():
            self._link.forget(key)
        self.in_flight.clear()
