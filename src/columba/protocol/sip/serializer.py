"""Write a message as bytes. The only place that writes line endings and body lengths."""

from __future__ import annotations

from columba.protocol.sip import headers as h
from columba.protocol.sip.message import Header, Message


def _length_value(header: Header, length: int) -> str:
    """The Content-Length value to write: the original text when it is already right."""
    raw = header.value
    stripped = raw.strip(" \t\n")
    if stripped.isdigit() and int(stripped) == length:
        return raw
    if not stripped:
        return str(length) + raw
    return raw.replace(stripped, str(length), 1)


def serialize(message: Message) -> bytes:
    """Serialize a message.

    Headers are written exactly as stored (name, separator, value and folds), in order, with
    the message's line ending. Every Content-Length (SIP-C ``L``) header gets the body's true
    length; a message without one gets none (add it with :func:`ensure_content_length` before
    sending on a stream).
    """
    eol = message.eol
    out = [message.start_line, eol]
    append = out.append
    body = message.body
    sipc = message.is_sipc
    for header in message.headers:
        name = header.name
        value = header.value
        if (name == "L" and sipc) or (
            len(name) in (1, 14) and h.canonical_name(name, sipc=sipc) == "content-length"
        ):
            value = _length_value(header, len(body))
        if "\n" in value:
            value = value.replace("\n", eol)
        append(name)
        append(header.sep)
        append(value)
        append(eol)
    if message.is_terminated:
        append(eol)
    return "".join(out).encode("utf-8", "surrogateescape") + body


def ensure_content_length(message: Message) -> Message:
    """The message with a Content-Length (``L`` in SIP-C) header if it lacked one.

    SIP-C omits ``L`` when there is no body (fetion-sipc.md §1.1), so an empty SIP-C body gets
    none; SIP over a stream transport always needs it (RFC 3261 §20.14).
    """
    if message.has("content-length"):
        return message
    if message.is_sipc:
        if not message.body:
            return message
        return message.with_headers((*message.headers, Header("L", str(len(message.body)))))
    return message.with_headers(
        (*message.headers, Header("Content-Length", str(len(message.body))))
    )
