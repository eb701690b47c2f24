"""Typed header values: the compact form a header takes when its value has the usual shape.

Each :class:`~.tables.Codec` turns a value into a few bytes only when rendering those bytes
gives back the identical text (``CSeq: 24 REGISTER`` → varint 24, method 1; ``I: -25`` →
zigzag 49; ``XI: 819254fb…`` → 16 bytes and the case). Any other value of the header is sent
as text items with the header's ``TEXT_VALUE`` flag, so every value has a representation.
"""

from __future__ import annotations

import calendar
import re
import time
from functools import lru_cache

from columba.protocol.mcp.buffer import MAX_VARINT, Buffer
from columba.protocol.mcp.errors import McpDecodeError
from columba.protocol.mcp.refs import Refs
from columba.protocol.mcp.scanner import push_text
from columba.protocol.mcp.tables import (
    CODECS,
    METHODS,
    SENSITIVE_HEADERS,
    SENSITIVE_NAME_PARTS,
    SIPC_CODECS,
    WORDS,
    Codec,
)
from columba.protocol.mcp.text import Budget, Dictionary, pull_text
from columba.protocol.sip.headers import canonical_name

# Plain-int copies of the wire codes this module uses in its loops: reading an IntEnum
# member costs an enum attribute look-up every time (about 170 ns on CPython 3.11).
_CODEC_CSEQ = int(Codec.CSEQ)
_CODEC_DATE = int(Codec.DATE)
_CODEC_HEX = int(Codec.HEX)
_CODEC_LENGTH = int(Codec.LENGTH)
_CODEC_SINT = int(Codec.SINT)
_CODEC_TEXT = int(Codec.TEXT)
_CODEC_UINT = int(Codec.UINT)

METHOD_INDEX = {method: index for index, method in enumerate(METHODS) if index}
WORD_INDEX = {word: index for index, word in enumerate(WORDS)}

_UINT = re.compile(r"(?:0|[1-9][0-9]{0,19})\Z")
_SINT = re.compile(r"(?:0|-?[1-9][0-9]{0,18})\Z")
_CSEQ = re.compile(r"(0|[1-9][0-9]{0,19}) ([^ \t\n]+)\Z")
_HEX = re.compile(r"(?:[0-9a-f]{2})+\Z|(?:[0-9A-F]{2})+\Z")
_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT\Z"
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: 9999-12-31T23:59:59Z: the last second an RFC 1123 date can name.
MAX_DATE = 253402300799
_HALF = 1 << 63


def codec_for(canonical: str, *, sipc: bool) -> Codec:
    """The typed codec of a header, by its canonical name and the message's dialect."""
    return (SIPC_CODECS if sipc else CODECS).get(canonical, Codec.TEXT)


def canonical(name: str, *, sipc: bool) -> str:
    """The canonical lower-case long name of a header as spelled (``I`` → ``call-id``)."""
    return canonical_name(name, sipc=sipc)


@lru_cache(maxsize=1024)
def is_sensitive(name: str) -> bool:
    """True for a header that must never enter a dynamic table (credentials, nonces, keys).

    The name counts as sensitive if it is in either dialect: ``A`` is SIP-C's Authorization
    even in a message that calls itself SIP (where it would be Accept-Contact).
    """
    return any(
        key in SENSITIVE_HEADERS or any(part in key for part in SENSITIVE_NAME_PARTS)
        for key in (canonical_name(name, sipc=True), canonical_name(name, sipc=False))
    )


@lru_cache(maxsize=1024)
def header_facts(name: str, sipc: bool) -> tuple[str, Codec, bool]:
    """A header name's canonical form, typed codec and sensitivity, in a message of the
    dialect ``sipc`` (cached: both ends look them up for every field)."""
    key = canonical(name, sipc=sipc)
    return key, codec_for(key, sipc=sipc), is_sensitive(name)


