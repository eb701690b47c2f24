"""Non-INVITE SIP transactions (RFC 3261 §17.1.2, §17.2.2), sans-I/O.

A transaction is a state machine that never reads a clock and never touches a socket. The caller
passes the current time as ``now`` to every method, asks :meth:`get_timer` when to call back, and
carries out the actions each call returns:

* :class:`Transmit` — hand a message to the transport (first sending or retransmission);
* :class:`Deliver` — pass a response up to the transaction user (TU);
* :class:`TimedOut` / :class:`TransportFailed` — tell the TU the request failed;
* :class:`Terminated` — the transaction is over; forget it.

The machines are generic over the message objects: a request or response is opaque here, and the
status code that drives the transitions is passed alongside it. Every input first fires the
timers that expired at or before ``now``, so a caller that polls timers late still sees events in
time order. ``now`` must never decrease.

:class:`TransactionTable` drives many transactions from one heap of deadlines, and
:func:`client_key`, :func:`server_key` and :func:`legacy_server_key` derive the matching keys of
RFC 3261 §17.1.3 and §17.2.3 from plain strings.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from columba.protocol.errors import LocalProtocolError

MessageT = TypeVar("MessageT")
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
KeyT = TypeVar("KeyT", bound=Hashable)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerConfig:
    """Base timer values (RFC 3261 §17.1.2.2 and table 4), in seconds.

    Attributes:
        t1: RTT estimate; the first retransmission interval. Timers F and J last ``64 * t1``.
        t2: Maximum retransmission interval for non-INVITE requests.
        t4: Maximum time a message stays in the network; Timer K on unreliable transports.
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        # Non-positive T1 would make Timer E fire forever at the same instant.
        if not self.t1 > 0:
            raise LocalProtocolError(f"T1 must be positive, got {self.t1}")
        if not self.t2 >= self.t1:
            raise LocalProtocolError(f"T2 must be at least T1, got T1={self.t1} T2={self.t2}")
        if not self.t4 >= 0:
            raise LocalProtocolError(f"T4 must not be negative, got {self.t4}")

    @property
    def transaction_timeout(self) -> float:
        """Duration of Timers F and J: ``64 * T1`` (RFC 3261 §17.1.2.2, §17.2.2)."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerConfig()


class State(enum.Enum):
    """States shared by the non-INVITE client and server machines (RFC 3261 figures 6 and 8)."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


@dataclass(frozen=True, slots=True, kw_only=True)
class Transmit(Generic[MessageT]):
    """Hand ``message`` to the transport layer.

    Attributes:
        message: The request (client) or response (server) to send, as given to the transaction.
        is_retransmission: True when this repeats an earlier sending (Timer E on the client,
            a retransmitted request on the server), for counters and logs.
    """

    message: MessageT
    is_retransmission: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver(Generic[MessageT]):
    """Pass a response up to the TU (RFC 3261 §17.1.2.2); a final one is delivered only once.

    Attributes:
        status: The response's status code, 100–699.
        response: The response object, as given to the transaction.
    """

    status: int
    response: MessageT


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedOut:
    """Timer F fired before a final response: the TU treats it as a 408 (RFC 3261 §8.1.3.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportFailed:
    """The transport could not send for this transaction (RFC 3261 §17.1.4, §17.2.4).

    The TU treats it like a 503 on the client side (RFC 3261 §8.1.3.1) and may fail over.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminated:
    """The transaction reached TERMINATED: the caller should drop every reference to it."""


ClientAction: TypeAlias = (
    Transmit[RequestT] | Deliver[ResponseT] | TimedOut | TransportFailed | Terminated
)
ServerAction: TypeAlias = Transmit[ResponseT] | TransportFailed | Terminated
Action: TypeAlias = Transmit[Any] | Deliver[Any] | TimedOut | TransportFailed | Terminated


def _check_status(status: int) -> None:
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"status code must be 100-699, got {status}")


