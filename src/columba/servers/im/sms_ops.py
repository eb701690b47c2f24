"""The IM server's SMS requests: SendCatSMS / SendDirectCatSMS, SMS settings, SMS status.

- ``M`` with ``N: SendCatSMS`` (to a contact's or one's own URI) and ``N: SendDirectCatSMS``
  (to ``tel:<number>``), and any IM to a ``tel:`` URI without an account behind it, go out as
  SMS and are answered ``280 Send SMS OK`` (fetion-sipc.md §3.1 [027–030]); SIP MESSAGE gets
  ``202 Accepted`` with ``X-Columba-Delivery``.
- An IM stored for an offline recipient who accepts SMS is answered the same way
  (:func:`answer_stored`), as the corpus's observed IM→SMS conversion [044].
- ``S`` operations ``GetSmsSettings``, ``SetSmsSettings``, ``GetSmsStatus``, and the
  ``sms-online-status`` attribute of ``SetUserInfoV4`` (:func:`apply_personal`).

The rules live in :mod:`columba.core.sms_bridge` and :mod:`columba.core.uds`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from columba.core import outbound
from columba.core.registry import Binding
from columba.core.sms_bridge import SmsBridge, SmsQueued, SmsRefused
from columba.core.uds import (
    PreferenceError,
    format_quiet_hours,
    format_sms_online_status,
    parse_sms_online_status,
)
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.message import Request
from columba.protocol.sip.uri import TelUri
from columba.protocol.sipc.bodies import element, quote_attr
from columba.servers.im.server import ImServer
from columba.storage import Account, StoredMessage

#: ``N:`` values of an ``M`` that asks for an SMS.
SMS_EVENTS = frozenset({"SendCatSMS", "SendDirectCatSMS", "SendSMS"})


def bridge(server: ImServer) -> SmsBridge | None:
    """The node's SMS bridge, when the SMS leg is on."""
    return server.sms


def _quota_body(sms: SmsBridge, queued: SmsQueued) -> bytes:
    """``<results><sms …/><frequency …/></results>``: what the SMS leg took, and the quota.

    Written as one string (the fast path answers every IM to an offline user with it); the
    same text as ``element()`` nested, which ``tests/servers/test_sms_ops.py`` checks.
    """
    config = sms.config
    return (
        f"<results><sms to={quote_attr('tel:+' + queued.destination)}"
        f' segments="{queued.segments:d}" truncated="{int(queued.is_truncated):d}"/>'
        f'<frequency day-count="{queued.day_count:d}" day-limit="{config.day_limit:d}"'
        f' month-count="{queued.month_count:d}" month-limit="{config.month_limit:d}"/>'
        "</results>"
    ).encode()


def answer_sms(
    server: ImServer,
    request: Request,
    link: Link,
    sender: Account,
    queued: SmsQueued,
    message_id: str,
) -> None:
    """The sender's answer to an IM or SMS request the SMS leg took: SIP-C ``280 Send SMS OK``
    with the quota, SIP ``202 Accepted``."""
    sms = bridge(server)
    assert sms is not None
    date = outbound.rfc1123(datetime.now(tz=UTC))
    if request.is_sipc:
        body = _quota_body(sms, queued)
        headers = [("D", date)] + ([("XI", message_id)] if message_id else [])
        server.reply(link, request, 280, "Send SMS OK", headers=headers, body=body)
        return
    delivery = f"sms; segments={queued.segments}; truncated={int(queued.is_truncated)}"
    headers = [("Date", date), ("X-Columba-Delivery", delivery)]
    if message_id:
        headers.append(("X-Message-ID", message_id))
    server.reply(link, request, 202, "Accepted", headers=headers)


async def answer_stored(
    server: ImServer,
    request: Request,
    link: Link,
    sender: Account,
    recipient: Account,
    stored: StoredMessage,
) -> bool:
    """After an IM was stored: when the SMS leg takes it, answer 280/202 and return True."""
    sms = bridge(server)
    if sms is None or stored.is_duplicate:
        return False
    mime = request.content_type.mime if request.content_type is not None else "text/plain"
    if not mime.startswith("text/"):
        return False
    queued = await sms.offer_offline(
        sender=sender,
        recipient=recipient,
        message_id=stored.message_id,
        text=plain_text(request.body.decode("utf-8", "replace")),
    )
    if queued is None:
        return False
    answer_sms(server, request, link, sender, queued, stored.message_id)
    return True


async def send_to_phone(
    server: ImServer, request: Request, link: Link, sender: Account, identity: str
) -> bool:
    """An IM to a ``tel:`` URI no account has: send it as SMS. False: not a phone target."""
    sms = bridge(server)
    target = request.to.uri if request.to is not None else None
    if request.method == "MESSAGE":
        target = request.request_uri
    if sms is None or not isinstance(target, TelUri):
        return False
    await _send(server, request, link, sender, identity, recipient=None)
    return True


async def sipc_send_sms(server: ImServer, request: Request, link: Link, sender: Account) -> None:
    """``M`` with ``N: SendCatSMS`` / ``SendDirectCatSMS``."""
    from columba.servers.im.register import uri_identity

    sms = bridge(server)
    if sms is None:
        server.reply(link, request, 503, "SMS is not available")
        return
    to = request.to
    identity = uri_identity(to.uri) if to is not None else None
    if not identity:
        server.reply(link, request, 400, "T: required")
        return
    recipient = await server.account_for(identity)
    if recipient is None and not isinstance(to.uri if to else None, TelUri):
        server.reply(link, request, 404, "No such user")
        return
    await _send(server, request, link, sender, identity, recipient=recipient)


