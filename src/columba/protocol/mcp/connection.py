"""A sans-I/O MCP connection: the negotiation handshake, then messages in frames.

The client speaks first (``initiate()``): a hello frame with the MCP version, the mode it wants
and the dynamic table size it offers. The server answers, once, with what it grants (never
more than asked: a lower version, stateless instead of stateful, a smaller table) and the
deployment's domain table. Every later frame is one encoded message, or a keep-alive when
empty. Both directions then use the granted table size, each with its own table (RFC 7541
§2.2): the sender's encoder and the receiver's decoder stay in lock-step because the transport
is ordered. The client must not send a message before it has read the answer.

::

    hello   = "MCP" version:u8 mode:u8 table-size:varint
    answer  = "MCP" version:u8 mode:u8 table-size:varint domains:varint *(string)

Like h11, the object never touches a socket or a clock: ``receive(data)`` returns events,
``send(message)`` and ``data_to_send()`` return bytes for the caller to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.codec import (
    DEFAULT_LIMITS,
    Decoder,
    Encoder,
    McpLimits,
    McpOptions,
)
from columba.protocol.mcp.errors import McpDecodeError, McpError, McpHandshakeError, McpUsageError
from columba.protocol.mcp.framing import FrameReader, frame
from columba.protocol.mcp.tables import BUILTIN_DOMAINS, MAGIC, MAX_DOMAINS, MCP_VERSION, Mode
from columba.protocol.sip import grammar
from columba.protocol.sip.message import Message

#: A hello or answer is tiny; anything longer is not one.
MAX_HANDSHAKE_BYTES = 2048


class Role(IntEnum):
    """Which end of the connection this object is."""

    CLIENT = 0
    SERVER = 1


class Transport(Enum):
    """How frames are delimited."""

    STREAM = "stream"  # TCP or TLS: a varint length before each frame
    WEBSOCKET = "websocket"  # one binary WebSocket message per frame


class State(Enum):
    """Where the connection is in its life."""

    IDLE = "idle"  # nothing sent or received yet
    NEGOTIATING = "negotiating"  # client: hello sent, waiting for the answer
    OPEN = "open"
    FAILED = "failed"  # a protocol error; the transport must be closed


@dataclass(frozen=True, slots=True, kw_only=True)
class McpConfig:
    """What one end offers (client) or allows (server).

    Attributes:
        mode: The client's wish, or the most a server grants.
        table_size: The dynamic table size the client offers, or the most a server grants.
        domains: A server's deployment domains, sent in its answer (a client learns them).
        limits: Limits on what the peer may make us decode.
        transport: How frames are delimited.
    """

    mode: Mode = Mode.STATEFUL
    table_size: int = 4096
    domains: tuple[str, ...] = ()
    limits: McpLimits = DEFAULT_LIMITS
    transport: Transport = Transport.STREAM


@dataclass(frozen=True, slots=True, kw_only=True)
class Negotiated:
    """The handshake finished: both ends now use these parameters."""

    version: int
    mode: Mode
    table_size: int
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A whole message arrived."""

    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepAliveReceived:
    """An empty frame arrived (a keep-alive; no answer is required)."""


Event = Negotiated | MessageReceived | KeepAliveReceived


