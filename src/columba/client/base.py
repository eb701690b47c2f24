"""What every client shares: a transport, request/response matching, incoming queues."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp

from columba.protocol.errors import ParseError
from columba.protocol.mcp.connection import McpConfig, McpConnection, Role
from columba.protocol.mcp.connection import MessageReceived as McpMessage
from columba.protocol.mcp.connection import State as McpState
from columba.protocol.mcp.tables import Mode
from columba.protocol.sip.framing import MessageReceived, StreamFramer, parse_datagram
from columba.protocol.sip.message import Header, Message, Request, Response
from columba.protocol.sip.serializer import ensure_content_length, serialize

log = logging.getLogger(__name__)


class ClientError(Exception):
    """A request was refused or not answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage:
    """A message received (each server id once, however often it is redelivered)."""

    message_id: str
    sender: str
    content_type: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceUpdate:
    """A contact's presence changed (-1 or 0: offline/hidden)."""

    sid: str
    value: int


class Transport:
    """A byte pipe to the server: TCP stream or UDP datagrams."""

    def __init__(self) -> None:
        self.on_message: asyncio.Queue[Message] = asyncio.Queue()
        self.local = ""
        self.closed = asyncio.Event()

    def write(self, message: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    async def wait_closed(self) -> None:
        """Return once the connection is really closed (so nothing leaks past the loop)."""


class TcpTransport(Transport):
    """SIP or SIP-C over TCP."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__()
        self._reader = reader
        self._writer = writer
        host, port = writer.get_extra_info("sockname")[:2]
        self.local = f"{host}:{port}"
        self._framer = StreamFramer()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> TcpTransport:
        """Connect over TCP, or TLS when a context is given."""
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=host if tls is not None else None
        )
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(65536):
                for event in self._framer.feed(data):
                    if isinstance(event, MessageReceived):
                        self.on_message.put_nowait(event.message)
        except (ConnectionError, ParseError) as exc:
            log.debug("connection ended: %s", exc)
        finally:
            self.closed.set()

    def write(self, message: Message) -> None:
        self._writer.write(serialize(ensure_content_length(message)))

    def close(self) -> None:
        """Close without goodbye (as a dropped connection would)."""
        self._task.cancel()
        self._writer.close()
        self.closed.set()

    def abort(self) -> None:
        """Drop the connection at once (RST), as a crashed device would."""
        transport = self._writer.transport
        transport.abort()
        self._task.cancel()
        self.closed.set()

    async def wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class WebSocketTransport(Transport):
    """SIP or SIP-C over WebSocket (RFC 7118): one message per WebSocket message."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__()
        self._session = session
        self._ws = ws
        self.local = "columba.invalid"
        self._outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        # Both tasks belong to the transport and end with it (close()).
        self._task = asyncio.create_task(self._read())
        self._writer_task = asyncio.create_task(self._write())

    @classmethod
    async def open(cls, url: str) -> WebSocketTransport:
        """Connect to ``ws://host:port/sip`` with the ``sip`` subprotocol."""
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url, protocols=("sip",))
        except Exception:
            await session.close()
            raise
        if ws.protocol != "sip":
            await session.close()
            raise ConnectionError("the server did not accept the sip subprotocol")
        return cls(session, ws)

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    data = frame.data.encode()
                elif frame.type == aiohttp.WSMsgType.BINARY:
                    data = frame.data
                else:
                    continue
                with contextlib.suppress(ParseError):
                    self.on_message.put_nowait(parse_datagram(data))
        finally:
            self.closed.set()

    def write(self, message: Message) -> None:
        self._outgoing.put_nowait(serialize(message))

    async def _write(self) -> None:
        while (data := await self._outgoing.get()) is not None:
            await self._ws.send_str(data.decode("utf-8"))
        await self._ws.close()
        await self._session.close()

    def close(self) -> None:
        """Close the WebSocket; the writer task sends the close frame, then ends."""
        self._task.cancel()
        self._outgoing.put_nowait(None)
        self.closed.set()


