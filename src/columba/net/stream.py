"""SIP and SIP-C over TCP and TLS: one read loop per connection.

Requests are handled one after another in arrival order (so a client's messages keep their
order); responses are routed to the requests waiting for them. A malformed message gets the
protocol's error response when enough of it can be read, and the connection stays usable; only
a lost message boundary closes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.framing import BadMessage, KeepAlive, MessageReceived, StreamFramer
from columba.protocol.sip.message import Request, Response
from columba.protocol.sip.parser import ParseLimits

log = logging.getLogger(__name__)

Handler = Callable[[Request, Link], Awaitable[None]]
BadHandler = Callable[[ParseError, bytes, Link], None]
Closed = Callable[[Link], Awaitable[None]]


class StreamLink(Link):
    """A TCP or TLS connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        transport: str,
        limits: ParseLimits,
    ) -> None:
        sock = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        super().__init__(local_host=_hostport(sock), peer=_hostport(peer))
        self.transport = transport
        self._reader = reader
        self._writer = writer
        self._framer = StreamFramer(limits)

    def _write(self, data: bytes) -> None:
        self._writer.write(data)

    def _close_transport(self) -> None:
        self._writer.close()

    async def run(self, handle: Handler, bad: BadHandler, closed: Closed) -> None:
        """Read and dispatch until the peer goes away; then clean up. Never raises."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                try:
                    await self._read_loop(handle, bad)
                finally:
                    self.close()
        except Exception:
            log.exception("connection task failed", extra={"kv": {"peer": self.peer}})
        finally:
            await closed(self)

    async def _read_loop(self, handle: Handler, bad: BadHandler) -> None:
        # Each chunk is handled in its own coroutine so that nothing of the last message
        # stays referenced while the connection waits idle (about 7 KB per connection).
        while not self._closed:
            try:
                data = await self._reader.read(65536)
            except (ConnectionError, OSError):
                return
            if not data or not await self._dispatch(data, handle, bad):
                return

    async def _dispatch(self, data: bytes, handle: Handler, bad: BadHandler) -> bool:
        """Handle one chunk's events; False when the stream lost its framing."""
        try:
            events = self._framer.feed(data)
        except ParseError as exc:
            bad(exc, b"", self)
            return False
        for event in events:
            if isinstance(event, MessageReceived):
                message = event.message
                if isinstance(message, Response):
                    self.on_response(message)
                else:
                    await handle(message, self)
            elif isinstance(event, BadMessage):
                bad(event.error, event.data, self)
            elif isinstance(event, KeepAlive):
                self._write(b"\r\n")  # RFC 5626 §4.4.1 pong
        return True


def _hostport(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)
