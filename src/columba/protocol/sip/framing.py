"""Framing of SIP and SIP-C messages on streams (TCP, TLS, WebSocket) and datagrams (UDP).

On a stream, a message is a header block ended by an empty line, then exactly
``Content-Length`` (SIP-C ``L``) body octets; messages follow each other with no separator, as
SIP-C sends them (fetion-sipc.md §1.1). A missing length means no body (SIP-C omits ``L`` then).
Empty lines between messages are RFC 5626 §4.4.1 keep-alives (``CRLFCRLF`` ping).

The framer is sans-I/O: ``feed(data)`` returns events, and it never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from columba.protocol.errors import LimitExceeded, ParseError
from columba.protocol.sip.message import Message
from columba.protocol.sip.parser import (
    DEFAULT_LIMITS,
    ParseLimits,
    build,
    find_header_end,
    head_length,
    is_single_length,
    parse_message,
    plain_head,
    split_head,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A whole, structurally valid message arrived."""

    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class BadMessage:
    """A message arrived that we cannot accept; the stream is still in step after it.

    Attributes:
        error: What was wrong, with the status code to answer with.
        data: The message's bytes, for logging at debug level and for a best-effort reply.
    """

    error: ParseError
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class KeepAlive:
    """An RFC 5626 ``CRLFCRLF`` ping; answer with a single ``CRLF`` pong."""


Event = MessageReceived | BadMessage | KeepAlive


class StreamFramer:
    """Splits a byte stream into messages.

    Errors that leave the stream in step (a bad header, an unknown version) come out as
    :class:`BadMessage` events and parsing goes on. Errors that lose the message boundary (an
    unreadable Content-Length, a header block or body over the limits) raise
    :class:`ParseError`: the connection must then be answered and closed.
    """

    def __init__(self, limits: ParseLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._failed: ParseError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; return the events they complete, in order.

        Raises:
            ParseError: the stream is unrecoverable (also on every later call).
        """
        if self._failed is not None:
            raise self._failed
        buffer = self._buffer
        buffer += data
        events: list[Event] = []
        try:
            while buffer:
                event = self._next(buffer)
                if event is None:
                    break
                if event is not _AGAIN:
                    events.append(event)  # type: ignore[arg-type]
        except ParseError as exc:
            self._failed = exc
            raise
        return events

    def _next(self, buffer: bytearray) -> Event | object | None:
        if buffer[0] in b"\r\n":
            return self._keepalive(buffer)
        limits = self._limits
        end = buffer.find(b"\r\n\r\n")
        if 0 < end <= limits.max_header_bytes:
            fast = self._plain(buffer, end)
            if fast is not None:
                return fast
        end, body_start = find_header_end(buffer)
        if end < 0:
            if len(buffer) > limits.max_header_bytes:
                raise LimitExceeded("header block too large", status=513)
            return None
        if end > limits.max_header_bytes:
            raise LimitExceeded("header block too large", status=513)
        text = buffer[:end].decode("utf-8", "surrogateescape")
        try:
            ending = "\r\n" if body_start - end == 4 else "\n"
            start, head, eol = split_head(text, ending, limits)
        except LimitExceeded:
            raise
        except ParseError as exc:
            length = _salvage_length(bytes(buffer[:end]))
            if body_start + length > len(buffer):
                return None
            data = bytes(buffer[: body_start + length])
            del buffer[: body_start + length]
            return BadMessage(error=exc, data=data)
        length = head_length(head) or 0
        if length > limits.max_body_bytes:
            raise LimitExceeded("body too large", status=413)
        if body_start + length > len(buffer):
            return None
        body = bytes(buffer[body_start : body_start + length]) if length else b""
        message = build(start, head, body, eol, True, {})
        del buffer[: body_start + length]
        return MessageReceived(message=message)

    def _plain(self, buffer: bytearray, end: int) -> Event | None:
        """The usual message (``parser.plain_head``: plain CRLF header lines, one plain
        Content-Length or none), whole in ``buffer``; None for anything else (incomplete,
        or the general way: folds, LF endings, odd lengths, errors to report)."""
        try:
            split = plain_head(buffer[:end].decode("utf-8", "surrogateescape"), self._limits)
        except ParseError:
            return None  # the general way reports it
        if split is None:
            return None
        start, head = split
        raw = head[5].get("content-length")
        if raw is None:
            length = 0
        elif is_single_length(raw, head):
            length = int(raw)
            if length > self._limits.max_body_bytes:
                return None  # the general way raises LimitExceeded
        else:
            return None
        body_start = end + 4
        if body_start + length > len(buffer):
            return None
        body = bytes(buffer[body_start : body_start + length]) if length else b""
        cache: dict[str, Any] = {} if raw is None else {"content-length": length}
        message = build(start, head, body, "\r\n", True, cache)
        del buffer[: body_start + length]
        return MessageReceived(message=message)

    @staticmethod
    def _keepalive(buffer: bytearray) -> Event | object | None:
        if buffer.startswith(b"\r\n\r\n"):
            del buffer[:4]
            return KeepAlive()
        if buffer.startswith(b"\n\n"):
            del buffer[:2]
            return KeepAlive()
        if len(buffer) < 4 and (b"\r\n\r\n".startswith(buffer) or buffer == b"\n"):
            return None  # a ping may still be arriving
        # A stray line ending before a message: skip it (RFC 3261 §7.5).
        del buffer[: 2 if buffer.startswith(b"\r\n") else 1]
        return _AGAIN


#: Returned by a step that consumed bytes without completing an event.
_AGAIN = object()


def _salvage_length(head: bytes) -> int:
    """The body length of a message that failed to parse, so the stream stays in step.

    Raises:
        ParseError: no length can be found; the message boundary is lost.
    """
    text = head.decode("latin-1")
    found: set[int] = set()
    for line in text.split("\n"):
        name, colon, value = line.partition(":")
        if not colon:
            continue
        if name.strip(" \t").lower() in ("content-length", "l"):
            value = value.strip(" \t\r")
            if not value.isdigit():
                raise ParseError("unreadable Content-Length; stream out of step")
            found.add(int(value))
    if len(found) > 1:
        raise ParseError("conflicting Content-Length values; stream out of step")
    return found.pop() if found else 0


def parse_datagram(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Message:
    """Parse one UDP datagram (RFC 3261 §18.3): octets past Content-Length are discarded.

    Raises:
        ParseError: the datagram does not hold a valid message.
    """
    return parse_message(data, datagram=True, limits=limits)
