"""Requests the server sends to devices, spelled for each device's dialect.

SIP-C shapes follow the corpus (fetion-sipc.md §3): an incoming IM is ``M <sid> SIP-C/4.0``
with ``F``, a negative ``I``, ``Q``, ``C``, ``D``, ``XI`` and ``L`` [025/050]; notifications are
``BN <sid>`` with ``N:`` naming the event package and an ``<events>`` body [009, 018, 057].
SIP devices get RFC 3428 MESSAGE and RFC 3265/3856 NOTIFY requests.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from columba.core.registry import Binding, Dialect
from columba.protocol.sip.message import Header, Request
from columba.protocol.sipc.bodies import quote_attr
from columba.storage import StoredMessage

_call_ids = itertools.count(1)

#: The last second formatted by :func:`rfc1123` (a busy server formats the same one often).
_last_date: tuple[int, str] = (-1, "")


def rfc1123(moment: datetime) -> str:
    """``Sat, 08 May 2010 14:51:55 GMT`` (RFC 1123, the SIP ``Date``/SIP-C ``D`` form)."""
    global _last_date
    second = int(moment.timestamp())
    if second != _last_date[0]:
        _last_date = (second, format_datetime(moment.astimezone(UTC), usegmt=True))
    return _last_date[1]


def user_uri(sid: str, domain: str) -> str:
    """A user's SIP URI: ``sip:<sid>@<domain>``."""
    return f"sip:{sid}@{domain}"


def _branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def _sip_request(
    binding: Binding,
    method: str,
    *,
    from_uri: str,
    to_uri: str,
    headers: Iterable[Header],
    body: bytes,
    call_id: str | None = None,
) -> Request:
    transport = binding.link.transport.upper()
    # RFC 7118 §5: over WebSocket the Via transport is WS or WSS, as the link names it.
    via = f"SIP/2.0/{transport} {binding.link.local_host};branch={_branch()}"
    return Request(
        method=method,
        uri=binding.contact,
        version="SIP/2.0",
        headers=(
            Header("Via", via),
            Header("Max-Forwards", "70"),
            Header("From", f"<{from_uri}>;tag={secrets.token_hex(4)}"),
            Header("To", f"<{to_uri}>"),
            Header("Call-ID", call_id or f"{secrets.token_hex(8)}@columba"),
            Header("CSeq", f"{binding.next_cseq()} {method}"),
            *headers,
            Header("Content-Length", str(len(body))),
        ),
        body=body,
    )


