"""SIP-C ``S`` (SERVICE) operations: contacts with authorization, presence, profile.

Each ``N:`` event has its own handler in the table below (fetion-sipc.md §3.2). The SIP twin,
``SERVICE`` with ``Event:``, is served by the same table, so SIP clients can manage contacts
too. Contact changes are told to the other side's SIP-C devices as ``BN contact`` events.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from columba.core import outbound
from columba.core.registry import Binding, Dialect
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.message import Request
from columba.protocol.sip.uri import parse_uri
from columba.protocol.sipc.bodies import element, events, parse_xml
from columba.servers.im import history, sms_ops, ssi, views
from columba.servers.im.presence import parse_presence_value
from columba.servers.im.register import uri_identity
from columba.servers.im.server import ImServer
from columba.storage import Account, Conflict, ContactState, NotFound

Operation = Callable[[ImServer, Binding, Account, ET.Element], Awaitable[tuple[int, str]]]


async def sipc_service(server: ImServer, request: Request, link: Link) -> None:
    """Dispatch an ``S`` request by its ``N:`` event."""
    binding = server.session(link)
    if binding is None:
        server.reply(link, request, 401, "Log in first")
        return
    operation = OPERATIONS.get(request.event or "")
    if operation is None:
        server.reply(link, request, 501, f"unknown service {request.event}"[:80])
        return
    try:
        args = parse_xml(request.body) if request.body else ET.Element("args")
        account = await server.account(binding.user_id)
        status, body = await operation(server, binding, account, args)
    except ParseError as exc:
        server.reply(link, request, exc.status, exc.reason[:120])
        return
    server.reply(link, request, status, body=body.encode() if body else b"")


async def _resolve(server: ImServer, node: ET.Element) -> Account | None:
    """The account a ``uri=`` or ``user-id=`` attribute names."""
    user_id = node.get("user-id")
    if user_id is not None:
        try:
            return await server.account(int(user_id))
        except (NotFound, ValueError):
            return None
    uri = node.get("uri")
    if not uri:
        raise ParseError("uri or user-id required")
    identity = uri_identity(parse_uri(uri, allow_bare=True))
    return await server.account_for(identity) if identity else None


async def _target(
    server: ImServer, args: ET.Element, *paths: str
) -> tuple[ET.Element, Account | None]:
    """The element at the first of ``paths`` present, and the account it names (or None)."""
    for path in paths:
        node = args.find(path)
        if node is not None:
            return node, await _resolve(server, node)
    raise ParseError(f"<{paths[0].rsplit('/', 1)[-1]}> required")


async def tell(server: ImServer, user_id: int, package: str, body: str) -> None:
    """Send a ``BN`` to every SIP-C device of a user (on other nodes too, when scaled out)."""
    server.registry.tell_elsewhere(user_id, package, body)
    for binding in server.registry.bindings(user_id):
        if binding.dialect is Dialect.SIPC:
            await server.notify(binding, outbound.sipc_notification(binding, package, body))


async def tell_request(server: ImServer, *, requester: Account, target: Account) -> None:
    """Tell the target that the requester asks to be a contact [018]."""
    application = element(
        "application",
        {
            "uri": outbound.user_uri(requester.sid, server.config.domain),
            "desc": requester.display_name,
            "type": 0,
            "time": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "user-id": requester.user_id,
        },
    )
    await tell(server, target.user_id, "contact", events("AddBuddyApplication", application))


async def _accepted(server: ImServer, a: Account, b: Account) -> None:
    """Both sides are now contacts: tell each about the other, and show presence."""
    for me, other in ((a, b), (b, a)):
        buddy = element(
            "buddy",
            {
                "user-id": other.user_id,
                "uri": outbound.user_uri(other.sid, server.config.domain),
                "relation-status": 1,
            },
        )
        await tell(server, me.user_id, "contact", events("AddBuddy", buddy))
    # changed() also moves pending SIP subscriptions to active (RFC 3856 NOTIFY with PIDF).
    await server.presence.changed(a)
    await server.presence.changed(b)


async def add_buddy(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``AddBuddyV4``: ask another user to be a contact."""
    node, other = await _target(server, args, "contacts/buddies/buddy")
    if other is None:
        return 404, ""
    if other.user_id == account.user_id:
        return 400, ""
    try:
        entry = await server.store.request_contact(
            account.user_id, other.user_id, local_name=node.get("local-name", "")
        )
    except Conflict:
        return 403, ""
    if entry.state is ContactState.ACCEPTED:
        await _accepted(server, account, other)
    else:
        await tell_request(server, requester=account, target=other)
    buddy = element(
        "buddy",
        {
            "uri": outbound.user_uri(other.sid, server.config.domain),
            "user-id": other.user_id,
            "relation-status": views.RELATION[entry.state],
        },
    )
    return 200, element("results", None, element("contacts", None, element("buddies", None, buddy)))


