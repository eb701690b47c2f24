"""The parser's fast paths (decision 0007) give what the general ways give."""

from __future__ import annotations

from pathlib import Path

import pytest

from columba.protocol.errors import ParseError
from columba.protocol.sip import (
    CSeq,
    Header,
    Request,
    Response,
    SipUri,
    grammar,
    parse_message,
    serialize,
)
from columba.protocol.sip import headers as h
from columba.protocol.sip.parser import find_header_end

from .corpus_files import ALL_MESSAGES, SIP_IM, SIPC

PLAIN = (
    b"MESSAGE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP host-1.example.com:5060;branch=z9hG4bK1;rport\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK2\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1\r\n'
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 7 MESSAGE\r\n"
    b"Contact: <sip:alice@192.0.2.7;transport=tcp>;expires=60\r\n"
    b"Contact: <sip:alice@192.0.2.8>\r\n"
    b"X-Unknown: yes\r\n"
    b"Content-Length: 2\r\n\r\nhi"
)


def test_lazy_headers_are_the_lines_as_written() -> None:
    m = parse_message(PLAIN)
    assert m.headers[0] == Header(
        "Via", "SIP/2.0/TCP host-1.example.com:5060;branch=z9hG4bK1;rport"
    )
    assert [x.name for x in m.headers][-2:] == ["X-Unknown", "Content-Length"]
    assert m.headers is m.headers  # made once
    assert serialize(m) == PLAIN


def test_parsed_and_built_messages_read_the_same() -> None:
    parsed = parse_message(PLAIN)
    assert isinstance(parsed, Request)
    built = Request(method="MESSAGE", uri="sip:bob@example.com", headers=parsed.headers, body=b"hi")
    assert built == parsed
    for message in (parsed, built):
        assert [v.branch for v in message.via] == ["z9hG4bK1", "z9hG4bK2"]
        assert len(message.contact) == 2
        assert message.contact[0].expires == 60
        assert message.get("x-unknown") == "yes"
        assert message.has("v")
        assert not message.has("route")
        assert message.count("Contact") == 2
        assert message.get_all("via")[1] == "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK2"
        assert message.cseq == (7, "MESSAGE")
        assert message.content_length == 2
    copy = parsed.with_headers((*parsed.headers, Header("Route", "<sip:p.example.com;lr>")))
    route = copy.route[0].uri
    assert isinstance(route, SipUri)
    assert route.param("lr") == ""
    assert parsed.with_body(b"ok").headers == parsed.headers


def test_first_value_of_a_repeated_header_is_the_first_line() -> None:
    m = parse_message(
        b"SIP/2.0 200 OK\r\nCall-ID: a\r\ni: b\r\nCSeq: 1 R\r\nCSeq: 2 R\r\n\r\n", datagram=True
    )
    assert isinstance(m, Response)
    assert m.call_id == "a"
    assert m.cseq == (1, "R")
    assert m.get_all("Call-ID") == ["a", "b"]


@pytest.mark.parametrize(
    "value",
    ["1 REGISTER", "4 M", "2147483647 MESSAGE", "1  REGISTER", " 1 REGISTER", "1 FOO", "1 R "],
)
def test_cseq_fast_path_agrees_with_the_grammar(value: str) -> None:
    m = grammar.cseq_re.match(value)
    assert m is not None
    assert h.parse_cseq(value) == CSeq(int(m[1]), m[2])


@pytest.mark.parametrize("value", ["x REGISTER", "4294967296 R", "1", "1 R R", "-1 R"])
def test_cseq_errors(value: str) -> None:
    with pytest.raises(ParseError):
        h.parse_cseq(value)


@pytest.mark.parametrize(
    ("host", "ok"),
    [("a", True), ("a-b.example.com", True), ("a--b", True), ("a-", False), ("-a", False)],
)
def test_host_grammar(host: str, ok: bool) -> None:
    value = f"SIP/2.0/UDP {host}:5060;branch=z9hG4bK1"
    if ok:
        assert h.parse_vias(value)[0].host == host
        assert h.parse_name_address(f"<sip:u@{host}>", "To").uri.host == host  # type: ignore[union-attr]
    else:
        with pytest.raises(ParseError):
            h.parse_vias(value)
        with pytest.raises(ParseError):
            h.parse_name_address(f"<sip:u@{host}>", "To")


def test_lf_message_with_crlf_crlf_in_its_body_ends_at_the_lf_lf() -> None:
    # The fast path looks for CRLF CRLF first; the LF LF before it must still end the head.
    data = b"MESSAGE sip:b@example.com SIP/2.0\nCall-ID: x\nContent-Length: 6\n\nab\r\n\r\n"
    m = parse_message(data)
    assert find_header_end(data)[1] == data.index(b"\n\n") + 2
    assert m.body == b"ab\r\n\r\n"
    assert m.eol == "\n"
    assert serialize(m) == data


@pytest.mark.parametrize("path", [*SIP_IM, *SIPC], ids=lambda p: p.name)
def test_typed_values_equal_through_headers(path: Path) -> None:
    # The accessors read ``_head``; a copy built from ``headers`` reads them from its own.
    data = path.read_bytes()
    m = parse_message(data)
    copy = m.with_headers(m.headers)
    for name in ("via", "from_", "to", "cseq", "call_id", "contact", "content_type", "date"):
        assert getattr(m, name) == getattr(copy, name), name


def _frame_all(data: bytes, *, fast: bool) -> list[object]:
    """Every event (or the error) of feeding ``data`` twice back to back to a stream framer."""
    from columba.protocol.sip.framing import StreamFramer

    framer = StreamFramer()
    if not fast:
        framer._plain = lambda buffer, end: None  # type: ignore[method-assign]
    try:
        events: list[object] = list(framer.feed(data + data))
    except ParseError as exc:
        return [("error", exc.status, exc.reason)]
    return [
        (type(e).__name__, serialize(e.message), e.message.content_length)
        if hasattr(e, "message")
        else (type(e).__name__, getattr(getattr(e, "error", None), "status", None))
        for e in events
    ]


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_stream_framers_fast_path_gives_what_the_general_way_gives(path: Path) -> None:
    data = path.read_bytes()
    assert _frame_all(data, fast=True) == _frame_all(data, fast=False)
