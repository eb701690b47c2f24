"""The sans-I/O SMPP session: both roles wired together in memory, time given explicitly."""

from __future__ import annotations

import pytest

from columba.sms.errors import SmsUsageError
from columba.sms.framing import PduFramer
from columba.sms.pdu import (
    BindTransceiver,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode_pdu,
)
from columba.sms.session import (
    MAX_SEQUENCE,
    BindFailed,
    BindMode,
    BindRequested,
    Bound,
    Event,
    LinkDead,
    MessageReceived,
    ProtocolFailed,
    RequestFailed,
    ResponseReceived,
    Role,
    SessionConfig,
    SessionState,
    SmppSession,
    Throttled,
    Unbound,
)

CONFIG = SessionConfig(
    window=2,
    response_timeout=5.0,
    bind_timeout=3.0,
    enquire_link_interval=30.0,
    enquire_link_timeout=10.0,
    throttle_backoff=1.0,
    max_throttle_backoff=4.0,
    max_throttle_retries=3,
    max_unacked=2,
)


def submit(destination: str = "8613800138000") -> SubmitSm:
    return SubmitSm(sequence_number=0, destination_addr=destination, short_message=b"hi")


def wire(session: SmppSession) -> list[Pdu]:
    """The PDUs a session has queued to send (decoded, and taken off its buffer)."""
    items = PduFramer().feed(session.data_to_send())
    assert all(isinstance(item, Pdu) for item in items)
    return [item for item in items if isinstance(item, Pdu)]


def feed(session: SmppSession, *pdus: Pdu, now: float) -> list[Event]:
    return session.receive_data(b"".join(encode_pdu(p) for p in pdus), now=now)


def bound_pair(
    mode: BindMode = BindMode.TRANSCEIVER, config: SessionConfig = CONFIG
) -> tuple[SmppSession, SmppSession]:
    """An ESME and an SMSC session, bound at time 0."""
    esme = SmppSession(Role.ESME, config, now=0.0)
    smsc = SmppSession(Role.SMSC, config, now=0.0)
    esme.bind(mode, system_id="columba", password="secret", now=0.0)
    (request,) = smsc.receive_data(esme.data_to_send(), now=0.0)
    assert isinstance(request, BindRequested)
    assert request.mode is mode
    assert request.pdu.system_id == "columba"
    assert request.pdu.password == "secret"
    smsc.accept_bind(request, system_id="SIM", now=0.0)
    assert esme.receive_data(smsc.data_to_send(), now=0.0) == [Bound(mode=mode, system_id="SIM")]
    return esme, smsc


# -- bind -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        (BindMode.TRANSMITTER, SessionState.BOUND_TX),
        (BindMode.RECEIVER, SessionState.BOUND_RX),
        (BindMode.TRANSCEIVER, SessionState.BOUND_TRX),
    ],
)
def test_bind_each_mode(mode: BindMode, state: SessionState) -> None:
    esme, smsc = bound_pair(mode)
    assert esme.state is state
    assert smsc.state is state
    assert smsc.peer_system_id == "columba"
    assert esme.peer_system_id == "SIM"


def test_bind_refused_closes_both() -> None:
    esme = SmppSession(Role.ESME, CONFIG, now=0.0)
    smsc = SmppSession(Role.SMSC, CONFIG, now=0.0)
    esme.bind(BindMode.TRANSMITTER, system_id="columba", password="wrong", now=0.0)
    assert esme.state is SessionState.BINDING
    (request,) = smsc.receive_data(esme.data_to_send(), now=0.0)
    assert isinstance(request, BindRequested)
    smsc.reject_bind(request, command_status=CommandStatus.ESME_RINVPASWD)
    assert smsc.is_ended
    events = esme.receive_data(smsc.data_to_send(), now=0.1)
    assert events == [BindFailed(command_status=CommandStatus.ESME_RINVPASWD, reason="refused")]
    assert esme.state is SessionState.CLOSED


