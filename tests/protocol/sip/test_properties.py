"""Property tests: generated messages round-trip; random and mutated bytes only ever raise our
protocol error, never anything else, and never hang."""

from __future__ import annotations

import contextlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columba.protocol.errors import ProtocolError
from columba.protocol.sip import Header, Request, Response, parse_message, serialize, validate
from columba.protocol.sip.framing import StreamFramer

from .corpus_files import SIP_IM, SIPC, TORTURE

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
VALUE_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n", max_codepoint=0x2FFF
)
VALUE = st.text(alphabet=VALUE_CHARS, max_size=40).map(lambda v: v.strip(" \t"))
SEP = st.sampled_from([": ", ":", " : ", ":\t", "  :  "])
# Reserved framing headers are generated separately so the body length stays consistent.
NAME = TOKEN.filter(lambda n: n.lower() not in {"content-length", "l"})


@st.composite
def headers(draw: st.DrawFn) -> tuple[Header, ...]:
    items = draw(st.lists(st.tuples(NAME, VALUE, SEP), max_size=12))
    folded = []
    for name, value, sep in items:
        if value and " " in value and draw(st.booleans()):
            head, _, tail = value.partition(" ")
            value = f"{head}\n {tail}" if tail else value
        folded.append(Header(name, value, sep))
    return tuple(folded)


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    version = draw(st.sampled_from(["SIP/2.0", "SIP-C/4.0", "SIP-C/2.0"]))
    body = draw(st.binary(max_size=64))
    length_name = "L" if version.startswith("SIP-C") else "Content-Length"
    hs = (*draw(headers()), Header(length_name, str(len(body))))
    if draw(st.booleans()):
        return Request(
            method=draw(TOKEN),
            uri=draw(st.sampled_from(["sip:alice@example.com", "fetion.com.cn", "700100200"])),
            version=version,
            headers=hs,
            body=body,
        )
    return Response(
        status=draw(st.integers(100, 699)),
        reason=draw(VALUE),
        version=version,
        headers=hs,
        body=body,
    )


@given(messages())
def test_generated_messages_round_trip(message: Request | Response) -> None:
    data = serialize(message)
    parsed = parse_message(data)
    assert parsed == message
    assert serialize(parsed) == data


@given(st.lists(messages(), min_size=1, max_size=4), st.data())
def test_stream_of_generated_messages_in_random_chunks(
    batch: list[Request | Response], data: st.DataObject
) -> None:
    stream = b"".join(serialize(m) for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = StreamFramer()
    got = []
    start = 0
    for cut in [*cuts, len(stream)]:
        got += framer.feed(stream[start:cut])
        start = cut
    assert [e.message for e in got] == batch  # type: ignore[union-attr]


def _only_protocol_errors(data: bytes) -> None:
    try:
        message = parse_message(data)
        validate(message)
        serialize(message)
    except ProtocolError:
        pass
    framer = StreamFramer()
    with contextlib.suppress(ProtocolError):
        framer.feed(data)


@given(st.binary(max_size=512))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    _only_protocol_errors(data)


SEEDS = [p.read_bytes() for p in SIP_IM[:20] + SIPC[:20] + TORTURE]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, max(len(SEEDS) - 1, 0)), st.randoms(use_true_random=False), st.integers(1, 8))
def test_mutated_corpus_raises_only_protocol_errors(
    index: int, rnd: random.Random, mutations: int
) -> None:
    if not SEEDS:
        return
    data = bytearray(SEEDS[index])
    interesting = b' \t\r\n:;,<>"\\@%=/?0123456789\x00\xff'
    for _ in range(mutations):
        op = rnd.randrange(4)
        pos = rnd.randrange(len(data) + 1)
        if op == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif op == 1:
            data.insert(pos, rnd.choice(interesting))
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        else:
            chunk = bytes(data[pos : pos + rnd.randrange(1, 16)])
            data[pos:pos] = chunk
    _only_protocol_errors(bytes(data))


@given(st.sampled_from(SEEDS or [b""]), st.integers(0, 4000))
def test_truncated_messages_never_hang_the_framer(seed: bytes, cut: int) -> None:
    framer = StreamFramer()
    try:
        events = framer.feed(seed[:cut])
    except ProtocolError:
        return
    # Every event consumed bytes, and what is left is waiting for more input.
    assert len(events) <= cut
    assert framer.buffered <= min(cut, len(seed))
