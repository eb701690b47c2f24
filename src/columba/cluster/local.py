"""What a notice from another node does to this node's devices.

Each function reaches only the devices bound on this node (``ImServer.registry``); the notice
already went only to the nodes where the user is bound. Sending never waits for an answer
(``ImServer.notify``), so a slow device does not hold up the node's inbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from columba.cluster import layout
from columba.core import outbound
from columba.core.phone_text import offer_from_phone
from columba.core.registry import Dialect
from columba.storage import NotFound

if TYPE_CHECKING:
    from columba.servers.im.server import ImServer


def wake(im: ImServer, user_ids: Iterable[int]) -> None:
    """Messages were stored for these users: their devices' outboxes read the store."""
    for user in user_ids:
        for binding in im.registry.bindings(user):
            binding.wake.set()


async def tell(im: ImServer, notice: layout.Tell) -> None:
    """A SIP-C ``BN`` to each of the recipient's SIP-C devices here."""
    for binding in im.registry.bindings(notice.recipient_id):
        if binding.dialect is Dialect.SIPC:
            request = outbound.sipc_notification(binding, notice.package, notice.body)
            await im.notify(binding, request)


async def composing(im: ImServer, notice: layout.Composing) -> None:
    """An RFC 3994 "is composing" MESSAGE to each of the recipient's SIP devices here."""
    try:
        sender = await im.account(notice.sender_id)
    except NotFound:
        return
    for binding in im.registry.bindings(notice.recipient_id):
        if binding.dialect is not Dialect.SIP:
            continue  # SIP-C has no such notice (as on a single node)
        message = outbound.InstantMessage(
            message_id="",
            sender_sid=sender.sid,
            content_type="application/im-iscomposing+xml",
            body=notice.body,
            created_at=datetime.now(tz=UTC),
        )
        request = outbound.im_request(binding, message, domain=im.config.domain)
        await im.notify(binding, request)


async def push_out(im: ImServer, notice: layout.PushOut) -> None:
    """End the user's logins here that began before its login on another node."""
    offset = time.time() - time.monotonic()
    for binding in im.registry.bindings(notice.user_id):
        if binding.registered_at + offset < notice.since:
            await im.push_out(binding)


async def phone_text(im: ImServer, notice: layout.PhoneText) -> bool:
    """A text from a phone with no account to the recipient's devices here; True if one took
    it (see :mod:`columba.core.phone_text`)."""
    return await offer_from_phone(
        im.registry.bindings(notice.recipient_id),
        domain=im.config.domain,
        phone=notice.phone,
        text=notice.text,
        message_id=notice.message_id,
    )
