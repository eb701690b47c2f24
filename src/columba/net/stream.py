"""SIP and SIP-C over TCP and TLS: one read loop per connection.

Requests are handled one after another in arrival order (so a client's messages keep their
order); responses are routed to the requests waiting for them. A handler may let the reader
go on before it finishes (``link.release_reader``: a message is queued for the group commit
and only waits for it), so that a client's next messages join the same commit; at most
``MAX_RELEASED`` such handlers run per connection. A malformed message gets the protocol's
error response when enough of it can be read, and the connection stays usable; only a lost
message boundary closes it.

Writes are coalesced: what the handlers of one loop iteration write to a connection (answers,
messages handed over by one commit) goes out in one ``send()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from columba.net.link import Link, _release
from columba.protocol.errors import ParseError
from columba.protocol.sip.framing import BadMessage, KeepAlive, MessageReceived, StreamFramer
from columba.protocol.sip.message import Request, Response
from columba.protocol.sip.parser import ParseLimits

log = logging.getLogger(__name__)

Handler = Callable[[Request, Link], Awaitable[None]]
BadHandler = Callable[[ParseError, bytes, Link], None]
Closed = Callable[[Link], Awaitable[None]]
#: Handles a request synchronously when it can (True), before a task is made for it.
Fast = Callable[[Request, Link], bool]

#: Handlers that released the reader and still run, per connection, before reading waits.
MAX_RELEASED = 64


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
        self._loop = asyncio.get_running_loop()
        self._out: list[bytes] | None = None
        self._released: set[asyncio.Task[None]] = set()
        self._fast: Fast | None = None

    def _write(self, data: bytes) -> None:
        if self._out is None:
            self._out = [data]
            self._loop.call_soon(self._flush)
        else:
            self._out.append(data)

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out and not self._writer.is_closing():
            self._writer.write(b"".join(out))

    def _close_transport(self) -> None:
        self._flush()
        self._writer.close()

    async def run(
        self, handle: Handler, bad: BadHandler, closed: Closed, fast: Fast | None = None
    ) -> None:
        """Read and dispatch until the peer goes away; then clean up. Never raises.

        ``fast``, when given, sees each request first; when it returns True the request was
        handled (or queued, with its answer to come) and no task is made for it.
        """
        self._fast = fast
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
                elif self._fast is None or not self._fast(message, self):
                    await self._handle(message, handle)
            elif isinstance(event, BadMessage):
                bad(event.error, event.data, self)
            elif isinstance(event, KeepAlive):
                self._write(b"\r\n")  # RFC 5626 §4.4.1 pong
        return True

    async def _handle(self, request: Request, handle: Handler) -> None:
        """Run a handler until it finishes or releases the reader (``release_reader``)."""
        group = self._group
        if group is None:
            await handle(request, self)
            return
        released: asyncio.Future[None] = self._loop.create_future()

        def release(_: object = None) -> None:
            if not released.done():
                released.set_result(None)

        # The task copies the current context, with the release function set in it.
        token = _release.set(release)
        try:
            coroutine = cast("Coroutine[Any, Any, None]", handle(request, self))
            task = group.create_task(coroutine)
        finally:
            _release.reset(token)
        task.add_done_callback(release)
        await released
        if not task.done():
            self._released.add(task)
            task.add_done_callback(self._released.discard)
            if len(self._released) >= MAX_RELEASED:
                await asyncio.wait(self._released, return_when=asyncio.FIRST_COMPLETED)


def _hostport(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)
