"""Parse one SIP or SIP-C message from bytes: start line, header lines, body.

This is the fast, structural layer. It checks the start line, splits header lines (keeping
their exact spelling), and frames the body by ``Content-Length``/``L``. Typed checks of header
values live in :mod:`.validate`; the message's typed accessors run them lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from columba.protocol.errors import LimitExceeded, ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
from columba.protocol.sip.message import (
    Head,
    Message,
    build_request,
    build_response,
    header_keys,
    make_head,
)

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
    if end >= 0:
        # Only an LF LF before the CRLF CRLF matters: no need to scan the body for one.
        lf = data.find(b"\n\n", start, end + 1)
        return (end, end + 4) if lf < 0 else (lf, lf + 2)
    lf = data.find(b"\n\n", start)
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
    start, lines, eol = split_head(text, "\r\n" if "\r\n" in text else "\n", limits)
    return build(start, lines, b"", eol, True, {})


#: Start-line parts: ``(method, Request-URI, version)`` or ``(status, reason, version)``.
StartLine = tuple[str, str, str] | tuple[int, str, str]
_header_split = {"\r\n": grammar.header_split_crlf.split, "\n": grammar.header_split_lf.split}


def split_head(text: str, ending: str, limits: ParseLimits) -> tuple[StartLine, Head, str]:
    """Split a decoded head (start line and header lines, without the final line ending).

    Args:
        text: The head.
        ending: The line ending of the empty line that ended it, which is the message's when
            it has no header line to tell.
        limits: Size limits (the header count).

    Returns:
        The start line's parts, the header lines taken apart, and the line ending.

    Raises:
        ParseError: malformed start line or header line; 505 for an unknown version.
        LimitExceeded: too many headers.
    """
    # The line ending is the first line's. ``grammar.header_split_*`` cuts the block at every
    # line ending that starts a header line; when those are all of its CRs and LFs, every line
    # was a plain header line. Otherwise the rest may be folds (kept in the values, written
    # with a bare LF) and nothing else, or the block takes the exact line-by-line path, which
    # says what is wrong.
    first = text.find("\n")
    eol = ending if first < 0 else "\r\n" if first and text[first - 1] == "\r" else "\n"
    parts = _header_split[eol](text)
    names = parts[1::3]
    values = parts[3::3]
    lines = len(names)
    lfs = text.count("\n")
    if lfs != lines or text.count("\r") != (lines if eol == "\r\n" else 0):
        unfolded = _unfold(text, eol, parts[0], values, lines, lfs, text.count("\r"))
        if unfolded is None:
            return _split_head_exact(text, limits)
        values = unfolded
    if lines > limits.max_headers:
        raise LimitExceeded(f"more than {limits.max_headers} headers", status=513)
    start = _start_line(parts[0])
    sipc = start[2][:5].upper() == "SIP-C"
    return start, make_head(header_keys(names, sipc=sipc), values, sipc, names, parts[2::3]), eol


def _unfold(
    text: str, eol: str, start_line: str, values: list[str], lines: int, lfs: int, crs: int
) -> list[str] | None:
    """The values of a split block whose other line endings are all folds, or ``None``.

    A fold is a line ending followed by SP or HT (RFC 3261 §7.3.1); a value keeps it as a bare
    LF followed by that white space.
    """
    if eol == "\r\n":
        if not crs == lfs == text.count("\r\n"):
            return None  # a bare CR or LF
    elif crs:
        return None
    folds = text.count(eol + " ") + text.count(eol + "\t")
    if lfs - lines != folds or "\n" in start_line:
        return None  # a line that is neither a header nor a fold, or a fold of the start line
    if eol == "\n":
        return values
    return [value.replace("\r\n", "\n") if "\n" in value else value for value in values]


def _split_head_exact(text: str, limits: ParseLimits) -> tuple[StartLine, Head, str]:
    """Split the head line by line: the reference reading, and the one with exact errors."""
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

    names: list[str] = []
    seps: list[str] = []
    values: list[str] = []
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
            names.append(name)
            seps.append(sep)
            values.append(value)
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
        names.append(name)
        seps.append(sep)
        values.append(value)
    if len(names) > limits.max_headers:
        raise LimitExceeded(f"more than {limits.max_headers} headers", status=513)
    start = _start_line(lines[0])
    sipc = start[2][:5].upper() == "SIP-C"
    return start, make_head(header_keys(names, sipc=sipc), values, sipc, names, seps), eol


_status_line = grammar.status_line.match
_request_line = grammar.request_line.match
_status_line_plain = grammar.status_line_plain.match
_request_line_plain = grammar.request_line_plain.match


def _start_line(line: str) -> StartLine:
    if line.startswith(("SIP/", "SIP-C/", "sip/", "sip-c/", "Sip/", "Sip-C/")):
        m = _status_line_plain(line) or _status_line(line)
        if m is None:
            raise ParseError(f"malformed status line {line[:60]!r}")
        version, status, reason = m.groups()
        if version not in SUPPORTED_VERSIONS:
            _check_version(version)
        return int(status), reason, version
    m = _request_line_plain(line) or _request_line(line)
    if m is None:
        raise ParseError(f"malformed request line {line[:60]!r}")
    method, uri, version = m.groups()
    if version not in SUPPORTED_VERSIONS:
        _check_version(version)
    # A Request-URI never carries angle brackets (RFC 4475 ltgtruri).
    if uri[:1] == "<":
        raise ParseError("Request-URI must not be enclosed in <>")
    return method, uri, version


def _check_version(version: str) -> None:
    if version.upper() not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported protocol version {version}", status=505)


def build(
    start: StartLine,
    head: Head,
    body: bytes,
    eol: str,
    is_terminated: bool,
    cache: dict[str, Any],
) -> Message:
    """The message of a split head, built once with its body."""
    first, second, version = start
    if isinstance(first, int):
        return build_response(first, second, version, head, body, eol, is_terminated, cache)
    return build_request(first, second, version, head, body, eol, is_terminated, cache)


def head_length(head: Head) -> int | None:
    """The body length the Content-Length (SIP-C ``L``) lines of a split head declare."""
    keys, values, _, _, _, first_values = head
    if "content-length" not in first_values:
        return None
    return declared_length([v for k, v in zip(keys, values, strict=True) if k == "content-length"])


def content_length_of(message: Message) -> int | None:
    """The declared body length, or ``None`` when no Content-Length/``L`` header is present.

    Raises:
        ParseError: a malformed or negative length (RFC 4475 ``ncl``), or several different
            values (``mcl01``: ambiguous framing is refused rather than guessed).
    """
    return declared_length(message.get_all("content-length"))


def _is_small_number(text: str) -> bool:
    """``text`` is 1 to 9 ASCII digits: an int below 2**32 with nothing to strip."""
    return len(text) < 10 and text.isdigit() and text.isascii()


def declared_length(values: list[str] | None) -> int | None:
    """The body length the Content-Length values of a header index declare (see above)."""
    if not values:
        return None
    if len(values) == 1:
        text = values[0]
        if text.isdigit() and text.isascii():
            return int(text)
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
    # The usual message: a head of plain CRLF header lines (every LF in it ends one and
    # starts the next), so no LF LF comes before the first CRLF CRLF and that ends the head,
    # as ``find_header_end`` would find. Anything else takes the general way below.
    end = data.find(b"\r\n\r\n")
    if 0 <= end <= limits.max_header_bytes:
        split = plain_head(data[:end].decode("utf-8", "surrogateescape"), limits)
        if split is not None:
            start, head = split
            first, second, version = start
            raw = head[5].get("content-length")
            if raw is None:
                if not datagram and len(data) > end + 4:
                    raise ParseError("body without Content-Length on a stream")
                body = data[end + 4 :]
                if len(body) > limits.max_body_bytes:
                    raise LimitExceeded("body too large", status=413)
                cache: dict[str, Any] = {}
            elif is_single_length(raw, head):
                # The usual single, plain length, which is what the accessor would read.
                length = int(raw)
                if length > len(data) - end - 4:
                    raise ParseError(
                        f"Content-Length {length} exceeds the {len(data) - end - 4} octets received"
                    )
                if length > limits.max_body_bytes:
                    raise LimitExceeded("body too large", status=413)
                body = data[end + 4 : end + 4 + length] if length else b""
                cache = {"content-length": length}
            else:
                return _finish(data, start, head, end + 4, "\r\n", True, datagram, limits)
            if isinstance(first, int):
                return build_response(first, second, version, head, body, "\r\n", True, cache)
            return build_request(first, second, version, head, body, "\r\n", True, cache)
    return _parse_general(data, datagram, limits)


def plain_head(text: str, limits: ParseLimits) -> tuple[StartLine, Head] | None:
    """The usual head, taken apart quickly: plain CRLF header lines and nothing else.

    ``text`` is a decoded head up to (not including) the first CRLF CRLF. When every LF in it
    ends a header line and starts the next (no folds, no bare CR or LF), no LF LF comes before
    that point either, so this is the whole head, as ``find_header_end`` would find it, and
    the result is what :func:`split_head` gives. Anything else returns None (take the general
    way); a malformed start line raises :class:`ParseError` as there.
    """
    parts = _split_crlf(text)
    names = parts[1::3]
    lines = len(names)
    # Each split took one CR LF; any other CR or LF is in the start line or a value.
    # (``in`` finds a character with memchr, several times faster than ``count``.)
    probe = "".join(parts[0::3])
    if "\n" in probe or "\r" in probe or lines > limits.max_headers:
        return None
    start = _start_line(parts[0])
    sipc = start[2][3] == "-"  # SIP-C/…, as the start line's grammar allows no other
    try:
        keys = list(map((_SIPC_KEYS if sipc else _SIP_KEYS), names))
    except KeyError:  # a name not in the tables
        keys = header_keys(names, sipc=sipc)
    values = parts[3::3]
    # Each name's first value (a dict keeps the last of repeated keys, so a block with a
    # name on several lines is read backwards).
    first_values = dict(zip(keys, values, strict=True))
    if len(first_values) != lines:
        first_values = dict(zip(reversed(keys), reversed(values), strict=True))
    return start, (keys, values, sipc, names, parts[2::3], first_values)


def is_single_length(raw: str, head: Head) -> bool:
    """``raw``, the first Content-Length, is plain digits (below 2**32) and the only one."""
    return (
        len(raw) < 10
        and raw.isdigit()
        and raw.isascii()
        and (len(head[5]) == len(head[0]) or head[0].count("content-length") == 1)
    )


_SIP_KEYS = h.SIP_CANONICAL.__getitem__
_SIPC_KEYS = h.SIPC_CANONICAL.__getitem__
_split_crlf = grammar.header_split_crlf.split


def _parse_general(data: bytes, datagram: bool, limits: ParseLimits) -> Message:
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
    if end > limits.max_header_bytes:
        raise LimitExceeded("header block too large", status=513)
    text = data[:end].decode("utf-8", "surrogateescape")
    start, head, eol = split_head(text, "\r\n" if data[end : end + 2] == b"\r\n" else "\n", limits)
    return _finish(data, start, head, body_start, eol, terminated, datagram, limits)


def _finish(
    data: bytes,
    start: StartLine,
    head: Head,
    body_start: int,
    eol: str,
    terminated: bool,
    datagram: bool,
    limits: ParseLimits,
) -> Message:
    """The message of a split head, its body framed by the declared length."""
    cache: dict[str, Any] = {}
    keys = head[0]
    length: int | None
    if "content-length" not in head[5]:
        length = None
    elif keys.count("content-length") == 1 and _is_small_number(
        raw := head[1][keys.index("content-length")]
    ):
        # The usual single, plain length: also what the accessor would read, so keep it.
        length = cache["content-length"] = int(raw)
    else:
        length = head_length(head)
    available = len(data) - body_start
    if length is None:
        if not datagram and available:
            raise ParseError("body without Content-Length on a stream")
        length = available
    elif length > available:
        raise ParseError(f"Content-Length {length} exceeds the {available} octets received")
    if length > limits.max_body_bytes:
        raise LimitExceeded("body too large", status=413)
    body = data[body_start : body_start + length] if length else b""
    first, second, version = start
    if isinstance(first, int):
        return build_response(first, second, version, head, body, eol, terminated, cache)
    return build_request(first, second, version, head, body, eol, terminated, cache)
