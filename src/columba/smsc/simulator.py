"""The built-in SMSC simulator: an SMPP 3.4 server with virtual handsets.

What it does, as an operator SMSC would (sms-stack.md §6):

- **Binds**: accepts bind_transmitter / receiver / transceiver from the accounts in
  :class:`SmscConfig` (system_id and password; by default one account, ``columba`` /
  ``columba``), refusing others with ESME_RINVSYSID or ESME_RINVPASWD.
- **MT**: answers each submit_sm (or data_sm) with a fresh message id, lands the part on the
  destination's virtual handset (reassembled there), and, when ``registered_delivery`` asks,
  sends a delivery receipt: a deliver_sm with esm_class 0x04, the Appendix B text and the
  ``receipted_message_id`` / ``message_state`` TLVs (and ``network_error_code`` on failure).
- **MO**: :meth:`SmscSimulator.send_from_handset` splits a phone's text (UDH) and delivers
  the parts as deliver_sm to a bound receiver or transceiver, all parts on one bind. An MO or
  receipt that no bind can take yet waits in the outbox; one refused with a temporary error,
  timed out or cut off by a dropped connection is retried with back-off, like a real SMSC.
- **Faults on demand**: :meth:`SmscSimulator.fail_next_submits` answers the next submits
  with a chosen status (ESME_RTHROTTLED to exercise throttling); a handset can be made
  unreachable (receipts say UNDELIV).

The module is wiring around :class:`~columba.sms.session.SmppSession` (through
:class:`~columba.sms.esme.SmppLink`): every connection is a task of the simulator's TaskGroup,
and :meth:`SmscSimulator.run` closes them all when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from columba.sms.errors import PduError, SmsUsageError, UserDataError
from columba.sms.esme import RequestError, SmppLink
from columba.sms.pdu import CommandStatus, DeliverSm, Pdu, Tlv, TlvTag
from columba.sms.reassembly import ReassemblyLimits
from columba.sms.receipt import ESM_TYPE_DELIVERY_RECEIPT, DeliveryReceipt, MessageState
from columba.sms.receipt import format_receipt as receipt_text
from columba.sms.segment import split_message
from columba.sms.session import (
    BindRequested,
    Event,
    MessageReceived,
    Role,
    SessionConfig,
    SmppSession,
)
from columba.sms.userdata import part_of, with_part
from columba.smsc.handsets import Handset, HandsetBook

log = logging.getLogger(__name__)

#: Answers from the ESME after which a deliver_sm is tried again later (§5.1.3).
_TEMPORARY = frozenset(
    {
        CommandStatus.ESME_RX_T_APPN,
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """An ESME allowed to bind."""

    system_id: str
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscConfig:
    """The simulator's accounts, identity and timers.

    Attributes:
        accounts: Who may bind.
        system_id: The simulator's system_id in bind responses.
        session: Window and timers of each bind.
        reassembly: Limits of the handsets' reassembly.
        retry_initial: First pause before delivering a refused or lost deliver_sm again.
        retry_max: The longest pause (it doubles per attempt).
        max_attempts: Attempts before an MO or receipt is given up (kept in ``undelivered``).
        use_16bit_ref: MO texts use 16-bit concatenation references.
    """

    accounts: tuple[Account, ...] = (Account(system_id="columba", password="columba"),)
    system_id: str = "COLUMBA-SMSC"
    session: SessionConfig = field(default_factory=SessionConfig)
    reassembly: ReassemblyLimits = field(default_factory=ReassemblyLimits)
    retry_initial: float = 1.0
    retry_max: float = 60.0
    max_attempts: int = 10
    use_16bit_ref: bool = False


class Outgoing:
    """An MO text on its way from a handset to the ESME."""

    def __init__(self, *, mo_id: str, source: str, destination: str, parts: int) -> None:
        self.mo_id = mo_id
        self.source = source
        self.destination = destination
        self.parts = parts
        self._settled: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    @property
    def is_settled(self) -> bool:
        """Whether every part was acked, or the simulator gave up."""
        return self._settled.done()

    async def wait_delivered(self) -> str | None:
        """Wait until the ESME acked every part (None) or the simulator gave up (the reason)."""
        return await asyncio.shield(self._settled)

    def _settle(self, error: str | None) -> None:
        if not self._settled.done():
            self._settled.set_result(error)


@dataclass(slots=True, kw_only=True)
class _Delivery:
    pdus: list[DeliverSm]
    system_id: str | None  # receipts go back to the submitting account; MO to any
    outgoing: Outgoing | None = None
    attempts: int = 0
    not_before: float = 0.0


@dataclass(slots=True, kw_only=True)
class _Connection:
    link: SmppLink
    system_id: str = ""

    @property
    def can_deliver(self) -> bool:
        mode = self.link.session.mode
        return self.link.session.is_bound and mode is not None and mode.can_deliver


class SmscSimulator:
    """The SMSC role: an SMPP listener, virtual handsets and an outbox of deliver_sm.

    Run it with ``async with simulator.serving(port=0):`` or :meth:`run` in a TaskGroup.
    """

    def __init__(self, config: SmscConfig | None = None) -> None:
        self.config = config or SmscConfig()
        self.handsets = HandsetBook(self.config.reassembly)
        #: Every submit_sm / data_sm received, in order (for tests and the control channel).
        self.submits: list[Pdu] = []
        #: Deliveries given up after ``max_attempts`` or a permanent refusal.
        self.undelivered: list[DeliverSm] = []
        #: Where the SMPP listener is, once started.
        self.address: tuple[str, int] | None = None
        #: Where the control channel is, once started (if asked for).
        self.control_address: tuple[str, int] | None = None
        self._connections: dict[SmppLink, _Connection] = {}
        self._outbox: list[_Delivery] = []
        self._tasks: asyncio.TaskGroup | None = None
        self._wake = asyncio.Event()
        self._bound = asyncio.Event()
        self._started = asyncio.Event()
        self._fail_next: list[int] = []
        self._id_prefix = secrets.randbits(16)
        self._ids = 0
        self._mo_reference = secrets.randbits(8)

    # -- the control API ----------------------------------------------------------------------

    def handset(self, number: str) -> Handset:
        """The virtual phone with ``number`` (created on first use)."""
        return self.handsets[number]

    @property
    def binds(self) -> list[tuple[str, str]]:
        """(system_id, mode) of every bound ESME connection."""
        return [
            (conn.system_id, conn.link.session.mode.value)
            for conn in self._connections.values()
            if conn.link.session.is_bound and conn.link.session.mode is not None
        ]

    def send_from_handset(self, from_number: str, to_number: str, text: str) -> Outgoing:
        """A phone texts ``to_number``: split it (UDH) and deliver it to a bound ESME.

        Raises:
            SmsUsageError: the text needs more than 255 parts, or an address is too long.
        """
        limit = 0xFFFF if self.config.use_16bit_ref else 0xFF
        self._mo_reference = (self._mo_reference + 1) % (limit + 1)
        parts = split_message(
            text, reference=self._mo_reference, use_16bit_ref=self.config.use_16bit_ref
        )
        template = DeliverSm(
            sequence_number=0,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=from_number,
            destination_addr=to_number,
        )
        pdus = [with_part(template, part) for part in parts]
        for pdu in pdus:
            if len(pdu.source_addr) > 20 or len(pdu.destination_addr) > 20:
                raise SmsUsageError("an address is longer than 20 digits")
        outgoing = Outgoing(
            mo_id=self._new_id(), source=from_number, destination=to_number, parts=len(pdus)
        )
        self._enqueue(_Delivery(pdus=pdus, system_id=None, outgoing=outgoing))
        return outgoing

    def fail_next_submits(self, command_status: int, count: int = 1) -> None:
        """Answer the next ``count`` submit_sm with ``command_status`` (fault injection)."""
        self._fail_next.extend([command_status] * count)

    async def wait_bound(self, count: int = 1) -> None:
        """Wait until ``count`` ESME connections are bound (bound it with asyncio.timeout)."""
        while len(self.binds) < count:
            self._bound.clear()
            await self._bound.wait()

    # -- running ------------------------------------------------------------------------------

    async def run(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 2775,
        control: tuple[str, int] | None = None,
    ) -> None:
        """Listen for SMPP (and the control channel) until cancelled; then close everything.

        Raises:
            OSError: a listener could not bind its address.
        """
        from columba.smsc.control import MAX_LINE, serve_control

        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            server = await asyncio.start_server(self._accept, host, port)
            control_server: asyncio.Server | None = None
            try:
                self.address = server.sockets[0].getsockname()[:2]
                if control is not None:

                    def accept_control(
                        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                    ) -> None:
                        tasks.create_task(serve_control(self, reader, writer))

                    control_server = await asyncio.start_server(
                        accept_control, *control, limit=MAX_LINE
                    )
                    self.control_address = control_server.sockets[0].getsockname()[:2]
                log.info("smsc simulator listening", extra={"kv": {"smpp": self.address}})
                self._started.set()
                await self._dispatch()
            finally:
                self._tasks = None
                server.close()
                if control_server is not None:
                    control_server.close()
                for conn in list(self._connections.values()):
                    conn.link.close()

    async def wait_started(self) -> None:
        """Return once the SMPP listener (and the control channel) are up."""
        await self._started.wait()

    @contextlib.asynccontextmanager
    async def serving(
        self, *, host: str = "127.0.0.1", port: int = 0, control_port: int | None = None
    ) -> AsyncIterator[SmscSimulator]:
        """Run for the ``async with`` body (port 0: any free port; see :attr:`address`)."""
        control = None if control_port is None else (host, control_port)
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(self.run(host=host, port=port, control=control))
            started = group.create_task(self._started.wait())
            await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done():
                started.cancel()
                await runner  # raises the listener's OSError
            try:
                yield self
            finally:
                runner.cancel()

    # -- connections --------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tasks is None:
            writer.close()
            return
        self._tasks.create_task(self._serve(reader, writer))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = SmppSession(Role.SMSC, self.config.session, now=asyncio.get_running_loop().time())
        link = SmppLink(session, reader, writer, self._on_event)
        self._connections[link] = _Connection(link=link)
        try:
            await link.run()
        finally:
            del self._connections[link]
            self._bound.set()
            self._wake.set()

    def _on_event(self, link: SmppLink, event: Event) -> None:
        if isinstance(event, BindRequested):
            self._bind(link, event)
        elif isinstance(event, MessageReceived):
            self._submit(link, event)
        else:
            log.debug("smsc event", extra={"kv": {"peer": link.peer, "event": repr(event)}})

    def _bind(self, link: SmppLink, event: BindRequested) -> None:
        account = next(
            (a for a in self.config.accounts if a.system_id == event.pdu.system_id), None
        )
        if account is None:
            link.reject_bind(event, command_status=CommandStatus.ESME_RINVSYSID)
        elif account.password != event.pdu.password:
            link.reject_bind(event, command_status=CommandStatus.ESME_RINVPASWD)
        else:
            link.accept_bind(event, system_id=self.config.system_id)
            self._connections[link].system_id = account.system_id
            log.info("esme bound", extra={"kv": {"id": account.system_id, "peer": link.peer}})
            self._bound.set()
            self._wake.set()

    def _submit(self, link: SmppLink, event: MessageReceived) -> None:
        pdu = event.pdu
        if isinstance(pdu, DeliverSm):  # the session lets none through to an SMSC
            link.ack(event, command_status=CommandStatus.ESME_RINVCMDID)
            return
        self.submits.append(pdu)
        if self._fail_next:
            link.ack(event, command_status=self._fail_next.pop(0))
            return
        if not pdu.destination_addr:
            link.ack(event, command_status=CommandStatus.ESME_RINVDSTADR)
            return
        message_id = self._new_id()
        handset = self.handsets[pdu.destination_addr]
        if handset.is_reachable:
            try:
                self.handsets.receive(
                    part_of(pdu),
                    source=pdu.source_addr,
                    destination=pdu.destination_addr,
                    message_id=message_id,
                    now=link.now(),
                )
            except (PduError, UserDataError) as exc:
                link.ack(event, command_status=exc.command_status)
                return
            self._wake.set()  # the reassembly may have a new deadline
        link.ack(event, message_id=message_id)
        state = MessageState.DELIVERED if handset.is_reachable else MessageState.UNDELIVERABLE
        wanted = pdu.registered_delivery & 0x03  # §5.2.17: 1 always, 2 on failure only
        if wanted == 1 or (wanted == 2 and state is not MessageState.DELIVERED):
            receipt = self._receipt(pdu.source_addr, pdu.destination_addr, message_id, state)
            system_id = self._connections[link].system_id
            self._enqueue(_Delivery(pdus=[receipt], system_id=system_id))

    def _receipt(
        self, esme_addr: str, phone: str, message_id: str, state: MessageState
    ) -> DeliverSm:
        now = datetime.now()
        delivered = state is MessageState.DELIVERED
        text = receipt_text(
            DeliveryReceipt(
                message_id=message_id,
                state=state,
                submitted=1,
                delivered=1 if delivered else 0,
                submit_date=now,
                done_date=now,
                error="000" if delivered else "001",
            )
        )
        tlvs = [
            Tlv.from_cstring(TlvTag.RECEIPTED_MESSAGE_ID, message_id),
            Tlv.from_int(TlvTag.MESSAGE_STATE, state, 1),
        ]
        if not delivered:  # GSM (3), error 1: unknown subscriber
            tlvs.append(Tlv(tag=TlvTag.NETWORK_ERROR_CODE, value=b"\x03\x00\x01"))
        return DeliverSm(
            sequence_number=0,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=phone,
            destination_addr=esme_addr,
            esm_class=ESM_TYPE_DELIVERY_RECEIPT,
            short_message=text.encode("ascii", "replace"),
            tlvs=tuple(tlvs),
        )

    def _new_id(self) -> str:
        self._ids += 1
        return f"{self._id_prefix:04x}{self._ids:06x}"

    # -- the outbox ---------------------------------------------------------------------------

    def _enqueue(self, delivery: _Delivery) -> None:
        self._outbox.append(delivery)
        self._wake.set()

    async def _dispatch(self) -> None:
        """Hand due deliveries to bound receivers; land expired reassemblies. Forever."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            now = loop.time()
            self.handsets.expire(now)
            waiting: list[_Delivery] = []
            for delivery in self._outbox:
                conn = self._receiver(delivery.system_id)
                if delivery.not_before > now or conn is None or self._tasks is None:
                    waiting.append(delivery)
                    continue
                self._tasks.create_task(self._deliver(conn, delivery))
            self._outbox = waiting
            times = [d.not_before for d in waiting if d.not_before > now]
            reassembly = self.handsets.next_deadline()
            if reassembly is not None:
                times.append(reassembly)
            delay = max(0.0, min(times) - now) if times else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _receiver(self, system_id: str | None) -> _Connection | None:
        candidates = [
            conn
            for conn in self._connections.values()
            if conn.can_deliver and (system_id is None or conn.system_id == system_id)
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda c: c.link.session.outstanding + c.link.session.queued)

    async def _deliver(self, conn: _Connection, delivery: _Delivery) -> None:
        futures: list[asyncio.Future[Pdu]] = []
        for pdu in delivery.pdus:
            try:
                futures.append(conn.link.send(pdu))
            except SmsUsageError:  # the bind went down meanwhile: the rest waits for another
                break
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed: list[DeliverSm] = list(delivery.pdus[len(futures) :])
        permanent: str | None = None
        for pdu, result in zip(delivery.pdus, results, strict=False):
            if isinstance(result, Pdu) and result.command_status == CommandStatus.ESME_ROK:
                continue
            failed.append(pdu)
            if isinstance(result, Pdu) and result.command_status not in _TEMPORARY:
                permanent = f"refused with 0x{result.command_status:08X}"
            elif isinstance(result, BaseException) and not isinstance(result, RequestError):
                raise result
        if not failed:
            if delivery.outgoing is not None:
                delivery.outgoing._settle(None)
            return
        delivery.attempts += 1
        if permanent is not None or delivery.attempts >= self.config.max_attempts:
            reason = permanent or f"gave up after {delivery.attempts} attempts"
            log.warning("deliver_sm given up", extra={"kv": {"why": reason}})
            self.undelivered.extend(failed)
            if delivery.outgoing is not None:
                delivery.outgoing._settle(reason)
            return
        delay = min(self.config.retry_initial * 2 ** (delivery.attempts - 1), self.config.retry_max)
        delivery.pdus = failed
        delivery.not_before = asyncio.get_running_loop().time() + delay
        self._enqueue(delivery)
