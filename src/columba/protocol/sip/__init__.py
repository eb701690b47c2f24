"""SIP and SIP-C messages: model, parser, serializer, framing, validation (sans-I/O)."""

from __future__ import annotations

from columba.protocol.errors import LimitExceeded, ParseError, ProtocolError
from columba.protocol.sip.headers import Contact, CSeq, MediaType, NameAddress, Via
from columba.protocol.sip.message import Header, Message, Request, Response
from columba.protocol.sip.parser import DEFAULT_LIMITS, ParseLimits, parse_message
from columba.protocol.sip.serializer import ensure_content_length, serialize
from columba.protocol.sip.uri import AbsoluteUri, BareId, SipUri, TelUri, Uri, parse_uri
from columba.protocol.sip.validate import validate

__all__ = [
    "DEFAULT_LIMITS",
    "AbsoluteUri",
    "BareId",
    "CSeq",
    "Contact",
    "Header",
    "LimitExceeded",
    "MediaType",
    "Message",
    "NameAddress",
    "ParseError",
    "ParseLimits",
    "ProtocolError",
    "Request",
    "Response",
    "SipUri",
    "TelUri",
    "Uri",
    "Via",
    "ensure_content_length",
    "parse_message",
    "parse_uri",
    "serialize",
    "validate",
]
