"""The robot server: registrations, which robot gets which message, and robots' answers.

Between the group server and the robots (DESIGN.md P2): the group server stores a message and,
in the same transaction, the events :meth:`RobotServer.router` says the group's robots may
read (their read scope, no robot-to-robot chatter, a hop limit). :class:`~.worker.Deliverer`
then delivers the outbox; a robot's answer (inline in its webhook response, or posted to
``/robot/v1/messages``) comes back through :meth:`RobotServer.post_as` and enters the group as
the robot, like any member's message. A robot is an account (a sid, presence 499) so members,
1:1 chats and clients need nothing special to show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from columba.groups import rules
from columba.robots import envelope
from columba.robots.config import RobotsConfig
from columba.robots.limits import RobotLimits
from columba.robots.targets import TargetRefused, check_target
from columba.storage import Account, NotFound, Store, StoredMessage
from columba.storage.group_records import Robot
from columba.storage.groups import EventRouter, EventRow, RobotSlot

if TYPE_CHECKING:
    from columba.servers.groups.service import GroupService

#: An in-process robot: takes the signed request (body, headers), returns status and JSON.
InternalHandler = Callable[[bytes, Mapping[str, str]], Awaitable[tuple[int, object]]]

TRANSPORTS = ("webhook", "poll", "websocket")
_NAME = re.compile(r"[a-z][a-z0-9_-]{1,31}")


class RobotError(Exception):
    """A robot request that cannot be served; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A new robot and its credentials (shown once, never stored in clear)."""

    robot: Robot
    account: Account
    token: str
    signing_secret: str


async def register_robot(
    store: Store,
    *,
    name: str,
    owner_id: int | None,
    transport: str,
    webhook_url: str = "",
    description: str = "",
    is_builtin: bool = False,
) -> Registration:
    """Create a robot's account and registration (no checks: :meth:`RobotServer.register`
    checks; ``columba group`` uses this directly for the built-in robots)."""
    account = await store.create_account(display_name=name, password_hash="!robot")
    token = "rbt_" + secrets.token_urlsafe(32)
    secret = secrets.token_hex(32)
    robot = await store.groups.create_robot(
        robot_id=account.user_id,
        name=name,
        owner_id=owner_id,
        token_hash=envelope.token_hash(token),
        signing_secret=secret,
        transport=transport,
        webhook_url=webhook_url,
        description=description[:200],
        is_builtin=is_builtin,
    )
    return Registration(robot=robot, account=account, token=token, signing_secret=secret)


def _text_of(message: StoredMessage) -> str:
    return message.body.decode("utf-8", "replace")


class RobotServer:
    """Robots of one node, and the hand-offs between groups and robots."""

    def __init__(self, *, groups: GroupService, config: RobotsConfig) -> None:
        self.groups = groups
        self.im = groups.im
        self.store = groups.store
        self.config = config
        self.limits = RobotLimits(
            per_chat_per_minute=config.per_chat_per_minute,
            chat_burst=config.chat_burst,
            per_second=config.per_second,
        )
        self.internal: dict[int, InternalHandler] = {}
        self._robots: dict[int, Robot] = {}
        self._names: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._pollers: dict[int, asyncio.Event] = {}

    async def start(self) -> None:
        """Load the registered robots."""
        for robot in await self.store.robots():
            self._remember(robot)

    def _remember(self, robot: Robot) -> None:
        self._robots[robot.robot_id] = robot
        self._names[robot.name] = robot.robot_id

    # -- registry ------------------------------------------------------------------------------

    async def register(
        self,
        *,
        name: str,
        owner: Account | None,
        transport: str,
        webhook_url: str = "",
        description: str = "",
        is_builtin: bool = False,
    ) -> Registration:
        """Register a robot: its account, token and signing secret.

        Raises:
            RobotError: Bad name, transport or webhook URL (400), name taken (409).
        """
        if not _NAME.fullmatch(name):
            raise RobotError(400, "name: 2-32 of a-z 0-9 _ -, starting with a letter")
        if transport not in TRANSPORTS:
            raise RobotError(400, f"transport must be one of {', '.join(TRANSPORTS)}")
        if transport == "webhook" and not is_builtin:
            try:
                await check_target(webhook_url, allow_private=self.config.allow_private_webhooks)
            except TargetRefused as exc:
                raise RobotError(400, str(exc)) from None
        if name in self._names:
            raise RobotError(409, f"a robot is already named {name!r}")
        made = await register_robot(
            self.im.store,
            name=name,
            owner_id=owner.user_id if owner is not None else None,
            transport=transport,
            webhook_url=webhook_url,
            description=description,
            is_builtin=is_builtin,
        )
        self._remember(made.robot)
        return made

    async def rotate(self, robot: Robot) -> Registration:
        """New token and signing secret for a robot (a built-in's change at every start)."""
        token = "rbt_" + secrets.token_urlsafe(32)
        secret = secrets.token_hex(32)
        robot = await self.store.update_robot(
            robot.robot_id, token_hash=envelope.token_hash(token), signing_secret=secret
        )
        self._remember(robot)
        account = await self.im.account(robot.robot_id)
        return Registration(robot=robot, account=account, token=token, signing_secret=secret)

    async def is_robot(self, user_id: int) -> bool:
        """True when the account is a robot's."""
        return user_id in self._robots

    async def by_name(self, name: str) -> Robot | None:
        """A robot by name."""
        robot_id = self._names.get(name)
        return None if robot_id is None else self._robots.get(robot_id)

    def robot(self, robot_id: int) -> Robot | None:
        """A robot by id."""
        return self._robots.get(robot_id)

    def robots(self) -> list[Robot]:
        """Every robot, by name."""
        return sorted(self._robots.values(), key=lambda r: r.name)

    async def authenticate(self, authorization: str) -> Robot:
        """The robot a ``Bearer`` token belongs to (``RobotError`` 401 otherwise)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise RobotError(401, "Authorization: Bearer <robot token> required")
        try:
            robot = await self.store.robot_by_token_hash(envelope.token_hash(token.strip()))
        except NotFound:
            raise RobotError(401, "unknown robot token") from None
        return robot

    # -- group server → robot server -----------------------------------------------------------

    def router(self, sender: Account, *, hop: int) -> EventRouter:
        """What the group server's transaction calls to build the robots' events."""

        def route(
            message: StoredMessage, slots: Sequence[RobotSlot], sender_is_robot: bool
        ) -> list[EventRow]:
            text = _text_of(message)
            found = rules.command(text)
            mentioned = rules.mentions(text)
            rows: list[EventRow] = []
            for robot_id, name, scope in slots:
                if not rules.robot_reads(
                    scope=rules.ReadScope(scope),
                    robot_name=name,
                    text=text,
                    sender_is_robot=sender_is_robot,
                    is_own=robot_id == sender.user_id,
                    hop=hop,
                ):
                    continue
                payload = envelope.group_message_payload(
                    robot_name=name,
                    group_id=message.conversation_id,
                    message_id=message.message_id,
                    seq=message.seq,
                    sender_sid=sender.sid,
                    sender_name=sender.display_name,
                    text=text,
                    mentions=mentioned,
                    command=None if found is None else (found.name, found.args),
                    hop=hop,
                )
                chat = f"g{message.conversation_id}"
                rows.append((robot_id, chat, f"ev-{message.message_id}-{robot_id}", payload))
            return rows

        return route

    async def member_event(self, group_id: int, kind: str, account: Account) -> None:
        """Tell a group's robots that someone joined or left (robots never hear of robots)."""
        if account.user_id in self._robots:
            return
        stamp = time.time_ns()
        rows: list[EventRow] = []
        for slot in await self.store.group_robots(group_id):
            payload = envelope.member_event_payload(
                robot_name=slot.robot.name,
                kind=kind,
                group_id=group_id,
                user_sid=account.sid,
                user_name=account.display_name,
            )
            event_id = f"ev-{kind}-{group_id}-{account.user_id}-{stamp}-{slot.robot.robot_id}"
            rows.append((slot.robot.robot_id, f"g{group_id}", event_id, payload))
        if rows:
            self.wake(await self.store.queue_events(rows))

    async def to_robot(self, sender: Account, recipient: Account, stored: StoredMessage) -> None:
        """A user's 1:1 message to a robot (stored already): queue it for the robot."""
        robot = self._robots.get(recipient.user_id)
        if robot is None or sender.user_id in self._robots:
            return
        payload = envelope.direct_message_payload(
            robot_name=robot.name,
            message_id=stored.message_id,
            sender_sid=sender.sid,
            sender_name=sender.display_name,
            text=_text_of(stored),
        )
        row = (
            robot.robot_id,
            f"u{sender.sid}",
            f"ev-{stored.message_id}-{robot.robot_id}",
            payload,
        )
        self.wake(await self.store.queue_events([row]))

    def wake(self, robot_ids: Sequence[int] = ()) -> None:
        """New events are in the outbox (for ``robot_ids``)."""
        self._wake.set()
        for robot_id in robot_ids:
            poller = self._pollers.get(robot_id)
            if poller is not None:
                poller.set()

    async def wait_work(self, seconds: float) -> None:
        """For the deliverer: wait until woken or ``seconds`` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(seconds, 0.0))
        self._wake.clear()

    async def wait_events(self, robot_id: int, seconds: float) -> None:
        """For long polling: wait until the robot has new events or ``seconds`` pass."""
        poller = self._pollers.setdefault(robot_id, asyncio.Event())
        poller.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poller.wait(), timeout=seconds)

    # -- robot → group server ------------------------------------------------------------------

    async def post_as(
        self,
        robot: Robot,
        *,
        chat: str,
        text: str,
        key: str,
        hop: int = 1,
        limited: bool = True,
    ) -> StoredMessage:
        """A robot's message into a group (``g<id>``) or a 1:1 chat (``u<sid>``).

        ``key`` makes it idempotent: the same key again returns the first message.

        Raises:
            RobotError: 400 bad chat or text, 403 not in that group, 404 no such chat,
                429 over the rate limit (with ``retry_after``).
        """
        if not text.strip() or len(text) > self.im.config.max_message_chars:
            raise RobotError(400, "text must be 1 to max_message_chars characters")
        if not key or len(key) > 200:
            raise RobotError(400, "Idempotency-Key must be 1-200 characters")
        if limited:
            wait = self.limits.take(robot.robot_id, chat, time.monotonic())
            if wait:
                raise RobotError(429, "rate limited", retry_after=wait)
        account = await self.im.account(robot.robot_id)
        body = text.encode()
        client_key = f"robot:{key}"
        if chat.startswith("g") and chat[1:].isdigit():
            from columba.storage.groups import NotMember

            try:
                posted = await self.groups.post(
                    sender=account,
                    group_id=int(chat[1:]),
                    content_type="text/plain;charset=utf-8",
                    body=body,
                    client_key=client_key,
                    sending_device=None,
                    hop=hop,
                )
            except NotFound:
                raise RobotError(404, "no such group") from None
            except NotMember:
                raise RobotError(403, "the robot is not in that group") from None
            if limited and posted.message.is_duplicate:
                self.limits.refund(robot.robot_id, chat)
            return posted.message
        if chat.startswith("u"):
            user = await self.im.account_for(chat[1:])
            if user is None:
                raise RobotError(404, "no such user")
            stored = await self.im.delivery.submit(
                sender=account,
                recipient=user,
                content_type="text/plain;charset=utf-8",
                body=body,
                client_key=client_key,
            )
            if limited and stored.is_duplicate:
                self.limits.refund(robot.robot_id, chat)
            return stored
        raise RobotError(400, "chat must be g<group id> or u<sid>")
