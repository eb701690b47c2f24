"""The plain-``M`` shortcut says yes only where ``validate`` and ``check_request`` both pass."""

from __future__ import annotations

import pytest

from columba.protocol.errors import ParseError
from columba.protocol.sip import semantic
from columba.protocol.sip.framing import parse_datagram
from columba.protocol.sip.message import Request
from columba.protocol.sip.validate import validate
from columba.servers.im.hotpath import is_plain_sipc_message, sipc_answer
from columba.servers.im.server import ACCEPTED_TYPES

POLICY = semantic.ServerPolicy(
    accepted_types=ACCEPTED_TYPES,
    is_proxy=False,
    methods=semantic.DEFAULT_POLICY.methods | {"SERVICE"},
)
PLAIN = (
    "M fetion.com.cn SIP-C/4.0\r\nF: 900000001\r\nI: 5\r\nQ: 2 M\r\n"
    "T: sip:900000002@fetion.com.cn\r\nC: text/plain\r\nK: SaveHistory\r\nN: CatMsg\r\n"
    "L: 5\r\n\r\nhello"
)


def _general_passes(request: Request) -> bool:
    try:
        validate(request)
    except ParseError:
        return False
    verdict = semantic.check_request(request, policy=POLICY)
    return verdict is None


def _request(text: str) -> Request:
    message = parse_datagram(text.encode())
    assert isinstance(message, Request)
    return message


def test_a_clients_message_takes_the_shortcut() -> None:
    request = _request(PLAIN)
    assert is_plain_sipc_message(request, POLICY)
    assert _general_passes(_request(PLAIN))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("F: 900000001\r\n", ""),  # F is required
        ("F: 900000001\r\n", "F: <sip:\r\n"),  # malformed From
        ("T: sip:900000002@fetion.com.cn\r\n", "T: sip:@@\r\n"),  # malformed To
        ("Q: 2 M\r\n", "Q: 2 R\r\n"),  # CSeq method mismatch
        ("Q: 2 M\r\n", "Q: x M\r\n"),  # malformed CSeq
        ("Q: 2 M\r\n", "Q: 99999999999 M\r\n"),  # CSeq out of range
        ("C: text/plain\r\n", "C: application/x-unknown\r\n"),  # 415
        ("C: text/plain\r\n", "C: text\r\n"),  # malformed Content-Type
        ("C: text/plain\r\n", ""),  # SIP-C may leave the type out
        ("N: CatMsg\r\n", "N: CatMsg\r\nN: CatMsg\r\n"),  # repeated single-valued header
        ("K: SaveHistory\r\n", "K: SaveHistory\r\nRequire: 100rel\r\n"),  # 420 on SIP
        ("K: SaveHistory\r\n", 'A: Bogus realm="x"\r\n'),  # credentials in another scheme
        ("K: SaveHistory\r\n", "X: 30\r\n"),  # any other header: the general path
        ("M fetion.com.cn", "M sip:900000002@fetion.com.cn"),  # a URI in the request line
        ("M fetion.com.cn", "M foo:bar"),  # an unknown scheme
        ("I: 5\r\n", "I: \r\n"),  # empty Call-ID
    ],
)
def test_the_shortcut_never_accepts_what_the_general_checks_refuse(old: str, new: str) -> None:
    text = PLAIN.replace(old, new, 1)
    assert text != PLAIN
    try:
        request = _request(text)
    except ParseError:
        return  # refused by the parser already
    if is_plain_sipc_message(request, POLICY):
        assert _general_passes(_request(text)), text


def test_other_requests_take_the_general_path() -> None:
    register = PLAIN.replace("M fetion.com.cn", "R fetion.com.cn").replace("Q: 2 M", "Q: 2 R")
    assert not is_plain_sipc_message(_request(register), POLICY)
    sip = (
        "MESSAGE sip:b@columba.local SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@columba.local>;tag=1\r\nTo: <sip:b@columba.local>\r\nCall-ID: c\r\n"
        "CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    assert not is_plain_sipc_message(_request(sip), POLICY)


@pytest.mark.parametrize(
    "text",
    [
        PLAIN,
        PLAIN.replace("T: sip:900000002@fetion.com.cn\r\n", ""),  # F is copied instead
        PLAIN.replace("I: 5\r\n", "I :  5\r\n"),  # spelled oddly: copied as written
        PLAIN.replace("F: 900000001\r\n", "F: 900000001\r\nF: 900000003\r\n"),  # first only
        PLAIN.replace("N: CatMsg\r\n", "N: CatMsg\r\nX-Odd: a\r\n b\r\n"),  # a fold elsewhere
    ],
)
@pytest.mark.parametrize(
    ("status", "reason", "extra"),
    [
        (200, None, [("Date", "Sat, 08 May 2010 14:51:55 GMT"), ("X-Message-ID", "ab")]),
        (404, "No such user", []),
        (401, None, [("WWW-Authenticate", 'Digest nonce="n"')]),
        (503, "Too many requests", [("Retry-After", "1")]),
    ],
)
@pytest.mark.parametrize("body", [b"", b'<results><sms to="tel:+86138" segments="1"/></results>'])
def test_the_answer_is_what_the_serializer_writes(
    text: str, status: int, reason: str | None, extra: list[tuple[str, str]], body: bytes
) -> None:
    from columba.protocol.sip.serializer import ensure_content_length, serialize

    request = _request(text)
    response = semantic.make_response(request, status, reason, extra=extra)
    expected = serialize(ensure_content_length(response.with_body(body) if body else response))
    assert sipc_answer(_request(text), status, reason, extra, body) == expected


@pytest.mark.parametrize("name", ["L", "Content-Length", "content-length"])
def test_a_length_among_the_extra_headers_is_left_to_the_serializer(name: str) -> None:
    assert sipc_answer(_request(PLAIN), 280, "Send SMS OK", [(name, "3")], b"abc") is None


def test_a_folded_value_is_left_to_the_serializer() -> None:
    request = _request(PLAIN.replace("I: 5\r\n", "I: 5\r\n 6\r\n"))
    assert sipc_answer(request, 200, None, []) is None