def test_bind_unanswered_times_out() -> None:
    esme = SmppSession(Role.ESME, CONFIG, now=10.0)
    esme.bind(BindMode.TRANSCEIVER, system_id="a", password="b", now=10.0)
    assert esme.get_timer() == 13.0
    assert esme.handle_timer(now=12.9) == []
    assert esme.handle_timer(now=13.0) == [BindFailed(command_status=None, reason="timeout")]
    assert esme.state is SessionState.CLOSED
    assert esme.get_timer() is None


def test_smsc_closes_a_connection_that_never_binds() -> None:
    smsc = SmppSession(Role.SMSC, CONFIG, now=100.0)
    assert smsc.get_timer() == 103.0
    assert smsc.handle_timer(now=103.0) == [BindFailed(command_status=None, reason="timeout")]
    assert smsc.is_ended


def test_second_bind_is_already_bound() -> None:
    _, smsc = bound_pair()
    assert feed(smsc, BindTransceiver(sequence_number=9, system_id="x"), now=1.0) == []
    (response,) = wire(smsc)
    assert response.sequence_number == 9
    assert response.command_status == CommandStatus.ESME_RALYBND


def test_misuse_raises() -> None:
    esme = SmppSession(Role.ESME, CONFIG, now=0.0)
    with pytest.raises(SmsUsageError):
        esme.send(submit(), now=0.0)  # not bound
    smsc = SmppSession(Role.SMSC, CONFIG, now=0.0)
    with pytest.raises(SmsUsageError):
        smsc.bind(BindMode.TRANSCEIVER, system_id="a", password="b", now=0.0)
    esme, smsc = bound_pair(BindMode.RECEIVER)
    with pytest.raises(SmsUsageError):
        esme.send(submit(), now=0.0)  # a receiver may not submit
    with pytest.raises(SmsUsageError):
        smsc.send(SubmitSm(sequence_number=0), now=0.0)  # an SMSC does not submit


def test_message_in_the_wrong_state_is_refused() -> None:
    smsc = SmppSession(Role.SMSC, CONFIG, now=0.0)
    assert feed(smsc, SubmitSm(sequence_number=4), now=0.0) == []  # before any bind
    (response,) = wire(smsc)
    assert isinstance(response, SubmitSmResp)
    assert response.command_status == CommandStatus.ESME_RINVBNDSTS
    esme, _ = bound_pair(BindMode.TRANSMITTER)
    assert feed(esme, DeliverSm(sequence_number=5), now=0.0) == []  # a transmitter
    (response,) = wire(esme)
    assert isinstance(response, DeliverSmResp)
    assert response.command_status == CommandStatus.ESME_RINVBNDSTS


# -- sequence numbers and the window ----------------------------------------------------------


def test_window_queues_then_drains_in_order() -> None:
    esme, _ = bound_pair()
    ids = [esme.send(submit(f"86138{i}"), now=1.0) for i in range(5)]
    sent = wire(esme)
    assert [p.sequence_number for p in sent] == [2, 3]  # 1 was the bind
    assert (esme.outstanding, esme.queued) == (2, 3)
    events = feed(esme, SubmitSmResp(sequence_number=2, message_id="m1"), now=1.5)
    assert events == [
        ResponseReceived(
            request_id=ids[0],
            request=sent[0],
            response=SubmitSmResp(sequence_number=2, message_id="m1"),
        )
    ]
    (third,) = wire(esme)
    assert isinstance(third, SubmitSm)
    assert third.destination_addr == "861382"
    assert (esme.outstanding, esme.queued) == (2, 2)


def test_sequence_numbers_wrap_and_skip_outstanding() -> None:
    esme, _ = bound_pair()
    esme._next_sequence = MAX_SEQUENCE  # white-box: reach the end without 2**31 requests
    esme.send(submit(), now=0.0)
    esme.send(submit(), now=0.0)
    assert [p.sequence_number for p in wire(esme)] == [MAX_SEQUENCE, 1]


# -- response timers --------------------------------------------------------------------------


def test_request_times_out_and_late_response_is_ignored() -> None:
    esme, _ = bound_pair()
    request_id = esme.send(submit(), now=1.0)
    (sent,) = wire(esme)
    assert esme.get_timer() == 6.0
    assert esme.handle_timer(now=5.99) == []
    (failed,) = esme.handle_timer(now=6.0)
    assert failed == RequestFailed(
        request_id=request_id, request=sent, reason="timeout", command_status=None, was_sent=True
    )
    assert esme.outstanding == 0
    late = SubmitSmResp(sequence_number=sent.sequence_number, message_id="late")
    assert feed(esme, late, now=7.0) == []


