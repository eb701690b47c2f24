"""Text items: the wire form of a string, and the domain and word dictionary.

A header value, a Request-URI, a reason phrase or a body is a sequence of items ended by
``Op.END``; each item renders a piece of text (a literal run, a dictionary word, a domain, an
integer, hex or base64 bytes, an address, a UUID, a timestamp, a UTF-16 run, an indented line
break) and the string is their concatenation. An XML body uses a second alphabet in which the
high codes open elements and start attributes. This module writes tokens as items and reads
items back (``docs/protocol/mcp.md`` §5); :mod:`.scanner` decides how a string is cut.

Reading is bounded: every item's size is charged to a :class:`Budget` (the decoded-size limit)
before anything large is allocated, and an unknown code, an index outside its table or an
unbalanced XML close is an :class:`~.errors.McpDecodeError`.
"""

from __future__ import annotations

import base64
import ipaddress
import time
from dataclasses import dataclass, field
from functools import lru_cache

from columba.protocol.mcp.buffer import Buffer, encode_text, varint, varint_size
from columba.protocol.mcp.errors import McpDecodeError, McpLimitExceeded, McpUsageError
from columba.protocol.mcp.refs import MIN_RUN, Refs, literal_cuts
from columba.protocol.mcp.tables import (
    BUILTIN_DOMAINS,
    MAX_DOMAINS,
    WORDS,
    XML_ATTRS,
    XML_TAGS,
    Op,
)

# Plain-int copies of the wire codes this module uses in its loops: reading an IntEnum
# member costs an enum attribute look-up every time (about 170 ns on CPython 3.11).
_ATTR = int(Op.ATTR)
_ATTR_LITERAL = int(Op.ATTR_LITERAL)
_AT_DOMAIN = int(Op.AT_DOMAIN)
_BASE64 = int(Op.BASE64)
_CLOSE = int(Op.CLOSE)  # the first XML-only item (every higher one is XML-only or inline)
_DOMAIN = int(Op.DOMAIN)
_END = int(Op.END)
_GT = int(Op.GT)
_HEX_LOWER = int(Op.HEX_LOWER)
_HEX_UPPER = int(Op.HEX_UPPER)
_INT = int(Op.INT)
_IPV4 = int(Op.IPV4)
_IPV6 = int(Op.IPV6)
_LITERAL = int(Op.LITERAL)
_LITERAL_SHORT_MAX = int(Op.LITERAL_SHORT_MAX)
_NEWLINE = int(Op.NEWLINE)
_OPEN = int(Op.OPEN)
_OPEN_LITERAL = int(Op.OPEN_LITERAL)
_QUOTE = int(Op.QUOTE)
_QUOTE_GT = int(Op.QUOTE_GT)
_QUOTE_SLASH_GT = int(Op.QUOTE_SLASH_GT)
_QUOTE_SP_SLASH_GT = int(Op.QUOTE_SP_SLASH_GT)
_REF = int(Op.REF)
_SELF = int(Op.SELF)
_SELF_MAX = int(Op.SELF_MAX)
_SHORT = int(Op.SHORT)
_SLASH_GT = int(Op.SLASH_GT)
_SP_SLASH_GT = int(Op.SP_SLASH_GT)
_TIMESTAMP = int(Op.TIMESTAMP)
_UTF16 = int(Op.UTF16)
_UUID_LOWER = int(Op.UUID_LOWER)
_UUID_UPPER = int(Op.UUID_UPPER)
_WORD = int(Op.WORD)
_XML_ATTR_SHORT = int(Op.XML_ATTR_SHORT)

#: A token: an :class:`~.tables.Op` kind and its payload (bytes, int, str or ``None``).
Token = tuple[int, object]

