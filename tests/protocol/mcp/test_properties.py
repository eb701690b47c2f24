"""Property tests: generated messages survive MCP byte for byte, alone and on a connection with
a tiny table; random and mutated MCP bytes only ever raise our MCP error, and never hang."""

from __future__ import annotations

import contextlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columba.protocol.mcp import (
    Decoder,
    Encoder,
    McpConfig,
    McpConnection,
    McpError,
    McpOptions,
    MessageReceived,
    Role,
    decode,
    encode,
)
from columba.protocol.sip import Message, serialize

from .corpus import VALID, load
from .strategies import carried, messages


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(messages(), st.sampled_from([(), ("example.com",)]))
def test_generated_messages_round_trip(message: Message, domains: tuple[str, ...]) -> None:
    expected = carried(message)
    if expected is None:
        return
    options = McpOptions(domains=domains)
    decoded = decode(encode(message, options), options)
    assert serialize(decoded) == serialize(message)
    assert decoded == expected


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(messages(), min_size=1, max_size=8), st.integers(40, 600))
def test_generated_messages_on_a_small_table(batch: list[Message], table_size: int) -> None:
    encoder = Encoder(table_size=table_size)
    decoder = Decoder(table_size=table_size)
    for message in batch:
        if carried(message) is None:
            continue
        assert serialize(decoder.decode(encoder.encode(message))) == serialize(message)
        assert encoder.table.size == decoder.table.size <= table_size
        assert encoder.refs.runs() == decoder.refs.runs()  # in lock-step, as the table


def _only_mcp_errors(data: bytes) -> None:
    for table_size in (0, 256):
        try:
            message = Decoder(table_size=table_size).decode(data)
        except McpError:
            continue
        serialize(message)  # whatever decodes is a well-formed message


@given(st.binary(max_size=512))
def test_random_bytes_raise_only_mcp_errors(data: bytes) -> None:
    _only_mcp_errors(data)


@given(st.binary(max_size=512))
def test_random_bytes_on_a_connection_raise_only_mcp_errors(data: bytes) -> None:
    server = McpConnection(Role.SERVER)
    with contextlib.suppress(McpError):
        server.receive(data)
    client = McpConnection(Role.CLIENT)
    client.initiate()
    with contextlib.suppress(McpError):
        client.receive(data)


SEEDS = [encode(load(path)) for path in VALID[::3]]


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.integers(0, max(len(SEEDS) - 1, 0)),
    st.randoms(use_true_random=False),
    st.integers(1, 6),
)
def test_mutated_mcp_raises_only_mcp_errors(index: int, rnd: random.Random, mutations: int) -> None:
    data = bytearray(SEEDS[index])
    for _ in range(mutations):
        op = rnd.randrange(4)
        pos = rnd.randrange(len(data) + 1)
        if op == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif op == 1:
            data.insert(
                pos, rnd.choice(b"\x00\x01\x2f\x40\x41\x46\x4a\x4c\x4d\x50\x5a\x7f\x80\xff")
            )
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rnd.randrange(256)
        else:
            data[pos:pos] = bytes(data[pos : pos + rnd.randrange(1, 8)])
    _only_mcp_errors(bytes(data))


@given(st.sampled_from(SEEDS), st.integers(0, 4000))
def test_truncated_mcp_raises_only_mcp_errors(seed: bytes, cut: int) -> None:
    _only_mcp_errors(seed[:cut])


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(messages(), min_size=1, max_size=5), st.data())
def test_connection_stream_in_random_chunks(batch: list[Message], data: st.DataObject) -> None:
    client = McpConnection(Role.CLIENT, McpConfig(table_size=512))
    server = McpConnection(Role.SERVER)
    server.receive(client.initiate())
    client.receive(server.data_to_send())
    sent = [m for m in batch if carried(m) is not None]
    stream = b"".join(client.send(m) for m in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    got = []
    start = 0
    for cut in [*cuts, len(stream)]:
        got += server.receive(stream[start:cut])
        start = cut
    assert all(isinstance(event, MessageReceived) for event in got)
    assert [serialize(e.message) for e in got if isinstance(e, MessageReceived)] == [
        serialize(m) for m in sent
    ]
