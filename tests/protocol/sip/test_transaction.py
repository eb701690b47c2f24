"""Non-INVITE transaction state machines (RFC 3261 §17), driven with explicit times."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columba.protocol.errors import LocalProtocolError
from columba.protocol.sip.transaction import (
    DEFAULT_TIMERS,
    MAGIC_COOKIE,
    Action,
    ClientTransaction,
    Deliver,
    ServerTransaction,
    State,
    Terminated,
    TimedOut,
    TimerConfig,
    TransactionKey,
    TransactionTable,
    Transmit,
    TransportFailed,
    client_key,
    is_rfc3261_branch,
    legacy_server_key,
    server_key,
)

T1, T2, T4 = DEFAULT_TIMERS.t1, DEFAULT_TIMERS.t2, DEFAULT_TIMERS.t4
TIMEOUT = 64 * T1

Client = ClientTransaction[str, str]
Server = ServerTransaction[str, str]


def started_client(*, reliable: bool = False, now: float = 0.0) -> Client:
    client: Client = ClientTransaction("MESSAGE", reliable=reliable, now=now)
    assert client.start(now) == [Transmit(message="MESSAGE")]
    return client


def new_server(*, reliable: bool = False, now: float = 0.0) -> Server:
    return ServerTransaction("MESSAGE", reliable=reliable, now=now)


def run_timers(txn: Client | Server, until: float) -> list[tuple[float, object]]:
    """Fire every timer up to ``until`` at its exact deadline, as an event loop would."""
    fired: list[tuple[float, object]] = []
    while (deadline := txn.get_timer()) is not None and deadline <= until:
        fired.extend((deadline, action) for action in txn.handle_timer(deadline))
    return fired


RETRANSMIT = Transmit(message="MESSAGE", is_retransmission=True)


# -- TimerConfig ------------------------------------------------------------------------------


def test_timer_defaults_follow_rfc3261_table_4() -> None:
    assert (T1, T2, T4) == (0.5, 4.0, 5.0)
    assert DEFAULT_TIMERS.transaction_timeout == 32.0
    assert TimerConfig(t1=0.1).transaction_timeout == pytest.approx(6.4)


@pytest.mark.parametrize(
    "kwargs", [{"t1": 0.0}, {"t1": -1.0}, {"t1": 5.0, "t2": 4.0}, {"t4": -0.1}]
)
def test_timer_config_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(LocalProtocolError):
        TimerConfig(**kwargs)


# -- client transaction (§17.1.2) -------------------------------------------------------------


def test_client_before_start() -> None:
    client: Client = ClientTransaction("MESSAGE", reliable=False, now=3.0)
    assert client.state is State.TRYING
    assert client.created_at == 3.0
    assert client.get_timer() is None
    assert client.handle_timer(100.0) == []
    with pytest.raises(LocalProtocolError):
        client.receive_response(200, "200", 3.0)


def test_client_cannot_start_twice() -> None:
    client = started_client()
    with pytest.raises(LocalProtocolError):
        client.start(1.0)


def test_client_cannot_start_after_termination() -> None:
    client: Client = ClientTransaction("MESSAGE", reliable=False, now=0.0)
    assert client.transport_error(0.0) == [TransportFailed(), Terminated()]
    with pytest.raises(LocalProtocolError):
        client.start(0.0)


@pytest.mark.parametrize("status", [0, 99, 700, 999, -200])
def test_client_rejects_impossible_status(status: int) -> None:
    client = started_client()
    with pytest.raises(LocalProtocolError):
        client.receive_response(status, "bad", 0.1)
    assert client.state is State.TRYING


def test_client_unreliable_retransmits_with_backoff_then_times_out() -> None:
    client = started_client(now=0.0)
    assert client.get_timer() == 0.5
    fired = run_timers(client, until=100.0)
    retransmitted_at = [at for at, action in fired if action == RETRANSMIT]
    # Timer E: T1, then doubling up to T2 (0.5, 1, 2, 4, 4, 4 …) until Timer F at 64*T1.
    assert retransmitted_at == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    intervals = [b - a for a, b in itertools.pairwise([0.0, *retransmitted_at])]
    assert intervals == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    assert fired[-2:] == [(32.0, TimedOut()), (32.0, Terminated())]
    assert client.state is State.TERMINATED
    assert client.get_timer() is None


def test_client_timeout_is_relative_to_start() -> None:
    client = started_client(now=1000.0)
    fired = run_timers(client, until=2000.0)
    assert fired[0] == (1000.5, RETRANSMIT)
    assert fired[-1] == (1032.0, Terminated())


def test_client_reliable_never_retransmits() -> None:
    client = started_client(reliable=True, now=0.0)
    assert client.get_timer() == TIMEOUT
    assert client.handle_timer(31.9) == []
    assert client.handle_timer(32.0) == [TimedOut(), Terminated()]
    assert client.is_terminated


def test_client_timer_does_nothing_before_deadline() -> None:
    client = started_client()
    assert client.handle_timer(0.49) == []
    assert client.get_timer() == 0.5


def test_client_late_timer_call_fires_once_without_burst() -> None:
    client = started_client(now=0.0)
    assert client.handle_timer(10.0) == [RETRANSMIT]
    assert client.get_timer() == 11.0  # re-armed from now with the next interval (1 s)


def test_client_late_timer_call_past_timer_f_only_times_out() -> None:
    client = started_client(now=0.0)
    assert client.handle_timer(40.0) == [TimedOut(), Terminated()]


def test_client_provisional_moves_to_proceeding_and_each_is_delivered() -> None:
    client = started_client()
    assert client.receive_response(100, "100", 0.1) == [Deliver(status=100, response="100")]
    assert client.state is State.PROCEEDING
    assert client.receive_response(180, "180", 0.2) == [Deliver(status=180, response="180")]
    assert client.receive_response(180, "180", 0.3) == [Deliver(status=180, response="180")]
    assert client.state is State.PROCEEDING


def test_client_proceeding_retransmits_every_t2() -> None:
    client = started_client(now=0.0)
    assert run_timers(client, until=1.5) == [(0.5, RETRANSMIT), (1.5, RETRANSMIT)]
    client.receive_response(100, "100", 2.0)
    # The armed Timer E keeps its deadline (3.5); from then on it is reset to T2.
    fired = run_timers(client, until=20.0)
    assert [at for at, _ in fired] == [3.5, 7.5, 11.5, 15.5, 19.5]
    assert client.state is State.PROCEEDING


def test_client_proceeding_from_first_interval_uses_t2() -> None:
    client = started_client(now=0.0)
    client.receive_response(100, "100", 0.1)
    fired = run_timers(client, until=10.0)
    assert [at for at, _ in fired] == [0.5, 4.5, 8.5]


def test_client_timer_f_fires_in_proceeding() -> None:
    client = started_client(now=0.0)
    client.receive_response(100, "100", 0.1)
    fired = run_timers(client, until=40.0)
    assert fired[-2:] == [(32.0, TimedOut()), (32.0, Terminated())]


@pytest.mark.parametrize("provisional", [False, True])
@pytest.mark.parametrize("status", [200, 202, 302, 404, 503, 699])
def test_client_final_response_completes_then_timer_k(status: int, provisional: bool) -> None:
    client = started_client(now=0.0)
    if provisional:
        client.receive_response(100, "100", 0.2)
    assert client.receive_response(status, "final", 0.4) == [
        Deliver(status=status, response="final")
    ]
    assert client.state is State.COMPLETED
    assert client.get_timer() == 0.4 + T4  # Timer E and F are cancelled; only K remains
    assert client.handle_timer(5.3) == []
    assert client.handle_timer(5.4) == [Terminated()]
    assert client.is_terminated


def test_client_completed_absorbs_retransmitted_responses() -> None:
    client = started_client()
    client.receive_response(200, "200", 0.4)
    assert client.receive_response(200, "200", 1.5) == []
    assert client.receive_response(500, "500", 2.0) == []
    assert client.receive_response(100, "100", 2.5) == []
    assert client.state is State.COMPLETED
    assert client.get_timer() == 5.4  # Timer K is not restarted


def test_client_reliable_final_response_terminates_at_once() -> None:
    client = started_client(reliable=True)
    assert client.receive_response(200, "200", 1.0) == [
        Deliver(status=200, response="200"),
        Terminated(),
    ]
    assert client.get_timer() is None


def test_client_zero_t4_terminates_at_once_on_unreliable() -> None:
    client: Client = ClientTransaction(
        "MESSAGE", reliable=False, now=0.0, timers=TimerConfig(t4=0.0)
    )
    client.start(0.0)
    assert client.receive_response(200, "200", 1.0)[-1] == Terminated()


def test_client_terminated_absorbs_everything() -> None:
    client = started_client(reliable=True)
    client.receive_response(200, "200", 1.0)
    assert client.receive_response(200, "200", 1.1) == []
    assert client.handle_timer(100.0) == []
    assert client.transport_error(100.0) == []


def test_client_response_after_missed_timer_f_is_absorbed() -> None:
    client = started_client(now=0.0)
    # The caller never polled timers: the response at 33 s comes after Timer F expired.
    assert client.receive_response(200, "200", 33.0) == [TimedOut(), Terminated()]


@pytest.mark.parametrize("provisional", [False, True])
def test_client_transport_error_while_sending(provisional: bool) -> None:
    client = started_client()
    if provisional:
        client.receive_response(100, "100", 0.1)
    assert client.transport_error(0.2) == [TransportFailed(), Terminated()]
    assert client.is_terminated
    assert client.get_timer() is None


def test_client_transport_error_in_completed_is_ignored() -> None:
    client = started_client()
    client.receive_response(200, "200", 0.4)
    assert client.transport_error(1.1) == []
    assert client.state is State.COMPLETED


def test_client_custom_timers() -> None:
    timers = TimerConfig(t1=0.1, t2=0.3, t4=1.0)
    client: Client = ClientTransaction("MESSAGE", reliable=False, now=0.0, timers=timers)
    client.start(0.0)
    fired = run_timers(client, until=1.0)
    assert [round(at, 6) for at, _ in fired] == [0.1, 0.3, 0.6, 0.9]
    assert client.get_timer() == pytest.approx(1.2)
    fired = run_timers(client, until=100.0)
    assert [(round(at, 6), action) for at, action in fired[-2:]] == [
        (6.4, TimedOut()),
        (6.4, Terminated()),
    ]


def test_client_repr_names_state() -> None:
    assert "TRYING" in repr(started_client())


# -- server transaction (§17.2.2) -------------------------------------------------------------


def test_server_trying_absorbs_retransmitted_request() -> None:
    server = new_server(now=2.0)
    assert server.state is State.TRYING
    assert server.created_at == 2.0
    assert server.get_timer() is None  # RFC 3261 arms nothing until the TU answers
    assert server.receive_request(2.5) == []
    assert server.handle_timer(1000.0) == []
    assert server.state is State.TRYING


def test_server_provisional_moves_to_proceeding() -> None:
    server = new_server()
    assert server.send_response(100, "100", 0.1) == [Transmit(message="100")]
    assert server.state is State.PROCEEDING
    assert server.receive_request(0.5) == [Transmit(message="100", is_retransmission=True)]
    assert server.send_response(180, "180", 0.6) == [Transmit(message="180")]
    assert server.state is State.PROCEEDING
    # The latest provisional response is the one repeated.
    assert server.receive_request(1.0) == [Transmit(message="180", is_retransmission=True)]
    assert server.get_timer() is None


@pytest.mark.parametrize("provisional", [False, True])
def test_server_final_response_completes_then_timer_j(provisional: bool) -> None:
    server = new_server(now=0.0)
    if provisional:
        server.send_response(100, "100", 0.1)
    assert server.send_response(200, "200", 1.0) == [Transmit(message="200")]
    assert server.state is State.COMPLETED
    assert server.get_timer() == 1.0 + TIMEOUT
    assert server.receive_request(10.0) == [Transmit(message="200", is_retransmission=True)]
    assert server.receive_request(20.0) == [Transmit(message="200", is_retransmission=True)]
    assert server.handle_timer(32.9) == []
    assert server.handle_timer(33.0) == [Terminated()]
    assert server.is_terminated
    assert server.receive_request(34.0) == []


def test_server_reliable_final_response_terminates_at_once() -> None:
    server = new_server(reliable=True)
    assert server.send_response(404, "404", 1.0) == [Transmit(message="404"), Terminated()]
    assert server.get_timer() is None
    assert server.receive_request(1.5) == []


def test_server_request_after_missed_timer_j_gets_nothing() -> None:
    server = new_server(now=0.0)
    server.send_response(200, "200", 0.0)
    assert server.receive_request(40.0) == [Terminated()]


@pytest.mark.parametrize("status", [100, 180, 200, 486])
@pytest.mark.parametrize("reliable", [False, True])
def test_server_refuses_response_after_final(status: int, reliable: bool) -> None:
    server = new_server(reliable=reliable)
    server.send_response(200, "200", 0.0)
    with pytest.raises(LocalProtocolError, match="final response was already sent"):
        server.send_response(status, "again", 0.1)


def test_server_refused_response_does_not_swallow_timer_j() -> None:
    server = new_server(now=0.0)
    server.send_response(200, "200", 0.0)
    with pytest.raises(LocalProtocolError):
        server.send_response(200, "200", 40.0)
    assert server.handle_timer(40.0) == [Terminated()]


@pytest.mark.parametrize("status", [0, 99, 700])
def test_server_rejects_impossible_status(status: int) -> None:
    server = new_server()
    with pytest.raises(LocalProtocolError):
        server.send_response(status, "bad", 0.0)
    assert server.state is State.TRYING


@pytest.mark.parametrize("responses", [(), (100,), (200,)])
def test_server_transport_error(responses: tuple[int, ...]) -> None:
    server = new_server()
    for status in responses:
        server.send_response(status, str(status), 0.0)
    assert server.transport_error(0.1) == [TransportFailed(), Terminated()]
    assert server.is_terminated
    assert server.get_timer() is None
    assert server.transport_error(0.2) == []


def test_server_repr_names_state() -> None:
    assert "TRYING" in repr(new_server())


# -- client and server wired together in memory --------------------------------------------


@dataclass
class Network:
    """A lossy datagram network between one client and one server transaction."""

    drops: list[bool]
    delay: float = 0.05
    queue: list[tuple[float, int, str, str]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, now: float, to: str, message: str) -> None:
        if self.drops and self.drops.pop(0):
            return
        heapq.heappush(self.queue, (now + self.delay, next(self.counter), to, message))


@settings(max_examples=200, deadline=None)
@given(
    drops=st.lists(st.booleans(), max_size=30),
    tu_delay=st.floats(min_value=0.0, max_value=10.0),
    sends_trying=st.booleans(),
)
def test_client_and_server_over_lossy_network(
    drops: list[bool], tu_delay: float, sends_trying: bool
) -> None:
    net = Network(drops=drops)
    client: Client = ClientTransaction("MESSAGE", reliable=False, now=0.0)
    server: Server | None = None
    tu_answer_at: float | None = None
    outcome: list[Action] = []

    def client_actions(actions: Sequence[Action], now: float) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                net.send(now, "server", action.message)
            else:
                outcome.append(action)

    def server_actions(actions: Sequence[Action], now: float) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                net.send(now, "client", action.message)

    client_actions(client.start(0.0), 0.0)
    now = 0.0
    while True:
        candidates = [
            t
            for t in (
                net.queue[0][0] if net.queue else None,
                client.get_timer(),
                None if server is None else server.get_timer(),
                tu_answer_at,
            )
            if t is not None
        ]
        if not candidates:
            break
        now = min(candidates)
        assert now <= 100.0
        client_actions(client.handle_timer(now), now)
        if server is not None:
            server_actions(server.handle_timer(now), now)
        if tu_answer_at is not None and tu_answer_at <= now and server is not None:
            tu_answer_at = None
            server_actions(server.send_response(200, "200", now), now)
        while net.queue and net.queue[0][0] <= now:
            _, _, to, message = heapq.heappop(net.queue)
            if to == "client":
                status = int(message)
                client_actions(client.receive_response(status, message, now), now)
            elif server is None:
                server = ServerTransaction(message, reliable=False, now=now)
                tu_answer_at = now + tu_delay
                if sends_trying:
                    server_actions(server.send_response(100, "100", now), now)
            else:
                server_actions(server.receive_request(now), now)

    assert client.is_terminated
    finals = [a for a in outcome if isinstance(a, Deliver) and a.status >= 200]
    if any(isinstance(a, TimedOut) for a in outcome):
        assert finals == []
    else:
        assert finals == [Deliver(status=200, response="200")]
        assert server is not None
        assert server.is_terminated
    assert outcome[-1] == Terminated()


# -- transaction table -------------------------------------------------------------------------


def test_table_add_get_remove() -> None:
    table: TransactionTable[str, Client] = TransactionTable()
    client = started_client()
    table.add("a", client)
    assert len(table) == 1
    assert "a" in table
    assert "b" not in table
    assert table.get("a") is client
    assert table.get("b") is None
    with pytest.raises(LocalProtocolError):
        table.add("a", started_client())
    assert table.remove("a") is client
    assert table.remove("a") is None
    assert table.next_deadline() is None
    assert table.handle_timers(100.0) == []


def test_table_ignores_an_unarmed_transaction_until_rescheduled() -> None:
    table: TransactionTable[str, Server] = TransactionTable()
    server = new_server()
    table.add("s", server)
    assert table.next_deadline() is None
    server.send_response(200, "200", 1.0)
    table.reschedule("s")
    assert table.next_deadline() == 33.0
    assert table.handle_timers(33.0) == [("s", Terminated())]
    assert "s" not in table
    table.reschedule("s")  # unknown keys are ignored


def test_table_reschedule_moves_deadline_earlier_and_drops_terminated() -> None:
    table: TransactionTable[str, Client] = TransactionTable()
    slow = started_client(reliable=True, now=0.0)
    fast = started_client(reliable=True, now=0.0)
    table.add("slow", slow)
    table.add("fast", fast)
    assert table.next_deadline() == 32.0
    fast.receive_response(200, "200", 1.0)  # reliable: terminated at once
    table.reschedule("fast")
    assert "fast" not in table
    unreliable = started_client(now=0.0)
    table.add("udp", unreliable)
    assert table.next_deadline() == 0.5
    unreliable.receive_response(200, "200", 0.2)
    table.reschedule("udp")
    assert table.next_deadline() == 5.2  # Timer K replaced Timer E
    assert table.handle_timers(5.2) == [("udp", Terminated())]
    assert table.next_deadline() == 32.0


def test_table_tolerates_a_stale_earlier_deadline() -> None:
    table: TransactionTable[str, Client] = TransactionTable()
    client = started_client(now=0.0)
    table.add("c", client)
    # Driven directly without reschedule: the table still believes 0.5 but the next E is 1.5.
    client.handle_timer(0.5)
    assert table.handle_timers(0.5) == []
    assert table.next_deadline() == 1.5
    assert table.handle_timers(1.5) == [("c", RETRANSMIT)]


def test_table_removed_transaction_never_fires() -> None:
    table: TransactionTable[str, Client] = TransactionTable()
    table.add("c", started_client())
    table.remove("c")
    assert table.next_deadline() is None
    assert table.handle_timers(100.0) == []


def test_table_with_thousands_of_transactions() -> None:
    table: TransactionTable[int, Client] = TransactionTable()
    count = 5000
    starts = [i * 0.001 for i in range(count)]
    for i, start in enumerate(starts):
        # Staggered starts; every tenth on a reliable transport.
        table.add(i, started_client(reliable=i % 10 == 0, now=start))
    assert len(table) == count
    assert table.handle_timers(0.5) == []
    assert table.next_deadline() == starts[1] + T1  # #0 is reliable: no Timer E

    timed_out: set[int] = set()
    terminated: set[int] = set()
    retransmissions = dict.fromkeys(range(count), 0)
    now = 0.0

    def drain(until: float) -> None:
        nonlocal now
        while (deadline := table.next_deadline()) is not None and deadline <= until:
            assert deadline >= now
            now = deadline
            for key, action in table.handle_timers(now):
                if isinstance(action, TimedOut):
                    timed_out.add(key)
                elif isinstance(action, Terminated):
                    terminated.add(key)
                else:
                    assert action == RETRANSMIT
                    retransmissions[key] += 1

    # Answer the even unreliable ones; they are left with Timer K.
    answered_at = 2.0005
    drain(answered_at)
    answered = {i for i in range(count) if i % 2 == 0 and i % 10 != 0}
    for i in answered:
        client = table.get(i)
        assert client is not None
        assert client.receive_response(200, "200", answered_at) == [
            Deliver(status=200, response="200")
        ]
        table.reschedule(i)
    drain(float("inf"))

    assert len(table) == 0
    assert table.next_deadline() is None
    assert terminated == set(range(count))
    assert timed_out == set(range(count)) - answered
    assert now == starts[-1] + TIMEOUT

    def expected_retransmissions(start: float, until: float) -> int:
        deadline, interval, sent = start + T1, T1, 0
        while deadline <= until:
            sent += 1
            interval = min(2 * interval, T2)
            deadline += interval
        return sent

    for i, start in enumerate(starts):
        if i % 10 == 0:
            assert retransmissions[i] == 0
        elif i in answered:
            assert retransmissions[i] == expected_retransmissions(start, answered_at)
        else:
            assert retransmissions[i] == 10
    # Lazily invalidated heap items do not pile up.
    assert len(table._heap) <= 2 * len(table) + 64


@dataclass
class CountingTransaction:
    """A stand-in transaction that counts how often the table touches it."""

    deadline: float | None
    calls: int = 0
    is_terminated: bool = False

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> list[Action]:
        self.calls += 1
        assert self.deadline is not None
        assert self.deadline <= now
        self.is_terminated = True
        return [Terminated()]


def test_table_touches_only_due_transactions() -> None:
    table: TransactionTable[int, CountingTransaction] = TransactionTable()
    transactions = [CountingTransaction(deadline=1000.0 + i) for i in range(50_000)]
    for i, transaction in enumerate(transactions):
        table.add(i, transaction)
    assert table.handle_timers(999.0) == []
    assert table.handle_timers(1002.0) == [(0, Terminated()), (1, Terminated()), (2, Terminated())]
    assert sum(t.calls for t in transactions) == 3
    assert len(table) == 50_000 - 3
    assert table.next_deadline() == 1003.0


def test_table_compacts_stale_heap_items() -> None:
    table: TransactionTable[str, CountingTransaction] = TransactionTable()
    transaction = CountingTransaction(deadline=10.0)
    table.add("t", transaction)
    for i in range(1000):
        transaction.deadline = 10.0 + i
        table.reschedule("t")
    assert len(table._heap) <= 2 * len(table) + 64
    assert table.next_deadline() == 1009.0


# -- transaction keys (§17.1.3, §17.2.3) ------------------------------------------------------


def test_rfc3261_branch_needs_cookie_and_identifier() -> None:
    assert is_rfc3261_branch("z9hG4bK776asdhds")
    assert not is_rfc3261_branch(MAGIC_COOKIE)  # RFC 4475 §3.2.1 badbranch
    assert not is_rfc3261_branch("776asdhds")
    assert not is_rfc3261_branch("Z9HG4BK776asdhds")
    assert not is_rfc3261_branch("")
    assert not is_rfc3261_branch(None)


def test_client_key_separates_cancel_from_its_invite() -> None:
    assert client_key("z9hG4bKa", "MESSAGE") == client_key("z9hG4bKa", "MESSAGE")
    assert client_key("z9hG4bKa", "INVITE") != client_key("z9hG4bKa", "CANCEL")
    assert client_key("z9hG4bKa", "MESSAGE") != client_key("z9hG4bKb", "MESSAGE")


def test_server_key_ack_matches_invite_and_cancel_does_not() -> None:
    invite = server_key("z9hG4bKnashds8", "pc33.atlanta.com", "INVITE")
    assert server_key("z9hG4bKnashds8", "pc33.atlanta.com", "ACK") == invite
    assert server_key("z9hG4bKnashds8", "pc33.atlanta.com", "CANCEL") != invite
    assert server_key("z9hG4bKnashds8", "PC33.Atlanta.COM", "INVITE") == invite
    assert server_key("z9hG4bKnashds8", "pc33.atlanta.com:5070", "INVITE") != invite
    assert server_key("z9hG4bKnashds9", "pc33.atlanta.com", "INVITE") != invite


def test_server_and_client_keys_never_collide() -> None:
    assert server_key("z9hG4bKa", "h", "MESSAGE") != client_key("z9hG4bKa", "MESSAGE")


@pytest.mark.parametrize("branch", ["", MAGIC_COOKIE, "1234"])
def test_server_key_needs_an_rfc3261_branch(branch: str) -> None:
    with pytest.raises(LocalProtocolError):
        server_key(branch, "192.0.2.1", "OPTIONS")


def badbranch_key(**changes: Any) -> TransactionKey:
    """The legacy key of RFC 4475 §3.2.1 ``badbranch`` (branch = bare cookie), with changes."""
    fields: dict[str, Any] = {
        "request_uri": "sip:user@example.com",
        "to_tag": None,
        "from_tag": "33242",
        "call_id": "badbranch.sadonfo23i420jv0as0derf3j3n",
        "cseq_number": 8,
        "cseq_method": "OPTIONS",
        "top_via": "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK",
    }
    fields.update(changes)
    return legacy_server_key(**fields)


def test_legacy_key_matches_a_retransmitted_badbranch_request() -> None:
    assert not is_rfc3261_branch("z9hG4bK")
    assert badbranch_key() == badbranch_key()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_uri", "sip:other@example.com"),
        ("to_tag", "x"),
        ("from_tag", "33243"),
        ("call_id", "other"),
        ("cseq_number", 9),
        ("cseq_method", "MESSAGE"),
        ("top_via", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK"),
    ],
)
def test_legacy_key_tells_requests_apart(name: str, value: object) -> None:
    assert badbranch_key(**{name: value}) != badbranch_key()


def test_legacy_key_ack_matches_invite_despite_the_added_to_tag() -> None:
    invite = badbranch_key(cseq_method="INVITE")
    assert badbranch_key(cseq_method="ACK", to_tag="ours") == invite
    assert badbranch_key(cseq_method="CANCEL") != invite


def test_legacy_and_rfc3261_keys_never_collide() -> None:
    assert badbranch_key() != server_key("z9hG4bKx", "192.0.2.1", "OPTIONS")


# -- properties -------------------------------------------------------------------------------

statuses = st.integers(min_value=0, max_value=999) | st.sampled_from([100, 180, 200, 404, 503])
gaps = st.floats(min_value=0.0, max_value=8.0, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(
    reliable=st.booleans(),
    start=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    punctual=st.booleans(),
    events=st.lists(
        st.tuples(gaps, st.sampled_from(["response", "timer", "transport_error"]), statuses),
        max_size=40,
    ),
)
def test_client_property(
    reliable: bool,
    start: float,
    punctual: bool,
    events: list[tuple[float, str, int]],
) -> None:
    """Random responses, timers and transport errors: only our error, one outcome, bounded."""
    client: Client = ClientTransaction("MESSAGE", reliable=reliable, now=start)
    log: list[tuple[float, object]] = []

    def record(actions: Sequence[object], at: float) -> None:
        log.extend((at, action) for action in actions)

    record(client.start(start), start)
    now = start
    for gap, kind, status in events:
        now += gap
        if punctual:  # an event loop that fires every timer at its deadline
            log.extend(run_timers(client, until=now))
        try:
            if kind == "response":
                record(client.receive_response(status, str(status), now), now)
            elif kind == "timer":
                record(client.handle_timer(now), now)
            else:
                record(client.transport_error(now), now)
        except LocalProtocolError:
            assert kind == "response"
            assert not 100 <= status <= 699
    bound = start + TIMEOUT + T4
    if punctual:
        log.extend(run_timers(client, until=float("inf")))
    else:
        record(client.handle_timer(max(now, bound)), max(now, bound))

    assert client.is_terminated
    assert client.get_timer() is None
    actions = [action for _, action in log]
    finals = [a for a in actions if isinstance(a, Deliver) and a.status >= 200]
    outcomes = [a for a in actions if isinstance(a, TimedOut | TransportFailed)]
    assert len(finals) + len(outcomes) == 1
    assert actions.count(Terminated()) == 1
    assert actions[-1] == Terminated()
    terminated_at = log[-1][0]
    if punctual:
        assert terminated_at <= bound
    # Nothing is delivered after the outcome, and nothing retransmitted after a final response.
    outcome_index = next(i for i, a in enumerate(actions) if a in finals or a in outcomes)
    assert all(isinstance(a, Terminated) for a in actions[outcome_index + 1 :])
    if reliable:
        assert RETRANSMIT not in actions


@settings(max_examples=500, deadline=None)
@given(
    reliable=st.booleans(),
    start=st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    punctual=st.booleans(),
    events=st.lists(
        st.tuples(
            gaps,
            st.sampled_from(["response", "request", "timer", "transport_error"]),
            statuses,
        ),
        max_size=40,
    ),
)
def test_server_property(
    reliable: bool,
    start: float,
    punctual: bool,
    events: list[tuple[float, str, int]],
) -> None:
    """Random TU responses, retransmitted requests and timers: one final, bounded lifetime."""
    server: Server = ServerTransaction("MESSAGE", reliable=reliable, now=start)
    log: list[tuple[float, object]] = []
    sent: list[int] = []  # statuses the TU sent successfully
    final_at: float | None = None

    def record(actions: Sequence[object], at: float) -> None:
        log.extend((at, action) for action in actions)

    def respond(status: int, now: float) -> None:
        nonlocal final_at
        state_before = server.state
        try:
            actions = server.send_response(status, str(status), now)
        except LocalProtocolError:
            assert not 100 <= status <= 699 or state_before in (State.COMPLETED, State.TERMINATED)
            return
        record(actions, now)
        sent.append(status)
        if status >= 200:
            final_at = now

    now = start
    for gap, kind, status in events:
        now += gap
        if punctual:
            log.extend(run_timers(server, until=now))
        if kind == "response":
            respond(status, now)
        elif kind == "request":
            last = str(sent[-1]) if sent else None
            replies = server.receive_request(now)
            record(replies, now)
            for action in replies:
                if isinstance(action, Transmit):
                    assert action == Transmit(message=last, is_retransmission=True)
        elif kind == "timer":
            record(server.handle_timer(now), now)
        else:
            record(server.transport_error(now), now)
    if not server.is_terminated and final_at is None:
        respond(200, now)  # a TU must answer every request (RFC 3261 §17.2.2)
    bound = now if final_at is None else final_at + (0 if reliable else TIMEOUT)
    if punctual:
        log.extend(run_timers(server, until=float("inf")))
    else:
        record(server.handle_timer(max(now, bound)), max(now, bound))

    assert server.is_terminated
    actions = [action for _, action in log]
    fresh_finals = [
        a
        for a in actions
        if isinstance(a, Transmit) and not a.is_retransmission and int(a.message) >= 200
    ]
    assert len(fresh_finals) <= 1
    assert len([s for s in sent if s >= 200]) == len(fresh_finals)
    assert actions.count(Terminated()) == 1
    assert actions[-1] == Terminated()
    if punctual:
        assert log[-1][0] <= bound