#: Codes below 128 that name dictionary words in header values and text bodies.
SHORT_WORDS = 0x80
#: Codes below 64 for elements and attributes in XML bodies.
SHORT_XML = 0x40
#: Open elements an XML body may nest (far beyond any real document); deeper ones are text.
MAX_XML_DEPTH = 256
#: The zone forms of a TIMESTAMP item (bits 4–5 of its form byte).
ZONE_Z, ZONE_PLUS, ZONE_MINUS, ZONE_NONE = range(4)
#: 9999-12-31T23:59:59: the last second a four-digit year can name.
MAX_SECONDS = 253402300799


# -- the dictionary a codec uses ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dictionary:
    """The words and domains a codec matches, with each candidate's token and size.

    Attributes:
        domains: The domain table: :data:`~.tables.BUILTIN_DOMAINS` then the configured ones.
    """

    domains: tuple[str, ...]
    #: The domains as wire bytes, for the decoder.
    domain_bytes: tuple[bytes, ...] = field(repr=False)
    #: First character → ``(text, token, encoded size)``, longest first, per alphabet.
    text_candidates: dict[str, tuple[tuple[str, Token, int], ...]] = field(repr=False)
    xml_candidates: dict[str, tuple[tuple[str, Token, int], ...]] = field(repr=False)


@lru_cache(maxsize=32)
def dictionary(extra_domains: tuple[str, ...] = ()) -> Dictionary:
    """The dictionary for a deployment's domains (cached).

    Raises:
        McpUsageError: more than :data:`~.tables.MAX_DOMAINS` domains in all.
    """
    domains = tuple(dict.fromkeys((*BUILTIN_DOMAINS, *extra_domains)))
    if len(domains) > MAX_DOMAINS:
        raise McpUsageError(f"at most {MAX_DOMAINS - len(BUILTIN_DOMAINS)} configured domains")
    text: list[tuple[str, Token, int]] = []
    xml: list[tuple[str, Token, int]] = []
    for index, word in enumerate(WORDS):
        token: Token = (_WORD, index)
        text.append((word, token, 1 if index < SHORT_WORDS else 1 + varint_size(index)))
        xml.append((word, token, 1 + varint_size(index)))
    for index, domain in enumerate(domains):
        for candidates in (text, xml):
            candidates.append(("@" + domain, (_AT_DOMAIN, index), 1))
            candidates.append((domain, (_DOMAIN, index), 1))
    return Dictionary(
        domains,
        tuple(encode_text(domain) for domain in domains),
        _by_first_char(text),
        _by_first_char(xml),
    )


def _by_first_char(
    candidates: list[tuple[str, Token, int]],
) -> dict[str, tuple[tuple[str, Token, int], ...]]:
    grouped: dict[str, list[tuple[str, Token, int]]] = {}
    for candidate in candidates:
        if len(candidate[0]) >= candidate[2]:  # a word shorter than its code never pays
            grouped.setdefault(candidate[0][0], []).append(candidate)
    return {
        first: tuple(sorted(group, key=lambda c: len(c[0]), reverse=True))
        for first, group in grouped.items()
    }


# -- writing tokens -------------------------------------------------------------------------------

#: Items whose rendering is a run for :mod:`.refs` (when 4–256 bytes long).
_VALUE_OPS = frozenset(
    {
        _INT,
        _HEX_UPPER,
        _HEX_LOWER,
        _BASE64,
        _IPV4,
        _IPV6,
        _UUID_LOWER,
        _UUID_UPPER,
    }
)
_TAG_INDEX = {tag: index for index, tag in enumerate(XML_TAGS)}
#: Items of a varint length and that many bytes; items of a fixed number of bytes.
_BYTES_OPS = frozenset({int(_HEX_UPPER), int(_HEX_LOWER), int(_BASE64)})
_FIXED_OPS = frozenset(
    {int(_IPV4), int(_IPV6), int(_UUID_LOWER), int(_UUID_UPPER), int(_TIMESTAMP)}
)
_ATTR_INDEX = {attr: index for index, attr in enumerate(XML_ATTRS)}


