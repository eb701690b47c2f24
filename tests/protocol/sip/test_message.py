"""The message model: spellings, typed accessors, building and serializing."""

from __future__ import annotations

import datetime as dt

import pytest

from columba.protocol.errors import ParseError
from columba.protocol.sip import (
    BareId,
    Header,
    Request,
    Response,
    SipUri,
    TelUri,
    ensure_content_length,
    parse_message,
    parse_uri,
    serialize,
)

SIP = (
    b"MESSAGE sip:bob@example.com SIP/2.0\r\n"
    b"v: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776;rport\r\n"
    b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::1]:5070\r\n"
    b'f: "Alice A." <sip:alice@example.com>;tag=49583\r\n'
    b"t: sip:bob@example.com\r\n"
    b"i: asd88asd77a@1.2.3.4\r\n"
    b"CSeq: 1 MESSAGE\r\n"
    b"Max-Forwards: 70\r\n"
    b"m: <sip:alice@192.0.2.1:5060;transport=tcp>;expires=3600;q=0.7\r\n"
    b"Expires: 600\r\n"
    b"o: presence;id=1\r\n"
    b"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    b"c: text/plain;charset=UTF-8\r\n"
    b"l: 5\r\n\r\nhello"
)


def test_typed_accessors_on_compact_sip() -> None:
    m = parse_message(SIP)
    assert isinstance(m, Request)
    assert m.method == "MESSAGE"
    assert [v.transport for v in m.via] == ["TCP", "UDP", "UDP"]
    assert m.via[0].branch == "z9hG4bK776"
    assert m.via[0].param("rport") == ""
    assert m.via[2].host == "[2001:db8::1]"
    assert m.via[2].port == 5070
    assert m.from_ is not None
    assert m.from_.display_name == "Alice A."
    assert m.from_.tag == "49583"
    assert m.to is not None
    assert m.to.tag is None
    assert m.call_id == "asd88asd77a@1.2.3.4"
    assert m.cseq == (1, "MESSAGE")
    assert m.max_forwards == 70
    assert m.contact[0].expires == 3600
    assert m.contact[0].q == pytest.approx(0.7)
    assert m.expires == 600
    assert m.event == "presence"
    assert m.date == dt.datetime(2010, 11, 13, 23, 29, tzinfo=dt.UTC)
    assert m.content_type is not None
    assert m.content_type.mime == "text/plain"
    assert m.content_type.param("charset") == "UTF-8"
    assert m.content_length == 5
    assert m.get("Content-Type") == "text/plain;charset=UTF-8"
    assert m.count("via") == 2


def test_sipc_spelling_and_typed_access() -> None:
    data = (
        b"M 700100200 SIP-C/4.0\r\nF: sip:700100311@fetion.com.cn;p=3102\r\nI: -13 \r\n"
        b"Q: 4 M\r\nK: SaveHistory\r\nK: text/plain\r\nXI: 0123456789ABCDEF0123456789ABCDEF\r\n"
        b"D: Sat, 08 May 2010 14:51:55 GMT\r\nN: CatMsg\r\nL: 2\r\n\r\nhi"
    )
    m = parse_message(data)
    assert m.is_sipc
    assert isinstance(m, Request)
    assert m.request_uri == BareId(value="700100200")
    assert m.call_id == "-13"
    assert m.cseq == (4, "M")
    assert m.supported == ("SaveHistory", "text/plain")
    assert m.message_id == "0123456789ABCDEF0123456789ABCDEF"
    assert m.event == "CatMsg"
    assert m.from_ is not None
    assert isinstance(m.from_.uri, SipUri)
    assert m.from_.uri.param("p") == "3102"
    assert serialize(m) == data


def test_sipc_bare_from_and_group_uri() -> None:
    m = parse_message(
        b"M fetion.com.cn SIP-C/4.0\r\nF: 700100200\r\nT: sip:PG5678@fetion.com.cn;p=1\r\n\r\n"
    )
    assert m.from_ is not None
    assert m.from_.uri == BareId(value="700100200")
    assert m.to is not None
    assert isinstance(m.to.uri, SipUri)
    assert m.to.uri.is_group


def test_uris() -> None:
    u = parse_uri("sips:alice:pw@example.com:5061;transport=tls;lr?subject=hi&x=y")
    assert isinstance(u, SipUri)
    assert (u.scheme, u.user, u.password, u.host, u.port) == (
        "sips",
        "alice",
        "pw",
        "example.com",
        5061,
    )
    assert u.param("lr") == ""
    assert u.headers == (("subject", "hi"), ("x", "y"))
    assert str(u) == "sips:alice:pw@example.com:5061;transport=tls;lr?subject=hi&x=y"
    assert parse_uri("tel:13800138000") == TelUri(number="13800138000")
    assert parse_uri("sip:%75se%72@example.com").user_decoded == "user"  # type: ignore[union-attr]
    with pytest.raises(ParseError):
        parse_uri("sip:user@[::zz]")
    with pytest.raises(ParseError):
        parse_uri("700100200")


def test_built_message_gets_its_length_from_the_serializer() -> None:
    r = Request(
        method="M",
        uri="fetion.com.cn",
        version="SIP-C/4.0",
        headers=(Header("F", "700100200"), Header("I", "1"), Header("Q", "1 M"), Header("L", "0")),
        body="你好".encode(),
    )
    assert serialize(r).endswith(b"L: 6\r\n\r\n" + "你好".encode())
    sip = Response(status=200, reason="OK", headers=(Header("Call-ID", "x"),))
    assert (
        serialize(ensure_content_length(sip))
        == b"SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"
    )
    empty_sipc = Response(status=200, reason="OK", version="SIP-C/4.0", headers=(Header("I", "1"),))
    assert ensure_content_length(empty_sipc) is empty_sipc


def test_messages_compare_by_content_not_cache() -> None:
    a = parse_message(SIP)
    b = parse_message(SIP)
    _ = a.via
    assert a == b


@pytest.mark.parametrize(
    "data",
    [
        b"OPTIONS sip:a@b SIP/2.0\r\n bad: continuation first\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nbad name: x\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"\xff\xfe\r\n\r\n",
    ],
)
def test_malformed_structure_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message(data)
