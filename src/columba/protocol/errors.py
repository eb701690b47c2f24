"""Errors raised by Columba's protocol code (SIP, SIP-C, MCP).

The tree::

    ProtocolError                 base of everything the protocol package raises
    ├── ParseError                the peer broke it: carries the status code to answer with
    │   └── LimitExceeded         a configured limit was broken (size, count)
    └── LocalProtocolError        we misused it: a programming error on our side

Following h11's ``error_status_hint``, a ``ParseError`` names the response a server should
send (400 by default, 413 for an oversized body, 414/494 for oversized headers, 416, 420 …).
No ``KeyError``, ``ValueError`` or ``UnicodeError`` crosses the package line: codec entry points
turn them into ``ParseError``.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every error raised by ``columba.protocol``."""


class ParseError(ProtocolError):
    """The peer sent something we cannot accept.

    Attributes:
        reason: A short human-readable reason, safe to put in a reason phrase or a log.
        status: The SIP status code a server should answer with (400 unless stated).
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.reason = message
        self.status = status


class LimitExceeded(ParseError):
    """A configured limit (header bytes, header count, body size) was exceeded."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol forbids (a bug on our side)."""