def push_tokens(
    buf: Buffer,
    tokens: list[Token],
    *,
    xml: bool = False,
    refs: Refs | None = None,
    record: bool = True,
) -> None:
    """Write tokens in the text alphabet (or the XML one), then ``Op.END``.

    With ``refs``, runs already sent become ``Op.REF`` items and new ones are added when
    ``record`` (:mod:`.refs`).
    """
    out = buf.output
    pending = ""  # literal text not written yet (adjacent literal tokens make one item)
    last = len(tokens) - 1
    for position, (kind, payload) in enumerate(tokens):
        if kind == _LITERAL:
            pending += payload  # type: ignore[operator]
            continue
        if xml and kind == _QUOTE and position < last and tokens[position + 1][0] == _ATTR:
            continue  # the attribute item closes the open value itself
        if pending:
            _push_pending(out, encode_text(pending), refs, record)
            pending = ""
        if kind == _WORD and not xml and payload < SHORT_WORDS:  # type: ignore[operator]
            out.append(_SHORT + payload)  # type: ignore[operator]
            continue
        if refs is not None and kind in _VALUE_OPS:
            rendered = render_value(kind, payload)  # type: ignore[arg-type]
            index = refs.find(rendered)
            if index is not None:
                out.append(_REF)
                buf.push_varint(index)
                continue
            if record:
                refs.add(rendered)
        _push_token(buf, kind, payload, xml)
    if pending:
        _push_pending(out, encode_text(pending), refs, record)
    out.append(_END)


def _push_pending(out: bytearray, raw: bytes, refs: Refs | None, record: bool) -> None:
    if refs is None or len(raw) < MIN_RUN:  # a shorter literal holds no run
        _push_literal(out, raw)
        return
    for piece, index in literal_cuts(raw, refs, record=record):
        if index < 0:
            _push_literal(out, piece)
        else:  # an index below REF_CAPACITY (128) is one varint byte
            out.append(_REF)
            out.append(index)


def _push_literal(out: bytearray, raw: bytes) -> None:
    """A literal run: one of ``0-9:;<=>?`` as itself, else its length in the code (1–47) or
    ``Op.LITERAL`` and a varint length."""
    length = len(raw)
    if length == 1 and _SELF <= raw[0] <= _SELF_MAX:
        out.append(raw[0])
        return
    if length <= _LITERAL_SHORT_MAX:
        out.append(length)
    else:
        out.append(_LITERAL)
        out += varint(length)
    out += raw


def _push_token(buf: Buffer, kind: int, payload: object, xml: bool) -> None:
    out = buf.output
    if kind == _WORD:
        assert isinstance(payload, int)
        if not xml and payload < SHORT_WORDS:
            out.append(_SHORT + payload)
        else:
            out.append(_WORD)
            out += varint(payload)
    elif kind in (_AT_DOMAIN, _DOMAIN):
        out.append(kind + payload)  # type: ignore[operator]
    elif kind in (_INT, _NEWLINE):
        out.append(kind)
        out += varint(payload)  # type: ignore[arg-type]
    elif kind in _BYTES_OPS:
        out.append(kind)
        out += varint(len(payload))  # type: ignore[arg-type]
        out += payload  # type: ignore[arg-type]
    elif kind in _FIXED_OPS:
        out.append(kind)
        out += payload  # type: ignore[arg-type]
    elif kind == _UTF16:
        assert isinstance(payload, str)
        out.append(kind)
        out += varint(len(payload))
        out += payload.encode("utf-16-be")
    elif kind == _OPEN:
        _push_name(buf, payload, _TAG_INDEX, _SHORT, _OPEN, _OPEN_LITERAL)
    elif kind == _ATTR:
        _push_name(buf, payload, _ATTR_INDEX, _XML_ATTR_SHORT, _ATTR, _ATTR_LITERAL)
    else:
        out.append(kind)


