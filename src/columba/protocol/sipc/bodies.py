"""SIP-C XML bodies: ``<args>`` from clients, ``<results>`` and ``<events>`` from the server.

Bodies are small single-line XML documents without a declaration (fetion-sipc.md §1.7).
Parsing uses the standard library's expat (which refuses entity expansion attacks since
expat 2.4) after a size check, and any failure becomes a ``ParseError`` (answer 400).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from columba.protocol.errors import ParseError

MAX_BODY = 64 * 1024


def parse_xml(body: bytes, *, root: str | None = "args") -> ET.Element:
    """Parse a SIP-C XML body, checking its root element name.

    Raises:
        ParseError: not well-formed, too large, or another root element.
    """
    if len(body) > MAX_BODY:
        raise ParseError("XML body too large", status=413)
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ParseError("XML body must not declare a DTD or entities")
    try:
        element = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ParseError(f"malformed XML body: {exc}") from None
    if root is not None and element.tag != root:
        raise ParseError(f"XML body must be <{root}>, got <{element.tag}>")
    return element


_needs_escape = re.compile('[&<>"\n\r\t]').search


def quote_attr(value: object) -> str:
    """An XML attribute value, quoted and escaped: ``xml.sax.saxutils.quoteattr``, with the
    usual value (nothing to escape) written without its several replace passes."""
    text = str(value)
    if _needs_escape(text) is None:
        return f'"{text}"'
    return quoteattr(text)


def element(tag: str, attrs: dict[str, object] | None = None, children: str = "") -> str:
    """One XML element as text; attribute values are escaped."""
    text = "".join(f" {k}={quote_attr(v)}" for k, v in (attrs or {}).items())
    if children:
        return f"<{tag}{text}>{children}</{tag}>"
    return f"<{tag}{text}/>"


def events(event_type: str, inner: str = "") -> str:
    """A ``BN`` body: ``<events><event type="…">…</event></events>``."""
    return f"<events>{element('event', {'type': event_type}, inner)}</events>"