async def _send(
    server: ImServer,
    request: Request,
    link: Link,
    sender: Account,
    identity: str,
    *,
    recipient: Account | None,
) -> None:
    sms = bridge(server)
    assert sms is not None
    text = plain_text(request.body.decode("utf-8", "replace")).strip()
    if not text:
        server.reply(link, request, 400, "Empty message")
        return
    if recipient is not None:
        if recipient.user_id != sender.user_id and await server.is_blocked(
            recipient.user_id, sender.user_id
        ):
            server.reply(link, request, 403, "Not accepted by the recipient")
            return
        reason = await sms.uds.refusal(recipient, offline_leg=False)
        if reason is not None:
            server.reply(link, request, 403 if recipient.number else 404, reason[:80])
            return
        phone = recipient.number or ""
    else:
        phone = identity
    try:
        queued = await sms.send_sms(
            sender=sender,
            phone=phone,
            text=text,
            client_key=f"cat:{sender.user_id}|{request.call_id}|{request.cseq}",
            recipient=recipient,
        )
    except SmsRefused as exc:
        server.reply(link, request, exc.status, exc.reason[:80])
        return
    except ValueError:
        server.reply(link, request, 400, "Not a phone number")
        return
    answer_sms(server, request, link, sender, queued, "")


def plain_text(text: str) -> str:
    """The text of a ``text/html-fragment`` body (Fetion wraps IMs in ``<Font>``)."""
    if "<" not in text:
        return text
    try:
        return "".join(ET.fromstring(f"<x>{text}</x>").itertext())
    except ET.ParseError:
        return text


# -- S operations -------------------------------------------------------------------------------


async def _settings(sms: SmsBridge, account: Account) -> str:
    prefs = await sms.uds.preferences(account.user_id)
    now = sms.uds.now_us()
    day, month = await sms.uds.usage(account.user_id)
    refuse_until = (
        datetime.fromtimestamp(prefs.refuse_until / 1_000_000, tz=UTC).isoformat()
        if prefs.refuse_until > now
        else ""
    )
    stopped = bool(account.number) and await sms.uds.is_stopped(account.number or "")
    return element(
        "results",
        None,
        element(
            "sms-settings",
            {
                "number": account.number or "",
                "offline-sms": int(prefs.offline_sms),
                "sms-online-status": format_sms_online_status(prefs, now),
                "refuse-until": refuse_until,
                "quiet-hours": format_quiet_hours(prefs),
                "stopped": int(stopped),
                "day-limit": sms.config.day_limit,
                "day-count": day,
                "month-limit": sms.config.month_limit,
                "month-count": month,
            },
        ),
    )


async def get_settings(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``GetSmsSettings``."""
    sms = bridge(server)
    if sms is None:
        return 503, ""
    return 200, await _settings(sms, account)


async def set_settings(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``SetSmsSettings``: ``<sms-settings offline-sms refuse-days quiet-hours/>``."""
    sms = bridge(server)
    if sms is None:
        return 503, ""
    node = args.find("sms-settings") if args.tag != "sms-settings" else args
    if node is None:
        raise ParseError("<sms-settings …/> required")
    try:
        offline = node.get("offline-sms")
        days = node.get("refuse-days")
        await sms.uds.update_preferences(
            account.user_id,
            offline_sms=None if offline is None else offline.strip() in ("1", "true"),
            refuse_days=None if days is None else int(days),
            quiet_hours=node.get("quiet-hours"),
        )
    except (PreferenceError, ValueError) as exc:
        raise ParseError(str(exc)[:100]) from None
    return 200, await _settings(sms, account)


async def get_status(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``GetSmsStatus``: ``<message id="…"/>`` → the SMS leg's state."""
    node = args.find("message")
    message_id = node.get("id") if node is not None else None
    if not message_id:
        raise ParseError('<message id="…"/> required')
    sent = await server.store.sms.by_message(message_id)
    if sent is None or account.user_id not in (sent.sender_id, sent.recipient_id):
        return 404, ""
    state = "queued" if sent.state == "submitting" else sent.state
    attrs: dict[str, object] = {
        "id": message_id,
        "to": f"tel:+{sent.destination}",
        "state": state,
        "parts": sent.segments,
    }
    return 200, element("results", None, element("message", attrs))


async def apply_personal(server: ImServer, account: Account, node: ET.Element) -> None:
    """``SetUserInfoV4``'s ``sms-online-status`` (the rest is the profile's)."""
    value = node.get("sms-online-status")
    sms = bridge(server)
    if value is None or sms is None:
        return
    try:
        days = parse_sms_online_status(value)
    except PreferenceError as exc:
        raise ParseError(str(exc)[:100]) from None
    await sms.uds.update_preferences(account.user_id, offline_sms=True, refuse_days=days)


OPERATIONS = {
    "GetSmsSettings": get_settings,
    "SetSmsSettings": set_settings,
    "GetSmsStatus": get_status,
}