def _push_name(
    buf: Buffer, name: object, index: dict[str, int], short: int, long: int, literal: int
) -> None:
    assert isinstance(name, str)
    position = index.get(name)
    if position is None:
        buf.push_uint8(literal)
        buf.push_string(name)
    elif position < SHORT_XML:
        buf.push_uint8(short + position)
    else:
        buf.push_uint8(long)
        buf.push_varint(position)


# -- reading tokens -------------------------------------------------------------------------------


class Budget:
    """How many more decoded bytes a message may produce (the decoded-size limit)."""

    __slots__ = ("left",)

    def __init__(self, limit: int) -> None:
        self.left = limit

    def check(self, amount: int) -> None:
        """Refuse now what spending ``amount`` later would refuse (before allocating it)."""
        if amount > self.left:
            raise McpLimitExceeded("decoded MCP message exceeds the size limit", status=513)

    def spend(self, amount: int) -> None:
        """Count ``amount`` decoded bytes.

        Raises:
            McpLimitExceeded: the message grows past the limit.
        """
        self.left -= amount
        if self.left < 0:
            raise McpLimitExceeded("decoded MCP message exceeds the size limit", status=513)


_WORD_BYTES = tuple(encode_text(word) for word in WORDS)
_TAG_BYTES = tuple(tag.encode("ascii") for tag in XML_TAGS)
_ATTR_BYTES = tuple(f' {attr}="'.encode("ascii") for attr in XML_ATTRS)
_FIXED_XML: dict[int, tuple[bytes, bool]] = {
    _GT: (b">", False),
    _SLASH_GT: (b"/>", True),
    _SP_SLASH_GT: (b" />", True),
    _QUOTE: (b'"', False),
    _QUOTE_GT: (b'">', False),
    _QUOTE_SLASH_GT: (b'"/>', True),
    _QUOTE_SP_SLASH_GT: (b'" />', True),
}
_SELF_BYTES = tuple(bytes((op,)) for op in range(_SELF_MAX + 1))
_QUOTES = frozenset({_QUOTE, _QUOTE_GT, _QUOTE_SLASH_GT, _QUOTE_SP_SLASH_GT})


def pull_text(
    buf: Buffer,
    words: Dictionary,
    budget: Budget,
    *,
    refs: Refs | None = None,
    record: bool = True,
) -> str:
    """Read text items up to ``Op.END``; the decoded string."""
    return pull_raw(buf, words, budget, refs=refs, record=record).decode("utf-8", "surrogateescape")


def pull_raw(
    buf: Buffer,
    words: Dictionary,
    budget: Budget,
    *,
    xml: bool = False,
    refs: Refs | None = None,
    record: bool = True,
) -> bytes:
    """Read items (text or XML alphabet) up to ``Op.END``; the bytes they render.

    ``refs`` and ``record`` as for :func:`push_tokens`: without ``refs`` a reference is an
    error.
    """
    # The hot loop reads the buffer's bytes itself: the commonest items (a one-byte word, a
    # short literal, a character as itself, a reference, a domain) are handled inline, the
    # others by the general functions at the buffer's position.
    data, pos = buf.window()
    size = len(data)
    out = bytearray()
    left = budget.left
    adding = refs is not None and record
    stack: list[bytes] = []
    domains = words.domain_bytes
    in_value = False  # an attribute item opened a value no quote item has closed yet
    while True:
        if pos >= size:
            raise McpDecodeError("MCP data ends in the middle of a field")
        op = data[pos]
        pos += 1
        if op >= _SHORT and not xml:  # the commonest item: a one-byte word
            piece = _WORD_BYTES[op - _SHORT]
        elif op == _END:
            break
        elif op <= _LITERAL_SHORT_MAX:
            stop = pos + op
            if stop > size:
                raise McpDecodeError("MCP data ends in the middle of a field")
            piece = data[pos:stop]
            pos = stop
            if adding and op >= MIN_RUN:  # a shorter literal holds no run
                refs.add_literal(piece)  # type: ignore[union-attr]
        elif op <= _SELF_MAX:
            piece = _SELF_BYTES[op]
        elif _AT_DOMAIN <= op < _SHORT:
            index = op & 0x0F
            if index >= len(domains):
                raise McpDecodeError(f"MCP domain {index} is not in the domain table")
            piece = domains[index] if op >= _DOMAIN else b"@" + domains[index]
        else:
            buf.seek(pos)
            budget.left = left
            if op == _REF:
                if refs is None:
                    raise McpDecodeError("MCP reference where none may be")
                piece = refs.get(buf.pull_varint())
            else:
                piece, in_value = _pull_item(buf, op, xml, in_value, stack, domains, budget)
                if adding:
                    if op == _LITERAL:
                        refs.add_literal(piece)  # type: ignore[union-attr]
                    elif op in _VALUE_OPS:
                        refs.add(piece)  # type: ignore[union-attr]
            pos = buf.position
            left = budget.left
        left -= len(piece)
        if left < 0:
            budget.left = left
            raise McpLimitExceeded("decoded MCP message exceeds the size limit", status=513)
        out += piece
    budget.left = left
    buf.seek(pos)
    return bytes(out)