def typed_payload(codec: Codec, value: str, body_length: int) -> bytes | None:
    """The compact bytes of ``value`` in ``codec``, or ``None`` when it has no such form."""
    if codec == _CODEC_TEXT:
        return None
    buf = Buffer()
    if codec == _CODEC_LENGTH:
        return b"" if value == str(body_length) else None
    if codec == _CODEC_UINT:
        if _UINT.match(value) is None or int(value) > MAX_VARINT:
            return None
        buf.push_varint(int(value))
    elif codec == _CODEC_SINT:
        if _SINT.match(value) is None or not -_HALF <= int(value) < _HALF:
            return None
        buf.push_zigzag(int(value))
    elif codec == _CODEC_CSEQ:
        m = _CSEQ.match(value)
        if m is None or int(m.group(1)) > MAX_VARINT or m.group(2) not in METHOD_INDEX:
            return None
        buf.push_varint(int(m.group(1)))
        buf.push_varint(METHOD_INDEX[m.group(2)])
    elif codec == _CODEC_HEX:
        if _HEX.match(value) is None:
            return None
        buf.push_varint(len(value) // 2 << 1 | (value != value.lower()))
        buf.push_bytes(bytes.fromhex(value))
    elif codec == _CODEC_DATE:
        seconds = _date_seconds(value)
        if seconds is None:
            return None
        buf.push_varint(seconds)
    else:  # Codec.WORD
        index = WORD_INDEX.get(value)
        if index is None:
            return None
        buf.push_varint(index)
    return buf.data


def pull_typed(
    buf: Buffer,
    codec: Codec,
    words: Dictionary,
    budget: Budget,
    refs: Refs | None = None,
    *,
    record: bool = True,
) -> str:
    """Read a value in ``codec`` (``Codec.LENGTH`` values are filled in later by the caller);
    text items may refer to ``refs`` and add their runs to it when ``record`` (:mod:`.refs`)."""
    if codec == _CODEC_TEXT:
        return pull_text(buf, words, budget, refs=refs, record=record)
    if codec == _CODEC_LENGTH:
        return ""
    if codec == _CODEC_UINT:
        value = str(buf.pull_varint())
    elif codec == _CODEC_SINT:
        number = buf.pull_zigzag()
        if not -_HALF <= number < _HALF:
            raise McpDecodeError("MCP signed integer out of range")
        value = str(number)
    elif codec == _CODEC_CSEQ:
        number = buf.pull_varint()
        value = f"{number} {_method(buf.pull_varint())}"
    elif codec == _CODEC_HEX:
        head = buf.pull_varint()
        digits = buf.pull_bytes(head >> 1).hex()
        value = digits.upper() if head & 1 else digits
    elif codec == _CODEC_DATE:
        value = format_date(buf.pull_varint())
    else:
        index = buf.pull_varint()
        if index >= len(WORDS):
            raise McpDecodeError(f"MCP word {index} is not in the dictionary")
        value = WORDS[index]
    budget.spend(len(value))
    return value


def push_text_value(buf: Buffer, value: str, words: Dictionary) -> None:
    """A value as text items (the form every value has)."""
    push_text(buf, value, words)


def _method(index: int) -> str:
    if not 0 < index < len(METHODS):
        raise McpDecodeError(f"MCP method {index} is not in the method table")
    return METHODS[index]


def _date_seconds(value: str) -> int | None:
    """Seconds since 1970 of an RFC 1123 GMT date that :func:`format_date` writes back alike."""
    m = _DATE.match(value)
    if m is None:
        return None
    _, day, month, year, hour, minute, second = m.groups()
    try:
        seconds = calendar.timegm(
            (int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second))
        )
    except (ValueError, OverflowError):
        return None
    if not 0 <= seconds <= MAX_DATE or format_date(seconds) != value:
        return None
    return seconds


def format_date(seconds: int) -> str:
    """An RFC 1123 date in GMT (``Sat, 08 May 2010 14:51:55 GMT``), as SIP writes it.

    Raises:
        McpDecodeError: beyond year 9999.
    """
    if seconds > MAX_DATE:
        raise McpDecodeError("MCP date beyond year 9999")
    t = time.gmtime(seconds)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