async def handle_request(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``HandleContactRequestV4``: accept (``result="1"``) or decline a request."""
    node, other = await _target(server, args, "contacts/buddies/buddy")
    if other is None:
        return 404, ""
    try:
        if node.get("result", "1") == "1":
            await server.store.accept_contact(
                account.user_id, other.user_id, local_name=node.get("local-name", "")
            )
            await _accepted(server, account, other)
        else:
            await server.store.decline_contact(account.user_id, other.user_id)
            refused = element("buddy", {"user-id": account.user_id, "relation-status": 2})
            await tell(server, other.user_id, "contact", events("UpdateBuddy", refused))
    except NotFound:
        return 404, ""
    return 200, ""


async def delete_buddy(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``DeleteBuddyV4``: remove a contact (both stop seeing each other's presence)."""
    _, other = await _target(server, args, "contacts/buddies/buddy")
    if other is None:
        return 404, ""
    try:
        await server.store.remove_contact(account.user_id, other.user_id)
    except NotFound:
        return 404, ""
    await server.presence.changed(account)
    return 200, ""


async def contact_info(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``GetContactInfoV4``: a user's public profile; the number only to accepted contacts."""
    _, other = await _target(server, args, "contact")
    if other is None:
        return 404, ""
    is_contact = await server.presence.may_see(account.user_id, other.user_id)
    attrs: dict[str, object] = {
        "uri": outbound.user_uri(other.sid, server.config.domain),
        "user-id": other.user_id,
        "sid": other.sid,
        "nickname": other.display_name,
        "impresa": other.impresa,
    }
    if is_contact:
        attrs["mobile-no"] = other.number or ""
        attrs["basic"] = server.presence.state(other.user_id)
    return 200, element("results", None, element("contact", attrs))


async def contact_list(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``GetContactListV4``: the list, or only what changed after ``version``."""
    node = args.find("contact-list")
    version = int(node.get("version", "0")) if node is not None else 0
    delta = await server.store.contacts_changed_since(account.user_id, version)
    return 200, element("results", None, await views.contact_list(server, delta))


async def set_presence(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``SetPresenceV4``: this device's presence value."""
    basic = args.find("presence/basic")
    if basic is None:
        raise ParseError("<presence><basic value=…/></presence> required")
    binding.presence = parse_presence_value(basic.get("value"))
    await server.presence.changed(account)
    result = element("basic", {"value": binding.presence, "desc": ""})
    return 200, element("results", None, element("presence", None, result))


async def set_user_info(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``SetUserInfoV4``: nickname and impresa (status text)."""
    node = args.find("userinfo/personal")
    if node is None:
        raise ParseError("<userinfo><personal …/></userinfo> required")
    await sms_ops.apply_personal(server, account, node)  # sms-online-status
    changes: dict[str, str] = {}
    if node.get("nickname") is not None:
        changes["display_name"] = node.get("nickname", "")[:64]
    if node.get("impresa") is not None:
        changes["impresa"] = node.get("impresa", "")[:200]
    updated = await server.store.update_account(account.user_id, **changes)  # type: ignore[arg-type]
    server.forget_account(account.user_id)
    await server.presence.changed(updated)
    return 200, element("results", None, views.personal(updated, server.config.domain))


async def block(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``AddToBlacklist``: stop a user's messages and presence (they are not told)."""
    _, other = await _target(server, args, "blacklist/blacklist", "blacklist", "contact")
    if other is None:
        return 404, ""
    await server.store.block(account.user_id, other.user_id)
    server.forget_blocks(account.user_id)
    await server.presence.changed(account)
    return 200, ""


async def unblock(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``RemoveFromBlacklistV4``."""
    _, other = await _target(server, args, "blacklist/blacklist", "blacklist", "contact")
    if other is None:
        return 404, ""
    try:
        await server.store.unblock(account.user_id, other.user_id)
        server.forget_blocks(account.user_id)
    except NotFound:
        return 404, ""
    return 200, ""


OPERATIONS: dict[str, Operation] = {
    "AddBuddyV4": add_buddy,
    "HandleContactRequestV4": handle_request,
    "DeleteBuddyV4": delete_buddy,
    "GetContactInfoV4": contact_info,
    "GetContactListV4": contact_list,
    "SetPresenceV4": set_presence,
    "SetUserInfoV4": set_user_info,
    "AddToBlacklist": block,
    "RemoveFromBlacklistV4": unblock,
    "GetHistoryV4": history.get_history,
    "SSIGetCredential": ssi.get_credential,
    **sms_ops.OPERATIONS,
}
