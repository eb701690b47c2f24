"""1:1 messages: SIP MESSAGE (RFC 3428) and SIP-C ``M`` (``N: CatMsg``).

The message is stored before anything else happens (server id, per-conversation sequence
number); the sender's 200 carries the id (SIP-C ``XI``, SIP ``X-Message-ID``) and the date.
A retransmission (same Call-ID and CSeq from the same sender) is answered with the first
message's id and is not delivered twice. "is composing" notices (RFC 3994) are relayed to the
recipient's online devices and never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from columba.core import outbound
from columba.core.registry import Dialect
from columba.net.link import Link
from columba.protocol.sip.message import Request
from columba.servers.groups import handlers as group_handlers
from columba.servers.im import sms_ops
from columba.servers.im.register import authenticate, uri_identity
from columba.servers.im.server import ImServer
from columba.storage import Account, StoredMessage

#: Body types stored and delivered as messages.
MESSAGE_TYPES = frozenset(
    {"text/plain", "text/html", "text/html-fragment", "message/cpim", "application/xml"}
)


async def sip_message(server: ImServer, request: Request, link: Link) -> None:
    """RFC 3428 MESSAGE from a SIP device."""
    sender = await _sip_sender(server, request, link)
    if sender is None:
        return
    identity = uri_identity(request.request_uri)
    await _deliver(server, request, link, sender, identity)


async def _sip_sender(server: ImServer, request: Request, link: Link) -> Account | None:
    """The authenticated sender: registered on this link, or Digest on the request (407)."""
    from_ = request.from_
    identity = uri_identity(from_.uri) if from_ is not None else None
    binding = server.session(link)
    if binding is not None and (identity is None or identity in (binding.sid,)):
        return await server.account(binding.user_id)
    account = await server.account_for(identity) if identity else None
    if account is None:
        server.reply(link, request, 403, "Unknown sender")
        return None
    if binding is not None and binding.user_id == account.user_id:
        return account
    if not await authenticate(server, request, link, account, status=407):
        return None
    return account


async def sipc_message(server: ImServer, request: Request, link: Link) -> None:
    """SIP-C ``M``: an IM to a buddy (``N: CatMsg`` or none)."""
    binding = server.session(link)
    if binding is None:
        server.reply(link, request, 401, "Log in first")
        return
    event = request.event
    if event == "PGSendCatSMS" and server.groups is not None:
        sender = await server.account(binding.user_id)
        await group_handlers.group_sms(server, request, link, sender)
        return
    if event in sms_ops.SMS_EVENTS:
        sender = await server.account(binding.user_id)
        await sms_ops.sipc_send_sms(server, request, link, sender)
        return
    if event not in (None, "CatMsg"):
        server.reply(link, request, 501, f"{event} is not available")
        return
    to = request.to
    identity = uri_identity(to.uri) if to is not None else None
    sender = await server.account(binding.user_id)
    await _deliver(server, request, link, sender, identity)


async def _deliver(
    server: ImServer, request: Request, link: Link, sender: Account, identity: str | None
) -> None:
    if server.groups is not None and group_handlers.is_group_target(identity):
        assert identity is not None
        await group_handlers.group_message(server, request, link, sender, identity)
        return
    recipient = await server.account_for(identity) if identity else None
    if recipient is None:
        if identity and await sms_ops.send_to_phone(server, request, link, sender, identity):
            return  # a tel: URI with no account: sent as SMS
        server.reply(link, request, 404, "No such user")
        return
    content_type = request.content_type
    mime = content_type.mime if content_type is not None else "text/plain"
    if mime == "application/im-iscomposing+xml":
        await _relay_composing(server, request, sender, recipient)
        server.reply(link, request, 200)
        return
    if mime not in MESSAGE_TYPES:
        server.reply(link, request, 415, headers=[("Accept", ", ".join(sorted(MESSAGE_TYPES)))])
        return
    if len(request.body.decode("utf-8", "replace")) > server.config.max_message_chars:
        server.reply(link, request, 413, "Message too long")
        return
    if await server.is_blocked(recipient.user_id, sender.user_id):
        server.reply(link, request, 403, "Not accepted by the recipient")
        return
    stored = await server.delivery.submit(
        sender=sender,
        recipient=recipient,
        content_type=str(content_type) if content_type is not None else "text/plain",
        body=request.body,
        client_key=f"{request.call_id}|{request.cseq}",
    )
    if server.metrics is not None and not stored.is_duplicate:
        server.metrics.message_received("sipc" if request.is_sipc else "sip")
    if server.groups is not None:
        await server.groups.to_robot(sender, recipient, stored)  # a 1:1 chat with a robot
    if server.sms is not None and await sms_ops.answer_stored(
        server, request, link, sender, recipient, stored
    ):
        return  # recipient offline: the SMS leg took it (280 Send SMS OK)
    accepted(server, request, link, stored)


def accepted(server: ImServer, request: Request, link: Link, stored: StoredMessage) -> None:
    """The sender's 200 for a stored message: its date and server id."""
    date = outbound.rfc1123(stored.created_at)
    if request.is_sipc:
        headers = [("D", date), ("XI", stored.message_id)]
    else:
        headers = [("Date", date), ("X-Message-ID", stored.message_id)]
    server.reply(link, request, 200, headers=headers)


async def _relay_composing(
    server: ImServer, request: Request, sender: Account, recipient: Account
) -> None:
    server.registry.composing_elsewhere(sender.user_id, recipient.user_id, request.body)
    for binding in server.registry.bindings(recipient.user_id):
        if binding.dialect is Dialect.SIP:
            message = outbound.InstantMessage(
                message_id="",
                sender_sid=sender.sid,
                content_type="application/im-iscomposing+xml",
                body=request.body,
                created_at=datetime.now(tz=UTC),
            )
            request = outbound.im_request(binding, message, domain=server.config.domain)
            await server.notify(binding, request)
