"""Client and server MCP connections wired together in memory: negotiation, both directions,
framing on a stream (whole, byte by byte, with trailing data) and on WebSocket, keep-alives,
and the errors that end a connection."""

from __future__ import annotations

import pytest

from columba.protocol.mcp import (
    FrameReader,
    KeepAliveReceived,
    McpConfig,
    McpConnection,
    McpDecodeError,
    McpError,
    McpHandshakeError,
    McpLimitExceeded,
    McpLimits,
    McpUsageError,
    MessageReceived,
    Mode,
    Negotiated,
    Role,
    State,
    Transport,
    frame,
)
from columba.protocol.sip import Message, serialize

from .corpus import SIP_IM, SIPC, load


def connect(
    client_config: McpConfig | None = None, server_config: McpConfig | None = None
) -> tuple[McpConnection, McpConnection, Negotiated]:
    client = McpConnection(Role.CLIENT, client_config)
    server = McpConnection(Role.SERVER, server_config)
    [server_view] = server.receive(client.initiate())
    [client_view] = client.receive(server.data_to_send())
    assert client_view == server_view
    assert isinstance(client_view, Negotiated)
    assert client.state == server.state == State.OPEN
    return client, server, client_view


def carry(sender: McpConnection, receiver: McpConnection, message: Message) -> Message:
    [event] = receiver.receive(sender.send(message))
    assert isinstance(event, MessageReceived)
    return event.message


def test_stateful_negotiation_and_a_whole_dialog_both_ways() -> None:
    client, server, negotiated = connect(server_config=McpConfig(domains=("im.example.com",)))
    assert negotiated.mode == Mode.STATEFUL
    assert negotiated.table_size == 4096
    assert negotiated.domains == ("im.example.com",)
    sizes = []
    for path in SIPC + SIP_IM:
        message = load(path)
        # requests go client → server, responses server → client
        sender, receiver = (client, server) if hasattr(message, "method") else (server, client)
        data = sender.send(message)
        sizes.append(len(data))
        [event] = receiver.receive(data)
        assert isinstance(event, MessageReceived)
        assert serialize(event.message) == serialize(message)
    assert sum(sizes) < 0.35 * sum(len(serialize(load(p))) for p in SIPC + SIP_IM)


def test_the_server_grants_no_more_than_it_allows() -> None:
    _, _, negotiated = connect(
        McpConfig(table_size=1 << 20), McpConfig(table_size=8192, limits=McpLimits())
    )
    assert (negotiated.mode, negotiated.table_size) == (Mode.STATEFUL, 8192)
    _, _, negotiated = connect(McpConfig(table_size=1 << 20), McpConfig(table_size=1 << 20))
    assert negotiated.table_size == McpLimits().max_table_size
    _, _, negotiated = connect(server_config=McpConfig(mode=Mode.STATELESS))
    assert (negotiated.mode, negotiated.table_size) == (Mode.STATELESS, 0)
    _, _, negotiated = connect(McpConfig(mode=Mode.STATELESS))
    assert (negotiated.mode, negotiated.table_size) == (Mode.STATELESS, 0)
    _, _, negotiated = connect(McpConfig(table_size=0))
    assert negotiated.mode == Mode.STATELESS


def test_stateless_connections_send_each_message_alone() -> None:
    client, server, _ = connect(McpConfig(mode=Mode.STATELESS))
    message = load(SIPC[0])
    first, second = client.send(message), client.send(message)
    assert first == second
    assert serialize(carry(client, server, message)) == serialize(message)


def test_stream_byte_by_byte_and_with_trailing_data() -> None:
    client = McpConnection(Role.CLIENT)
    server = McpConnection(Role.SERVER)
    hello = client.initiate()
    events = []
    for i in range(len(hello)):
        events += server.receive(hello[i : i + 1])
    assert [type(e) for e in events] == [Negotiated]
    client.receive(server.data_to_send())
    messages = [load(path) for path in SIPC[:6]]
    stream = b"".join(client.send(m) for m in messages) + client.send_keepalive()
    got = []
    for i in range(len(stream)):
        got += server.receive(stream[i : i + 1])
    assert isinstance(got[-1], KeepAliveReceived)
    assert [serialize(e.message) for e in got if isinstance(e, MessageReceived)] == [
        serialize(m) for m in messages
    ]
    # a whole frame and half of the next: one event now, one later
    more = client.send(messages[0]) + client.send(messages[1])
    cut = len(more) - 3
    assert len(server.receive(more[:cut])) == 1
    assert len(server.receive(more[cut:])) == 1


