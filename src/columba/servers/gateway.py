"""The access gateway role (patent P3): mobile clients speak MCP, the IM server speaks SIP-C.

Each mobile connection gets its own upstream SIP-C connection to the IM server, exactly as a
text client would open, and the gateway converts every message both ways: MCP frames from the
phone are decoded to the shared message model and written upstream as SIP-C text; SIP-C
messages from the IM server are encoded to MCP for the phone. Nothing is interpreted, so
nothing is lost: the conversion is lossless (``columba.protocol.mcp``).

Resources: the two directions run as two tasks in one task group per mobile connection; when
either side closes or breaks the protocol, both connections are closed. A malformed MCP frame
closes the mobile connection (the MCP stream cannot resynchronise), after logging why.
"""

from __future__ import annotations

import asyncio
import logging

from columba.protocol.errors import ParseError
from columba.protocol.mcp.connection import (
    McpConfig,
    McpConnection,
    MessageReceived,
    Negotiated,
    Role,
)
from columba.protocol.sip.framing import BadMessage, StreamFramer
from columba.protocol.sip.framing import MessageReceived as TextMessage
from columba.protocol.sip.parser import ParseLimits
from columba.protocol.sip.serializer import ensure_content_length, serialize

log = logging.getLogger(__name__)


class AccessGateway:
    """Accepts MCP connections and relays them to the IM server's SIP-C listener."""

    def __init__(
        self, *, upstream: tuple[str, int], config: McpConfig, limits: ParseLimits
    ) -> None:
        self._upstream = upstream
        self._config = config
        self._limits = limits
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one mobile connection until either side goes away. Never raises."""
        self.connections += 1
        mcp = McpConnection(Role.SERVER, self._config)
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            async with asyncio.TaskGroup() as group:
                down = group.create_task(self._from_mobile(reader, writer, mcp, up_writer))
                up = group.create_task(self._from_server(up_reader, writer, mcp))
                await asyncio.wait((down, up), return_when=asyncio.FIRST_COMPLETED)
                for task in (down, up):
                    task.cancel()
        except (ConnectionError, OSError) as exc:
            log.info("gateway connection ended", extra={"kv": {"reason": str(exc)}})
        except Exception:
            log.exception("gateway connection failed")
        finally:
            self.connections -= 1
            writer.close()
            if up_writer is not None:
                up_writer.close()

    async def _from_mobile(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        mcp: McpConnection,
        upstream: asyncio.StreamWriter,
    ) -> None:
        while data := await reader.read(65536):
            try:
                events = mcp.receive(data)
            except ParseError as exc:
                log.info("bad MCP from a mobile", extra={"kv": {"reason": exc.reason}})
                return
            for event in events:
                if isinstance(event, Negotiated):
                    writer.write(mcp.data_to_send())
                elif isinstance(event, MessageReceived):
                    upstream.write(serialize(ensure_content_length(event.message)))

    async def _from_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mcp: McpConnection
    ) -> None:
        framer = StreamFramer(self._limits)
        while data := await reader.read(65536):
            for event in framer.feed(data):
                if isinstance(event, TextMessage):
                    writer.write(mcp.send(event.message))
                elif isinstance(event, BadMessage):
                    log.warning("unreadable message from the IM server")
