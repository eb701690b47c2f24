"""SIP-C ``<results>`` documents the IM server answers with (fetion-sipc.md §2.3 step 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from columba.core import outbound
from columba.protocol.sipc.bodies import element
from columba.storage import Account, ContactDelta, ContactState

if TYPE_CHECKING:
    from columba.servers.im.server import ImServer

#: ``r`` (relation) values of a buddy entry.
RELATION = {
    ContactState.ACCEPTED: 1,
    ContactState.PENDING_OUT: 0,
    ContactState.PENDING_IN: 3,
    ContactState.DECLINED: 2,
    ContactState.BLOCKED: 4,
}


def personal(account: Account, domain: str) -> str:
    """``<personal …/>``: the user's own profile."""
    return element(
        "personal",
        {
            "user-id": account.user_id,
            "sid": account.sid,
            "mobile-no": account.number or "",
            "uri": outbound.user_uri(account.sid, domain),
            "nickname": account.display_name,
            "impresa": account.impresa,
        },
    )


async def contact_list(server: ImServer, delta: ContactDelta) -> str:
    """``<contact-list version=…>`` with buddy lists, buddies, blacklist (and removals)."""
    lists = "".join(
        element("buddy-list", {"id": b.list_id, "name": b.name}) for b in delta.buddy_lists
    )
    buddies = []
    blacklist = []
    for contact in delta.contacts:
        other = await server.account(contact.contact_id)
        attrs = {
            "i": other.user_id,
            "u": outbound.user_uri(other.sid, server.config.domain),
            "n": contact.local_name or other.display_name,
            "l": ";".join(str(i) for i in contact.list_ids),
            "r": RELATION[contact.state],
        }
        if contact.state is ContactState.BLOCKED:
            blacklist.append(element("k", {"i": attrs["i"], "u": attrs["u"]}))
        else:
            buddies.append(element("b", attrs))
    removed = "".join(element("d", {"i": i}) for i in delta.removed_contacts)
    inner = (
        element("buddy-lists", None, lists)
        + element("buddies", None, "".join(buddies))
        + element("blacklist", None, "".join(blacklist))
        + (element("removed", None, removed) if removed else "")
    )
    return element("contact-list", {"version": delta.version, "full": int(delta.is_full)}, inner)


async def login_results(server: ImServer, account: Account) -> str:
    """The body of the 200 that ends a SIP-C login."""
    delta = await server.store.contact_list(account.user_id)
    user_info = element(
        "user-info",
        None,
        personal(account, server.config.domain) + await contact_list(server, delta),
    )
    return element("results", None, user_info)