def test_websocket_carries_one_frame_per_message() -> None:
    config = McpConfig(transport=Transport.WEBSOCKET)
    client, server, _ = connect(config, config)
    message = load(SIPC[2])
    data = client.send(message)
    assert data[0] != len(data) - 1  # no length prefix: the WebSocket message delimits it
    [event] = server.receive(data)
    assert isinstance(event, MessageReceived)
    assert serialize(event.message) == serialize(message)
    assert server.receive(client.send_keepalive()) == [KeepAliveReceived()]


def test_sending_before_the_handshake_is_a_usage_error() -> None:
    client = McpConnection(Role.CLIENT)
    with pytest.raises(McpUsageError):
        client.send(load(SIPC[0]))
    with pytest.raises(McpUsageError):
        client.send_keepalive()
    client.initiate()
    with pytest.raises(McpUsageError):
        client.initiate()
    with pytest.raises(McpUsageError):
        McpConnection(Role.SERVER).initiate()


@pytest.mark.parametrize(
    "hello",
    [
        b"MCX\x02\x01\x00",
        b"MCP\x00\x01\x00",
        b"MCP\x01\x01\x00",  # version 1: its text items have no references
        b"MCP\x02\x07\x00",
        b"MCP\x02\x01",
        b"MCP\x02\x01\x00junk",
        b"",
    ],
)
def test_bad_hellos_fail_the_connection(hello: bytes) -> None:
    server = McpConnection(Role.SERVER)
    with pytest.raises(McpHandshakeError):
        server.receive(frame(hello))
    assert server.state == State.FAILED
    with pytest.raises(McpHandshakeError):
        server.receive(b"")


@pytest.mark.parametrize(
    "answer",
    [
        b"MCP\x02\x01\x80\x40",  # a bigger table than offered
        b"MCP\x03\x01\x80\x20\x00",  # a newer version than ours
        b"MCP\x01\x01\x80\x20\x00",  # an older version than ours
        b"MCP\x02\x01\x00\x00",  # stateful without a table
        b"MCP\x02\x01\x80\x20\x01\x03a b",  # a domain that is no token
        b"MCP\x02\x01\x80\x20\x0d",  # too many domains
    ],
)
def test_bad_answers_fail_the_connection(answer: bytes) -> None:
    client = McpConnection(Role.CLIENT)
    client.initiate()
    with pytest.raises(McpError):
        client.receive(frame(answer))
    assert client.state == State.FAILED


def test_a_client_never_gets_more_than_it_asked_for() -> None:
    client = McpConnection(Role.CLIENT, McpConfig(mode=Mode.STATELESS))
    client.initiate()
    with pytest.raises(McpHandshakeError):
        client.receive(frame(b"MCP\x02\x01\x80\x20\x00"))


def test_a_broken_message_ends_the_connection() -> None:
    client, server, _ = connect()
    with pytest.raises(McpDecodeError):
        server.receive(frame(b"\x0f"))
    with pytest.raises(McpDecodeError):
        server.receive(client.send(load(SIPC[0])))
    with pytest.raises(McpUsageError):
        server.send(load(SIPC[1]))


def test_frames_over_the_limit_end_the_connection() -> None:
    limits = McpLimits(max_frame_bytes=64)
    client, server, _ = connect(server_config=McpConfig(limits=limits))
    with pytest.raises(McpLimitExceeded) as info:
        server.receive(client.send(load(SIPC[2])))
    assert info.value.status == 413


def test_frame_reader() -> None:
    reader = FrameReader(1000)
    assert reader.feed(frame(b"abc") + frame(b"") + frame(b"x" * 200)[:50]) == [b"abc", b""]
    assert reader.buffered == 50
    assert reader.feed(frame(b"x" * 200)[50:]) == [b"x" * 200]
    with pytest.raises(McpDecodeError):
        FrameReader(1000).feed(b"\xff" * 11)
    big = FrameReader(10)
    with pytest.raises(McpLimitExceeded):
        big.feed(frame(b"x" * 11))
    with pytest.raises(McpLimitExceeded):
        big.feed(b"")
