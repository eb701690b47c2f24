"""Posting to groups and telling members what changed.

A message to a group is stored once, with a pending delivery for every device of every member
(:func:`columba.storage.groups.post`), and goes out through the same per-device outboxes as
1:1 messages: an online device gets it at once, an offline one when it next logs in, each
exactly once (the device acknowledges, the store forgets). The devices see it as ``M`` from
``sip:PG<id>@…`` with ``SO:`` naming the sender (fetion-sipc.md §3.4); the outbox knows a group
conversation by :attr:`DeliveryService.group_conversations`.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from columba.core import outbound
from columba.core.registry import Dialect
from columba.groups.rules import ReadScope, group_uri
from columba.protocol.errors import ParseError
from columba.protocol.sip.uri import parse_uri
from columba.protocol.sipc.bodies import element, events
from columba.servers.groups.presence import GroupPresence
from columba.servers.im.register import uri_identity
from columba.storage import Account, StoredMessage
from columba.storage.group_records import Group, PostedMessage
from columba.storage.groups import EventRow, RobotSlot

if TYPE_CHECKING:
    from columba.robots.server import RobotServer
    from columba.servers.im.server import ImServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupsConfig:
    """``[groups]``: limits of groups."""

    member_limit: int = 150
    max_groups_per_user: int = 100
    max_name_chars: int = 64
    max_bulletin_chars: int = 1000


def _no_robots(
    message: StoredMessage, robots: Sequence[RobotSlot], is_robot: bool
) -> list[EventRow]:
    del message, robots, is_robot
    return []


class GroupService:
    """Groups on one node: posting, membership caches, notifications."""

    def __init__(self, *, im: ImServer, config: GroupsConfig) -> None:
        self.im = im
        self.config = config
        self.store = im.store.groups
        self.robots: RobotServer | None = None
        self._members: dict[int, tuple[int, ...]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        #: Devices that sent ``SUB N: PGPresence``, told of members' presence changes.
        self.presence = GroupPresence(self)
        im.presence.observers.append(self.presence)

    async def start(self) -> None:
        """Teach the delivery outboxes which conversations are groups."""
        after = 0
        while True:
            page = await self.store.list_groups(after=after, limit=1000)
            if not page:
                return
            self.im.delivery.group_conversations.update(g.group_id for g in page)
            after = page[-1].group_id

    def uri(self, group_id: int) -> str:
        """The group's SIP URI."""
        return group_uri(group_id, self.im.config.domain)

    def user_uri(self, account: Account) -> str:
        """A member's SIP URI."""
        return outbound.user_uri(account.sid, self.im.config.domain)

    async def create(self, owner: Account, *, name: str, bulletin: str, limit: int) -> Group:
        """A new group owned by ``owner``."""
        group = await self.store.create_group(
            name=name, bulletin=bulletin, owner_id=owner.user_id, member_limit=limit
        )
        self.im.delivery.group_conversations.add(group.group_id)
        return group

    async def member_ids(self, group_id: int) -> tuple[int, ...]:
        """The user ids of the group's members (owner, admins, members), cached."""
        ids = self._members.get(group_id)
        if ids is None:
            members = await self.store.members(group_id)
            ids = tuple(m.user_id for m in members if m.role in ("owner", "admin", "member"))
            if len(self._members) > 10_000:
                self._members.clear()
            self._members[group_id] = ids
        return ids

    def forget(self, group_id: int) -> None:
        """Membership changed: drop the cached member list."""
        self._members.pop(group_id, None)

    async def post(
        self,
        *,
        sender: Account,
        group_id: int,
        content_type: str,
        body: bytes,
        client_key: str,
        sending_device: str | None,
        hop: int = 0,
    ) -> PostedMessage:
        """Store a message to a group, wake the members' devices, hand it to the robots.

        Raises:
            NotFound, NotMember, Muted: From the store.
        """
        route = _no_robots if self.robots is None else self.robots.router(sender, hop=hop)
        # One post per group at a time on this node: the outboxes get a group's messages in
        # sequence order (with PostgreSQL, concurrent commits could otherwise resume us in
        # another order).
        lock = self._locks.setdefault(group_id, asyncio.Lock())
        async with lock:
            posted = await self.store.post(
                group_id=group_id,
                sender_id=sender.user_id,
                sending_device=sending_device,
                content_type=content_type,
                body=body,
                client_key=client_key,
                route=route,
            )
            if posted.new is not None and not posted.message.is_duplicate:
                # Handed to the online devices' outboxes in memory, as 1:1 messages are.
                self.im.delivery.hand_over(posted.new, posted.message)
        if not lock.locked() and len(self._locks) > 10_000:
            self._locks.clear()
        if not posted.message.is_duplicate:
            for recipient in posted.new.recipients if posted.new is not None else ():
                self.im.registry.wake_elsewhere(recipient.user_id)
            if posted.robot_events and self.robots is not None:
                self.robots.wake(posted.robot_events)
        return posted

    async def tell(
        self, group_id: int, event_type: str, inner: str, *, users: Sequence[int] = ()
    ) -> None:
        """``BN PGGroup`` to the online SIP-C devices of the members (and ``users``)."""
        body = events(event_type, element("group", {"uri": self.uri(group_id)}, inner))
        for user_id in dict.fromkeys((*await self.member_ids(group_id), *users)):
            for binding in self.im.registry.bindings(user_id):
                if binding.dialect is Dialect.SIPC:
                    await self.im.notify(
                        binding, outbound.sipc_notification(binding, "PGGroup", body)
                    )

    async def member_changed(
        self, group_id: int, event_type: str, account: Account, *, users: Sequence[int] = ()
    ) -> None:
        """Tell the group (and ``users``, e.g. the one who left) about a member, and its robots."""
        self.forget(group_id)
        inner = element("member", {"uri": self.user_uri(account), "nickname": account.display_name})
        await self.tell(group_id, event_type, inner, users=users)
        if self.robots is not None and event_type in ("MemberJoined", "MemberLeft", "MemberKicked"):
            kind = "group.member_joined" if event_type == "MemberJoined" else "group.member_left"
            await self.robots.member_event(group_id, kind, account)

    async def tell_user(self, user_id: int, event_type: str, group: Group, inner: str) -> None:
        """``BN PGGroup`` about a group to one user who is not (yet) a member."""
        attrs: dict[str, object] = {"uri": self.uri(group.group_id), "name": group.name}
        await self._tell_users([user_id], events(event_type, element("group", attrs, inner)))

    async def tell_admins(self, group_id: int, event_type: str, inner: str) -> None:
        """``BN PGGroup`` to the group's owner and admins."""
        admins = [
            m.user_id for m in await self.store.members(group_id) if m.role in ("owner", "admin")
        ]
        body = events(event_type, element("group", {"uri": self.uri(group_id)}, inner))
        await self._tell_users(admins, body)

    async def _tell_users(self, user_ids: Sequence[int], body: str) -> None:
        for user_id in user_ids:
            for binding in self.im.registry.bindings(user_id):
                if binding.dialect is Dialect.SIPC:
                    await self.im.notify(
                        binding, outbound.sipc_notification(binding, "PGGroup", body)
                    )

    async def robots_has(self, user_id: int) -> bool:
        """True when the account is a robot's."""
        return self.robots is not None and await self.robots.is_robot(user_id)

    async def find_robot(self, im: ImServer, node: ET.Element) -> int | None:
        """The robot a ``<robot uri=…>`` or ``<robot name=…>`` element names, or None."""
        if self.robots is None:
            return None
        name = node.get("name")
        if name:
            robot = await self.robots.by_name(name)
            return None if robot is None else robot.robot_id
        uri = node.get("uri")
        if not uri:
            raise ParseError("<robot uri=… | name=…> required")
        identity = uri_identity(parse_uri(uri, allow_bare=True))
        account = await im.account_for(identity) if identity else None
        if account is None or not await self.robots.is_robot(account.user_id):
            return None
        return account.user_id

    async def add_robot(
        self, group_id: int, robot_id: int, scope: ReadScope, *, added_by: Account
    ) -> None:
        """Put a robot in a group with a read scope, and tell the members."""
        await self.store.add_robot(
            group_id, robot_id, read_scope=scope.value, added_by=added_by.user_id
        )
        robot = await self.im.account(robot_id)
        inner = element(
            "robot",
            {"uri": self.user_uri(robot), "name": robot.display_name, "read-scope": scope.value},
        )
        await self.tell(group_id, "RobotAdded", inner)

    async def to_robot(self, sender: Account, recipient: Account, stored: StoredMessage) -> None:
        """A stored 1:1 message: when its recipient is a robot, hand it to the robot server.

        Called for retransmissions too: the event id comes from the message id, so the event
        is queued once (and a crash between storing and queueing is mended by the retry).
        """
        if self.robots is not None:
            await self.robots.to_robot(sender, recipient, stored)