class McpConnection:
    """One end of an MCP connection.

    Args:
        role: Client (speaks first) or server.
        config: What this end offers or allows.
    """

    def __init__(self, role: Role, config: McpConfig | None = None) -> None:
        self.role = role
        self.config = config or McpConfig()
        self.state = State.IDLE
        self.negotiated: Negotiated | None = None
        self._reader = FrameReader(self.config.limits.max_frame_bytes)
        self._outgoing = bytearray()
        self._encoder: Encoder | None = None
        self._decoder: Decoder | None = None
        self._failure: McpError | None = None

    # -- sending ----------------------------------------------------------------------------------

    def initiate(self) -> bytes:
        """The client's hello frame.

        Raises:
            McpUsageError: not a client, or already started.
        """
        if self.role != Role.CLIENT or self.state != State.IDLE:
            raise McpUsageError("only a new client connection sends the hello")
        mode = self.config.mode
        size = self.config.table_size if mode == Mode.STATEFUL else 0
        buf = Buffer()
        buf.push_bytes(MAGIC)
        buf.push_uint8(MCP_VERSION)
        buf.push_uint8(mode)
        buf.push_varint(size)
        self.state = State.NEGOTIATING
        return self._frame(buf.data)

    def send(self, message: Message) -> bytes:
        """The frame carrying ``message``.

        Raises:
            McpUsageError: the handshake has not finished, the connection failed, or the message
                cannot be carried by MCP.
        """
        if self.state != State.OPEN or self._encoder is None:
            raise McpUsageError(f"cannot send a message on a connection that is {self.state.value}")
        return self._frame(self._encoder.encode(message))

    def send_keepalive(self) -> bytes:
        """An empty frame.

        Raises:
            McpUsageError: the handshake has not finished, or the connection failed.
        """
        if self.state != State.OPEN:
            raise McpUsageError(f"cannot send on a connection that is {self.state.value}")
        return self._frame(b"")

    def data_to_send(self) -> bytes:
        """Bytes this end owes the peer without being asked to send (the server's answer)."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    # -- receiving --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Event]:
        """Process received bytes (on WebSocket: one whole binary message).

        Raises:
            McpError: the peer broke the protocol; close the transport. Every later call raises
                the same error.
        """
        if self._failure is not None:
            raise self._failure
        try:
            if self.config.transport == Transport.STREAM:
                payloads = self._reader.feed(data)
            else:
                payloads = [data]
            events: list[Event] = []
            for payload in payloads:
                events.append(self._handle(payload))
            return events
        except McpError as exc:
            self._failure = exc
            self.state = State.FAILED
            raise

    def _handle(self, payload: bytes) -> Event:
        if self.state == State.OPEN:
            if not payload:
                return KeepAliveReceived()
            assert self._decoder is not None
            return MessageReceived(message=self._decoder.decode(payload))
        if self.role == Role.SERVER and self.state == State.IDLE:
            return self._accept(payload)
        if self.role == Role.CLIENT and self.state == State.NEGOTIATING:
            return self._answered(payload)
        raise McpHandshakeError("MCP data before the handshake")

    def _accept(self, payload: bytes) -> Negotiated:
        version, mode, size = _read_hello(payload)
        if version < MCP_VERSION:
            raise McpHandshakeError(f"MCP version {version} is not supported")
        allowed = self.config
        if allowed.mode == Mode.STATELESS or mode == Mode.STATELESS:
            mode, size = Mode.STATELESS, 0
        size = min(size, allowed.table_size, allowed.limits.max_table_size)
        if not size:
            mode = Mode.STATELESS
        domains = tuple(dict.fromkeys(d for d in allowed.domains if d not in BUILTIN_DOMAINS))
        buf = Buffer()
        buf.push_bytes(MAGIC)
        buf.push_uint8(MCP_VERSION)
        buf.push_uint8(mode)
        buf.push_varint(size)
        buf.push_varint(len(domains))
        for domain in domains:
            buf.push_string(domain)
        self._outgoing += self._frame(buf.data)
        return self._open(mode, size, domains)

    def _answered(self, payload: bytes) -> Negotiated:
        buf = Buffer(payload)
        version, mode, size = _pull_hello(buf)
        offered = self.config.table_size if self.config.mode == Mode.STATEFUL else 0
        if version != MCP_VERSION or mode > self.config.mode or size > offered:
            raise McpHandshakeError("the MCP server granted more than was asked")
        if (mode == Mode.STATEFUL) != (size > 0):
            raise McpHandshakeError("a stateful MCP connection needs a table (and only it)")
        count = buf.pull_varint()
        if count > MAX_DOMAINS - len(BUILTIN_DOMAINS):
            raise McpHandshakeError("too many domains in the MCP answer")
        domains = tuple(buf.pull_string() for _ in range(count))
        if not buf.eof():
            raise McpHandshakeError("trailing bytes after the MCP answer")
        for domain in domains:
            if not domain or grammar.token_full.match(domain) is None:
                raise McpHandshakeError(f"MCP answer names an invalid domain {domain!r}")
        return self._open(mode, size, domains)

    def _open(self, mode: Mode, size: int, domains: tuple[str, ...]) -> Negotiated:
        options = McpOptions(domains=domains)
        limits = self.config.limits
        self._encoder = Encoder(options, table_size=size, limits=limits)
        self._decoder = Decoder(options, table_size=size, limits=limits)
        self.state = State.OPEN
        self.negotiated = Negotiated(
            version=MCP_VERSION, mode=mode, table_size=size, domains=domains
        )
        return self.negotiated

    def _frame(self, payload: bytes) -> bytes:
        return frame(payload) if self.config.transport == Transport.STREAM else payload


def _read_hello(payload: bytes) -> tuple[int, Mode, int]:
    buf = Buffer(payload)
    hello = _pull_hello(buf)
    if not buf.eof():
        raise McpHandshakeError("trailing bytes after the MCP hello")
    return hello


def _pull_hello(buf: Buffer) -> tuple[int, Mode, int]:
    """The magic, version, mode and table size that start both handshake frames."""
    if buf.remaining > MAX_HANDSHAKE_BYTES:
        raise McpHandshakeError("MCP handshake frame too long")
    try:
        if buf.pull_bytes(len(MAGIC)) != MAGIC:
            raise McpHandshakeError("not an MCP connection (bad magic)")
        version = buf.pull_uint8()
        mode = buf.pull_uint8()
        size = buf.pull_varint()
    except McpHandshakeError:
        raise
    except McpDecodeError as exc:
        raise McpHandshakeError(f"malformed MCP handshake: {exc.reason}") from None
    if mode not in (Mode.STATELESS, Mode.STATEFUL):
        raise McpHandshakeError(f"unknown MCP mode {mode}")
    return version, Mode(mode), size
