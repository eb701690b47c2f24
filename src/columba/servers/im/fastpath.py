"""A plain SIP-C ``M`` handled without a task: straight from the read loop into the commit queue.

``ImServer.handle`` runs as one task per request, and the ``M`` handler awaits its commit.
At thousands of messages a second the task, its context, the future it awaits and the hand-offs
between them cost more than the message's own work. For the message the server sees most (a
plain ``M``, ``hotpath.is_plain_sipc_message``, from a logged-in device to a user whose
account, block list, conversation and devices the node has cached, who is neither a group nor
a robot) :func:`fast_message` does what ``messaging._deliver`` does in the same order,
synchronously, and puts the message in the group commit's queue with a callback that answers
the sender (``DeliveryService.queue``). Anything it is not sure of returns False before any
side effect, and the request takes the general path, which gives its usual answer and fills
the caches for the next message.

A recipient offline after the commit may get the message as SMS (``sms_ops.answer_stored``):
when the node's caches decide that too (``SmsBridge.offer_offline_nowait``), the SMS goes in
the outbox's commit queue with a callback that answers ``280``; otherwise a task asks the
general way.

Order is kept: the reader goes on to the next request only once this one is queued (or, on
the general path, queued or finished), and the queue is committed and answered in order.
"""

from __future__ import annotations

import logging

from columba.core.sms_bridge import SmsQueued
from columba.net.link import Link
from columba.protocol.sip.message import Request
from columba.servers.groups.handlers import is_group_target
from columba.servers.im import sms_ops
from columba.servers.im.hotpath import is_plain_sipc_message
from columba.servers.im.messaging import MESSAGE_TYPES, accepted
from columba.servers.im.register import uri_identity
from columba.servers.im.server import ImServer
from columba.storage import Account, StoredMessage

log = logging.getLogger(__name__)


def fast_message(server: ImServer, request: Request, link: Link) -> bool:
    """Handle a plain SIP-C ``M`` from the node's caches; False: not sure, use ``handle``.

    Never raises: a failure before the message is queued (nothing done yet) leaves the
    request to the general path, which answers it.
    """
    try:
        return _fast_message(server, request, link)
    except Exception:
        log.exception("fast path failed; taking the general path")
        return False


def _fast_message(server: ImServer, request: Request, link: Link) -> bool:
    if request.method != "M" or not server.delivery.is_committing:
        return False
    if not is_plain_sipc_message(request, server.policy):
        return False
    binding = server.session(link)
    if binding is None or request.event not in (None, "CatMsg"):
        return False
    to = request.to
    identity = uri_identity(to.uri) if to is not None else None
    if identity is None or (server.groups is not None and is_group_target(identity)):
        return False
    sender = server.cached_account(binding.user_id)
    recipient = server.cached_account_for(identity)
    if sender is None or recipient is None:
        return False
    content_type = request.content_type
    mime = content_type.mime if content_type is not None else "text/plain"
    if mime not in MESSAGE_TYPES:  # is-composing notices, 415: the general path
        return False
    body = request.body
    if len(body) > server.config.max_message_chars and (
        len(body.decode("utf-8", "replace")) > server.config.max_message_chars
    ):
        return False  # 413
    blocked = server.cached_blocks(recipient.user_id)
    if blocked is None or sender.user_id in blocked:
        return False
    robots = server.groups.robots if server.groups is not None else None
    if robots is not None and robots.robot(recipient.user_id) is not None:
        return False
    new = server.delivery.prepare(
        sender=sender,
        recipient=recipient,
        content_type=str(content_type) if content_type is not None else "text/plain",
        body=body,
        client_key=f"{request.call_id}|{request.cseq}",
    )
    if new is None:
        return False
    if not server.within_rate(link):
        server.reply(link, request, 503, "Too many requests", headers=[("Retry-After", "1")])
        return True

    def committed(stored: StoredMessage | None, error: BaseException | None) -> None:
        if stored is None:
            log.warning("message not stored", extra={"kv": {"error": repr(error)}})
            server.reply(link, request, 500, "Server Internal Error")
            return
        _answer(server, request, link, sender, recipient, stored)

    server.delivery.queue(new, sender.sid, committed)
    return True


def _answer(
    server: ImServer,
    request: Request,
    link: Link,
    sender: Account,
    recipient: Account,
    stored: StoredMessage,
) -> None:
    """The sender's answer once the message is committed, as ``messaging._deliver`` gives it."""
    if server.metrics is not None and not stored.is_duplicate:
        server.metrics.message_received("sipc")
        server.metrics.message_fast_path()
    sms = server.sms
    if (
        sms is not None
        and not stored.is_duplicate
        and not server.registry.is_online(recipient.user_id)
    ):
        # The recipient is offline (or went offline while the message was committed): the
        # SMS leg may take it, decided now as ``messaging._deliver`` decides it.
        content_type = request.content_type
        if content_type is not None and not content_type.mime.startswith("text/"):
            accepted(server, request, link, stored)
            return

        def answer(queued: SmsQueued | None) -> None:
            if queued is None:
                accepted(server, request, link, stored)
            else:
                sms_ops.answer_sms(server, request, link, sender, queued, stored.message_id)

        if not sms.offer_offline_nowait(
            sender=sender,
            recipient=recipient,
            message_id=stored.message_id,
            text=sms_ops.plain_text(request.body.decode("utf-8", "replace")),
            answer=answer,
        ):
            link.start_task(_answer_offline(server, request, link, sender, recipient, stored))
        return
    accepted(server, request, link, stored)


async def _answer_offline(
    server: ImServer,
    request: Request,
    link: Link,
    sender: Account,
    recipient: Account,
    stored: StoredMessage,
) -> None:
    try:
        if await sms_ops.answer_stored(server, request, link, sender, recipient, stored):
            return
    except Exception:
        log.exception("sms leg of a message failed")
    accepted(server, request, link, stored)
