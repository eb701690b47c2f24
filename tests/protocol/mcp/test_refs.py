"""MCP 2 references: runs already sent come back as one ``Op.REF`` item, in lock-step on both
ends, never for secrets, and a body's runs never outlive it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.protocol.mcp import Decoder, Encoder, McpDecodeError, decode, encode
from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.refs import REF_CAPACITY, Refs, literal_cuts
from columba.protocol.mcp.tables import Op
from columba.protocol.mcp.text import Budget, dictionary, pull_raw
from columba.protocol.sip import Header, Request, Response, parse_message

WORDS = dictionary(())


def _request(*headers: tuple[str, str], body: bytes = b"") -> Request:
    fields = tuple(Header(name, value) for name, value in headers)
    return Request(method="MESSAGE", uri="sip:alice@im.example.net", headers=fields, body=body)


def test_a_run_sent_once_is_named_by_index_the_next_time() -> None:
    refs = Refs()
    assert literal_cuts(b"bob@im.example.net", refs, record=True) == [(b"bob@im.example.net", -1)]
    assert len(refs) == 1  # "bob" is shorter than a run
    assert literal_cuts(b"carol@im.example.net>", refs, record=True) == [
        (b"carol@", -1),
        (b"", 1),
        (b">", -1),
    ]
    assert refs.get(0) == b"carol"
    assert refs.get(1) == b"im.example.net"


def test_the_list_keeps_the_newest_runs() -> None:
    refs = Refs()
    for n in range(REF_CAPACITY + 5):
        refs.add(f"run{n:04d}".encode())
    assert len(refs) == REF_CAPACITY
    assert refs.find(b"run0000") is None
    assert refs.find(f"run{REF_CAPACITY + 4:04d}".encode()) == 0
    assert refs.get(REF_CAPACITY - 1) == b"run0005"
    with pytest.raises(McpDecodeError):
        refs.get(REF_CAPACITY)


def test_hosts_repeated_in_one_message_cost_two_bytes() -> None:
    once = _request(("From", "<sip:bob@im.example.net>;tag=1"))
    thrice = _request(
        ("From", "<sip:bob@im.example.net>;tag=1"),
        ("To", "<sip:carol@im.example.net>"),
        ("Route", "<sip:im.example.net;lr>"),
    )
    assert decode(encode(thrice)) == thrice
    # "im.example.net" (14 bytes) came with the Request-URI; later it is REF + index.
    assert bytes((Op.REF, 0)) in encode(once)
    assert len(encode(thrice)) - len(encode(once)) < 30


def test_secrets_add_no_runs() -> None:
    nonce = "Zm9vYmFyYmF6cXV4cXV1eA"
    auth = ("Authorization", f'Digest username="bobby",nonce="{nonce}"')
    subject = ("Subject", nonce)
    base = len(encode(_request()))
    subject_cost = len(encode(_request(subject))) - base
    auth_cost = len(encode(_request(auth))) - base
    # After the secret the Subject costs what it costs alone: the secret added no run ...
    message = _request(auth, subject)
    assert decode(encode(message)) == message
    assert len(encode(message)) - base == subject_cost + auth_cost
    # ... while the secret may be cut at a whole run a field before it sent.
    message = _request(subject, auth)
    assert decode(encode(message)) == message
    assert len(encode(message)) - base < subject_cost + auth_cost


def test_a_body_refers_to_header_runs_but_its_own_runs_end_with_it() -> None:
    body = b"From: <sip:bob@im.example.net>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\r\nhi"
    first = _request(("From", "<sip:bob@im.example.net>;tag=1"), body=body)
    encoder, decoder = Encoder(table_size=4096), Decoder(table_size=4096)
    for _ in range(3):
        assert decoder.decode(encoder.encode(first)) == first
    assert len(encoder.refs) == len(decoder.refs)
    assert encoder.refs.find(b"params") is None


def test_stateful_references_span_messages() -> None:
    call_id = "f1HEN3exgFPQjaDPjinWIx"
    request = _request(("Call-ID", call_id), ("From", "<sip:bob@im.example.net>;tag=xCZ929hMJn"))
    response = Response(
        status=200,
        headers=(
            Header("Call-ID", call_id),
            Header("From", "<sip:bob@im.example.net>;tag=xCZ929hMJn;x=1"),
        ),
    )
    encoder, decoder = Encoder(table_size=4096), Decoder(table_size=4096)
    assert decoder.decode(encoder.encode(request)) == request
    second = encoder.encode(response)
    assert decoder.decode(second) == response
    assert len(second) < len(encode(response)) - 20


def test_a_reference_past_the_list_is_a_decode_error() -> None:
    data = bytes((0x00, 0x07, Op.REF, 0x00, 0x00, 0x00))  # MESSAGE, URI = REF 0, no fields
    with pytest.raises(McpDecodeError):
        decode(data)
    with pytest.raises(McpDecodeError):
        pull_raw(Buffer(bytes((Op.REF, 0x00, 0x00))), WORDS, Budget(100))


_RUNS = st.sampled_from(["im.example.net", "alice", "xCZ929hMJn", "10.0.0.1", "3101", "a-b.c"])
_GLUE = st.sampled_from(["@", ";tag=", " ", "<sip:", ">", ":", ",", ""])


@given(st.lists(st.lists(st.tuples(_RUNS, _GLUE), max_size=8), min_size=1, max_size=6))
def test_repetitive_values_round_trip_with_references(values: list[list[tuple[str, str]]]) -> None:
    headers = tuple(
        Header(f"X-H{n}", "".join(run + glue for run, glue in parts) or "x")
        for n, parts in enumerate(values)
    )
    message = _request(*((h.name, h.value) for h in headers))
    assert decode(encode(message)) == message
    encoder, decoder = Encoder(table_size=256), Decoder(table_size=256)
    for _ in range(2):
        assert decoder.decode(encoder.encode(message)) == message


def test_the_documents_worked_example() -> None:
    """docs/protocol/mcp.md §12.4, byte for byte."""
    text = (
        b"MESSAGE sip:alice@im.example.net SIP/2.0\r\nTo: <sip:alice@im.example.net>\r\n"
        b'From: "Bob" <sip:bob@im.example.net>;tag=a1b2\r\nContent-Length: 0\r\n\r\n'
    )
    wire = bytes.fromhex(
        "08 07 80 14 616c696365 40 696d2e6578616d706c652e6e6574 00 03"
        " 17 81 4d01 0140 4d00 3e 00"
        " 16 97 03426f62 92 04626f6240 4d00 84 0461316232 00"
        " 1c"
    )
    message = parse_message(text)
    assert len(text) == 142
    assert encode(message) == wire
    assert decode(wire) == message
