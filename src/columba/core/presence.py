"""Presence: Fetion's states, who may see them, and telling the watchers.

States (fetion-sipc.md §3.2): 400 online, 300 right back, 150 on the phone, 100 away,
500 out to lunch, 600 busy, 800 do-not-disturb, 850 meeting, 0 hidden, 499 robot; a user
with no device logged in is offline (-1 here, ``b="0"`` on the wire like Fetion's offline
notify [010]). Only accepted contacts see a user's presence, and a hidden user looks offline.
SIP-C devices subscribe once for all contacts (``SUB PresenceV4``); SIP devices subscribe per
presentity (RFC 3856) and get PIDF (RFC 3863).
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from xml.sax.saxutils import escape

from columba.core import outbound
from columba.core.registry import Binding, Dialect, Registry
from columba.protocol.sip.message import Header, Request
from columba.storage import Account, ContactState, Store

log = logging.getLogger(__name__)


class State(enum.IntEnum):
    """Fetion presence values."""

    OFFLINE = -1
    HIDDEN = 0
    AWAY = 100
    ON_THE_PHONE = 150
    RIGHT_BACK = 300
    ONLINE = 400
    ROBOT = 499
    OUT_TO_LUNCH = 500
    BUSY = 600
    DO_NOT_DISTURB = 800
    MEETING = 850


VALID_STATES = frozenset(int(s) for s in State if s is not State.OFFLINE)

#: RFC 4480 activities for SIP clients, both ways.
ACTIVITY = {
    State.AWAY: "away",
    State.RIGHT_BACK: "away",
    State.ON_THE_PHONE: "on-the-phone",
    State.OUT_TO_LUNCH: "meal",
    State.BUSY: "busy",
    State.DO_NOT_DISTURB: "busy",
    State.MEETING: "meeting",
}
FROM_ACTIVITY = {
    "away": State.AWAY,
    "on-the-phone": State.ON_THE_PHONE,
    "meal": State.OUT_TO_LUNCH,
    "busy": State.BUSY,
    "meeting": State.MEETING,
}


@dataclass(eq=False, kw_only=True)
class SipSubscription:
    """An RFC 3856 presence subscription dialog, with us as the notifier."""

    watcher: Binding
    presentity_id: int
    presentity_sid: str
    call_id: str
    local_tag: str
    remote_tag: str
    remote_uri: str
    expires_at: float
    cseq: int = 0


Sender = Callable[[Binding, Request], Awaitable[None]]


class PresenceObserver(Protocol):
    """Someone else who tells watchers about presence (e.g. group members, ``PGPresence``)."""

    async def presence_changed(self, account: Account, value: int) -> None:
        """``account``'s presence notice went out; ``value`` is what others now see."""
        ...

    def watcher_dropped(self, binding: Binding) -> None:
        """A device logged out or was lost: forget what it subscribed to."""
        ...