# -- throttling -------------------------------------------------------------------------------


def test_throttled_request_backs_off_then_goes_again_first() -> None:
    esme, _ = bound_pair(config=SessionConfig(window=1, throttle_backoff=1.0))
    first = esme.send(submit("first"), now=0.0)
    second = esme.send(submit("second"), now=0.0)
    (sent,) = wire(esme)
    throttled = SubmitSmResp(
        sequence_number=sent.sequence_number, command_status=CommandStatus.ESME_RTHROTTLED
    )
    (event,) = feed(esme, throttled, now=2.0)
    assert event == Throttled(
        request_id=first,
        request=sent,
        command_status=CommandStatus.ESME_RTHROTTLED,
        retry_at=3.0,
    )
    assert wire(esme) == []  # paused: not even the second one goes
    assert esme.paused_until == 3.0
    assert esme.get_timer() == 3.0
    assert esme.handle_timer(now=2.5) == []
    assert wire(esme) == []
    assert esme.handle_timer(now=3.0) == []
    (again,) = wire(esme)
    assert isinstance(again, SubmitSm)
    assert again.destination_addr == "first"
    assert again.sequence_number != sent.sequence_number
    # A second throttle of the same request waits twice as long (ESME_RMSGQFUL too).
    full = SubmitSmResp(
        sequence_number=again.sequence_number, command_status=CommandStatus.ESME_RMSGQFUL
    )
    (event,) = feed(esme, full, now=3.5)
    assert isinstance(event, Throttled)
    assert event.retry_at == 5.5
    esme.handle_timer(now=5.5)
    (third,) = wire(esme)
    ok = SubmitSmResp(sequence_number=third.sequence_number, message_id="id-1")
    (done,) = feed(esme, ok, now=6.0)
    assert isinstance(done, ResponseReceived)
    assert done.request_id == first
    (next_one,) = wire(esme)
    assert isinstance(next_one, SubmitSm)
    assert next_one.destination_addr == "second"
    assert second != first


def test_throttle_backoff_is_capped_and_retries_are_bounded() -> None:
    esme, _ = bound_pair()
    request_id = esme.send(submit(), now=0.0)
    now = 0.0
    delays = []
    for _ in range(CONFIG.max_throttle_retries):
        (sent,) = wire(esme)
        throttled = SubmitSmResp(
            sequence_number=sent.sequence_number, command_status=CommandStatus.ESME_RTHROTTLED
        )
        (event,) = feed(esme, throttled, now=now)
        assert isinstance(event, Throttled)
        delays.append(event.retry_at - now)
        now = event.retry_at
        esme.handle_timer(now=now)
    assert delays == [1.0, 2.0, 4.0]  # capped at max_throttle_backoff
    (sent,) = wire(esme)
    throttled = SubmitSmResp(
        sequence_number=sent.sequence_number, command_status=CommandStatus.ESME_RTHROTTLED
    )
    (final,) = feed(esme, throttled, now=now)
    assert isinstance(final, ResponseReceived)
    assert final.request_id == request_id
    assert final.response.command_status == CommandStatus.ESME_RTHROTTLED


# -- keep-alive -------------------------------------------------------------------------------


def test_enquire_link_when_idle_and_answered() -> None:
    esme, smsc = bound_pair()
    assert esme.get_timer() == 30.0
    assert esme.handle_timer(now=30.0) == []
    (enquire,) = wire(esme)
    assert isinstance(enquire, EnquireLink)
    assert feed(smsc, enquire, now=30.1) == []
    (answer,) = wire(smsc)
    assert answer == EnquireLinkResp(sequence_number=enquire.sequence_number)
    assert feed(esme, answer, now=30.2) == []
    assert esme.get_timer() == pytest.approx(60.2)  # idle again from the last receipt


