"""The asyncio ESME: Columba's SMPP client to one SMSC, a thin adapter over
:class:`~columba.sms.session.SmppSession`.

Two layers, like aioquic's ``asyncio/protocol.py`` over its sans-I/O connection:

- :class:`SmppLink` drives one session over one TCP connection, for either role (the built-in
  SMSC simulator uses it too): it feeds received octets in, writes what the session queues,
  runs the session's timer, and turns each request into a future that the response (or the
  failure) resolves.
- :class:`Esme` keeps one bind to one SMSC up: it connects, binds, reconnects with exponential
  back-off when the link drops or dies, submits texts (one submit_sm per
  :func:`~columba.sms.segment.split_message` part) and hands mobile-originated messages
  (reassembled by :class:`~columba.sms.reassembly.Reassembler`) and delivery receipts to the
  application, through callbacks or async iterators.

Resources and errors: every task is owned by a TaskGroup (the link's per connection, the
ESME's for its lifetime); :meth:`Esme.run` returns only when :meth:`Esme.close` is called or
it is cancelled, and never because of the network. A failed application callback answers the
SMSC with ESME_RX_T_APPN, so that it delivers the message again later.

Acknowledgement policy (ack after store): a received part that completes a message, a single
SMS, and a receipt are acked only once the application's callback has returned (when there is
no callback, once queued for the iterator). A part that leaves its message incomplete is acked
at once: SMSCs with a window of one would stall otherwise. Parts are therefore held in memory
only, and a node that dies mid-message loses the parts it already acked; the SMSC's own
redelivery of the rest then expires as :class:`~columba.sms.reassembly.Expired`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from columba.slots import builder
from columba.sms.errors import PduError, UserDataError
from columba.sms.pdu import CommandStatus, Pdu, SubmitSm, SubmitSmResp
from columba.sms.reassembly import Completed, Expired, Reassembler, ReassemblyLimits, Waiting
from columba.sms.receipt import DeliveryReceipt, is_delivery_receipt
from columba.sms.segment import Mode, Part, split_message
from columba.sms.session import (
    BindFailed,
    BindMode,
    BindRequested,
    Bound,
    Event,
    LinkDead,
    MessagePdu,
    MessageReceived,
    ProtocolFailed,
    RequestFailed,
    ResponseReceived,
    Role,
    SessionConfig,
    SmppSession,
)
from columba.sms.userdata import part_of, part_tlvs, receipt_of

log = logging.getLogger(__name__)


class EsmeError(Exception):
    """Base of the errors the asyncio SMPP layer raises.

    The tree::

        EsmeError
        ├── RequestError   a request got no usable response (timeout, nack, link lost)
        ├── SubmitError    the SMSC refused a part of a text (its command_status)
        └── NotBound       no bind within the time allowed
    """


class RequestError(EsmeError):
    """A request got no usable response.

    Attributes:
        reason: The session's reason (``"timeout"``, ``"generic_nack"``, ``"closed"`` …).
        command_status: The generic_nack's status, if any.
        was_sent: Whether the peer may have acted on the request.
    """

    def __init__(self, failure: RequestFailed) -> None:
        super().__init__(f"{type(failure.request).__name__} failed: {failure.reason}")
        self.reason = failure.reason
        self.command_status = failure.command_status
        self.was_sent = failure.was_sent


class SubmitError(EsmeError):
    """The SMSC answered a submit_sm with an error.

    Attributes:
        command_status: The SMSC's status (ESME_RINVDSTADR, ESME_RSUBMITFAIL …).
        message_ids: The ids of the parts accepted before it (the text is partly sent).
    """

    def __init__(self, command_status: int, message_ids: list[str]) -> None:
        name = _status_name(command_status)
        super().__init__(f"submit_sm refused: {name}")
        self.command_status = command_status
        self.message_ids = message_ids


class NotBound(EsmeError):
    """The ESME was not bound within the time allowed."""


def _status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


# -- one connection ---------------------------------------------------------------------------

EventHandler = Callable[["SmppLink", Event], None]


class SmppLink:
    """One SMPP session over one asyncio stream, either role.

    ``on_event`` gets every session event except responses and request failures, which
    resolve the futures :meth:`send` returned. It runs synchronously on the link's read and
    timer loops: it may call :meth:`send`, :meth:`ack` and the bind methods, and must hand
    slow work (storing a message) to a task of its own.
    """

    def __init__(
        self,
        session: SmppSession,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: EventHandler,
    ) -> None:
        self.session = session
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._responses: dict[int, asyncio.Future[Pdu]] = {}
        self._done = False
        self._flush_soon = False
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    def now(self) -> float:
        """The session's clock: the event loop's monotonic time."""
        return self._loop.time()

    async def run(self) -> None:
        """Read, answer and time out until the session ends or the connection closes; then
        close the connection. Network errors end the run; they are not raised."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._timers())
                await self._read()
                self._done = True
                self._wake.set()
        finally:
            self._done = True
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    def send(self, pdu: MessagePdu) -> asyncio.Future[Pdu]:
        """Queue a message request; the future gets its response (of any command_status) or
        a :class:`RequestError`.

        Raises:
            SmsUsageError: the session may not send it now (not bound, wrong role).
        """
        request_id = self.session.send(pdu, now=self.now())
        future: asyncio.Future[Pdu] = self._loop.create_future()
        self._responses[request_id] = future
        self._flush_later()
        return future

    def ack(self, event: MessageReceived, *, command_status: int = 0, message_id: str = "") -> bool:
        """Answer a received message (see :meth:`SmppSession.ack`)."""
        is_sent = self.session.ack(event, command_status=command_status, message_id=message_id)
        self._flush_later()
        return is_sent

    def _flush_later(self) -> None:
        """Write what the session has to send once this turn of the event loop is over: the
        requests and acks of one turn go out in one write, not one each."""
        if not self._flush_soon:
            self._flush_soon = True
            self._loop.call_soon(self._flush)

    def bind(
        self,
        mode: BindMode,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        address_range: str = "",
    ) -> None:
        """ESME role: send the bind (see :meth:`SmppSession.bind`)."""
        self.session.bind(
            mode,
            system_id=system_id,
            password=password,
            now=self.now(),
            system_type=system_type,
            address_range=address_range,
        )
        self._flush()

    def accept_bind(self, event: BindRequested, *, system_id: str) -> None:
        """SMSC role: accept the pending bind."""
        self.session.accept_bind(event, system_id=system_id, now=self.now())
        self._flush()

    def reject_bind(self, event: BindRequested, *, command_status: int) -> None:
        """SMSC role: refuse the pending bind; the connection closes."""
        self.session.reject_bind(event, command_status=command_status)
        self._flush()

    def unbind(self) -> None:
        """Start an orderly unbind; :meth:`run` returns once it completes (or times out)."""
        if self.session.is_bound:
            self.session.unbind(now=self.now())
            self._flush()

    def close(self) -> None:
        """Drop the connection now (the session fails whatever is waiting)."""
        self._writer.close()

    # -- internals ----------------------------------------------------------------------------

    async def _read(self) -> None:
        while not self.session.is_ended:
            try:
                data = await self._reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                self._dispatch(self.session.connection_lost(now=self.now()))
                return
            self._dispatch(self.session.receive_data(data, now=self.now()))
            self._flush()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.drain()

    async def _timers(self) -> None:
        while not self._done:
            deadline = self.session.get_timer()
            self._wake.clear()
            delay = None if deadline is None else max(0.0, deadline - self.now())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            if self._done:
                return
            if deadline is not None and self.now() >= deadline:
                self._dispatch(self.session.handle_timer(now=self.now()))
                self._flush()

    def _flush(self) -> None:
        self._flush_soon = False
        data = self.session.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)
        if self.session.is_ended:
            # Unbound or closed: the last PDUs are written; end the connection.
            self._writer.close()
        self._wake.set()

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, ResponseReceived | RequestFailed):
                future = self._responses.pop(event.request_id, None)
                if future is None or future.done():
                    continue
                if isinstance(event, ResponseReceived):
                    future.set_result(event.response)
                else:
                    future.set_exception(RequestError(event))
            else:
                self._on_event(self, event)


