"""How the encoder cuts text into tokens (any cut is valid; this one is compact).

Left to right, at each position the scanner takes the token that saves the most bytes over
literal text: the longest dictionary word or domain (with or without a leading ``@``), a
decimal without leading zeros (a varint), a uniform-case hex run (bytes plus the case), a
base64 run, a dotted-quad IPv4 or RFC 5952 IPv6 address, a UUID, an RFC 3339 date-time, a run
of characters UTF-8 writes in two or three bytes (UTF-16), an LF and its indentation. A URI is
thereby taken apart into its scheme word (``sip:``, ``<sip:``, ``tel:``), its user (an integer
for a SIP-C sid, else literal), its host (a domain code or address bytes), its port (an
integer) and its parameters (``;tag=``, ``;branch=z9hG4bK``, ``;transport=tcp`` …).

A compact token is used only when its rendering gives back the identical characters
(``0042`` stays literal, ``aBcD…`` is not hex, a date with the wrong weekday is text). XML
bodies are cut into element, attribute and closing tokens (:func:`scan_xml`), and text tokens
for everything else, so any document — well-formed or not — is representable.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

from columba.protocol.mcp.buffer import Buffer, encode_text, varint_size
from columba.protocol.mcp.errors import McpDecodeError
from columba.protocol.mcp.refs import Refs
from columba.protocol.mcp.tables import Op
from columba.protocol.mcp.text import (
    MAX_SECONDS,
    MAX_XML_DEPTH,
    ZONE_MINUS,
    ZONE_NONE,
    ZONE_PLUS,
    ZONE_Z,
    Dictionary,
    Token,
    dictionary,
    push_tokens,
    render_timestamp,
)

_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    r"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?![0-9])"
)
_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z])"
    r"|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}(?![0-9A-Za-z])"
)
_IPV6 = re.compile(r"[0-9a-f]*:[0-9a-f:]*(?:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64 = re.compile(r"[A-Za-z0-9+/]+")
_SPACES = re.compile(r" *")
#: Characters UTF-8 writes in two or three bytes and UTF-16 in two (no surrogates).
_WIDE = re.compile("[\u0080-\ud7ff\ue000-\uffff]+")
_DIGIT_CHARS = frozenset("0123456789")
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
#: Runs shorter than these stay literal: the item's code and length would eat the gain.
MIN_INT_DIGITS = 3
MIN_HEX_DIGITS = 8
MIN_BASE64_CHARS = 16
#: Integers longer than this stay literal (a varint holds 64 bits).
MAX_INT_DIGITS = 19


# -- scanning text into tokens --------------------------------------------------------------------

#: First character → (match function of the words and domains starting with it, longest
#: first, so the first alternative that matches is the longest; word → (token, gain)).
Matcher = Callable[[str, int], re.Match[str] | None]
Matchers = dict[str, tuple[Matcher, dict[str, tuple[Token, int]]]]


@lru_cache(maxsize=64)
def _matchers(domains: tuple[str, ...], xml: bool) -> Matchers:
    words = dictionary(domains)
    candidates = words.xml_candidates if xml else words.text_candidates
    out: Matchers = {}
    for ch, entries in candidates.items():
        pattern = re.compile("|".join(re.escape(word) for word, _, _ in entries))
        gains: dict[str, tuple[Token, int]] = {}
        for word, token, size in entries:
            gains.setdefault(word, (token, len(word) - size))
        out[ch] = (pattern.match, gains)
    return out


def scan(text: str, words: Dictionary, *, xml: bool = False) -> list[Token]:
    """Cut ``text`` into tokens whose rendering is exactly ``text``.

    Args:
        text: The text.
        words: The dictionary.
        xml: Use the XML alphabet's costs (text between and inside XML tags).
    """
    matchers = _matchers(words.domains, xml)
    tokens: list[Token] = []
    literal_start = 0
    base64_end = 0  # no base64 token starts before here (a run already too short for one)
    hex_end = 0  # nor a hex token (the same)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        best: Token | None = None
        best_length = 0
        best_gain = 0
        matcher = matchers.get(ch)
        if matcher is not None:
            m = matcher[0](text, i)
            if m is not None:
                word = m.group()
                best, best_gain = matcher[1][word]
                best_length = len(word)
        if ch in _B64_CHARS or ch == ":":
            base64_ok = i >= base64_end and ch in _B64_CHARS
            if base64_ok:
                end = _B64.match(text, i).end()  # type: ignore[union-attr]
                if end - i < MIN_BASE64_CHARS:
                    base64_end = end
                    base64_ok = False
            hex_ok = i >= hex_end and ch in _HEX_CHARS
            if hex_ok:
                end = _HEX.match(text, i).end()  # type: ignore[union-attr]
                if end - i < MIN_HEX_DIGITS:
                    hex_end = end
                    hex_ok = False
            run = (
                _run_token(text, i, ch, base64_ok=base64_ok, hex_ok=hex_ok)
                if base64_ok
                or hex_ok
                or ch in _DIGIT_CHARS
                or ":" in text[i : i + 5]
                or text[i + 8 : i + 9] == "-"
                else None
            )
            if run is not None and run[2] > best_gain:
                best, best_length, best_gain = run
        elif ch >= "\x80":
            m = _WIDE.match(text, i)
            if m is not None:
                wide = m.group()
                gain = len(encode_text(wide)) - 1 - varint_size(len(wide)) - 2 * len(wide)
                if gain > best_gain:
                    best, best_length, best_gain = (Op.UTF16, wide), len(wide), gain
        elif ch == "\n":
            spaces = len(_SPACES.match(text, i + 1).group())  # type: ignore[union-attr]
            gain = spaces - varint_size(spaces)
            if gain > best_gain:
                best, best_length, best_gain = (Op.NEWLINE, spaces), 1 + spaces, gain
        # A token that only breaks even is still worth it where no literal run is open: a lone
        # character costs two bytes as a literal run, one as a word.
        if best is None or best_gain < (0 if literal_start == i else 1):
            i += 1
            continue
        if literal_start < i:
            tokens.append((Op.LITERAL, text[literal_start:i]))
        tokens.append(best)
        i += best_length
        literal_start = i
    if literal_start < n:
        tokens.append((Op.LITERAL, text[literal_start:]))
    return tokens


def _run_token(
    text: str, i: int, ch: str, *, base64_ok: bool, hex_ok: bool
) -> tuple[Token, int, int] | None:
    """The best number, address or binary-run token starting at ``i``: token, length, gain.

    ``base64_ok``/``hex_ok`` false: the caller knows no such run of the least length starts
    here. The other checks first look for the one character each form needs near ``i`` (a
    ``-`` at 8 for a UUID, at 4 for a date-time, a ``.`` within 4 for IPv4, a ``:`` within 5
    for IPv6: no valid group is longer), so most positions cost no regular expression.
    """
    best: tuple[Token, int, int] | None = None
    if ch in _HEX_CHARS or ch == ":":
        m = _UUID.match(text, i) if text[i + 8 : i + 9] == "-" else None
        if m is not None:
            digits = m.group().replace("-", "")
            kind = Op.UUID_UPPER if any(c in "ABCDEF" for c in digits) else Op.UUID_LOWER
            return (kind, bytes.fromhex(digits)), 36, 36 - 17
        if ch in _DIGIT_CHARS:
            stamp = timestamp_token(text, i) if text[i + 4 : i + 5] == "-" else None
            if stamp is not None:
                return stamp
            m = _IPV4.match(text, i) if "." in text[i + 1 : i + 4] else None
            if m is not None and len(m.group()) > 5:
                quad = m.group()
                return (Op.IPV4, bytes(map(int, quad.split(".")))), len(quad), len(quad) - 5
        m = _IPV6.match(text, i) if ":" in text[i : i + 5] else None
        if m is not None and m.group().count(":") >= 2 and len(m.group()) > 17:
            packed = _ipv6(m.group())
            if packed is not None:
                return (Op.IPV6, packed), len(m.group()), len(m.group()) - 17
        if ch == ":":
            return None
        if ch in _DIGIT_CHARS:
            digits = _DIGITS.match(text, i).group()  # type: ignore[union-attr]
            if MIN_INT_DIGITS <= len(digits) <= MAX_INT_DIGITS and digits[0] != "0":
                value = int(digits)
                gain = len(digits) - 1 - varint_size(value)
                if gain > 0:
                    best = (Op.INT, value), len(digits), gain
        if hex_ok:
            hex_token = _hex_token(_HEX.match(text, i).group())  # type: ignore[union-attr]
            if hex_token is not None and (best is None or hex_token[2] > best[2]):
                best = hex_token
    if best is None and base64_ok:
        run = _B64.match(text, i).group()  # type: ignore[union-attr]
        if len(run) >= MIN_BASE64_CHARS:
            return _base64_token(text, i, run)
    return best


_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def timestamp_token(text: str, i: int) -> tuple[Token, int, int] | None:
    """An RFC 3339 date-time at ``i`` (``2024-05-14T09:31:09.325+08:00``) as a TIMESTAMP item.

    The item is: varint seconds since 1970 of the written fields read as UTC; a form byte
    (bits 0–3 the number of fraction digits, bits 4–5 the zone: ``Z``, ``+hh:mm``, ``-hh:mm``
    or none); the fraction as a varint when it has digits; the zone offset in minutes as a
    varint for ``+``/``-``. Used only when rendering gives back the same characters.
    """
    m = _TIMESTAMP.match(text, i)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        seconds = calendar.timegm(
            (int(year), int(month), int(day), int(hour), int(minute), int(second))
        )
    except (ValueError, OverflowError):
        return None
    digits = len(fraction) if fraction else 0
    buf = Buffer()
    if not 0 <= seconds <= MAX_SECONDS:
        return None
    buf.push_varint(seconds)
    if zone is None:
        form = ZONE_NONE
    elif zone == "Z":
        form = ZONE_Z
    else:
        form = ZONE_PLUS if zone[0] == "+" else ZONE_MINUS
    buf.push_uint8(form << 4 | digits)
    if digits:
        buf.push_varint(int(fraction))
    if form in (ZONE_PLUS, ZONE_MINUS):
        buf.push_varint(int(zone[1:3]) * 60 + int(zone[4:6]))
    payload = buf.data
    try:
        rendered = render_timestamp(Buffer(payload))
    except McpDecodeError:
        return None
    if rendered != m.group().encode("ascii"):
        return None
    length = len(m.group())
    return (Op.TIMESTAMP, payload), length, length - 1 - len(payload)


def _hex_token(run: str) -> tuple[Token, int, int] | None:
    length = len(run) & ~1
    if length < MIN_HEX_DIGITS:
        return None
    digits = run[:length]
    if digits.islower() or digits.isdigit():
        kind = Op.HEX_LOWER
    elif digits.isupper():
        kind = Op.HEX_UPPER
    else:
        return None
    size = length // 2
    return (kind, bytes.fromhex(digits)), length, length - 1 - varint_size(size) - size


def _base64_token(text: str, i: int, run: str) -> tuple[Token, int, int] | None:
    """Base64 over the run: with its ``=`` padding when that renders back identically."""
    end = i + len(run)
    padding = 0
    while padding < 2 and text.startswith("=", end + padding):
        padding += 1
    if padding and (len(run) + padding) % 4 == 0:
        chunk = run + "=" * padding
        try:
            raw = base64.b64decode(chunk, validate=True)
        except binascii.Error:
            raw = b""
        if raw and base64.b64encode(raw).decode("ascii") == chunk:
            size = len(raw)
            return (Op.BASE64, raw), len(chunk), len(chunk) - 1 - varint_size(size) - size
    length = len(run) - len(run) % 4
    if length < MIN_BASE64_CHARS:
        return None
    raw = base64.b64decode(run[:length])
    size = len(raw)
    return (Op.BASE64, raw), length, length - 1 - varint_size(size) - size


def _ipv6(text: str) -> bytes | None:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    return address.packed if address.compressed == text else None


# -- XML bodies -----------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.:-]*"
_OPEN_TAG = re.compile(f"<({_NAME})")
_CLOSE_TAG = re.compile(f"</({_NAME})>")
_ATTRIBUTE = re.compile(f' ({_NAME})="')
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_TAG_END = re.compile(r"[ \t\r\n/>]")
_CLOSERS: tuple[tuple[str, int, bool], ...] = (
    ('" />', Op.QUOTE_SP_SLASH_GT, True),
    ('"/>', Op.QUOTE_SLASH_GT, True),
    ('">', Op.QUOTE_GT, False),
    ('"', Op.QUOTE, False),
)
_TAG_CLOSERS: tuple[tuple[str, int, bool], ...] = (
    (" />", Op.SP_SLASH_GT, True),
    ("/>", Op.SLASH_GT, True),
    (">", Op.GT, False),
)


def scan_xml(text: str, words: Dictionary) -> list[Token]:
    """Cut an XML document into XML-alphabet tokens (elements, attributes, text runs).

    Anything that is not the plain shape (single-quoted attributes, comments, processing
    instructions, mismatched end tags) becomes text tokens, so every input is representable.
    """
    tokens: list[Token] = []
    stack: list[str] = []
    in_tag = False
    i = 0
    n = len(text)
    while i < n:
        if in_tag:
            m = _ATTRIBUTE.match(text, i)
            if m is not None and text.find('"', m.end()) >= 0:
                tokens.append((Op.ATTR, m.group(1)))
                start = m.end()
                end = text.index('"', start)
                tokens += scan(text[start:end], words, xml=True)
                for closer, op, closes in _CLOSERS:
                    if text.startswith(closer, end):
                        tokens.append((op, None))
                        i = end + len(closer)
                        if op != Op.QUOTE:
                            in_tag = False
                        if closes:
                            stack.pop()
                        break
                continue
            for closer, op, closes in _TAG_CLOSERS:
                if text.startswith(closer, i):
                    tokens.append((op, None))
                    i += len(closer)
                    in_tag = False
                    if closes:
                        stack.pop()
                    break
            else:
                end = _tag_chunk_end(text, i)
                tokens += scan(text[i:end], words, xml=True)
                i = end
            continue
        if text.startswith("</", i):
            m = _CLOSE_TAG.match(text, i)
            if m is not None and stack and stack[-1] == m.group(1):
                tokens.append((Op.CLOSE, None))
                stack.pop()
                i = m.end()
                continue
        elif text.startswith("<", i) and len(stack) < MAX_XML_DEPTH:
            m = _OPEN_TAG.match(text, i)
            if m is not None:
                tokens.append((Op.OPEN, m.group(1)))
                stack.append(m.group(1))
                in_tag = True
                i = m.end()
                continue
        end = text.find("<", i + 1)
        if end < 0:
            end = n
        tokens += scan(text[i:end], words, xml=True)
        i = end
    return tokens


def _tag_chunk_end(text: str, i: int) -> int:
    """Where a stretch inside a tag that is no attribute or closer ends (always after ``i``)."""
    m = _WHITESPACE.match(text, i)
    if m is not None:
        end = m.end()
        # Leave one space to start the attribute item that follows.
        if end - 1 > i and text[end - 1] == " " and _ATTRIBUTE.match(text, end - 1):
            return end - 1
        return end
    m = _TAG_END.search(text, i + 1)
    return m.start() if m is not None else len(text)


def push_text(
    buf: Buffer, text: str, words: Dictionary, refs: Refs | None = None, *, record: bool = True
) -> None:
    """Write ``text`` as text items, ending with ``Op.END`` (``refs``, ``record``: see
    :func:`.text.push_tokens`)."""
    push_tokens(buf, scan(text, words), refs=refs, record=record)
