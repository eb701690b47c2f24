"""Stream and datagram framing: whole, byte by byte, with trailing data, errors, limits."""

from __future__ import annotations

import pytest

from columba.protocol.errors import LimitExceeded, ParseError
from columba.protocol.sip import ParseLimits, Request, parse_message, serialize
from columba.protocol.sip.framing import BadMessage, KeepAlive, MessageReceived, StreamFramer

MSG = (
    b"M fetion.com.cn SIP-C/4.0\r\nF: 700100200\r\nI: 11\r\nQ: 2 M\r\n"
    b"T: sip:700100311@fetion.com.cn;p=3102\r\nN: CatMsg\r\nL: 5\r\n\r\nhello"
)
NO_BODY = b"R fetion.com.cn SIP-C/4.0\r\nF: 700100200\r\nI: 1\r\nQ: 3 R\r\nX: 0\r\n\r\n"


def messages(events: list[object]) -> list[bytes]:
    return [serialize(e.message) for e in events if isinstance(e, MessageReceived)]


def test_back_to_back_with_no_separator() -> None:
    framer = StreamFramer()
    assert messages(framer.feed(MSG + NO_BODY + MSG)) == [MSG, NO_BODY, MSG]


def test_byte_by_byte_and_partial_then_trailing() -> None:
    framer = StreamFramer()
    out: list[bytes] = []
    data = MSG + NO_BODY
    for i in range(len(data)):
        out += messages(framer.feed(data[i : i + 1]))
    assert out == [MSG, NO_BODY]
    assert messages(framer.feed(MSG[:20])) == []
    assert framer.buffered == 20
    assert messages(framer.feed(MSG[20:])) == [MSG]


def test_keepalive_ping_between_messages() -> None:
    framer = StreamFramer()
    events = framer.feed(MSG + b"\r\n\r\n" + MSG)
    assert [type(e) for e in events] == [MessageReceived, KeepAlive, MessageReceived]


def test_keepalive_split_across_reads() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []
    assert [type(e) for e in framer.feed(b"\r\n")] == [KeepAlive]


def test_bad_message_keeps_the_stream_usable() -> None:
    bad = b"M fetion.com.cn SIP-C/4.0\r\nthis line has no colon\r\nL: 3\r\n\r\nabc"
    framer = StreamFramer()
    events = framer.feed(bad + MSG)
    assert isinstance(events[0], BadMessage)
    assert events[0].error.status == 400
    assert events[0].data == bad
    assert messages(events[1:]) == [MSG]


def test_unknown_version_is_505_and_stream_continues() -> None:
    bad = b"OPTIONS sip:a@b SIP/7.0\r\nContent-Length: 0\r\n\r\n"
    events = StreamFramer().feed(bad + MSG)
    assert isinstance(events[0], BadMessage)
    assert events[0].error.status == 505
    assert messages(events[1:]) == [MSG]


def test_unreadable_length_is_fatal_for_the_stream() -> None:
    framer = StreamFramer()
    with pytest.raises(ParseError):
        framer.feed(b"M x SIP-C/4.0\r\nbad line\r\nL: -3\r\n\r\n")
    with pytest.raises(ParseError):
        framer.feed(MSG)


def test_limits_are_configuration() -> None:
    limits = ParseLimits(max_header_bytes=64, max_headers=3, max_body_bytes=4)
    with pytest.raises(LimitExceeded) as info:
        StreamFramer(limits).feed(b"M x SIP-C/4.0\r\n" + b"A" * 100)
    assert info.value.status == 513
    with pytest.raises(LimitExceeded) as info:
        StreamFramer(limits).feed(b"M x SIP-C/4.0\r\nL: 5\r\n\r\n")
    assert info.value.status == 413
    with pytest.raises(LimitExceeded):
        parse_message(b"M x SIP-C/4.0\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\n\r\n", limits=limits)


def test_datagram_without_length_runs_to_the_end() -> None:
    message = parse_message(b"M x SIP-C/4.0\r\nI: 1\r\nQ: 1 M\r\n\r\nbody to the end")
    assert isinstance(message, Request)
    assert message.body == b"body to the end"
    with pytest.raises(ParseError):
        parse_message(b"M x SIP-C/4.0\r\nI: 1\r\n\r\nbody", datagram=False)


def test_missing_length_on_a_stream_means_no_body() -> None:
    events = StreamFramer().feed(NO_BODY)
    assert messages(events) == [NO_BODY]
