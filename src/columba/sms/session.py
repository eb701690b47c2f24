"""A sans-I/O SMPP 3.4 session for both roles: the ESME (our SMS server) and the SMSC (the
built-in simulator).

Like h11's ``Connection`` and aioquic's ``QuicConnection``, a :class:`SmppSession` takes bytes
and gives events, and queues the bytes to send; it never touches a socket or a clock. Time is
a parameter: every call that can start or end a timer takes ``now``, :meth:`get_timer` says
when to call :meth:`handle_timer` next. The asyncio adapter (``columba.sms.esme.SmppLink``)
is the only I/O around it.

What the session does by itself:

- **Bind state machine** (SMPP 3.4 §2.2-2.3): OPEN → BINDING → BOUND_TX / BOUND_RX /
  BOUND_TRX → UNBINDING → UNBOUND, or CLOSED when the link fails. A PDU the current state does
  not allow is answered ESME_RINVBNDSTS; a second bind ESME_RALYBND.
- **Sequence numbers** 1 to 0x7FFFFFFF (§5.1.4), never one still outstanding.
- **A send window**: at most ``window`` message requests (submit_sm, deliver_sm, data_sm) wait
  for their response; later ones are queued, in order. Session PDUs bypass the window.
- **Response timers**: each request fails as :class:`RequestFailed` (``"timeout"``) when its
  response does not come in ``response_timeout`` seconds; a late response is ignored.
- **Keep-alive**: enquire_link (§4.11) when nothing has arrived for
  ``enquire_link_interval`` seconds, and :class:`LinkDead` (state CLOSED) when nothing at all
  arrives within ``enquire_link_timeout`` after it: a silently dropped TCP connection.
- **generic_nack** (§4.3) for a PDU with an unknown command_id; the PDU's own response with the
  decoder's command_status for a known request whose body is malformed; generic_nack and
  CLOSED when the stream loses its PDU boundary.
- **Throttling**: a response ESME_RTHROTTLED or ESME_RMSGQFUL pauses all sending for a back-off
  (``throttle_backoff``, doubling per retry of the same request, at most
  ``max_throttle_backoff``) and then sends that request again, ahead of the queue, with a new
  sequence number (sms-stack.md §8: honour the SMSC's flow control).
- **Ack after store**: an incoming submit_sm / deliver_sm / data_sm comes out as
  :class:`MessageReceived` and is answered only when the application calls :meth:`ack` — after
  it has stored the message, so that a node that dies before storing leaves the SMSC to
  deliver it again (DESIGN.md "nothing is lost"; decision 0006 §2). Past ``max_unacked``
  unanswered messages, new ones are refused with a temporary error so that the peer retries.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Literal

from columba.sms.codes import RESPONSE_BIT, is_response
from columba.sms.errors import FramingError, SmsUsageError
from columba.sms.framing import DEFAULT_MAX_COMMAND_LENGTH, BadPdu, PduFramer
from columba.sms.pdu import (
    PDU_CLASSES,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandStatus,
    DataSm,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    Unbind,
    UnbindResp,
    encode_pdu,
    response_to,
    with_sequence_number,
)

#: The largest sequence_number (§5.1.4: 0x00000001 to 0x7FFFFFFF).
MAX_SEQUENCE = 0x7FFFFFFF

#: Responses that mean "slow down, then try again" (SMPP 3.4 §5.1.3).
THROTTLE_STATUSES = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})


class Role(enum.Enum):
    """Which end of the bind this session is."""

    ESME = "esme"
    SMSC = "smsc"


class BindMode(enum.Enum):
    """The three binds (§2.2): submit only, receive only, or both on one connection."""

    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def can_submit(self) -> bool:
        """Whether the ESME may send submit_sm on this bind (and the SMSC accept it)."""
        return self is not BindMode.RECEIVER

    @property
    def can_deliver(self) -> bool:
        """Whether the SMSC may send deliver_sm on this bind."""
        return self is not BindMode.TRANSMITTER


class SessionState(enum.Enum):
    """SMPP 3.4 §2.3 session states, with the two waits between them made visible."""

    OPEN = "open"
    BINDING = "binding"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    UNBOUND = "unbound"
    CLOSED = "closed"


_BOUND_STATE = {
    BindMode.TRANSMITTER: SessionState.BOUND_TX,
    BindMode.RECEIVER: SessionState.BOUND_RX,
    BindMode.TRANSCEIVER: SessionState.BOUND_TRX,
}
_BIND_PDU: dict[BindMode, type[BindTransmitter | BindReceiver | BindTransceiver]] = {
    BindMode.TRANSMITTER: BindTransmitter,
    BindMode.RECEIVER: BindReceiver,
    BindMode.TRANSCEIVER: BindTransceiver,
}
_BIND_MODE: dict[type[Pdu], BindMode] = {cls: mode for mode, cls in _BIND_PDU.items()}
_BIND_RESPONSES = (BindTransmitterResp, BindReceiverResp, BindTransceiverResp)
_ENDED = (SessionState.UNBOUND, SessionState.CLOSED)

BindPdu = BindTransmitter | BindReceiver | BindTransceiver
MessagePdu = SubmitSm | DeliverSm | DataSm


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """Limits and timers of one bind; the defaults suit an operator SMSC.

    Attributes:
        window: Message requests that may wait for a response at once.
        response_timeout: Seconds to wait for a response before the request fails.
        bind_timeout: Seconds for the bind: the ESME's wait for bind_resp, and the SMSC's wait
            for a bind after the TCP connection opens.
        enquire_link_interval: Idle seconds (nothing received) before an enquire_link.
        enquire_link_timeout: Seconds after that enquire_link with nothing received before
            the link is declared dead.
        throttle_backoff: First pause after ESME_RTHROTTLED / ESME_RMSGQFUL; doubles for each
            further throttle of the same request.
        max_throttle_backoff: The longest pause.
        max_throttle_retries: Throttles of one request before its throttled response is
            reported as final.
        max_unacked: Received messages the application has not acked yet; more are refused
            with a temporary error (ESME_RTHROTTLED to an ESME, ESME_RX_T_APPN to an SMSC).
        max_command_length: The largest PDU accepted (the framer's limit).
    """

    window: int = 10
    response_timeout: float = 30.0
    bind_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    enquire_link_timeout: float = 10.0
    throttle_backoff: float = 1.0
    max_throttle_backoff: float = 30.0
    max_throttle_retries: int = 10
    max_unacked: int = 100
    max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_unacked < 1 or self.max_throttle_retries < 0:
            raise SmsUsageError("window and max_unacked must be at least 1")
        timers = (
            self.response_timeout,
            self.bind_timeout,
            self.enquire_link_interval,
            self.enquire_link_timeout,
            self.throttle_backoff,
            self.max_throttle_backoff,
        )
        if min(timers) <= 0:
            raise SmsUsageError("session timers must be positive")


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BindRequested:
    """SMSC role: an ESME asks to bind; answer with :meth:`SmppSession.accept_bind` or
    :meth:`SmppSession.reject_bind` (after checking system_id and password)."""

    pdu: BindPdu
    mode: BindMode


@dataclass(frozen=True, slots=True, kw_only=True)
class Bound:
    """ESME role: the SMSC accepted the bind."""

    mode: BindMode
    system_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BindFailed:
    """The bind did not happen; the session is CLOSED.

    Attributes:
        command_status: The SMSC's refusal (ESME_RBINDFAIL, ESME_RINVPASWD …); None when the
            bind (or, for the SMSC role, the ESME's bind request) timed out.
        reason: ``"refused"`` or ``"timeout"``.
    """

    command_status: int | None
    reason: Literal["refused", "timeout"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A submit_sm (SMSC role), deliver_sm (ESME role) or data_sm; unanswered until
    :meth:`SmppSession.ack`."""

    pdu: MessagePdu


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived:
    """The response to a request sent with :meth:`SmppSession.send`, whatever its status.

    Attributes:
        request_id: What :meth:`SmppSession.send` returned (stable across throttle retries).
        request: The request as last sent (its sequence_number may differ from the first).
        response: The response PDU; ``response.command_status`` says how it went.
    """

    request_id: int
    request: Pdu
    response: Pdu


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFailed:
    """A request that got no usable response.

    Attributes:
        reason: ``"timeout"``, ``"generic_nack"``, ``"bad_response"`` (undecodable or of the
            wrong type), ``"unbound"`` (the bind ended first) or ``"closed"`` (the link died or
            the connection was lost).
        command_status: The generic_nack's or decoder's status, when there is one.
        was_sent: Whether the request reached the wire: when it did, the peer may have acted
            on it (an SMS may go out twice if it is sent again).
    """

    request_id: int
    request: Pdu
    reason: Literal["timeout", "generic_nack", "bad_response", "unbound", "closed"]
    command_status: int | None
    was_sent: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Throttled:
    """The peer answered ESME_RTHROTTLED or ESME_RMSGQFUL; the request goes again at
    ``retry_at`` (for logs and metrics: nothing to do)."""

    request_id: int
    request: Pdu
    command_status: int
    retry_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbound:
    """The bind ended in order (unbind and unbind_resp); close the TCP connection."""

    by_peer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDead:
    """Nothing arrived in ``enquire_link_timeout`` after an enquire_link; the session is
    CLOSED: close the connection and reconnect."""

    last_received: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolFailed:
    """The stream lost its PDU boundary; a generic_nack is queued and the session is CLOSED."""

    reason: str


Event = (
    BindRequested
    | Bound
    | BindFailed
    | MessageReceived
    | ResponseReceived
    | RequestFailed
    | Throttled
    | Unbound
    | LinkDead
    | ProtocolFailed
)

_Kind = Literal["message", "bind", "enquire", "unbind"]


@dataclass(slots=True, kw_only=True)
class _Request:
    request_id: int
    pdu: Pdu
    kind: _Kind
    deadline: float = 0.0
    throttles: int = 0
    was_sent: bool = False


class SmppSession:
    """One SMPP 3.4 bind, either role, sans-I/O.

    Feed received octets to :meth:`receive_data`, write :meth:`data_to_send` to the socket
    after every call, call :meth:`handle_timer` at :meth:`get_timer`, and
    :meth:`connection_lost` when the socket closes.
    """

    def __init__(self, role: Role, config: SessionConfig | None = None, *, now: float) -> None:
        self.role = role
        self.config = config or SessionConfig()
        self._framer = PduFramer(max_command_length=self.config.max_command_length)
        self._state = SessionState.OPEN
        self._mode: BindMode | None = None
        self._peer_system_id = ""
        self._out = bytearray()
        self._next_sequence = 1
        self._next_request_id = 1
        self._outstanding: dict[int, _Request] = {}  # by sequence_number
        self._in_window = 0  # outstanding message requests
        self._queue: deque[_Request] = deque()
        self._paused_until: float | None = None
        self._unacked: dict[int, MessageReceived] = {}  # by the peer's sequence_number
        self._pending_bind: BindRequested | None = None
        self._last_received = now
        self._enquire_sent_at: float | None = None
        self._opened_at = now

    # -- introspection ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The bind state."""
        return self._state

    @property
    def mode(self) -> BindMode | None:
        """The bind mode once bound (kept while unbinding)."""
        return self._mode

    @property
    def peer_system_id(self) -> str:
        """The peer's system_id: the ESME's from its bind, or the SMSC's from bind_resp."""
        return self._peer_system_id

    @property
    def is_bound(self) -> bool:
        """Whether message PDUs may be sent now (queued ones included)."""
        return self._state in _BOUND_STATE.values()

    @property
    def is_ended(self) -> bool:
        """Whether the session is UNBOUND or CLOSED: flush, then close the connection."""
        return self._state in _ENDED

    @property
    def outstanding(self) -> int:
        """Message requests sent and not yet answered."""
        return self._in_window

    @property
    def queued(self) -> int:
        """Message requests waiting for room in the window (or for a throttle pause)."""
        return len(self._queue)

    @property
    def unacked(self) -> int:
        """Received messages the application has not acked."""
        return len(self._unacked)

    @property
    def paused_until(self) -> float | None:
        """When a throttle pause ends, while one is in force."""
        return self._paused_until

    # -- sending ------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """The octets to write to the socket now (and forget)."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def bind(
        self,
        mode: BindMode,
        *,
        system_id: str,
        password: str,
        now: float,
        system_type: str = "",
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
    ) -> None:
        """ESME role: send bind_transmitter / bind_receiver / bind_transceiver.

        Raises:
            SmsUsageError: not an ESME session, or not OPEN.
        """
        if self.role is not Role.ESME or self._state is not SessionState.OPEN:
            raise SmsUsageError(f"cannot bind a {self.role.value} session in {self._state.value}")
        pdu = _BIND_PDU[mode](
            sequence_number=0,
            system_id=system_id,
            password=password,
            system_type=system_type,
            addr_ton=addr_ton,
            addr_npi=addr_npi,
            address_range=address_range,
        )
        self._mode = mode
        self._state = SessionState.BINDING
        self._send_now(self._new_request(pdu, "bind"), now, self.config.bind_timeout)

    def accept_bind(self, event: BindRequested, *, system_id: str, now: float) -> None:
        """SMSC role: answer the pending bind with ESME_ROK; the session is BOUND.

        Raises:
            SmsUsageError: ``event`` is not the pending bind.
        """
        self._take_pending_bind(event)
        self._write(response_to(event.pdu, system_id=system_id))
        self._mode = event.mode
        self._peer_system_id = event.pdu.system_id
        self._state = _BOUND_STATE[event.mode]
        self._last_received = now

    def reject_bind(self, event: BindRequested, *, command_status: int) -> None:
        """SMSC role: refuse the pending bind (ESME_RBINDFAIL, ESME_RINVPASWD …); CLOSED.

        Raises:
            SmsUsageError: ``event`` is not the pending bind, or ``command_status`` is ESME_ROK.
        """
        if command_status == CommandStatus.ESME_ROK:
            raise SmsUsageError("reject_bind needs an error command_status")
        self._take_pending_bind(event)
        self._write(response_to(event.pdu, command_status=command_status))
        self._state = SessionState.CLOSED

    def send(self, pdu: MessagePdu, *, now: float) -> int:
        """Queue a submit_sm (ESME), deliver_sm (SMSC) or data_sm; return its request id.

        The sequence_number is the session's (``pdu``'s is replaced). The request goes out at
        once when the window has room and no throttle pause is in force.

        Raises:
            SmsUsageError: the PDU is not one this role may send, or the session is not bound
                in a mode that allows it.
        """
        if not self._may_send(pdu):
            raise SmsUsageError(
                f"{type(pdu).__name__} cannot be sent by the {self.role.value}"
                f" in {self._state.value}"
            )
        request = self._new_request(pdu, "message")
        self._queue.append(request)
        self._pump(now)
        return request.request_id

    def unbind(self, *, now: float) -> None:
        """Send unbind (§4.2); queued requests fail with ``"unbound"`` once it completes.

        Raises:
            SmsUsageError: not bound.
        """
        if not self.is_bound:
            raise SmsUsageError(f"cannot unbind in {self._state.value}")
        self._state = SessionState.UNBINDING
        self._send_now(
            self._new_request(Unbind(sequence_number=0), "unbind"),
            now,
            self.config.response_timeout,
        )

    def ack(
        self,
        event: MessageReceived,
        *,
        command_status: int = CommandStatus.ESME_ROK,
        message_id: str = "",
    ) -> bool:
        """Answer a received message: ESME_ROK once stored (with the SMSC's ``message_id``
        for submit_sm and data_sm), or an error such as ESME_RX_T_APPN to make the peer retry.

        Returns:
            Whether the response was queued: False when the bind ended first (the peer then
            delivers the message again, so the application must tolerate duplicates).

        Raises:
            SmsUsageError: ``event`` is not a message of this session awaiting its ack.
        """
        sequence = event.pdu.sequence_number
        if self._unacked.get(sequence) is not event:
            raise SmsUsageError(f"no unacked message with sequence_number {sequence}")
        del self._unacked[sequence]
        if self._state in _ENDED:
            return False
        if isinstance(event.pdu, DeliverSm):
            message_id = ""  # §4.6.2: unused, NULL
        self._write(response_to(event.pdu, command_status=command_status, message_id=message_id))
        return True

    # -- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes, *, now: float) -> list[Event]:
        """Take octets from the socket; return what they mean, in order."""
        if self._state is SessionState.CLOSED or not data:
            return []
        self._last_received = now
        try:
            items = self._framer.feed(data)
        except FramingError as exc:
            self._write(
                GenericNack(sequence_number=exc.sequence_number, command_status=exc.command_status)
            )
            events: list[Event] = [ProtocolFailed(reason=exc.reason)]
            events += self._end(SessionState.CLOSED, "closed")
            return events
        events = []
        for item in items:
            if self.is_ended:
                break
            if isinstance(item, BadPdu):
                events += self._receive_bad(item)
            elif is_response(item.command_id):
                events += self._receive_response(item, now)
            else:
                events += self._receive_request(item, now)
        self._pump(now)
        return events

    def connection_lost(self, *, now: float) -> list[Event]:
        """The TCP connection closed: every request still waiting fails with ``"closed"``."""
        return self._end(SessionState.CLOSED, "closed")

    # -- timers -------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` next has work, or None."""
        if self._state in _ENDED:
            return None
        times = [request.deadline for request in self._outstanding.values()]
        if self._queue and self._paused_until is not None:
            times.append(self._paused_until)
        if self.role is Role.SMSC and self._state is SessionState.OPEN:
            times.append(self._opened_at + self.config.bind_timeout)
        if self.is_bound:
            if self._enquire_sent_at is None:
                times.append(self._last_received + self.config.enquire_link_interval)
            else:
                times.append(self._enquire_sent_at + self.config.enquire_link_timeout)
        return min(times, default=None)

    def handle_timer(self, *, now: float) -> list[Event]:
        """Fire every timer due at ``now``: response timeouts, keep-alive, throttle pauses."""
        if self._state in _ENDED:
            return []
        if self.role is Role.SMSC and self._state is SessionState.OPEN:
            if now >= self._opened_at + self.config.bind_timeout:
                self._state = SessionState.CLOSED
                return [BindFailed(command_status=None, reason="timeout")]
            return []
        events: list[Event] = []
        if self._enquire_sent_at is not None and now >= (
            self._enquire_sent_at + self.config.enquire_link_timeout
        ):
            if self._last_received <= self._enquire_sent_at:
                events.append(LinkDead(last_received=self._last_received))
                return events + self._end(SessionState.CLOSED, "closed")
            self._enquire_sent_at = None  # traffic arrived meanwhile: the link is alive
        for sequence, request in sorted(self._outstanding.items()):
            if request.deadline > now:
                continue
            del self._outstanding[sequence]
            events += self._expire(request)
            if self._state in _ENDED:
                return events
        idle_until = self._last_received + self.config.enquire_link_interval
        if self.is_bound and self._enquire_sent_at is None and now >= idle_until:
            self._enquire_sent_at = now
            enquire = self._new_request(EnquireLink(sequence_number=0), "enquire")
            self._send_now(enquire, now, self.config.enquire_link_timeout)
        self._pump(now)
        return events

    # -- internals ----------------------------------------------------------------------------

    def _write(self, pdu: Pdu) -> None:
        self._out += encode_pdu(pdu)

    def _new_request(self, pdu: Pdu, kind: _Kind) -> _Request:
        request = _Request(request_id=self._next_request_id, pdu=pdu, kind=kind)
        self._next_request_id += 1
        return request

    def _sequence(self) -> int:
        while True:
            sequence = self._next_sequence
            self._next_sequence = 1 if sequence >= MAX_SEQUENCE else sequence + 1
            if sequence not in self._outstanding:
                return sequence

    def _send_now(self, request: _Request, now: float, timeout: float) -> None:
        request.pdu = with_sequence_number(request.pdu, self._sequence())
        request.deadline = now + timeout
        request.was_sent = True
        self._outstanding[request.pdu.sequence_number] = request
        if request.kind == "message":
            self._in_window += 1
        self._write(request.pdu)

    def _pump(self, now: float) -> None:
        """Send queued message requests while the window has room and no pause holds."""
        if self._paused_until is not None:
            if now < self._paused_until:
                return
            self._paused_until = None
        while self._queue and self._in_window < self.config.window and self.is_bound:
            request = self._queue.popleft()
            self._send_now(request, now, self.config.response_timeout)

    def _may_send(self, pdu: Pdu) -> bool:
        mode = self._mode
        if not self.is_bound or mode is None:
            return False
        if self.role is Role.ESME:
            return isinstance(pdu, SubmitSm | DataSm) and mode.can_submit
        return isinstance(pdu, DeliverSm | DataSm) and mode.can_deliver

    def _may_receive(self, pdu: Pdu) -> bool:
        mode = self._mode
        if mode is None or self._state not in (*_BOUND_STATE.values(), SessionState.UNBINDING):
            return False
        if self.role is Role.SMSC:
            return isinstance(pdu, SubmitSm | DataSm) and mode.can_submit
        return isinstance(pdu, DeliverSm | DataSm) and mode.can_deliver

    def _take_pending_bind(self, event: BindRequested) -> None:
        if self._pending_bind is not event or self._state is not SessionState.BINDING:
            raise SmsUsageError("no such bind is waiting for an answer")
        self._pending_bind = None

    def _receive_request(self, pdu: Pdu, now: float) -> list[Event]:
        if isinstance(pdu, EnquireLink):
            self._write(EnquireLinkResp(sequence_number=pdu.sequence_number))
            return []
        if isinstance(pdu, Unbind):
            self._write(UnbindResp(sequence_number=pdu.sequence_number))
            events: list[Event] = [Unbound(by_peer=True)]
            return events + self._end(SessionState.UNBOUND, "unbound")
        if isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver):
            return self._receive_bind(pdu)
        if isinstance(pdu, SubmitSm | DeliverSm | DataSm):
            return self._receive_message(pdu)
        # A request the codec reads but this session never takes (a response class cannot
        # get here): answer with an empty response refusing it.
        self._write(response_to(pdu, command_status=CommandStatus.ESME_RINVBNDSTS))
        return []

    def _receive_bind(self, pdu: BindPdu) -> list[Event]:
        if self.role is Role.SMSC and self._state is SessionState.OPEN:
            event = BindRequested(pdu=pdu, mode=_BIND_MODE[type(pdu)])
            self._pending_bind = event
            self._state = SessionState.BINDING
            return [event]
        already = self.role is Role.SMSC and self._state is not SessionState.OPEN
        status = CommandStatus.ESME_RALYBND if already else CommandStatus.ESME_RINVBNDSTS
        self._write(response_to(pdu, command_status=status))
        return []

    def _receive_message(self, pdu: MessagePdu) -> list[Event]:
        if not self._may_receive(pdu):
            self._write(response_to(pdu, command_status=CommandStatus.ESME_RINVBNDSTS))
            return []
        if len(self._unacked) >= self.config.max_unacked or pdu.sequence_number in self._unacked:
            # Temporary refusals: the peer sends the message again later (§5.1.3).
            status = (
                CommandStatus.ESME_RTHROTTLED
                if self.role is Role.SMSC
                else CommandStatus.ESME_RX_T_APPN
            )
            self._write(response_to(pdu, command_status=status))
            return []
        event = MessageReceived(pdu=pdu)
        self._unacked[pdu.sequence_number] = event
        return [event]

    def _receive_bad(self, bad: BadPdu) -> list[Event]:
        error = bad.error
        if is_response(error.command_id):
            request = self._outstanding.pop(error.sequence_number, None)
            if request is None:
                return []
            return self._fail(request, "bad_response", error.command_status)
        response_cls = PDU_CLASSES.get(error.command_id | RESPONSE_BIT)
        if response_cls is None or error.command_status == CommandStatus.ESME_RINVCMDID:
            self._write(
                GenericNack(
                    sequence_number=error.sequence_number, command_status=error.command_status
                )
            )
        else:
            self._write(
                response_cls(
                    sequence_number=error.sequence_number, command_status=error.command_status
                )
            )
        return []

    def _receive_response(self, pdu: Pdu, now: float) -> list[Event]:
        request = self._outstanding.pop(pdu.sequence_number, None)
        if request is None:
            return []  # late (after its timeout) or never asked for
        if request.kind == "message":
            self._in_window -= 1
        if isinstance(pdu, GenericNack):
            return self._fail(request, "generic_nack", pdu.command_status, counted=False)
        expected = PDU_CLASSES.get(request.pdu.command_id | RESPONSE_BIT)
        if type(pdu) is not expected:
            return self._fail(request, "bad_response", pdu.command_status, counted=False)
        if request.kind == "bind":
            return self._bound(pdu)
        if request.kind == "enquire":
            self._enquire_sent_at = None
            return []
        if request.kind == "unbind":
            events: list[Event] = [Unbound(by_peer=False)]
            return events + self._end(SessionState.UNBOUND, "unbound")
        status = pdu.command_status
        if status in THROTTLE_STATUSES and request.throttles < self.config.max_throttle_retries:
            request.throttles += 1
            delay = min(
                self.config.throttle_backoff * 2 ** (request.throttles - 1),
                self.config.max_throttle_backoff,
            )
            retry_at = max(now + delay, self._paused_until or now)
            self._paused_until = retry_at
            self._requeue(request)
            return [
                Throttled(
                    request_id=request.request_id,
                    request=request.pdu,
                    command_status=status,
                    retry_at=retry_at,
                )
            ]
        return [ResponseReceived(request_id=request.request_id, request=request.pdu, response=pdu)]

    def _bound(self, response: Pdu) -> list[Event]:
        assert isinstance(response, _BIND_RESPONSES)
        assert self._mode is not None
        if response.command_status != CommandStatus.ESME_ROK:
            self._state = SessionState.CLOSED
            return [BindFailed(command_status=response.command_status, reason="refused")]
        self._state = _BOUND_STATE[self._mode]
        self._peer_system_id = response.system_id
        return [Bound(mode=self._mode, system_id=response.system_id)]

    def _requeue(self, request: _Request) -> None:
        """Put a throttled request back before every request queued after it."""
        request.was_sent = False  # the peer refused it: it did not act on it
        later = (
            i for i, queued in enumerate(self._queue) if queued.request_id > request.request_id
        )
        self._queue.insert(next(later, len(self._queue)), request)

    def _expire(self, request: _Request) -> list[Event]:
        if request.kind == "message":
            self._in_window -= 1
            return self._fail(request, "timeout", None, counted=False)
        if request.kind == "bind":
            self._state = SessionState.CLOSED
            return [BindFailed(command_status=None, reason="timeout")]
        if request.kind == "unbind":
            events: list[Event] = [Unbound(by_peer=False)]
            return events + self._end(SessionState.UNBOUND, "unbound")
        return []  # an enquire_link: the keep-alive timer decides

    def _fail(
        self,
        request: _Request,
        reason: Literal["timeout", "generic_nack", "bad_response", "unbound", "closed"],
        status: int | None,
        *,
        counted: bool = True,
    ) -> list[Event]:
        """Report a request that will get no response (``counted``: still in the window)."""
        if request.kind == "message" and counted and request.was_sent:
            self._in_window -= 1
        if request.kind == "bind":
            self._state = SessionState.CLOSED
            return [BindFailed(command_status=status, reason="refused")]
        if request.kind == "unbind":
            return [Unbound(by_peer=False), *self._end(SessionState.UNBOUND, "unbound")]
        if request.kind == "enquire":
            self._enquire_sent_at = None
            return []
        return [
            RequestFailed(
                request_id=request.request_id,
                request=request.pdu,
                reason=reason,
                command_status=status,
                was_sent=request.was_sent,
            )
        ]

    def _end(self, state: SessionState, reason: Literal["unbound", "closed"]) -> list[Event]:
        """Enter UNBOUND or CLOSED; fail every request still waiting, sent ones first."""
        if self._state in _ENDED and state is SessionState.UNBOUND:
            state = self._state
        self._state = state
        self._paused_until = None
        self._enquire_sent_at = None
        waiting = [r for r in self._outstanding.values() if r.kind == "message"]
        waiting += self._queue
        self._outstanding.clear()
        self._queue.clear()
        self._in_window = 0
        return [
            RequestFailed(
                request_id=request.request_id,
                request=request.pdu,
                reason=reason,
                command_status=None,
                was_sent=request.was_sent,
            )
            for request in waiting
        ]


__all__ = [
    "MAX_SEQUENCE",
    "THROTTLE_STATUSES",
    "BindFailed",
    "BindMode",
    "BindRequested",
    "Bound",
    "Event",
    "LinkDead",
    "MessageReceived",
    "ProtocolFailed",
    "RequestFailed",
    "ResponseReceived",
    "Role",
    "SessionConfig",
    "SessionState",
    "SmppSession",
    "Throttled",
    "Unbound",
]