def _pull_item(
    buf: Buffer,
    op: int,
    xml: bool,
    in_value: bool,
    stack: list[bytes],
    domains: tuple[bytes, ...],
    budget: Budget,
) -> tuple[bytes, bool]:
    """An item :func:`pull_raw` does not read inline, and whether an attribute value is open
    after it."""
    common = None if xml and op >= _CLOSE else _pull_common(buf, op, domains, budget)
    if common is not None:
        return common, in_value
    if not xml:  # a word was read before: nothing else is left in the text alphabet
        raise McpDecodeError(f"unknown MCP text item 0x{op:02x}")
    piece = _pull_xml(buf, op, stack)
    if op >= _XML_ATTR_SHORT or op in (_ATTR, _ATTR_LITERAL):
        return (b'"' + piece if in_value else piece), True
    if op in _QUOTES:
        return piece, False
    return piece, in_value


def _pull_common(buf: Buffer, op: int, domains: tuple[bytes, ...], budget: Budget) -> bytes | None:
    """The rendering of an item both alphabets share, or ``None``."""
    if op <= _LITERAL_SHORT_MAX:
        return buf.pull_bytes(op)
    if op <= _SELF_MAX:
        return bytes((op,))
    if op == _LITERAL:
        return buf.pull_bytes(buf.pull_varint())
    if op == _INT:
        return str(buf.pull_varint()).encode("ascii")
    if op in (_HEX_UPPER, _HEX_LOWER, _BASE64):
        return render_value(op, buf.pull_bytes(buf.pull_varint()))
    if op == _UTF16:
        length = buf.pull_varint()
        try:
            return buf.pull_bytes(2 * length).decode("utf-16-be").encode("utf-8")
        except UnicodeDecodeError:
            raise McpDecodeError("MCP UTF-16 item is not valid UTF-16") from None
    if op == _TIMESTAMP:
        return render_timestamp(buf)
    if op == _NEWLINE:
        spaces = buf.pull_varint()
        budget.check(spaces)  # before allocating them
        return b"\n" + b" " * spaces
    if op == _IPV4:
        return render_value(op, buf.pull_bytes(4))
    if op in (_IPV6, _UUID_LOWER, _UUID_UPPER):
        return render_value(op, buf.pull_bytes(16))
    if op == _WORD:
        index = buf.pull_varint()
        if index >= len(_WORD_BYTES):
            raise McpDecodeError(f"MCP word {index} is not in the dictionary")
        return _WORD_BYTES[index]
    if _AT_DOMAIN <= op < _SHORT:
        index = op & 0x0F
        if index >= len(domains):
            raise McpDecodeError(f"MCP domain {index} is not in the domain table")
        return (b"@" if op < _DOMAIN else b"") + domains[index]
    return None