def test_traffic_postpones_enquire_link() -> None:
    esme, _ = bound_pair()
    feed(esme, EnquireLink(sequence_number=7), now=25.0)  # the peer's own keep-alive
    assert wire(esme) == [EnquireLinkResp(sequence_number=7)]
    assert esme.handle_timer(now=30.0) == []
    assert wire(esme) == []
    assert esme.get_timer() == 55.0


def test_unanswered_enquire_link_declares_the_link_dead() -> None:
    esme, _ = bound_pair()
    request_id = esme.send(submit(), now=29.0)
    wire(esme)
    esme.handle_timer(now=30.0)  # nothing received since 0: enquire_link
    assert isinstance(wire(esme)[0], EnquireLink)
    # The submit times out at 34 on its own; the link is declared dead at 40.
    (timeout,) = esme.handle_timer(now=34.0)
    assert isinstance(timeout, RequestFailed)
    assert timeout.request_id == request_id
    assert esme.get_timer() == 40.0
    events = esme.handle_timer(now=40.0)
    assert events == [LinkDead(last_received=0.0)]
    assert esme.state is SessionState.CLOSED


# -- unbind -----------------------------------------------------------------------------------


def test_unbind_is_answered_and_fails_what_is_queued() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=1))
    esme.send(submit("a"), now=1.0)
    queued = esme.send(submit("b"), now=1.0)
    (first,) = wire(esme)
    esme.unbind(now=1.0)
    assert esme.state is SessionState.UNBINDING
    (unbind,) = wire(esme)
    assert isinstance(unbind, Unbind)
    with pytest.raises(SmsUsageError):
        esme.send(submit(), now=1.0)
    # The SMSC answers the submit it already had, then the unbind.
    smsc.receive_data(encode_pdu(first), now=1.1)
    events = feed(smsc, unbind, now=1.1)
    assert events[0] == Unbound(by_peer=True)
    assert smsc.state is SessionState.UNBOUND
    replies = wire(smsc)
    assert isinstance(replies[0], UnbindResp)
    events = feed(esme, *replies, now=1.2)
    assert events[0] == Unbound(by_peer=False)
    assert [
        (e.request_id, e.reason, e.was_sent) for e in events[1:] if isinstance(e, RequestFailed)
    ] == [
        (2, "unbound", True),
        (queued, "unbound", False),
    ]
    assert esme.state is SessionState.UNBOUND
    assert esme.get_timer() is None


def test_unbind_unanswered_ends_anyway() -> None:
    esme, _ = bound_pair()
    esme.unbind(now=2.0)
    assert esme.get_timer() == 7.0
    assert esme.handle_timer(now=7.0) == [Unbound(by_peer=False)]
    assert esme.is_ended


# -- ack after store --------------------------------------------------------------------------


def test_deliver_sm_is_acked_only_by_the_application() -> None:
    esme, smsc = bound_pair()
    request_id = smsc.send(DeliverSm(sequence_number=0, short_message=b"MO"), now=1.0)
    (event,) = esme.receive_data(smsc.data_to_send(), now=1.0)
    assert isinstance(event, MessageReceived)
    assert event.pdu.short_message == b"MO"
    assert wire(esme) == []  # nothing until the application has stored it
    assert esme.unacked == 1
    assert esme.ack(event) is True
    (response,) = wire(esme)
    assert response == DeliverSmResp(sequence_number=event.pdu.sequence_number)
    (done,) = feed(smsc, response, now=1.1)
    assert isinstance(done, ResponseReceived)
    assert done.request_id == request_id
    with pytest.raises(SmsUsageError):
        esme.ack(event)  # twice


def test_submit_sm_ack_carries_the_message_id() -> None:
    esme, smsc = bound_pair()
    esme.send(submit(), now=0.0)
    (event,) = smsc.receive_data(esme.data_to_send(), now=0.0)
    assert isinstance(event, MessageReceived)
    smsc.ack(event, message_id="abc123")
    (response,) = wire(smsc)
    assert response == SubmitSmResp(sequence_number=event.pdu.sequence_number, message_id="abc123")


