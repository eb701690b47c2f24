"""Group members' presence for devices that sent ``SUB N: PGPresence`` [047, 048].

After the subscription's first ``BN PGGroup`` (every group's members, see
:func:`columba.servers.groups.handlers.sipc_subscribe`), a subscribed device is told each later
change of a fellow member's presence (login, logout, ``SetPresenceV4``, a lost connection): one
``BN <sid>`` with ``N: PGGroup`` per device and change, listing each group the two share::

    <events><event type="PresenceChanged">
      <group uri="sip:PG12@D"><member uri="sip:<sid>@D" state="100"/></group>
      <group uri="sip:PG15@D"><member uri="sip:<sid>@D" state="100"/></group>
    </event></events>

``state`` is the value ``PGGetGroupMembers`` shows (-1 offline or hidden). Nobody is told about
themself, and robots (presence 499, never logged in) are not followed. Subscriptions live with
the device's login: a device that logs out or is lost is forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from columba.core import outbound
from columba.core.presence import State
from columba.core.registry import Binding, Dialect
from columba.protocol.sipc.bodies import element, events
from columba.storage import Account

if TYPE_CHECKING:
    from columba.servers.groups.service import GroupService

#: Roles whose presence is followed and who may subscribe (not applicants, not robots).
_MEMBER_ROLES = frozenset({"owner", "admin", "member"})


class GroupPresence:
    """Which devices watch their groups' presence, and telling them of changes.

    Registered as an observer of :class:`columba.core.presence.PresenceService`.
    """

    def __init__(self, service: GroupService) -> None:
        self._service = service
        self._subscribers: dict[int, list[Binding]] = {}
        #: The last state told (or not, with no subscribers) per user; absent: offline.
        self._last: dict[int, int] = {}

    def subscribe(self, binding: Binding) -> None:
        """A SIP-C device sent ``SUB N: PGPresence`` (again, or after logging in anew: once)."""
        devices = self._subscribers.setdefault(binding.user_id, [])
        devices[:] = [b for b in devices if b.device_id != binding.device_id]
        devices.append(binding)

    def is_subscribed(self, binding: Binding) -> bool:
        """True when the device subscribed and is still logged in."""
        return any(b is binding for b in self._subscribers.get(binding.user_id, ()))

    def watcher_dropped(self, binding: Binding) -> None:
        """The device logged out or its link died: forget its subscription."""
        devices = self._subscribers.get(binding.user_id)
        if devices is None:
            return
        devices[:] = [b for b in devices if b is not binding]
        if not devices:
            del self._subscribers[binding.user_id]

    async def presence_changed(self, account: Account, value: int) -> None:
        """``account`` now shows ``value``: tell its fellow members' subscribed devices.

        Called on every presence notice, including ones where only the contact list or the
        profile changed; only an actual change of the value is pushed.
        """
        user_id = account.user_id
        previous = self._last.get(user_id, State.OFFLINE)
        if value == State.OFFLINE:
            self._last.pop(user_id, None)
        else:
            self._last[user_id] = value
        if value == previous or not self._subscribers:
            return
        service = self._service
        shared: dict[int, list[int]] = {}  # watcher's user id -> group ids shared with account
        for group, role in await service.store.groups_of(user_id):
            if role not in _MEMBER_ROLES:
                continue
            for member_id in await service.member_ids(group.group_id):
                if member_id != user_id and member_id in self._subscribers:
                    shared.setdefault(member_id, []).append(group.group_id)
        if not shared:
            return
        member = element("member", {"uri": service.user_uri(account), "state": value})
        for watcher_id, group_ids in shared.items():
            inner = "".join(
                element("group", {"uri": service.uri(group_id)}, member) for group_id in group_ids
            )
            body = events("PresenceChanged", inner)
            for binding in list(self._subscribers.get(watcher_id, ())):
                if binding.is_active and binding.dialect is Dialect.SIPC:
                    await service.im.notify(
                        binding, outbound.sipc_notification(binding, "PGGroup", body)
                    )