def _earliest(*deadlines: float | None) -> float | None:
    armed = [deadline for deadline in deadlines if deadline is not None]
    return min(armed) if armed else None


class ClientTransaction(Generic[RequestT, ResponseT]):
    """The non-INVITE client transaction of RFC 3261 §17.1.2 (figure 6).

    Args:
        request: The request to send; opaque to the transaction.
        reliable: Whether the transport is reliable (TCP, TLS, WebSocket). Reliable transports
            get no retransmissions (Timer E) and no wait in COMPLETED (Timer K is zero).
        now: The time the TU created the transaction, kept as :attr:`created_at`.
        timers: Base timer values.
    """

    def __init__(
        self,
        request: RequestT,
        *,
        reliable: bool,
        now: float,
        timers: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        self.request = request
        self.is_reliable = reliable
        self.created_at = now
        self.timers = timers
        self._state = State.TRYING
        self._is_started = False
        self._retransmit_interval = timers.t1
        self._timer_e: float | None = None
        self._timer_f: float | None = None
        self._timer_k: float | None = None

    def __repr__(self) -> str:
        return f"<ClientTransaction {self._state.name} reliable={self.is_reliable}>"

    @property
    def state(self) -> State:
        """The current state."""
        return self._state

    @property
    def is_terminated(self) -> bool:
        """Whether the transaction has reached TERMINATED."""
        return self._state is State.TERMINATED

    def start(self, now: float) -> list[ClientAction[RequestT, ResponseT]]:
        """Send the request for the first time and arm Timers E and F (RFC 3261 §17.1.2.2).

        Raises:
            LocalProtocolError: The transaction was already started or has terminated.
        """
        if self._is_started or self.is_terminated:
            raise LocalProtocolError(f"cannot start a client transaction in {self._state.name}")
        self._is_started = True
        self._timer_f = now + self.timers.transaction_timeout
        if not self.is_reliable:
            self._timer_e = now + self._retransmit_interval
        return [Transmit(message=self.request)]

    def receive_response(
        self, status: int, response: ResponseT, now: float
    ) -> list[ClientAction[RequestT, ResponseT]]:
        """Handle a response matched to this transaction (RFC 3261 §17.1.2.2).

        Provisional responses are delivered every time; the first final response is delivered
        and moves the transaction to COMPLETED, where retransmissions of it are absorbed.

        Raises:
            LocalProtocolError: ``status`` is outside 100–699, or the transaction was not started.
        """
        _check_status(status)
        if not self._is_started:
            raise LocalProtocolError("response received before the request was sent")
        actions = self.handle_timer(now)
        if self._state in (State.COMPLETED, State.TERMINATED):
            return actions
        if status < 200:
            self._state = State.PROCEEDING
            actions.append(Deliver(status=status, response=response))
            return actions
        self._state = State.COMPLETED
        self._timer_e = self._timer_f = None
        actions.append(Deliver(status=status, response=response))
        # Timer K absorbs retransmitted responses; a reliable transport has none (§17.1.2.2).
        if self.is_reliable or self.timers.t4 == 0:
            actions.extend(self._terminate())
        else:
            self._timer_k = now + self.timers.t4
        return actions

    def handle_timer(self, now: float) -> list[ClientAction[RequestT, ResponseT]]:
        """Fire the timers that expired at or before ``now``.

        When several are due, Timer F wins: retransmitting at the moment of giving up is useless.
        Timer E fires at most once per call and is re-armed from ``now``, so a late caller gets
        one retransmission, not a burst.
        """
        actions: list[ClientAction[RequestT, ResponseT]] = []
        if self._timer_f is not None and self._timer_f <= now:
            actions.append(TimedOut())
            actions.extend(self._terminate())
        elif self._timer_k is not None and self._timer_k <= now:
            actions.extend(self._terminate())
        elif self._timer_e is not None and self._timer_e <= now:
            # Back off up to T2 while Trying; once a provisional response shows the server is
            # alive, retransmit every T2 (RFC 3261 §17.1.2.2).
            if self._state is State.PROCEEDING:
                self._retransmit_interval = self.timers.t2
            else:
                self._retransmit_interval = min(2 * self._retransmit_interval, self.timers.t2)
            self._timer_e = now + self._retransmit_interval
            actions.append(Transmit(message=self.request, is_retransmission=True))
        return actions

    def get_timer(self) -> float | None:
        """The earliest armed deadline, or None when no timer is armed."""
        return _earliest(self._timer_e, self._timer_f, self._timer_k)

    def transport_error(self, now: float) -> list[ClientAction[RequestT, ResponseT]]:
        """Report that the transport failed to send the request (RFC 3261 §17.1.4).

        In COMPLETED nothing is being sent and the TU already has its answer, so the error is
        ignored there.
        """
        actions = self.handle_timer(now)
        if self._state in (State.TRYING, State.PROCEEDING):
            actions.append(TransportFailed())
            actions.extend(self._terminate())
        return actions

    def _terminate(self) -> list[ClientAction[RequestT, ResponseT]]:
        self._state = State.TERMINATED
        self._timer_e = self._timer_f = self._timer_k = None
        return [Terminated()]


class ServerTransaction(Generic[RequestT, ResponseT]):
    """The non-INVITE server transaction of RFC 3261 §17.2.2 (figure 8).

    It starts in TRYING when the request arrives. RFC 3261 arms no timer before the final
    response: the TU must answer every request it accepted.

    Args:
        request: The request that created the transaction; opaque to the transaction.
        reliable: Whether the transport is reliable; if so, Timer J is zero.
        now: The time the request arrived, kept as :attr:`created_at`.
        timers: Base timer values.
    """

    def __init__(
        self,
        request: RequestT,
        *,
        reliable: bool,
        now: float,
        timers: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        self.request = request
        self.is_reliable = reliable
        self.created_at = now
        self.timers = timers
        self._state = State.TRYING
        self._last_response: tuple[int, ResponseT] | None = None
        self._timer_j: float | None = None

    def __repr__(self) -> str:
        return f"<ServerTransaction {self._state.name} reliable={self.is_reliable}>"

    @property
    def state(self) -> State:
        """The current state."""
        return self._state

    @property
    def is_terminated(self) -> bool:
        """Whether the transaction has reached TERMINATED."""
        return self._state is State.TERMINATED

    def receive_request(self, now: float) -> list[ServerAction[ResponseT]]:
        """Handle a retransmission of the request (RFC 3261 §17.2.2).

        In TRYING it is absorbed; in PROCEEDING and COMPLETED the last response is resent.
        """
        actions = self.handle_timer(now)
        if self._last_response is not None and self._state is not State.TERMINATED:
            _, response = self._last_response
            actions.append(Transmit(message=response, is_retransmission=True))
        return actions

    def send_response(
        self, status: int, response: ResponseT, now: float
    ) -> list[ServerAction[ResponseT]]:
        """Send a response from the TU (RFC 3261 §17.2.2).

        Raises:
            LocalProtocolError: ``status`` is outside 100–699, or a final response was already
                sent (RFC 3261 §17.2.2 lets no response follow it).
        """
        _check_status(status)
        # No timer runs in TRYING or PROCEEDING, so there is nothing to fire first; checking
        # before firing Timer J keeps its Terminated action for the caller's next handle_timer.
        if self._state in (State.COMPLETED, State.TERMINATED):
            raise LocalProtocolError(
                f"cannot send a {status} response in {self._state.name}: "
                "the final response was already sent"
            )
        self._last_response = (status, response)
        actions: list[ServerAction[ResponseT]] = [Transmit(message=response)]
        if status < 200:
            self._state = State.PROCEEDING
            return actions
        self._state = State.COMPLETED
        # Timer J keeps the transaction to answer retransmitted requests (§17.2.2).
        if self.is_reliable:
            actions.extend(self._terminate())
        else:
            self._timer_j = now + self.timers.transaction_timeout
        return actions

    def handle_timer(self, now: float) -> list[ServerAction[ResponseT]]:
        """Fire Timer J if it expired at or before ``now``."""
        if self._timer_j is not None and self._timer_j <= now:
            return self._terminate()
        return []

    def get_timer(self) -> float | None:
        """Timer J's deadline, or None when it is not armed."""
        return self._timer_j

    def transport_error(self, now: float) -> list[ServerAction[ResponseT]]:
        """Report that the transport failed to send a response (RFC 3261 §17.2.4)."""
        actions = self.handle_timer(now)
        if self._state is not State.TERMINATED:
            actions.append(TransportFailed())
            actions.extend(self._terminate())
        return actions

    def _terminate(self) -> list[ServerAction[ResponseT]]:
        self._state = State.TERMINATED
        self._timer_j = None
        return [Terminated()]


class TimerDriven(Protocol):
    """What :class:`TransactionTable` needs of a transaction."""

    @property
    def is_terminated(self) -> bool: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> Sequence[Action]: ...


TransactionT = TypeVar("TransactionT", bound=TimerDriven)


@dataclass(slots=True)
class _Entry(Generic[TransactionT]):
    transaction: TransactionT
    deadline: float | None = None
    # Identifies the one live heap item for this entry; older items are stale and skipped.
    sequence: int = -1


class TransactionTable(Generic[KeyT, TransactionT]):
    """Many transactions by key, with one heap of deadlines.

    ``next_deadline()`` is O(1) amortised and ``handle_timers(now)`` touches only the
    transactions whose timers are due, so a server holding 50,000 transactions pays for the few
    that fire. Heap items are invalidated lazily and the heap is rebuilt when stale items
    outnumber live ones.

    The table cannot see a transaction change on its own: after driving one directly
    (``start``, ``receive_response``, ``receive_request``, ``send_response``,
    ``transport_error``), call :meth:`reschedule` with its key. Terminated transactions are
    removed.
    """

    def __init__(self) -> None:
        self._entries: dict[KeyT, _Entry[TransactionT]] = {}
        self._heap: list[tuple[float, int, KeyT]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: KeyT) -> TransactionT | None:
        """The transaction stored under ``key``, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry.transaction

    def add(self, key: KeyT, transaction: TransactionT) -> None:
        """Store ``transaction`` under ``key`` and schedule its timer.

        Raises:
            LocalProtocolError: ``key`` is already in use (the caller failed to match).
        """
        if key in self._entries:
            raise LocalProtocolError(f"a transaction with key {key!r} already exists")
        entry = _Entry(transaction)
        self._entries[key] = entry
        self._update(key, entry)

    def remove(self, key: KeyT) -> TransactionT | None:
        """Forget the transaction under ``key`` and return it, or None if there is none."""
        entry = self._entries.pop(key, None)
        return None if entry is None else entry.transaction

    def reschedule(self, key: KeyT) -> None:
        """Take note of a change in the transaction under ``key``; drop it if it terminated."""
        entry = self._entries.get(key)
        if entry is not None:
            self._update(key, entry)

    def next_deadline(self) -> float | None:
        """The earliest deadline of any stored transaction, or None."""
        heap = self._heap
        while heap:
            deadline, sequence, key = heap[0]
            entry = self._entries.get(key)
            if entry is not None and entry.sequence == sequence:
                return deadline
            heapq.heappop(heap)
        return None

    def handle_timers(self, now: float) -> list[tuple[KeyT, Action]]:
        """Fire every timer due at or before ``now``, returning each action with its key."""
        fired: list[tuple[KeyT, Action]] = []
        due: list[tuple[KeyT, _Entry[TransactionT]]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, sequence, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is None or entry.sequence != sequence:
                continue
            entry.sequence = -1
            entry.deadline = None
            due.append((key, entry))
            fired.extend((key, action) for action in entry.transaction.handle_timer(now))
        # Re-arm after the loop, so a transaction whose timer stays due cannot spin it.
        for key, entry in due:
            if self._entries.get(key) is entry:
                self._update(key, entry)
        return fired

    def _update(self, key: KeyT, entry: _Entry[TransactionT]) -> None:
        transaction = entry.transaction
        if transaction.is_terminated:
            del self._entries[key]
            return
        deadline = transaction.get_timer()
        if deadline == entry.deadline and (deadline is None or entry.sequence >= 0):
            return
        entry.deadline = deadline
        entry.sequence = -1
        if deadline is not None:
            entry.sequence = next(self._sequence)
            heapq.heappush(self._heap, (deadline, entry.sequence, key))
            if len(self._heap) > 2 * len(self._entries) + 64:
                self._compact()

    def _compact(self) -> None:
        self._heap = [
            (entry.deadline, entry.sequence, key)
            for key, entry in self._entries.items()
            if entry.deadline is not None and entry.sequence >= 0
        ]
        heapq.heapify(self._heap)


# Transaction keys (RFC 3261 §17.1.3, §17.2.3). A tag in the first place keeps client, server
# and RFC 2543 keys apart when one table holds them all.
TransactionKey: TypeAlias = tuple[str, ...]

MAGIC_COOKIE = "z9hG4bK"
"""Prefix of an RFC 3261 branch parameter (RFC 3261 §8.1.1.7)."""


def is_rfc3261_branch(branch: str | None) -> bool:
    """Whether ``branch`` is an RFC 3261 transaction identifier (RFC 3261 §8.1.1.7).

    The magic cookie alone identifies nothing (RFC 4475 §3.2.1, ``badbranch``): such requests
    fall back to :func:`legacy_server_key`.
    """
    return (
        branch is not None and len(branch) > len(MAGIC_COOKIE) and branch.startswith(MAGIC_COOKIE)
    )


def client_key(branch: str, cseq_method: str) -> TransactionKey:
    """Key matching a response to its client transaction (RFC 3261 §17.1.3).

    The branch alone is not enough: a CANCEL shares its INVITE's branch, so the CSeq method
    takes part. Both are compared exactly; SIP methods are case-sensitive (RFC 3261 §7.1).
    """
    return ("client", branch, cseq_method)


def server_key(branch: str, sent_by: str, method: str) -> TransactionKey:
    """Key matching a request to its server transaction (RFC 3261 §17.2.3).

    An ACK matches the INVITE it acknowledges; a CANCEL gets a key of its own. The host in
    ``sent_by`` is compared case-insensitively.

    Raises:
        LocalProtocolError: ``branch`` is not an RFC 3261 branch (see
            :func:`is_rfc3261_branch`); use :func:`legacy_server_key` instead.
    """
    if not is_rfc3261_branch(branch):
        raise LocalProtocolError(f"branch {branch!r} is not an RFC 3261 branch")
    return ("server", branch, sent_by.lower(), "INVITE" if method == "ACK" else method)


def legacy_server_key(
    *,
    request_uri: str,
    to_tag: str | None,
    from_tag: str | None,
    call_id: str,
    cseq_number: int,
    cseq_method: str,
    top_via: str,
) -> TransactionKey:
    """Key for requests from RFC 2543 elements, whose branch lacks the cookie (RFC 3261 §17.2.3).

    Pass ``top_via`` in one canonical form (the serializer's), not as raw bytes. For INVITE and
    ACK the To tag is left out: the ACK carries the tag our response added, which the INVITE
    lacked. A TU wanting the RFC's full check compares that tag with the one it sent.
    """
    is_invite = cseq_method in ("INVITE", "ACK")
    return (
        "server-2543",
        request_uri,
        "" if is_invite or to_tag is None else to_tag,
        from_tag or "",
        call_id,
        str(cseq_number),
        "INVITE" if is_invite else cseq_method,
        top_via,
    )
