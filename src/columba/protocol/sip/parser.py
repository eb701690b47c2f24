"""Parse one SIP or SIP-C message from bytes: start line, header lines, body.

This is the fast, structural layer. It checks the start line, splits header lines (keeping
their exact spelling), and frames the body by ``Content-Length``/``L``. Typed checks of header
values live in :mod:`.validate`; the message's typed accessors run them lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

from columba.protocol.errors import LimitExceeded, ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip.message import Header, Message, Request, Response

#: The versions Columba speaks. Others get 505 Version Not Supported (RFC 4475 ``badvers``).
SUPPORTED_VERSIONS = frozenset({"SIP/2.0", "SIP-C/2.0", "SIP-C/4.0"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseLimits:
    """Limits on what a peer may send; breaking one raises :class:`LimitExceeded`.

    Attributes:
        max_header_bytes: Start line plus header block, in bytes (answer 513).
        max_headers: Number of header lines, continuation lines not counted (answer 513).
        max_body_bytes: Body size (answer 413).
    """

    max_header_bytes: int = 16 * 1024
    max_headers: int = 128
    max_body_bytes: int = 256 * 1024


DEFAULT_LIMITS = ParseLimits()


def find_header_end(data: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """Find the empty line that ends a header block.

    Returns:
        ``(end, body_start)``: the index where the header block ends (before its last line
        ending) and where the body begins; ``(-1, -1)`` if the block is incomplete. A block
        written with bare LF line endings (RFC 5118 archive files) is accepted.
    """
    end = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start)
    if end >= 0 and (lf < 0 or end < lf):
        return end, end + 4
    if lf >= 0:
        return lf, lf + 2
    return -1, -1


def parse_head(head: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Message:
    """Parse a start line and header block (without the final empty line) into a message.

    The body is empty; :func:`parse_message` and the stream framer attach it.

    Raises:
        ParseError: malformed start line or header line; 505 for an unknown version.
        LimitExceeded: too many headers or bytes.
    """
    if len(head) > limits.max_header_bytes:
        raise LimitExceeded("header block too large", status=513)
    text = head.decode("utf-8", "surrogateescape")
    if "\r\n" in text:
        eol = "\r\n"
        lines = text.split("\r\n")
        if "\n" in text.replace("\r\n", ""):
            raise ParseError("bare LF in a CRLF header block")
    else:
        eol = "\n"
        lines = text.split("\n")
    if "\r" in text.replace("\r\n", ""):
        raise ParseError("bare CR in header block")

    headers: list[Header] = []
    append = headers.append
    name = sep = value = ""
    pending = False
    for line in lines[1:]:
        first = line[:1]
        if first == " " or first == "\t":
            if not pending:
                raise ParseError("continuation line before any header")
            value += "\n" + line
            continue
        if pending:
            append(Header(name, value, sep))
        colon = line.find(":")
        if colon <= 0:
            raise ParseError(f"header line without a name and colon: {line[:40]!r}")
        name = line[:colon]
        if name[-1] in " \t":
            stripped = name.rstrip(" \t")
            sep_start = len(stripped)
            name = stripped
        else:
            sep_start = colon
        rest = line[colon + 1 :]
        value = rest.lstrip(" \t")
        sep = line[sep_start : colon + 1] + rest[: len(rest) - len(value)]
        if not grammar.header_name_full.match(name):
            raise ParseError(f"malformed header name {name[:40]!r}")
        pending = True
    if pending:
        append(Header(name, value, sep))
    if len(headers) > limits.max_headers:
        raise LimitExceeded(f"more than {limits.max_headers} headers", status=513)
    return _start_line(lines[0], tuple(headers), eol)


def _start_line(line: str, headers: tuple[Header, ...], eol: str) -> Message:
    if line.startswith(("SIP/", "SIP-C/", "sip/", "sip-c/", "Sip/", "Sip-C/")):
        m = grammar.status_line.match(line)
        if m is None:
            raise ParseError(f"malformed status line {line[:60]!r}")
        version = m[1]
        _check_version(version)
        return Response(status=int(m[2]), reason=m[3], version=version, headers=headers, eol=eol)
    m = grammar.request_line.match(line)
    if m is None:
        raise ParseError(f"malformed request line {line[:60]!r}")
    version = m[3]
    _check_version(version)
    uri = m[2]
    # A Request-URI never carries angle brackets (RFC 4475 ltgtruri).
    if uri[:1] == "<":
        raise ParseError("Request-URI must not be enclosed in <>")
    return Request(method=m[1], uri=uri, version=version, headers=headers, eol=eol)


def _check_version(version: str) -> None:
    if version.upper() not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported protocol version {version}", status=505)


def content_length_of(message: Message) -> int | None:
    """The declared body length, or ``None`` when no Content-Length/``L`` header is present.

    Raises:
        ParseError: a malformed or negative length (RFC 4475 ``ncl``), or several different
            values (``mcl01``: ambiguous framing is refused rather than guessed).
    """
    values = message.get_all("content-length")
    if not values:
        return None
    lengths = set()
    for raw in values:
        text = grammar.normalize(raw)
        if not grammar.digits_full.match(text):
            raise ParseError(f"malformed Content-Length {text!r}")
        lengths.add(int(text))
    if len(lengths) > 1:
        raise ParseError("conflicting Content-Length values")
    return lengths.pop()


def parse_message(
    data: bytes, *, datagram: bool = True, limits: ParseLimits = DEFAULT_LIMITS
) -> Message:
    """Parse one whole message, as one UDP datagram (or one file) carries it.

    Without ``Content-Length`` the body runs to the end of ``data``. With it, octets beyond the
    declared length are discarded (RFC 3261 §18.3, RFC 4475 ``dblreq``), and a length larger
    than what is there is an error (``clerr``).

    Args:
        data: The message bytes.
        datagram: Allow a missing Content-Length (bodies run to the end). When False, a
            missing length means an empty body and trailing octets are an error.
        limits: Size limits.

    Raises:
        ParseError: the message is malformed (``.status`` says what to answer).
    """
    end, body_start = find_header_end(data)
    terminated = True
    if end < 0:
        if data.endswith(b"\r\n") or data.endswith(b"\n"):
            # A message with no body and no empty line: lenient for files and datagrams.
            end = len(data) - (2 if data.endswith(b"\r\n") else 1)
            body_start = len(data)
            terminated = False
        else:
            raise ParseError("header block not terminated by an empty line")
    message = parse_head(data[:end], limits)
    if not terminated:
        object.__setattr__(message, "is_terminated", False)  # fresh object, not yet shared
    length = content_length_of(message)
    available = len(data) - body_start
    if length is None:
        if not datagram and available:
            raise ParseError("body without Content-Length on a stream")
        length = available
    elif length > available:
        raise ParseError(f"Content-Length {length} exceeds the {available} octets received")
    if length > limits.max_body_bytes:
        raise LimitExceeded("body too large", status=413)
    if length:
        return message.with_body(data[body_start : body_start + length])
    return message
