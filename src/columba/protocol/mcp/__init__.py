"""MCP: a compact, lossless binary encoding of SIP and SIP-C messages (sans-I/O).

An access gateway turns SIP-C/SIP text into MCP for mobile terminals and back, by fixed
conversion rules (``tables``): nothing is lost in either direction, so
``serialize(decode(encode(m))) == serialize(m)`` for every message the text parser accepts.
Two modes, negotiated per connection: *stateless* (each message alone) and *stateful* (a
bounded per-direction table of whole header fields, never of secrets or bodies). Version 2
adds references to whole runs of text already sent in the message, or on the connection
(:mod:`.refs`).

``docs/protocol/mcp.md`` specifies the wire format; ``docs/decisions/0005-mcp-wire-format.md``
says why it looks this way, ``0009-mcp-size-and-speed.md`` what version 2 changed and measured.
"""

from __future__ import annotations

from columba.protocol.mcp.codec import (
    DEFAULT_LIMITS,
    DEFAULT_OPTIONS,
    Decoder,
    Encoder,
    McpLimits,
    McpOptions,
    decode,
    encode,
)
from columba.protocol.mcp.connection import (
    Event,
    KeepAliveReceived,
    McpConfig,
    McpConnection,
    MessageReceived,
    Negotiated,
    Role,
    State,
    Transport,
)
from columba.protocol.mcp.errors import (
    McpDecodeError,
    McpError,
    McpHandshakeError,
    McpLimitExceeded,
    McpUsageError,
)
from columba.protocol.mcp.framing import FrameReader, frame
from columba.protocol.mcp.table import DynamicTable
from columba.protocol.mcp.tables import MCP_VERSION, Mode

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_OPTIONS",
    "MCP_VERSION",
    "Decoder",
    "DynamicTable",
    "Encoder",
    "Event",
    "FrameReader",
    "KeepAliveReceived",
    "McpConfig",
    "McpConnection",
    "McpDecodeError",
    "McpError",
    "McpHandshakeError",
    "McpLimitExceeded",
    "McpLimits",
    "McpOptions",
    "McpUsageError",
    "MessageReceived",
    "Mode",
    "Negotiated",
    "Role",
    "State",
    "Transport",
    "decode",
    "encode",
    "frame",
]
