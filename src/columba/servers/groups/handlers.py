"""Entry points from the IM server: ``S`` and ``SUB`` by event, and messages to ``sip:PG…``.

``S`` requests whose ``N:`` starts with ``PG`` and ``SUB N: PGPresence`` are groups'; all
others go on to the IM server's own handlers (contacts, presence), so the dispatch table keeps
one entry per method. A message whose target is a group URI comes here from the messaging
handler (SIP-C ``M`` with ``T: sip:PG…``, SIP ``MESSAGE sip:PG…``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from columba.core import outbound
from columba.groups.rules import group_id_of
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.message import Request
from columba.protocol.sipc.bodies import element, events, parse_xml
from columba.servers.groups.operations import OPERATIONS
from columba.servers.im import contacts, presence
from columba.servers.im.register import uri_identity
from columba.servers.im.server import ImServer
from columba.storage import Account, NotFound
from columba.storage.groups import Muted, NotMember

#: Body types a group takes (as 1:1 messages, minus composing notices).
GROUP_TYPES = frozenset({"text/plain", "text/html", "text/html-fragment", "message/cpim"})


async def sipc_service(server: ImServer, request: Request, link: Link) -> None:
    """``S``/``SERVICE``: group operations by ``N:``; anything else to the contacts table."""
    event = request.event or ""
    if server.groups is None or event not in OPERATIONS:
        await contacts.sipc_service(server, request, link)
        return
    binding = server.session(link)
    if binding is None:
        server.reply(link, request, 401, "Log in first")
        return
    try:
        args = parse_xml(request.body) if request.body else ET.Element("args")
        account = await server.account(binding.user_id)
        status, body = await OPERATIONS[event](server, binding, account, args)
    except ParseError as exc:
        server.reply(link, request, exc.status, exc.reason[:120])
        return
    server.reply(link, request, status, body=body.encode() if body else b"")


async def sipc_subscribe(server: ImServer, request: Request, link: Link) -> None:
    """``SUB N: PGPresence`` [047]: 200, a ``BN PGGroup`` per group with its members' presence.

    Later changes follow, one ``BN PGGroup`` per change (:mod:`columba.servers.groups.presence`).
    """
    if request.event != "PGPresence" or server.groups is None:
        await presence.sipc_subscribe(server, request, link)
        return
    binding = server.session(link)
    if binding is None:
        server.reply(link, request, 401, "Log in first")
        return
    server.reply(link, request, 200)
    service = server.groups
    service.presence.subscribe(binding)  # later changes: columba.servers.groups.presence
    for group, role in await service.store.groups_of(binding.user_id):
        if role not in ("owner", "admin", "member"):
            continue
        members = []
        for user_id in await service.member_ids(group.group_id):
            state = server.presence.state(user_id)
            if state:
                account = await server.account(user_id)
                members.append(
                    element("member", {"uri": service.user_uri(account), "state": state})
                )
        inner = element("group", {"uri": service.uri(group.group_id)}, "".join(members))
        body = events("PresenceChanged", inner)
        link.send(outbound.sipc_notification(binding, "PGGroup", body))


def is_group_target(identity: str | None) -> bool:
    """True when a message's target names a group (``PG<id>``)."""
    return group_id_of(identity) is not None


async def group_message(
    server: ImServer, request: Request, link: Link, sender: Account, identity: str
) -> None:
    """A member's message to a group: store for every member, answer 200 with its id."""
    group_id = group_id_of(identity)
    service = server.groups
    if service is None or group_id is None:
        server.reply(link, request, 404, "No such group")
        return
    content_type = request.content_type
    mime = content_type.mime if content_type is not None else "text/plain"
    if mime not in GROUP_TYPES:
        if mime == "application/im-iscomposing+xml":
            server.reply(link, request, 200)  # typing notices are not relayed to groups
            return
        server.reply(link, request, 415, headers=[("Accept", ", ".join(sorted(GROUP_TYPES)))])
        return
    if len(request.body.decode("utf-8", "replace")) > server.config.max_message_chars:
        server.reply(link, request, 413, "Message too long")
        return
    binding = server.session(link)
    device = (
        binding.device_id if binding is not None and binding.user_id == sender.user_id else None
    )
    try:
        posted = await service.post(
            sender=sender,
            group_id=group_id,
            content_type=str(content_type) if content_type is not None else "text/plain",
            body=request.body,
            client_key=f"{request.call_id}|{request.cseq}",
            sending_device=device,
        )
    except NotFound:
        server.reply(link, request, 404, "No such group")
        return
    except Muted:
        server.reply(link, request, 403, "You are muted in this group")
        return
    except NotMember:
        server.reply(link, request, 403, "Not a member of this group")
        return
    stored = posted.message
    if server.metrics is not None and not stored.is_duplicate:
        server.metrics.message_received("sipc" if request.is_sipc else "sip")
    date = outbound.rfc1123(stored.created_at)
    if request.is_sipc:
        headers = [("D", date), ("XI", stored.message_id)]
    else:
        headers = [("Date", date), ("X-Message-ID", stored.message_id)]
    server.reply(link, request, 200, headers=headers)


async def group_sms(server: ImServer, request: Request, link: Link, sender: Account) -> None:
    """``M`` with ``N: PGSendCatSMS`` to ``sip:PG…`` [052]: the text as SMS to every other member.

    Members who have no number, stopped SMS or are in a refusal period are skipped (the
    answer counts them); each SMS is keyed by the request and the member, so a retransmission
    sends nothing twice. Answered ``280 Send SMS OK`` with ``<results><group-sms sent skipped/>``.
    """
    from columba.core.sms_bridge import SmsRefused

    to = request.to
    group_id = group_id_of(uri_identity(to.uri) if to is not None else None)
    service, sms = server.groups, server.sms
    if service is None or group_id is None:
        server.reply(link, request, 404, "No such group")
        return
    if sms is None:
        server.reply(link, request, 503, "SMS is not available")
        return
    members = await service.member_ids(group_id)
    if sender.user_id not in members:
        server.reply(link, request, 403, "Not a member of this group")
        return
    text = request.body.decode("utf-8", "replace").strip()
    if not text:
        server.reply(link, request, 400, "Empty message")
        return
    sent = skipped = 0
    for user_id in members:
        if user_id == sender.user_id:
            continue
        member = await server.account(user_id)
        if await sms.uds.refusal(member, offline_leg=False) is not None:
            skipped += 1
            continue
        try:
            await sms.send_sms(
                sender=sender,
                phone=member.number or "",
                text=text,
                client_key=f"pgcat:{sender.user_id}|{request.call_id}|{request.cseq}|{user_id}",
                recipient=member,
            )
        except (SmsRefused, ValueError):
            skipped += 1
            continue
        sent += 1
    body = element("results", None, element("group-sms", {"sent": sent, "skipped": skipped}))
    date = outbound.rfc1123(datetime.now(tz=UTC))
    server.reply(link, request, 280, "Send SMS OK", headers=[("D", date)], body=body.encode())
