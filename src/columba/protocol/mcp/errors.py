"""Errors of the MCP codec, placed in Columba's one protocol exception tree.

The tree (``columba.protocol.errors`` draws the rest)::

    ProtocolError
    ├── ParseError                        the peer broke it
    │   └── McpError                      anything wrong with MCP bytes a peer sent
    │       ├── McpDecodeError            malformed: truncated, unknown code, bad index …
    │       │   └── McpLimitExceeded      a configured limit (also a ``LimitExceeded``)
    │       └── McpHandshakeError         the negotiation frame is wrong or refused
    └── LocalProtocolError                we misused it
        └── McpUsageError                 a message MCP cannot carry, a send before the handshake

Decoding raises only :class:`McpError` (so only a ``ParseError``): no ``IndexError``,
``UnicodeError`` or ``struct.error`` leaves the package. ``status`` is the SIP status a gateway
answers with when it must answer at all (400, 413 for a size limit).
"""

from __future__ import annotations

from columba.protocol.errors import LimitExceeded, LocalProtocolError, ParseError


class McpError(ParseError):
    """The peer sent MCP bytes we cannot accept."""


class McpDecodeError(McpError):
    """Malformed MCP: truncated data, an unknown code, an index outside its table."""


class McpLimitExceeded(McpDecodeError, LimitExceeded):
    """Decoding would exceed a configured limit (decoded size, field count, frame size)."""


class McpHandshakeError(McpError):
    """The first frame of a connection is not a valid MCP hello, or asks for what we refuse."""


class McpUsageError(LocalProtocolError):
    """We asked MCP for something it cannot do (a bug on our side)."""
