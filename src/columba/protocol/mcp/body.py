"""Message bodies: the smallest of raw bytes, text items and XML items.

An empty body is kind ``EMPTY``; otherwise the encoder sends the shortest correct form: raw
(a varint length and the bytes), text items, or — when the body holds ``<`` — XML items
(``docs/protocol/mcp.md`` §6). A body's items may refer to the runs its message's fields
added; the runs the body adds are forgotten at its end (the caller passes a copy of the list).
"""

from __future__ import annotations

from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.errors import McpDecodeError
from columba.protocol.mcp.refs import Refs
from columba.protocol.mcp.scanner import scan, scan_xml
from columba.protocol.mcp.tables import BodyKind
from columba.protocol.mcp.text import Budget, Dictionary, pull_raw, push_tokens

_EMPTY = int(BodyKind.EMPTY)
_RAW = int(BodyKind.RAW)
_XML = int(BodyKind.XML)


def encode_body(body: bytes, words: Dictionary, refs: Refs) -> tuple[BodyKind, bytes]:
    """The smallest correct form of a body: raw, text items or XML items (with references to
    ``refs``, which each form adds its runs to: the caller passes a copy it may lose)."""
    if not body:
        return BodyKind.EMPTY, b""
    raw = Buffer()
    raw.push_varint(len(body))
    raw.push_bytes(body)
    text = body.decode("utf-8", "surrogateescape")
    forms = [(BodyKind.TEXT, scan(text, words), False)]
    if "<" in text:
        forms.append((BodyKind.XML, scan_xml(text, words), True))
    sized = []
    for kind, tokens, xml in forms:
        buf = Buffer()
        push_tokens(buf, tokens, xml=xml, refs=refs.copy())
        sized.append((len(buf.data), kind, buf.data, xml))
    # Smallest first; the decoder renders what the scanner cut, so check the bytes the way it
    # reads them: a scanner bug could only ever cost bytes (the raw form), never change a body.
    for size, kind, data, xml in sorted(sized, key=lambda form: form[0]):
        if size >= len(raw.data):
            break
        if _renders(data, words, xml, body, refs):
            return kind, data
    return BodyKind.RAW, raw.data


def _renders(data: bytes, words: Dictionary, xml: bool, body: bytes, refs: Refs) -> bool:
    try:
        buf = Buffer(data)
        return pull_raw(buf, words, Budget(len(body)), xml=xml, refs=refs.copy()) == body
    except McpDecodeError:
        return False


def decode_body(buf: Buffer, kind: int, words: Dictionary, budget: Budget, refs: Refs) -> bytes:
    if kind == _EMPTY:
        return b""
    if kind == _RAW:
        length = buf.pull_varint()
        budget.spend(length)
        return buf.pull_bytes(length)
    return pull_raw(buf, words, budget, xml=kind == _XML, refs=refs)
