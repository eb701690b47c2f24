"""``GroupStore``: the group and robot operations over the store's engine.

The store exposes it as ``store.groups``; each method runs one operation of
:mod:`columba.storage.groups` or :mod:`columba.storage.robots` in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

from columba.storage import groups, robots
from columba.storage.group_records import (
    Group,
    GroupRobot,
    Member,
    PostedMessage,
    Robot,
    RobotEvent,
)
from columba.storage.groups import EventRouter, EventRow
from columba.storage.sql import Engine


class GroupStore:
    """Groups, members, robots and the robot outbox.

    Args:
        engine: The store's (migrated) engine.
        clock: Seconds since the epoch, as ``time.time``.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def now(self) -> int:
        """The store's clock in microseconds."""
        return int(self._clock() * 1_000_000)

    # Groups -----------------------------------------------------------------------------------

    async def create_group(
        self, *, name: str, bulletin: str, owner_id: int, member_limit: int
    ) -> Group:
        now = self.now()
        return await self._engine.run(
            partial(
                groups.create_group,
                name=name,
                bulletin=bulletin,
                owner_id=owner_id,
                member_limit=member_limit,
                now=now,
            )
        )

    async def group(self, group_id: int) -> Group:
        return await self._engine.run(partial(groups.get_group, group_id), write=False)

    async def list_groups(self, *, after: int = 0, limit: int = 100) -> list[Group]:
        return await self._engine.run(
            partial(groups.list_groups, after=after, limit=limit), write=False
        )

    async def groups_of(self, user_id: int) -> list[tuple[Group, str]]:
        return await self._engine.run(partial(groups.groups_of, user_id), write=False)

    async def member(self, group_id: int, user_id: int) -> Member | None:
        return await self._engine.run(partial(groups.get_member, group_id, user_id), write=False)

    async def members(self, group_id: int) -> list[Member]:
        return await self._engine.run(partial(groups.list_members, group_id), write=False)

    async def set_role(self, group_id: int, user_id: int, role: str, *, note: str = "") -> Member:
        now = self.now()
        return await self._engine.run(
            partial(groups.set_role, group_id, user_id, role, note=note, now=now)
        )

    async def remove_member(self, group_id: int, user_id: int) -> bool:
        return await self._engine.run(partial(groups.remove_member, group_id, user_id))

    async def mute(self, group_id: int, user_id: int, *, seconds: float) -> Member:
        until = self.now() + int(seconds * 1_000_000) if seconds > 0 else 0
        return await self._engine.run(partial(groups.mute, group_id, user_id, until=until))

    async def update_group(
        self, group_id: int, *, name: str | None = None, bulletin: str | None = None
    ) -> Group:
        return await self._engine.run(
            partial(groups.update_group, group_id, name=name, bulletin=bulletin)
        )

    async def post(
        self,
        *,
        group_id: int,
        sender_id: int,
        sending_device: str | None,
        content_type: str,
        body: bytes,
        client_key: str,
        route: EventRouter,
    ) -> PostedMessage:
        now = self.now()
        dialect = self._engine.dialect
        return await self._engine.run(
            partial(
                groups.post,
                dialect,
                group_id=group_id,
                sender_id=sender_id,
                sending_device=sending_device,
                content_type=content_type,
                body=body,
                client_key=client_key,
                route=route,
                now=now,
            ),
            retry_on_conflict=True,
        )

    # Robots -----------------------------------------------------------------------------------

    async def create_robot(
        self,
        *,
        robot_id: int,
        name: str,
        owner_id: int | None,
        token_hash: str,
        signing_secret: str,
        transport: str,
        webhook_url: str = "",
        description: str = "",
        is_builtin: bool = False,
    ) -> Robot:
        now = self.now()
        return await self._engine.run(
            partial(
                robots.create_robot,
                robot_id=robot_id,
                name=name,
                owner_id=owner_id,
                token_hash=token_hash,
                signing_secret=signing_secret,
                transport=transport,
                webhook_url=webhook_url,
                description=description,
                is_builtin=is_builtin,
                now=now,
            )
        )

    async def robot(self, robot_id: int) -> Robot:
        return await self._engine.run(partial(robots.find_robot, "robot_id", robot_id), write=False)

    async def robot_by_name(self, name: str) -> Robot:
        return await self._engine.run(partial(robots.find_robot, "name", name), write=False)

    async def robot_by_token_hash(self, token_hash: str) -> Robot:
        return await self._engine.run(
            partial(robots.find_robot, "token_hash", token_hash), write=False
        )

    async def robots(self) -> list[Robot]:
        return await self._engine.run(robots.list_robots, write=False)

    async def update_robot(
        self,
        robot_id: int,
        *,
        webhook_url: str | None = None,
        token_hash: str | None = None,
        signing_secret: str | None = None,
    ) -> Robot:
        return await self._engine.run(
            partial(
                robots.update_robot,
                robot_id,
                webhook_url=webhook_url,
                token_hash=token_hash,
                signing_secret=signing_secret,
            )
        )

    async def add_robot(
        self, group_id: int, robot_id: int, *, read_scope: str, added_by: int
    ) -> None:
        now = self.now()
        await self._engine.run(
            partial(
                robots.add_to_group,
                group_id,
                robot_id,
                read_scope=read_scope,
                added_by=added_by,
                now=now,
            )
        )

    async def remove_robot(self, group_id: int, robot_id: int) -> bool:
        return await self._engine.run(partial(robots.remove_from_group, group_id, robot_id))

    async def group_robots(self, group_id: int) -> list[GroupRobot]:
        return await self._engine.run(partial(robots.robots_of_group, group_id), write=False)

    async def queue_events(self, events: list[EventRow]) -> tuple[int, ...]:
        now = self.now()
        return await self._engine.run(partial(groups.queue_events, events, now=now))

    async def due_events(self, *, limit: int = 64) -> list[RobotEvent]:
        now = self.now()
        return await self._engine.run(partial(robots.due_events, now=now, limit=limit), write=False)

    async def next_due(self, *, excluding: Sequence[int] = ()) -> int | None:
        return await self._engine.run(partial(robots.next_due, excluding=excluding), write=False)

    async def pending_events(
        self, robot_id: int, *, after: int, limit: int = 100
    ) -> list[RobotEvent]:
        return await self._engine.run(
            partial(robots.pending_events, robot_id, after=after, limit=limit), write=False
        )

    async def event(self, event_id: str) -> RobotEvent:
        return await self._engine.run(partial(robots.get_event, event_id), write=False)

    async def settle(
        self, event_seq: int, *, state: str, attempts: int, retry_in: float = 0
    ) -> None:
        at = self.now() + int(retry_in * 1_000_000)
        await self._engine.run(
            partial(robots.settle, event_seq, state=state, attempts=attempts, next_attempt_at=at)
        )

    async def ack_events(self, robot_id: int, up_to: int) -> int:
        return await self._engine.run(partial(robots.ack_up_to, robot_id, up_to))
