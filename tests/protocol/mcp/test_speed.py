"""The fast paths of the codec (ADR 0019) change no byte and no verdict.

* The encoder's output on the whole corpus is pinned by digest: the digests were taken from
  the codec before ADR 0019, so any change to a single wire byte fails here.
* The scanner's jump to the next position where an item may save a byte gives the same cut as
  trying every position (the reference loop below, MCP 2's scanner), on generated text full
  of the look-alikes of every typed form.
* The decoder's check (parse the text it builds once, compare with the fields) refuses what
  the former render → serialize → parse check refused.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columba.protocol.mcp import Decoder, Encoder, McpDecodeError, McpOptions, decode
from columba.protocol.mcp.scanner import _best_at, _tables, scan
from columba.protocol.mcp.tables import Op
from columba.protocol.mcp.text import Token, dictionary
from columba.protocol.sip import Header, Request, serialize

from .corpus import VALID, load
from .strategies import LOOKALIKES, VALUE

#: SHA-256 over (4-byte length, bytes) of every VALID corpus message's encoding, in order:
#: (domains, table size) → digest, as MCP 2 wrote them before ADR 0019.
WIRE_DIGESTS = {
    ((), 0): "94fc5995132bd157c7a1ac59640e1af70bb55b02fb0185b76cede41777f84219",
    ((), 4096): "521396dfb0a90229929a4683e9ced3cd01c418d8f82014d974a9d18410788d64",
    (("im.example.com", "example.com"), 0): (
        "8a1d6a2d8f6bcedce22cd2103dd88afe6e1e281b5ac7c38d95f4af8c05b77cb9"
    ),
    (("im.example.com", "example.com"), 4096): (
        "80132795850038f20da45ad53cf494b0bccfd6684abdfb9c73fde41142f2ad76"
    ),
}


@pytest.mark.parametrize(("domains", "table_size"), sorted(WIRE_DIGESTS))
def test_the_wire_bytes_of_the_corpus_are_unchanged(
    domains: tuple[str, ...], table_size: int
) -> None:
    encoder = Encoder(McpOptions(domains=domains), table_size=table_size)
    digest = hashlib.sha256()
    for path in VALID:
        data = encoder.encode(load(path))
        digest.update(len(data).to_bytes(4, "big") + data)
    assert digest.hexdigest() == WIRE_DIGESTS[domains, table_size]


def _scan_every_position(text: str, domains: tuple[str, ...], xml: bool) -> list[Token]:
    """MCP 2's scanner loop: :func:`_best_at` tried at every position."""
    matchers, _ = _tables(domains, xml)
    runs = (True, True)  # "a run may be there": the per-position checks then decide
    tokens: list[Token] = []
    literal_start = i = 0
    while i < len(text):
        found = _best_at(text, i, matchers, runs)
        if found is None or found[2] < (0 if literal_start == i else 1):
            i += 1
            continue
        if literal_start < i:
            tokens.append((Op.LITERAL, text[literal_start:i]))
        tokens.append(found[0])
        i += found[1]
        literal_start = i
    if literal_start < len(text):
        tokens.append((Op.LITERAL, text[literal_start:]))
    return tokens


#: Text dense in the shapes the scanner looks for, and in near misses of them.
SHAPED = st.lists(
    st.one_of(
        LOOKALIKES,
        VALUE,
        st.text(alphabet="0123456789abcdefABCDEF:.-+/=TZ \n@<>;\"'", max_size=40),
        st.text(alphabet="AZaz09+/", min_size=12, max_size=24),
        st.sampled_from(["sip:", ";tag=", "im.example.com", "\n    ", "周末周末", "ü"]),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(SHAPED, st.booleans(), st.sampled_from([(), ("im.example.com",)]))
def test_jumping_scanner_cuts_like_the_every_position_loop(
    text: str, xml: bool, domains: tuple[str, ...]
) -> None:
    words = dictionary(domains)
    assert scan(text, words, xml=xml) == _scan_every_position(text, domains, xml)


def test_jumping_scanner_cuts_corpus_values_like_the_every_position_loop() -> None:
    words = dictionary(())
    for path in VALID:
        message = load(path)
        texts = [value for _, value, _ in message.headers]
        texts.append(message.body.decode("utf-8", "surrogateescape"))
        for text in texts:
            for xml in (False, True):
                assert scan(text, words, xml=xml) == _scan_every_position(text, (), xml), path


def test_decoder_check_refuses_what_the_text_would_read_differently() -> None:
    message = Request(
        method="MESSAGE",
        uri="sip:a@b",
        headers=(Header("Subject", "hello"), Header("Content-Length", "0")),
    )
    assert decode(Encoder().encode(message)) == message
    # A value the encoder would never send: one that hides a second header line.
    wire = bytearray(Encoder().encode(message))
    hello = wire.index(b"hello")
    smuggled = b"hi\r\nX: y"
    wire[hello - 1 : hello + 5] = bytes((len(smuggled),)) + smuggled
    with pytest.raises(McpDecodeError):
        Decoder().decode(bytes(wire))


@pytest.mark.parametrize("path", VALID[::7], ids=lambda p: p.name)
def test_decoded_message_is_what_the_text_parser_reads(path: object) -> None:
    message = load(path)  # type: ignore[arg-type]
    decoded = decode(Encoder().encode(message))
    assert decoded == message
    assert serialize(decoded) == serialize(message)


def test_a_long_run_of_ipv6_characters_costs_linear_time() -> None:
    # "a:a:a:…" once cost an IPv6 match to its end at every position: 16 s for 60 kB.
    body = b"a:" * 30_000
    message = Request(
        method="MESSAGE",
        uri="sip:a@b",
        headers=(Header("Content-Length", str(len(body))),),
        body=body,
    )
    start = time.process_time()
    data = Encoder().encode(message)
    assert time.process_time() - start < 5
    assert decode(data) == message