def render_value(op: int, payload: bytes | int) -> bytes:
    """The rendering of a value item (``_VALUE_OPS``) from its payload."""
    if op == _INT:
        return str(payload).encode("ascii")
    assert isinstance(payload, bytes)
    if op == _HEX_UPPER:
        return payload.hex().upper().encode("ascii")
    if op == _HEX_LOWER:
        return payload.hex().encode("ascii")
    if op == _BASE64:
        return base64.b64encode(payload)
    if op == _IPV4:
        return ".".join(map(str, payload)).encode("ascii")
    if op == _IPV6:
        return ipaddress.IPv6Address(payload).compressed.encode("ascii")
    digits = payload.hex()
    text = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    return (text.upper() if op == _UUID_UPPER else text).encode("ascii")


def _pull_xml(buf: Buffer, op: int, stack: list[bytes]) -> bytes:
    if op >= _XML_ATTR_SHORT:
        return _ATTR_BYTES[op - _XML_ATTR_SHORT]
    if op >= _SHORT:
        return _open(stack, _TAG_BYTES[op - _SHORT])
    fixed = _FIXED_XML.get(op)
    if fixed is not None:
        text, closes = fixed
        if closes:
            _pop(stack)
        return text
    if op == _CLOSE:
        return b"</" + _pop(stack) + b">"
    if op == _OPEN:
        return _open(stack, _lookup(_TAG_BYTES, buf.pull_varint(), "element"))
    if op == _OPEN_LITERAL:
        return _open(stack, buf.pull_bytes(buf.pull_varint()))
    if op == _ATTR:
        return _lookup(_ATTR_BYTES, buf.pull_varint(), "attribute")
    if op == _ATTR_LITERAL:
        return b" " + buf.pull_bytes(buf.pull_varint()) + b'="'
    raise McpDecodeError(f"unknown MCP XML item 0x{op:02x}")


def _open(stack: list[bytes], name: bytes) -> bytes:
    if len(stack) >= MAX_XML_DEPTH:
        raise McpLimitExceeded("MCP XML body nests too deep")
    stack.append(name)
    return b"<" + name


def _pop(stack: list[bytes]) -> bytes:
    if not stack:
        raise McpDecodeError("MCP XML item closes an element that is not open")
    return stack.pop()


def _lookup(table: tuple[bytes, ...], index: int, what: str) -> bytes:
    if index >= len(table):
        raise McpDecodeError(f"MCP XML {what} {index} is not in its table")
    return table[index]


def render_timestamp(buf: Buffer) -> bytes:
    """Read a TIMESTAMP item's fields and write the date-time they name.

    Raises:
        McpDecodeError: a field out of range.
    """
    seconds = buf.pull_varint()
    form = buf.pull_uint8()
    zone, digits = form >> 4, form & 0x0F
    if seconds > MAX_SECONDS or digits > 9 or zone > ZONE_NONE:
        raise McpDecodeError("MCP timestamp out of range")
    t = time.gmtime(seconds)
    out = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    if digits:
        fraction = buf.pull_varint()
        if fraction >= 10**digits:
            raise McpDecodeError("MCP timestamp fraction out of range")
        out += f".{fraction:0{digits}d}"
    if zone == ZONE_Z:
        out += "Z"
    elif zone != ZONE_NONE:
        offset = buf.pull_varint()
        if offset >= 24 * 60:
            raise McpDecodeError("MCP timestamp zone out of range")
        out += f"{'+' if zone == ZONE_PLUS else '-'}{offset // 60:02d}:{offset % 60:02d}"
    return out.encode("ascii")


def render(tokens: list[Token], words: Dictionary, *, xml: bool = False) -> str:
    """What ``tokens`` decode to (the encoder checks its own output with this)."""
    buf = Buffer()
    push_tokens(buf, tokens, xml=xml)
    reader = Buffer(buf.data)
    return pull_raw(reader, words, Budget(1 << 62), xml=xml).decode("utf-8", "surrogateescape")