class PresenceService:
    """Presence state per user, and notification of watchers."""

    def __init__(self, *, registry: Registry, store: Store, domain: str, send: Sender) -> None:
        self._registry = registry
        self._store = store
        self._domain = domain
        self._send = send
        self._sip_subs: dict[int, list[SipSubscription]] = {}
        self._published: dict[int, int] = {}
        #: Told of every change after the contacts (group presence, ``columba.servers.groups``).
        self.observers: list[PresenceObserver] = []

    def state(self, user_id: int, *, local_only: bool = False) -> int:
        """The user's presence as others see it (hidden and offline both read as offline).

        Scaled out, the user's devices on other nodes count too (``local_only``: only this
        node's, which is what this node tells the others).
        """
        bindings = self._registry.bindings(user_id)
        remote = () if local_only else self._registry.remote_presence(user_id)
        if not bindings and not remote:
            return State.OFFLINE
        values = [b.presence for b in bindings]
        published = self._published.get(user_id)
        if published is not None and bindings:
            values.append(published)
        visible = [v for v in values if v != State.HIDDEN] + list(remote)
        if not visible:
            return State.OFFLINE
        # Prefer "online" over the away-style states, then the highest value.
        return State.ONLINE if State.ONLINE in visible else max(visible)

    def publish(self, user_id: int, value: int | None) -> None:
        """Record a SIP PUBLISH (RFC 3903) state, or clear it with None."""
        if value is None:
            self._published.pop(user_id, None)
        else:
            self._published[user_id] = value

    def add_sip_subscription(self, sub: SipSubscription) -> None:
        """Track a SIP presence subscription (replacing one with the same dialog)."""
        subs = self._sip_subs.setdefault(sub.presentity_id, [])
        subs[:] = [s for s in subs if s.call_id != sub.call_id]
        subs.append(sub)

    def remove_sip_subscription(self, presentity_id: int, call_id: str) -> None:
        """Forget a subscription (unsubscribe with Expires: 0)."""
        subs = self._sip_subs.get(presentity_id, [])
        subs[:] = [s for s in subs if s.call_id != call_id]

    def find_sip_subscription(self, call_id: str, local_tag: str) -> SipSubscription | None:
        """The subscription of a dialog (Call-ID and our tag), if it still exists."""
        for subs in self._sip_subs.values():
            for sub in subs:
                if sub.call_id == call_id and sub.local_tag == local_tag:
                    return sub
        return None

    def drop_watcher(self, binding: Binding) -> None:
        """Forget every subscription a device made (it logged out or its link died)."""
        for subs in self._sip_subs.values():
            subs[:] = [s for s in subs if s.watcher is not binding]
        for observer in self.observers:
            observer.watcher_dropped(binding)

    async def may_see(self, watcher_id: int, presentity_id: int) -> bool:
        """True when the presentity has accepted the watcher as a contact."""
        if watcher_id == presentity_id:
            return True
        try:
            entry = await self._store.contact(presentity_id, watcher_id)
        except Exception:  # NotFound
            return False
        return entry.state is ContactState.ACCEPTED

    async def changed(self, account: Account, *, relay: bool = True) -> None:
        """Tell every authorized watcher of ``account`` its current presence.

        Scaled out, the nodes of watchers elsewhere are told too, unless ``relay`` is False
        (the change came from another node).
        """
        delta = await self._store.contact_list(account.user_id)
        if relay:
            watchers = [c.contact_id for c in delta.contacts if c.state is ContactState.ACCEPTED]
            local = self.state(account.user_id, local_only=True)
            await self._registry.presence_changed(account.user_id, local, watchers)
        value = self.state(account.user_id)
        for contact in delta.contacts:
            if contact.state is not ContactState.ACCEPTED:
                continue
            for binding in self._registry.bindings(contact.contact_id):
                if binding.dialect is Dialect.SIPC and binding.presence_call_id is not None:
                    body = sipc_presence_body([(account, value)], domain=self._domain)
                    await self._send(
                        binding, outbound.sipc_notification(binding, "PresenceV4", body)
                    )
        for sub in list(self._sip_subs.get(account.user_id, [])):
            await self.notify_sip(
                sub, account, active=await self.may_see(sub.watcher.user_id, account.user_id)
            )
        for observer in self.observers:
            await observer.presence_changed(account, value)

    async def notify_sip(self, sub: SipSubscription, account: Account, *, active: bool) -> None:
        """Send one NOTIFY with the presentity's PIDF (or a pending state with no body)."""
        remaining = max(0, round(sub.expires_at - time.monotonic()))
        state = f"active;expires={remaining}" if active else f"pending;expires={remaining}"
        if remaining == 0:
            state = "terminated;reason=timeout"
        body = pidf(account, self.state(account.user_id), domain=self._domain) if active else b""
        sub.cseq += 1
        headers = [
            Header(
                "Via",
                f"SIP/2.0/{sub.watcher.link.transport.upper()} "
                f"{sub.watcher.link.local_host};branch=z9hG4bK{secrets.token_hex(8)}",
            ),
            Header("Max-Forwards", "70"),
            Header("From", f"<{outbound.user_uri(account.sid, self._domain)}>;tag={sub.local_tag}"),
            Header("To", f"<{sub.remote_uri}>;tag={sub.remote_tag}"),
            Header("Call-ID", sub.call_id),
            Header("CSeq", f"{sub.cseq} NOTIFY"),
            Header("Contact", f"<sip:{sub.watcher.link.local_host}>"),
            Header("Event", "presence"),
            Header("Subscription-State", state),
        ]
        if body:
            headers.append(Header("Content-Type", "application/pidf+xml"))
        headers.append(Header("Content-Length", str(len(body))))
        request = Request(
            method="NOTIFY", uri=sub.watcher.contact, headers=tuple(headers), body=body
        )
        await self._send(sub.watcher, request)


def sipc_presence_body(entries: list[tuple[Account, int]], *, domain: str) -> str:
    """A ``BN PresenceV4`` body for some contacts [009, 010]."""
    parts = []
    for account, value in entries:
        b = 0 if value in (State.OFFLINE, State.HIDDEN) else value
        uri = outbound.user_uri(account.sid, domain)
        parts.append(
            f"<c id={outbound.attr(account.user_id)}>"
            f"<p sid={outbound.attr(account.sid)} su={outbound.attr(uri)}"
            f" n={outbound.attr(account.display_name)} i={outbound.attr(account.impresa)}/>"
            f'<pr b="{b}" dt="PC"/></c>'
        )
    return (
        '<events><event type="PresenceChanged"><contacts>'
        + "".join(parts)
        + "</contacts></event></events>"
    )


def pidf(account: Account, value: int, *, domain: str) -> bytes:
    """An RFC 3863 PIDF document with an RFC 4480 activity and the Fetion value as a note."""
    is_open = value not in (State.OFFLINE, State.HIDDEN)
    entity = outbound.user_uri(account.sid, domain)
    activity = ACTIVITY.get(State(value)) if value in VALID_STATES else None
    person = ""
    if activity:
        person = (
            f'<dm:person id="p1"><rpid:activities><rpid:{activity}/></rpid:activities></dm:person>'
        )
    note = escape(account.impresa) if account.impresa else ""
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf"'
        ' xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"'
        ' xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"'
        f" entity={outbound.attr(entity)}>"
        f'<tuple id="columba"><status><basic>{"open" if is_open else "closed"}</basic>'
        f"</status><note>{note}</note></tuple>{person}"
        f"<note>{value if is_open else 'offline'}</note></presence>"
    )
    return doc.encode()
