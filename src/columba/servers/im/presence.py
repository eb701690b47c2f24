"""Presence requests: SIP SUBSCRIBE/PUBLISH (RFC 3856, 3903) and SIP-C ``SUB PresenceV4``.

A SIP subscription to someone who has not accepted the watcher is answered 202 with a
``pending`` NOTIFY, and files a contact request (as XMPP does with presence subscriptions);
when it is accepted, the watcher gets an ``active`` NOTIFY with PIDF.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time

from columba.core import outbound
from columba.core.presence import FROM_ACTIVITY, SipSubscription, State, sipc_presence_body
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip import semantic
from columba.protocol.sip.message import Request
from columba.servers.im.messaging import _sip_sender
from columba.servers.im.register import uri_identity
from columba.servers.im.server import ImServer
from columba.storage import Conflict, ContactState, NotFound

DEFAULT_SUBSCRIBE_EXPIRES = 3600


async def sip_subscribe(server: ImServer, request: Request, link: Link) -> None:
    """RFC 3856 presence subscription: a new one, or a refresh or end inside its dialog."""
    if request.event != "presence":
        server.reply(link, request, 489, headers=[("Allow-Events", "presence")])
        return
    watcher = await _sip_sender(server, request, link)
    if watcher is None:
        return
    binding = server.session(link)
    if binding is None or binding.user_id != watcher.user_id:
        server.reply(link, request, 403, "Register this device first")
        return
    from_ = request.from_
    call_id = request.call_id
    if from_ is None or call_id is None:
        server.reply(link, request, 400, "From and Call-ID required")
        return
    expires = request.expires
    expires = DEFAULT_SUBSCRIBE_EXPIRES if expires is None else min(expires, 86400)
    to_tag = request.to.tag if request.to is not None else None
    if to_tag:
        await _in_dialog(server, request, link, call_id, to_tag, expires)
        return
    identity = uri_identity(request.request_uri)
    presentity = await server.account_for(identity) if identity else None
    if presentity is None:
        server.reply(link, request, 404, "No such user")
        return
    allowed = await server.presence.may_see(watcher.user_id, presentity.user_id)
    if not allowed:
        with contextlib.suppress(NotFound, Conflict):  # blocked: the watcher stays pending
            await server.store.request_contact(watcher.user_id, presentity.user_id)
        from columba.servers.im.contacts import tell_request

        await tell_request(server, requester=watcher, target=presentity)
        allowed = await server.presence.may_see(watcher.user_id, presentity.user_id)
    local_tag = secrets.token_hex(5)
    link.send(
        semantic.make_response(
            request,
            200 if allowed else 202,
            to_tag=local_tag,
            extra=[("Expires", str(expires)), ("Contact", f"<sip:{link.local_host}>")],
        )
    )
    sub = SipSubscription(
        watcher=binding,
        presentity_id=presentity.user_id,
        presentity_sid=presentity.sid,
        call_id=call_id,
        local_tag=local_tag,
        remote_tag=from_.tag or "",
        remote_uri=str(from_.uri),
        expires_at=time.monotonic() + expires,
    )
    if expires:
        server.presence.add_sip_subscription(sub)
    await server.registry.refresh_presence([presentity.user_id])  # scaled out: elsewhere?
    await server.presence.notify_sip(sub, presentity, active=allowed)


async def _in_dialog(
    server: ImServer, request: Request, link: Link, call_id: str, to_tag: str, expires: int
) -> None:
    """Refresh (RFC 6665 §4.1.2.2) or end (§4.1.2.3) an existing subscription."""
    sub = server.presence.find_sip_subscription(call_id, to_tag)
    if sub is None:
        server.reply(link, request, 481, "Subscription does not exist")
        return
    presentity = await server.account(sub.presentity_id)
    sub.expires_at = time.monotonic() + expires
    link.send(
        semantic.make_response(
            request,
            200,
            extra=[("Expires", str(expires)), ("Contact", f"<sip:{link.local_host}>")],
        )
    )
    allowed = await server.presence.may_see(sub.watcher.user_id, sub.presentity_id)
    if expires == 0:
        server.presence.remove_sip_subscription(sub.presentity_id, call_id)
    await server.presence.notify_sip(sub, presentity, active=allowed)


_BASIC = re.compile(rb"<(?:\w+:)?basic>\s*(open|closed)\s*</", re.I)
_ACTIVITY = re.compile(rb"<(?:\w+:)?activities>\s*<(?:\w+:)?([\w-]+)", re.I)


async def sip_publish(server: ImServer, request: Request, link: Link) -> None:
    """RFC 3903 PUBLISH of the device's own presence (PIDF with RPID activities)."""
    if request.event != "presence":
        server.reply(link, request, 489, headers=[("Allow-Events", "presence")])
        return
    account = await _sip_sender(server, request, link)
    if account is None:
        return
    expires = request.expires
    expires = 3600 if expires is None else expires
    if expires == 0:
        server.presence.publish(account.user_id, None)
    elif request.body:
        basic = _BASIC.search(request.body)
        activity = _ACTIVITY.search(request.body)
        if basic is None:
            server.reply(link, request, 400, "PIDF without <basic>")
            return
        if basic.group(1).lower() == b"closed":
            value = State.HIDDEN
        elif activity is not None:
            value = FROM_ACTIVITY.get(activity.group(1).decode().lower(), State.ONLINE)
        else:
            value = State.ONLINE
        server.presence.publish(account.user_id, int(value))
    etag = request.get("SIP-If-Match") or secrets.token_hex(8)
    server.reply(link, request, 200, headers=[("SIP-ETag", etag), ("Expires", str(expires))])
    await server.presence.changed(account)


async def sipc_subscribe(server: ImServer, request: Request, link: Link) -> None:
    """SIP-C ``SUB`` with ``N: PresenceV4``: watch every accepted contact."""
    binding = server.session(link)
    if binding is None:
        server.reply(link, request, 401, "Log in first")
        return
    if request.event not in ("PresenceV4", "presence"):
        server.reply(link, request, 501, f"{request.event} is not available")
        return
    binding.presence_call_id = request.call_id
    server.reply(link, request, 200)
    delta = await server.store.contact_list(binding.user_id)
    accepted = [c.contact_id for c in delta.contacts if c.state is ContactState.ACCEPTED]
    await server.registry.refresh_presence(accepted)  # scaled out: contacts on other nodes
    entries = []
    for contact in delta.contacts:
        if contact.state is ContactState.ACCEPTED:
            other = await server.account(contact.contact_id)
            entries.append((other, server.presence.state(other.user_id)))
    if entries:
        body = sipc_presence_body(entries, domain=server.config.domain)
        link.send(outbound.sipc_notification(binding, "PresenceV4", body))


def parse_presence_value(text: str | None) -> int:
    """A Fetion presence value from a body attribute (``ParseError`` if not one)."""
    from columba.core.presence import VALID_STATES

    try:
        value = int(text or "")
    except ValueError:
        raise ParseError(f"presence value {text!r} is not a number") from None
    if value not in VALID_STATES:
        raise ParseError(f"unknown presence value {value}")
    return value