def test_too_many_unacked_messages_are_refused_for_a_retry() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=5, max_unacked=2))
    for _ in range(3):
        smsc.send(DeliverSm(sequence_number=0), now=0.0)
    events = esme.receive_data(smsc.data_to_send(), now=0.0)
    assert len(events) == 2
    (refusal,) = wire(esme)
    assert refusal.command_status == CommandStatus.ESME_RX_T_APPN


def test_ack_after_the_bind_ended_is_not_sent() -> None:
    esme, smsc = bound_pair()
    smsc.send(DeliverSm(sequence_number=0), now=0.0)
    (event,) = esme.receive_data(smsc.data_to_send(), now=0.0)
    assert isinstance(event, MessageReceived)
    esme.connection_lost(now=0.5)
    assert esme.ack(event) is False
    assert wire(esme) == []


# -- bad input --------------------------------------------------------------------------------


def test_unknown_command_gets_generic_nack() -> None:
    _, smsc = bound_pair()
    unknown = (16).to_bytes(4, "big") + (0x00000099).to_bytes(4, "big") + bytes(4)
    unknown += (42).to_bytes(4, "big")
    assert smsc.receive_data(unknown, now=1.0) == []
    assert wire(smsc) == [
        GenericNack(sequence_number=42, command_status=CommandStatus.ESME_RINVCMDID)
    ]
    assert smsc.is_bound


def test_malformed_submit_gets_its_response_with_the_error() -> None:
    _, smsc = bound_pair()
    good = encode_pdu(SubmitSm(sequence_number=8, short_message=b"abc"))
    bad = (len(good) - 1).to_bytes(4, "big") + good[4:-1]  # sm_length runs past the end
    assert smsc.receive_data(bad, now=1.0) == []
    (response,) = wire(smsc)
    assert isinstance(response, SubmitSmResp)
    assert response.sequence_number == 8
    assert response.command_status != CommandStatus.ESME_ROK


def test_lost_framing_nacks_and_closes() -> None:
    esme, _ = bound_pair()
    request_id = esme.send(submit(), now=0.0)
    wire(esme)
    events = esme.receive_data(b"\x00\x00\x00\x05" + bytes(12), now=1.0)
    assert isinstance(events[0], ProtocolFailed)
    assert [e.request_id for e in events if isinstance(e, RequestFailed)] == [request_id]
    assert esme.state is SessionState.CLOSED
    assert wire(esme) == [
        GenericNack(sequence_number=0, command_status=CommandStatus.ESME_RINVCMDLEN)
    ]
    assert esme.receive_data(b"more", now=2.0) == []


def test_generic_nack_fails_the_request() -> None:
    esme, _ = bound_pair()
    request_id = esme.send(submit(), now=0.0)
    (sent,) = wire(esme)
    nack = GenericNack(
        sequence_number=sent.sequence_number, command_status=CommandStatus.ESME_RINVCMDLEN
    )
    (event,) = feed(esme, nack, now=0.5)
    assert event == RequestFailed(
        request_id=request_id,
        request=sent,
        reason="generic_nack",
        command_status=CommandStatus.ESME_RINVCMDLEN,
        was_sent=True,
    )
    assert esme.outstanding == 0


def test_connection_lost_fails_sent_and_queued_requests() -> None:
    esme, _ = bound_pair(config=SessionConfig(window=1))
    sent = esme.send(submit(), now=0.0)
    queued = esme.send(submit(), now=0.0)
    events = esme.connection_lost(now=1.0)
    assert [
        (e.request_id, e.reason, e.was_sent) for e in events if isinstance(e, RequestFailed)
    ] == [
        (sent, "closed", True),
        (queued, "closed", False),
    ]
    assert esme.state is SessionState.CLOSED
    assert esme.get_timer() is None


def test_byte_by_byte_is_the_same_as_whole() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=3))
    for i in range(3):
        smsc.send(DeliverSm(sequence_number=0, short_message=bytes([i])), now=0.0)
    data = smsc.data_to_send()
    events: list[Event] = []
    for i in range(len(data)):
        events += esme.receive_data(data[i : i + 1], now=0.0)
    assert [e.pdu.short_message for e in events if isinstance(e, MessageReceived)] == [
        b"\x00",
        b"\x01",
        b"\x02",
    ]