# -- the ESME ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EsmeConfig:
    """One bind to one SMSC.

    Attributes:
        host: The SMSC's address.
        port: The SMSC's SMPP port (2775 by convention).
        system_id: Our account at the SMSC.
        password: Its password (at most 8 characters in SMPP 3.4).
        system_type: Sent in the bind; some SMSCs route on it.
        mode: TRANSCEIVER, or TRANSMITTER / RECEIVER for split binds.
        address_range: The bind's address_range (the MO numbers this bind serves).
        source_addr: The default sender of submitted texts (the access code).
        source_addr_ton: Its type of number (0 unknown, 1 international, 3 network-specific).
        source_addr_npi: Its numbering plan (0 unknown, 1 E.164).
        dest_addr_ton: The recipients' type of number.
        dest_addr_npi: The recipients' numbering plan.
        registered_delivery: 1 asks for a receipt per part, 0 for none.
        segmentation: ``"udh"``, ``"sar"`` or ``"payload"`` for long texts.
        use_16bit_ref: 16-bit concatenation references.
        session: The session's window and timers.
        connect_timeout: Seconds for the TCP connection.
        reconnect_initial: The first back-off after a failed or lost connection.
        reconnect_max: The longest back-off (it doubles on each failure, and resets on a bind).
        reassembly: Limits of the MO reassembler.
    """

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    mode: BindMode = BindMode.TRANSCEIVER
    address_range: str = ""
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    registered_delivery: int = 1
    segmentation: Mode = "udh"
    use_16bit_ref: bool = False
    session: SessionConfig = field(default_factory=SessionConfig)
    connect_timeout: float = 10.0
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    reassembly: ReassemblyLimits = field(default_factory=ReassemblyLimits)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptReceived:
    """A delivery receipt and the deliver_sm's addresses (source: the phone)."""

    receipt: DeliveryReceipt
    source: str
    destination: str