def _sipc_request(
    binding: Binding, method: str, *, headers: Iterable[Header], body: bytes, call_id: str
) -> Request:
    base = [Header("I", call_id), Header("Q", f"{binding.next_cseq()} {method}"), *headers]
    if body:
        base.append(Header("L", str(len(body))))
    return Request(
        method=method, uri=binding.sid, version="SIP-C/4.0", headers=tuple(base), body=body
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class InstantMessage:
    """What a device is told about one stored message."""

    message_id: str
    sender_sid: str
    content_type: str
    body: bytes
    created_at: datetime
    #: For group messages: the group URI goes in From and the member in ``SO``/``X-Source``.
    source_sid: str | None = None


def stored_im(message: StoredMessage, sender_sid: str, *, is_group: bool) -> InstantMessage:
    """What a device is told about a stored message; a group's comes from ``sip:PG<id>@…``
    with the member who sent it in ``SO`` (fetion-sipc.md §3.4 [050])."""
    return InstantMessage(
        message_id=message.message_id,
        sender_sid=f"PG{message.conversation_id}" if is_group else sender_sid,
        content_type=message.content_type,
        body=message.body,
        created_at=message.created_at,
        source_sid=sender_sid if is_group else None,
    )


def im_request(binding: Binding, message: InstantMessage, *, domain: str) -> Request:
    """An incoming IM for one device: SIP-C ``M`` or SIP ``MESSAGE``."""
    sender = user_uri(message.sender_sid, domain)
    date = rfc1123(message.created_at)
    if binding.dialect is Dialect.SIPC:
        headers = [Header("F", sender), Header("C", message.content_type)]
        if message.source_sid is not None:
            headers.append(Header("SO", user_uri(message.source_sid, domain)))
        headers += [Header("D", date), Header("XI", message.message_id)]
        return _sipc_request(
            binding, "M", headers=headers, body=message.body, call_id=f"-{next(_call_ids)}"
        )
    extra = [
        Header("Content-Type", message.content_type),
        Header("Date", date),
        Header("X-Message-ID", message.message_id),
    ]
    if message.source_sid is not None:
        extra.append(Header("X-Source", user_uri(message.source_sid, domain)))
    return _sip_request(
        binding,
        "MESSAGE",
        from_uri=sender,
        to_uri=user_uri(binding.sid, domain),
        headers=extra,
        body=message.body,
    )


def sipc_im_wire(
    binding: Binding, message: InstantMessage, *, domain: str
) -> tuple[bytes, tuple[str, int, str]] | None:
    """The bytes ``serialize(ensure_content_length(im_request(…)))`` gives a SIP-C device,
    written directly, and the (Call-ID, CSeq, method) its answer is matched by.

    The hot path of delivery: no header objects, no serializer pass. None for a device that
    is not SIP-C or a message this shortcut does not cover (a line break in a value); use
    :func:`im_request` then. ``tests/core/test_outbound.py`` checks the bytes
    against the general path.
    """
    if binding.dialect is not Dialect.SIPC:
        return None
    sender = user_uri(message.sender_sid, domain)
    # A group's message also names its member in SO (fetion-sipc.md §3.4 [050]).
    source = "" if message.source_sid is None else f"SO: {user_uri(message.source_sid, domain)}\r\n"
    text = binding.sid + sender + message.content_type + message.message_id + source[:-2]
    if "\n" in text or "\r" in text:
        return None
    call_id = f"-{next(_call_ids)}"
    cseq = binding.next_cseq()
    body = message.body
    length = f"L: {len(body)}\r\n" if body else ""
    head = (
        f"M {binding.sid} SIP-C/4.0\r\nI: {call_id}\r\nQ: {cseq} M\r\nF: {sender}\r\n"
        f"C: {message.content_type}\r\n{source}D: {rfc1123(message.created_at)}\r\n"
        f"XI: {message.message_id}\r\n{length}\r\n"
    )
    return head.encode("utf-8", "surrogateescape") + body, (call_id, cseq, "M")


def sipc_notification(binding: Binding, event: str, body: str) -> Request:
    """A SIP-C ``BN`` with ``N: <event>`` and an ``<events>`` body."""
    call_id = binding.presence_call_id or "1"
    return _sipc_request(
        binding, "BN", headers=[Header("N", event)], body=body.encode(), call_id=call_id
    )


def sipc_notification_wire(binding: Binding, event: str, body: str) -> bytes | None:
    """The bytes ``serialize(ensure_content_length(sipc_notification(…)))`` gives, written
    directly (the receipt path tells a sender of every SMS it sent). None for a device that is
    not SIP-C, or a line break in the device's sid, the Call-ID or the event (the general path
    writes those). ``tests/core/test_outbound.py`` checks the bytes against the general path.
    """
    if binding.dialect is not Dialect.SIPC:
        return None
    call_id = binding.presence_call_id or "1"
    text = binding.sid + call_id + event
    if "\n" in text or "\r" in text:
        return None
    data = body.encode()
    length = f"L: {len(data)}\r\n" if data else ""
    head = (
        f"BN {binding.sid} SIP-C/4.0\r\nI: {call_id}\r\nQ: {binding.next_cseq()} BN\r\n"
        f"N: {event}\r\n{length}\r\n"
    )
    return head.encode("utf-8", "surrogateescape") + data


def attr(value: object) -> str:
    """An XML attribute value, quoted."""
    return quote_attr(value)


def deregistered(binding: Binding) -> Request | None:
    """Told to a device pushed out by a login elsewhere (SIP-C only; SIP has no equivalent)."""
    if binding.dialect is not Dialect.SIPC:
        return None
    return sipc_notification(
        binding, "registration", '<events><event type="deregistered"/></events>'
    )
