"""SIP over UDP: one socket, a link per peer address, RFC 3261 §18.3 datagram parsing.

Requests from all peers are handled by one worker in arrival order. A retransmitted request
(same top Via branch and method) is answered again with the response already sent, without
running the handler twice (the server transaction of RFC 3261 §17.2.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from columba.net.link import Link
from columba.net.stream import BadHandler, Handler, _hostport
from columba.protocol.errors import ParseError
from columba.protocol.sip.framing import parse_datagram
from columba.protocol.sip.headers import canonical_name, parse_vias
from columba.protocol.sip.message import Message, Request, Response
from columba.protocol.sip.parser import ParseLimits
from columba.protocol.sip.serializer import serialize

log = logging.getLogger(__name__)

#: How long a response is kept to answer retransmissions (64·T1, RFC 3261 Timer J).
ANSWER_CACHE_SECONDS = 32.0


class UdpLink(Link):
    """One UDP peer, sharing the listener's socket."""

    transport = "udp"
    is_reliable = False

    def __init__(self, endpoint: UdpEndpoint, addr: tuple[str, int]) -> None:
        super().__init__(local_host=endpoint.local_host, peer=_hostport(addr))
        self._endpoint = endpoint
        self._addr = addr
        self.last_seen = time.monotonic()
        #: Answers already sent (b"" while the request is still being handled), by request.
        self.answers: dict[tuple[str, str], tuple[float, bytes]] = {}
        self.queue: asyncio.Queue[Request] = asyncio.Queue(maxsize=1000)
        self.worker: asyncio.Task[None] | None = None

    def _write(self, data: bytes) -> None:
        self._endpoint.sendto(data, self._addr)

    def send(self, message: Message) -> None:
        """Send, remembering responses so a retransmitted request gets the same answer."""
        if isinstance(message, Response):
            key = _answer_key(message)
            if key is not None:
                data = serialize(message)
                self.answers[key] = (time.monotonic(), data)
                self._write(data)
                return
        super().send(message)

    def _close_transport(self) -> None:
        self._endpoint.forget(self._addr)


def _stamp_via(request: Request, addr: tuple[str, int]) -> Request:
    """Fill in ``rport`` and ``received`` on the top Via (RFC 3581 §4, RFC 3261 §18.2.1)."""
    for index, header in enumerate(request.headers):
        if canonical_name(header.name, sipc=request.is_sipc) != "via":
            continue
        first, comma, rest = header.value.partition(",")
        try:
            via = parse_vias(first)[0]
        except ParseError:
            return request
        params = dict(via.params)
        if "rport" not in params and via.host == addr[0]:
            return request
        params["received"] = addr[0]
        if "rport" in params:
            params["rport"] = str(addr[1])
        stamped = str(via._replace(params=tuple(params.items()))) + comma + rest
        headers = list(request.headers)
        headers[index] = header._replace(value=stamped)
        return request.with_headers(tuple(headers))
    return request


def _answer_key(message: Message) -> tuple[str, str] | None:
    vias = message.get_all("via")
    cseq = message.get("cseq")
    if not vias or cseq is None:
        return None
    return (vias[0], cseq)


class UdpEndpoint(asyncio.DatagramProtocol):
    """The UDP listener."""

    def __init__(self, *, handle: Handler, bad: BadHandler, limits: ParseLimits) -> None:
        self._handle = handle
        self._bad = bad
        self._limits = limits
        self._links: dict[tuple[str, int], UdpLink] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self.local_host = ""
        self.group: asyncio.TaskGroup | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.local_host = _hostport(transport.get_extra_info("sockname"))

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    def forget(self, addr: tuple[str, int]) -> None:
        self._links.pop(addr, None)

    def link(self, addr: tuple[str, int]) -> UdpLink:
        link = self._links.get(addr)
        if link is None:
            link = UdpLink(self, addr)
            link._group = self.group
            self._links[addr] = link
        link.last_seen = time.monotonic()
        return link

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.strip(b"\r\n") == b"":
            return  # keep-alive
        link = self.link(addr)
        try:
            message = parse_datagram(data, self._limits)
        except ParseError as exc:
            self._bad(exc, data, link)
            return
        if isinstance(message, Response):
            link.on_response(message)
            return
        message = _stamp_via(message, addr)
        key = _answer_key(message)
        if key is not None:
            cached = link.answers.get(key)
            if cached is not None:
                # A retransmission (RFC 3261 §17.2.2): repeat the answer, or absorb it while
                # the first copy is still being handled. The handler never runs twice.
                if cached[1]:
                    link._write(cached[1])
                return
            link.answers[key] = (time.monotonic(), b"")
        try:
            link.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("udp peer queue full, dropping request", extra={"kv": {"peer": link.peer}})
            return
        if (link.worker is None or link.worker.done()) and self.group is not None:
            link.worker = self.group.create_task(self._work(link))

    async def _work(self, link: UdpLink) -> None:
        """Handle one peer's requests in order; one slow peer never holds up the others."""
        while True:
            try:
                async with asyncio.timeout(30):
                    request = await link.queue.get()
            except TimeoutError:
                return
            try:
                await self._handle(request, link)
            except Exception:
                log.exception("udp request failed")

    async def run(self) -> None:
        """Own the peers' workers, and expire the answer cache."""
        async with asyncio.TaskGroup() as group:
            self.group = group
            for link in self._links.values():
                link._group = group
            await self._sweep()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(5)
            now = time.monotonic()
            for link in list(self._links.values()):
                for key, (at, _) in list(link.answers.items()):
                    if now - at > ANSWER_CACHE_SECONDS:
                        del link.answers[key]
                if not link.bindings and not link.answers and now - link.last_seen > 300:
                    with contextlib.suppress(KeyError):
                        del self._links[link._addr]