#: Phones whose next concatenation reference is remembered (the most recently texted).
REFERENCES_KEPT = 65536

#: An MO text: whole, or what arrived of it before it expired.
IncomingMessage = Completed | Expired
MessageCallback = Callable[[IncomingMessage], Awaitable[None]]
ReceiptCallback = Callable[[ReceiptReceived], Awaitable[None]]
#: Takes a receipt and the function that acks it, to be called once with the status to
#: answer (ESME_ROK once it is stored, or a refusal), without a task per receipt.
ReceiptSink = Callable[[ReceiptReceived, Callable[[int], None]], None]


#: ``SubmitSm(...)`` with every field positionally (``columba.slots.builder``).
_new_submit_sm = builder(SubmitSm)


def _acker(link: SmppLink, event: MessageReceived) -> Callable[[int], None]:
    """The function that acks ``event`` on ``link`` with a status, once."""
    acked = False

    def ack(command_status: int) -> None:
        nonlocal acked
        if not acked:
            acked = True
            link.ack(event, command_status=command_status)

    return ack


class Esme:
    """An SMPP client that keeps one bind to one SMSC.

    Use it as ``async with open_esme(config) as esme:``, or run :meth:`run` in a TaskGroup of
    your own and :meth:`close` it. ``on_message`` and ``on_receipt`` are awaited before the
    SMSC gets its ack (store there); without them, messages and receipts queue for
    :meth:`messages` and :meth:`receipts`. ``receipt_sink``, instead of ``on_receipt``, is
    handed each receipt with the function that acks it, for a store that batches receipts
    (the SMS server's): no task per receipt.
    """

    def __init__(
        self,
        config: EsmeConfig,
        *,
        on_message: MessageCallback | None = None,
        on_receipt: ReceiptCallback | None = None,
        receipt_sink: ReceiptSink | None = None,
    ) -> None:
        if on_receipt is not None and receipt_sink is not None:
            raise ValueError("give on_receipt or receipt_sink, not both")
        self.config = config
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._receipt_sink = receipt_sink
        self._messages: asyncio.Queue[IncomingMessage] = asyncio.Queue()
        self._receipts: asyncio.Queue[ReceiptReceived] = asyncio.Queue()
        self._reassembler = Reassembler(config.reassembly)
        self._link: SmppLink | None = None
        self._unlinked = asyncio.Event()
        self._unlinked.set()
        self._bound = asyncio.Event()
        self._closing = asyncio.Event()
        self._wake_expiry = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._references: dict[str, int] = {}
        #: Completed binds, for logs and tests.
        self.binds = 0
        #: The last reason the bind went down or could not be made.
        self.last_error: str | None = None

    @property
    def is_bound(self) -> bool:
        """Whether a bind is up now."""
        return self._bound.is_set()

    async def run(self) -> None:
        """Connect, bind and serve; reconnect with back-off until :meth:`close`."""
        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            expiry = tasks.create_task(self._expire_loop())
            backoff = self.config.reconnect_initial
            while not self._closing.is_set():
                binds = self.binds
                await self._connect_once(loop)
                if self._closing.is_set():
                    break
                if self.binds > binds:
                    backoff = self.config.reconnect_initial
                log.info("smpp reconnect", extra={"kv": {"in": backoff, "why": self.last_error}})
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._closing.wait()
                backoff = min(backoff * 2, self.config.reconnect_max)
            expiry.cancel()

    async def close(self, *, grace: float = 5.0) -> None:
        """Let callbacks finish, unbind, and make :meth:`run` return (within ``grace`` s)."""
        self._closing.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                if self._handlers:
                    await asyncio.wait(self._handlers)
                link = self._link
                if link is not None and link.session.is_bound:
                    link.unbind()
                    await self._unlinked.wait()
        if self._link is not None:
            self._link.close()

    async def wait_bound(self, *, within: float | None = None) -> None:
        """Wait until bound.

        Raises:
            NotBound: not bound within ``within`` seconds.
        """
        try:
            async with asyncio.timeout(within):
                await self._bound.wait()
        except TimeoutError:
            raise NotBound(f"not bound to the SMSC: {self.last_error or 'no answer'}") from None

    async def submit(
        self,
        destination: str,
        text: str,
        *,
        source: str | None = None,
        registered_delivery: int | None = None,
        bind_timeout: float | None = 30.0,
    ) -> list[str]:
        """Send ``text`` to ``destination``: one submit_sm per part; return the message ids.

        Raises:
            NotBound: no bind within ``bind_timeout``.
            SubmitError: the SMSC refused a part.
            RequestError: a part got no response (``was_sent`` says if it may be delivered).
            SmsUsageError: the text cannot be sent (too long, an address too long).
        """
        parts = split_message(
            text,
            reference=self._reference(destination),
            use_16bit_ref=self.config.use_16bit_ref,
            mode=self.config.segmentation,
        )
        await self.wait_bound(within=bind_timeout)
        link = self._link
        if link is None or not link.session.is_bound:
            raise NotBound("the bind went down")
        futures = [
            link.send(self._submit_sm(destination, source, part, registered_delivery))
            for part in parts
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        ids: list[str] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            if result.command_status != CommandStatus.ESME_ROK:
                raise SubmitError(result.command_status, ids)
            assert isinstance(result, SubmitSmResp)
            ids.append(result.message_id)
        return ids

    def submit_nowait(
        self, destination: str, text: str, *, source: str | None = None
    ) -> list[asyncio.Future[Pdu]]:
        """Queue the submit_sm of every part of ``text`` now; one future per part.

        For senders of many texts at once (the SMS server's outbox pump): no task or gather
        per text. Each future gets the part's response (check its ``command_status``) or a
        :class:`RequestError`.

        Raises:
            NotBound: no bind is up.
            SmsUsageError: the text cannot be sent (too long, an address too long).
        """
        link = self._link
        if link is None or not link.session.is_bound:
            raise NotBound("not bound to the SMSC")
        parts = split_message(
            text,
            reference=self._reference(destination),
            use_16bit_ref=self.config.use_16bit_ref,
            mode=self.config.segmentation,
        )
        return [link.send(self._submit_sm(destination, source, part)) for part in parts]

    def _submit_sm(
        self,
        destination: str,
        source: str | None,
        part: Part,
        registered_delivery: int | None = None,
    ) -> SubmitSm:
        """The submit_sm of one part: ``userdata.with_part`` of the bind's template, made in
        one construction (``tests/sms/test_esme.py`` holds the two equal)."""
        config = self.config
        pdu: SubmitSm = _new_submit_sm(  # every field, in field order
            0,  # sequence_number: the session sets it
            0,  # command_status
            "",  # service_type
            config.source_addr_ton,
            config.source_addr_npi,
            config.source_addr if source is None else source,
            config.dest_addr_ton,
            config.dest_addr_npi,
            destination,
            part.esm_class,
            0,  # protocol_id
            0,  # priority_flag
            "",  # schedule_delivery_time
            "",  # validity_period
            config.registered_delivery if registered_delivery is None else registered_delivery,
            0,  # replace_if_present_flag
            part.data_coding,
            0,  # sm_default_msg_id
            part.short_message,
            part_tlvs(part),
        )
        return pdu

    async def messages(self) -> AsyncIterator[IncomingMessage]:
        """MO texts as they complete (only when no ``on_message`` callback was given)."""
        while True:
            yield await self._messages.get()

    async def receipts(self) -> AsyncIterator[ReceiptReceived]:
        """Delivery receipts (only when no ``on_receipt`` callback was given)."""
        while True:
            yield await self._receipts.get()

    # -- internals ----------------------------------------------------------------------------

    def _reference(self, destination: str) -> int:
        """The next concatenation reference for ``destination`` (TS 23.040 §9.2.3.24.1):
        a counter per phone, from a random start so that a restarted node does not reuse
        the references of the texts it sent just before. Only the phones texted most
        recently keep a counter (:data:`REFERENCES_KEPT`); one texted again after it was
        dropped starts from random again, as after a restart."""
        limit = 0x10000 if self.config.use_16bit_ref else 0x100
        references = self._references
        reference = references.pop(destination, None)  # re-inserted last: the newest
        if reference is None:
            reference = secrets.randbelow(limit)
            if len(references) >= REFERENCES_KEPT:
                del references[next(iter(references))]  # the phone texted longest ago
        reference %= limit
        references[destination] = reference + 1
        return reference

    async def _connect_once(self, loop: asyncio.AbstractEventLoop) -> None:
        config = self.config
        try:
            async with asyncio.timeout(config.connect_timeout):
                reader, writer = await asyncio.open_connection(config.host, config.port)
        except (OSError, TimeoutError) as exc:
            self.last_error = f"connect to {config.host}:{config.port}: {exc or 'timeout'}"
            return
        session = SmppSession(Role.ESME, config.session, now=loop.time())
        link = SmppLink(session, reader, writer, self._on_event)
        self._link = link
        self._unlinked.clear()
        try:
            link.bind(
                config.mode,
                system_id=config.system_id,
                password=config.password,
                system_type=config.system_type,
                address_range=config.address_range,
            )
            await link.run()
        finally:
            self._link = None
            self._unlinked.set()
            self._bound.clear()

    def _on_event(self, link: SmppLink, event: Event) -> None:
        if isinstance(event, Bound):
            self.binds += 1
            self.last_error = None
            self._bound.set()
            log.info("smpp bound", extra={"kv": {"smsc": event.system_id, "peer": link.peer}})
        elif isinstance(event, BindFailed):
            status = event.command_status
            self.last_error = f"bind {event.reason}" + (
                f": {_status_name(status)}" if status is not None else ""
            )
        elif isinstance(event, LinkDead):
            self.last_error = "link dead: enquire_link unanswered"
        elif isinstance(event, ProtocolFailed):
            self.last_error = f"protocol: {event.reason}"
        elif isinstance(event, MessageReceived):
            self._receive(link, event)

    def _receive(self, link: SmppLink, event: MessageReceived) -> None:
        pdu = event.pdu
        if isinstance(pdu, SubmitSm):  # the session never lets one through to an ESME
            link.ack(event, command_status=CommandStatus.ESME_RINVCMDID)
            return
        now = link.now()
        try:
            if is_delivery_receipt(pdu.esm_class):
                receipt = ReceiptReceived(
                    receipt=receipt_of(pdu),
                    source=pdu.source_addr,
                    destination=pdu.destination_addr,
                )
                if self._receipt_sink is not None:
                    self._receipt_sink(receipt, _acker(link, event))
                else:
                    self._hand_over(link, event, self._store_receipt(receipt))
                return
            outcome = self._reassembler.receive(
                part_of(pdu), source=pdu.source_addr, destination=pdu.destination_addr, now=now
            )
        except (PduError, UserDataError) as exc:
            # Unreadable: tell the SMSC why; a retry would not help.
            link.ack(event, command_status=exc.command_status)
            return
        self._wake_expiry.set()
        if isinstance(outcome, Completed):
            self._hand_over(link, event, self._store_message(outcome))
        else:  # Waiting or Duplicate: acked now (see the module docstring)
            link.ack(event)
            if isinstance(outcome, Waiting):
                log.debug("mo part held", extra={"kv": {"received": outcome.received}})

    def _hand_over(self, link: SmppLink, event: MessageReceived, store: Awaitable[None]) -> None:
        """Run ``store`` in a task; ack the part when it returns, or refuse it for a retry."""

        async def store_then_ack() -> None:
            status = CommandStatus.ESME_ROK
            try:
                await store
            except Exception:
                log.exception("storing an MO message or receipt failed")
                status = CommandStatus.ESME_RX_T_APPN
            link.ack(event, command_status=status)

        assert self._tasks is not None
        task = self._tasks.create_task(store_then_ack())
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _store_message(self, message: IncomingMessage) -> None:
        if self._on_message is not None:
            await self._on_message(message)
        else:
            self._messages.put_nowait(message)

    async def _store_receipt(self, receipt: ReceiptReceived) -> None:
        if self._on_receipt is not None:
            await self._on_receipt(receipt)
        else:
            self._receipts.put_nowait(receipt)

    async def _expire_loop(self) -> None:
        """Report MO texts whose missing parts never came (Reassembler timeouts)."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake_expiry.clear()
            deadline = self._reassembler.next_deadline()
            delay = None if deadline is None else max(0.0, deadline - loop.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake_expiry.wait()
            for expired in self._reassembler.expire(loop.time()):
                try:
                    await self._store_message(expired)
                except Exception:
                    log.exception("storing an expired MO message failed")


@contextlib.asynccontextmanager
async def open_esme(
    config: EsmeConfig,
    *,
    on_message: MessageCallback | None = None,
    on_receipt: ReceiptCallback | None = None,
) -> AsyncIterator[Esme]:
    """An :class:`Esme` running for the ``async with`` body; closed (unbound) after it."""
    esme = Esme(config, on_message=on_message, on_receipt=on_receipt)
    async with asyncio.TaskGroup() as group:
        group.create_task(esme.run())
        try:
            yield esme
        finally:
            await esme.close()


__all__ = [
    "Esme",
    "EsmeConfig",
    "EsmeError",
    "IncomingMessage",
    "NotBound",
    "ReceiptReceived",
    "RequestError",
    "SmppLink",
    "SubmitError",
    "open_esme",
]