class McpTransport(Transport):
    """A mobile client's link: MCP frames over TCP to the access gateway."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: McpConnection
    ) -> None:
        super().__init__()
        self._reader = reader
        self._writer = writer
        self._mcp = connection
        host, port = writer.get_extra_info("sockname")[:2]
        self.local = f"{host}:{port}"
        self.bytes_sent = 0
        self.bytes_received = 0
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, host: str, port: int, *, stateful: bool = True) -> McpTransport:
        """Connect and negotiate (stateful with a dynamic table, or stateless)."""
        reader, writer = await asyncio.open_connection(host, port)
        mode = Mode.STATEFUL if stateful else Mode.STATELESS
        connection = McpConnection(Role.CLIENT, McpConfig(mode=mode))
        writer.write(connection.initiate())
        pending: list[Message] = []
        while connection.state is not McpState.OPEN:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("the gateway closed the connection during negotiation")
            for event in connection.receive(data):
                if isinstance(event, McpMessage):
                    pending.append(event.message)
        transport = cls(reader, writer, connection)
        for message in pending:
            transport.on_message.put_nowait(message)
        return transport

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(65536):
                self.bytes_received += len(data)
                for event in self._mcp.receive(data):
                    if isinstance(event, McpMessage):
                        self.on_message.put_nowait(event.message)
        except (ConnectionError, ParseError) as exc:
            log.debug("mcp connection ended: %s", exc)
        finally:
            self.closed.set()

    def write(self, message: Message) -> None:
        data = self._mcp.send(message)
        self.bytes_sent += len(data)
        self._writer.write(data)

    def close(self) -> None:
        self._task.cancel()
        self._writer.close()
        self.closed.set()

    async def wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class UdpTransport(Transport, asyncio.DatagramProtocol):
    """SIP over UDP (RFC 3261 §18): one datagram per message."""

    def __init__(self) -> None:
        Transport.__init__(self)
        self._transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> UdpTransport:
        loop = asyncio.get_running_loop()
        proto = cls()
        await loop.create_datagram_endpoint(lambda: proto, remote_addr=(host, port))
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        host, port = transport.get_extra_info("sockname")[:2]
        self.local = f"{host}:{port}"

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(ParseError):
            self.on_message.put_nowait(parse_datagram(data))

    def write(self, message: Message) -> None:
        if self._transport is not None:
            self._transport.sendto(serialize(message))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self.closed.set()


class BaseClient:
    """Request/response matching, the read loop and the incoming queues."""

    retransmit = False

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.messages: asyncio.Queue[IncomingMessage] = asyncio.Queue()
        self.presence: asyncio.Queue[PresenceUpdate] = asyncio.Queue()
        self.events: asyncio.Queue[Request] = asyncio.Queue()
        self.seen: set[str] = set()
        self._pending: dict[tuple[str, int], asyncio.Future[Response]] = {}
        self._call_ids = itertools.count(1)
        self._cseq = itertools.count(1)
        self._loop_task = asyncio.create_task(self._loop())

    def new_call_id(self) -> str:
        return f"{next(self._call_ids)}-{secrets.token_hex(4)}"

    async def _loop(self) -> None:
        while True:
            message = await self.transport.on_message.get()
            if isinstance(message, Response):
                key = (message.call_id or "", message.cseq.seq if message.cseq else -1)
                future = self._pending.get(key)
                if future is not None and not future.done() and message.status >= 200:
                    future.set_result(message)
                continue
            try:
                await self.on_request(message)
            except Exception:
                log.exception("client request handler failed")

    async def on_request(self, request: Request) -> None:
        raise NotImplementedError

    def answer(self, request: Request, status: int, extra: Iterable[tuple[str, str]] = ()) -> None:
        """Answer a request from the server."""
        from columba.protocol.sip.semantic import make_response

        self.transport.write(
            make_response(request, status, to_tag=secrets.token_hex(4), extra=extra)
        )

    async def ask(self, request: Request, *, within: float = 10.0) -> Response:
        """Send a request and wait for its final response."""
        cseq = request.cseq
        key = (request.call_id or "", cseq.seq if cseq else -1)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            self.transport.write(request)
            if not self.retransmit:
                return await asyncio.wait_for(future, within)
            interval = 0.5
            async with asyncio.timeout(within):
                while True:
                    try:
                        return await asyncio.wait_for(asyncio.shield(future), interval)
                    except TimeoutError:
                        self.transport.write(request)
                        interval = min(interval * 2, 4.0)
        except TimeoutError:
            raise ClientError("no answer from the server") from None
        finally:
            self._pending.pop(key, None)

    def accept_message(self, message_id: str, sender: str, content_type: str, body: bytes) -> None:
        """Queue an incoming message unless its id was seen before (redelivery)."""
        if message_id and message_id in self.seen:
            return
        if message_id:
            self.seen.add(message_id)
        self.messages.put_nowait(
            IncomingMessage(
                message_id=message_id,
                sender=sender,
                content_type=content_type,
                text=body.decode("utf-8", "replace"),
            )
        )

    async def next_message(self, within: float = 10.0) -> IncomingMessage:
        """The next incoming message."""
        return await asyncio.wait_for(self.messages.get(), within)

    async def next_presence(self, within: float = 10.0) -> PresenceUpdate:
        """The next presence change."""
        return await asyncio.wait_for(self.presence.get(), within)

    async def close(self) -> None:
        """Close the connection without logging out, and wait until it is closed."""
        self._loop_task.cancel()
        self.transport.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._loop_task
        await self.transport.wait_closed()


def header_list(*pairs: tuple[str, str]) -> tuple[Header, ...]:
    return tuple(Header(name, value) for name, value in pairs)
