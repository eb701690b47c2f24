"""Value forms: numbers, addresses, binary runs and date-times the scanner may cut from text.

Each function looks at one position of a text and returns the item that renders exactly the
characters there (token, length, and the bytes it saves over literal text), or ``None``: a
decimal without leading zeros (a varint), a uniform-case hex run (bytes plus the case), a
base64 run (with its padding when that renders back identically), a dotted-quad IPv4 or RFC
5952 IPv6 address, a UUID, an RFC 3339 date-time. :mod:`.scanner` decides where to look.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re

from columba.protocol.mcp.buffer import Buffer, varint_size
from columba.protocol.mcp.errors import McpDecodeError
from columba.protocol.mcp.tables import Op
from columba.protocol.mcp.text import (
    MAX_SECONDS,
    ZONE_MINUS,
    ZONE_NONE,
    ZONE_PLUS,
    ZONE_Z,
    Token,
    render_timestamp,
)

# Plain-int copies of the wire codes (an IntEnum member costs an enum look-up on every use).
_OP_BASE64 = int(Op.BASE64)
_OP_HEX_LOWER = int(Op.HEX_LOWER)
_OP_HEX_UPPER = int(Op.HEX_UPPER)
_OP_INT = int(Op.INT)
_OP_IPV4 = int(Op.IPV4)
_OP_IPV6 = int(Op.IPV6)
_OP_TIMESTAMP = int(Op.TIMESTAMP)
_OP_UUID_LOWER = int(Op.UUID_LOWER)
_OP_UUID_UPPER = int(Op.UUID_UPPER)
DIGIT_CHARS = frozenset("0123456789")
HEX_CHARS = frozenset("0123456789abcdefABCDEF")
B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    r"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?![0-9])"
)
_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z])"
    r"|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}(?![0-9A-Za-z])"
)
_IPV6 = re.compile(r"[0-9a-f]*:[0-9a-f:]*(?:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)?")
#: An RFC 5952 text form is at most 39 characters (eight groups of four and seven colons), so a
#: stretch of 40 IPv6 characters is none; telling that first keeps a long ``a:a:a:…`` from
#: costing a match to its end at every position (quadratic: 16 s for 60 kB before).
_IPV6_TOO_LONG = re.compile(r"[0-9a-f:]{40}")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
B64 = re.compile(r"[A-Za-z0-9+/]+")

#: Runs shorter than these stay literal: the item's code and length would eat the gain.
MIN_INT_DIGITS = 3
MIN_HEX_DIGITS = 8
MIN_BASE64_CHARS = 16
#: Integers longer than this stay literal (a varint holds 64 bits).
MAX_INT_DIGITS = 19


def run_token(
    text: str, i: int, ch: str, *, base64_ok: bool, hex_ok: bool
) -> tuple[Token, int, int] | None:
    """The best number, address or binary-run token starting at ``i``: token, length, gain.

    ``base64_ok``/``hex_ok`` false: the caller knows no such run of the least length starts
    here. The other checks first look for the one character each form needs near ``i`` (a
    ``-`` at 8 for a UUID, at 4 for a date-time, a ``.`` within 4 for IPv4, a ``:`` within 5
    for IPv6: no valid group is longer), so most positions cost no regular expression.
    """
    best: tuple[Token, int, int] | None = None
    if ch in HEX_CHARS or ch == ":":
        m = _UUID.match(text, i) if text.startswith("-", i + 8) else None
        if m is not None:
            digits = m.group().replace("-", "")
            kind = _OP_UUID_UPPER if any(c in "ABCDEF" for c in digits) else _OP_UUID_LOWER
            return (kind, bytes.fromhex(digits)), 36, 36 - 17
        if ch in DIGIT_CHARS:
            stamp = timestamp_token(text, i) if text.startswith("-", i + 4) else None
            if stamp is not None:
                return stamp
            m = _IPV4.match(text, i) if text.find(".", i + 1, i + 4) >= 0 else None
            if m is not None and len(m.group()) > 5:
                quad = m.group()
                return (_OP_IPV4, bytes(map(int, quad.split(".")))), len(quad), len(quad) - 5
        m = (
            _IPV6.match(text, i)
            if text.find(":", i, i + 5) >= 0 and _IPV6_TOO_LONG.match(text, i) is None
            else None
        )
        if m is not None and m.group().count(":") >= 2 and len(m.group()) > 17:
            packed = _ipv6(m.group())
            if packed is not None:
                return (_OP_IPV6, packed), len(m.group()), len(m.group()) - 17
        if ch == ":":
            return None
        if ch in DIGIT_CHARS:
            digits = _DIGITS.match(text, i).group()  # type: ignore[union-attr]
            if MIN_INT_DIGITS <= len(digits) <= MAX_INT_DIGITS and digits[0] != "0":
                value = int(digits)
                gain = len(digits) - 1 - varint_size(value)
                if gain > 0:
                    best = (_OP_INT, value), len(digits), gain
        if hex_ok:
            hex_token = _hex_token(_HEX.match(text, i).group())  # type: ignore[union-attr]
            if hex_token is not None and (best is None or hex_token[2] > best[2]):
                best = hex_token
    if best is None and base64_ok:
        run = B64.match(text, i).group()  # type: ignore[union-attr]
        if len(run) >= MIN_BASE64_CHARS:
            return base64_token(text, i, run)
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
    return (_OP_TIMESTAMP, payload), length, length - 1 - len(payload)


def _hex_token(run: str) -> tuple[Token, int, int] | None:
    length = len(run) & ~1
    if length < MIN_HEX_DIGITS:
        return None
    digits = run[:length]
    if digits.islower() or digits.isdigit():
        kind = _OP_HEX_LOWER
    elif digits.isupper():
        kind = _OP_HEX_UPPER
    else:
        return None
    size = length // 2
    return (kind, bytes.fromhex(digits)), length, length - 1 - varint_size(size) - size


def base64_token(text: str, i: int, run: str) -> tuple[Token, int, int] | None:
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
            return (_OP_BASE64, raw), len(chunk), len(chunk) - 1 - varint_size(size) - size
    length = len(run) - len(run) % 4
    if length < MIN_BASE64_CHARS:
        return None
    raw = base64.b64decode(run[:length])
    size = len(raw)
    return (_OP_BASE64, raw), length, length - 1 - varint_size(size) - size


def _ipv6(text: str) -> bytes | None:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    return address.packed if address.compressed == text else None
