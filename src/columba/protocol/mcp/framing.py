"""MCP frames on a byte stream (TCP, TLS): each frame is a varint length, then that many bytes.

A zero-length frame is a keep-alive (the MCP counterpart of RFC 5626's ``CRLFCRLF`` ping).
On WebSocket (RFC 7118 style, one binary message per MCP frame) the WebSocket message carries
the length, so a frame is its payload alone; :class:`~.connection.McpConnection` handles both.

The reader is sans-I/O, after :class:`columba.protocol.sip.framing.StreamFramer`: ``feed``
returns the payloads the new bytes complete. A length over the configured limit loses the
stream (there is no way to resynchronise on a binary stream), so it raises, and keeps raising.
"""

from __future__ import annotations

from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.errors import McpDecodeError, McpError, McpLimitExceeded

#: Bytes a varint length prefix may take.
MAX_PREFIX = 10


def frame(payload: bytes) -> bytes:
    """A stream frame: the varint length of ``payload``, then ``payload``."""
    buf = Buffer()
    buf.push_varint(len(payload))
    buf.push_bytes(payload)
    return buf.data


class FrameReader:
    """Splits a byte stream into MCP frame payloads.

    Args:
        max_frame_bytes: The largest payload accepted (413 beyond it).
    """

    def __init__(self, max_frame_bytes: int) -> None:
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._failed: McpError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the payloads of the frames they complete, in order.

        An empty payload is a keep-alive.

        Raises:
            McpDecodeError: a malformed length prefix (also on every later call).
            McpLimitExceeded: a frame longer than the limit (also on every later call).
        """
        if self._failed is not None:
            raise self._failed
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        try:
            while buffer:
                prefix = _prefix(buffer)
                if prefix is None:
                    break
                length, start = prefix
                if length > self._max:
                    raise McpLimitExceeded(
                        f"MCP frame of {length} bytes exceeds the {self._max}-byte limit",
                        status=413,
                    )
                end = start + length
                if end > len(buffer):
                    break
                frames.append(bytes(buffer[start:end]))
                del buffer[:end]
        except McpError as exc:
            self._failed = exc
            raise
        return frames


def _prefix(buffer: bytearray) -> tuple[int, int] | None:
    """The varint at the start of ``buffer`` and where it ends, or ``None`` if incomplete."""
    value = 0
    for position in range(min(len(buffer), MAX_PREFIX)):
        byte = buffer[position]
        value |= (byte & 0x7F) << (7 * position)
        if byte < 0x80:
            return value, position + 1
    if len(buffer) >= MAX_PREFIX:
        raise McpDecodeError("MCP frame length prefix longer than 10 bytes")
    return None
