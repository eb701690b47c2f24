"""The robots Columba ships, run inside the node.

They are registered like any robot (an account, a signing secret, a row in ``robots``) and get
their events from the same durable outbox, signed; only the last hop differs: instead of an
HTTP POST to a loopback webhook, the robot server calls the robot's ``handle_request`` in
process (``RobotServer.internal``), and the robot posts its answers through
``RobotServer.post_as`` with the same idempotency keys and rate limits as the HTTP API. So
no private-network exception is needed for them, and they cost no sockets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from columba.bot import Bot, SqliteStorage
from columba.robots.builtin import faq, remind, welcome
from columba.robots.server import RobotError, RobotServer
from columba.storage.group_records import Robot


class InProcessApi:
    """The robot API for a robot running in the node."""

    def __init__(self, server: RobotServer, robot: Robot) -> None:
        self._server = server
        self._robot = robot

    async def send(
        self, *, chat: str, text: str, key: str, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        del in_reply_to
        for _ in range(5):
            try:
                stored = await self._server.post_as(self._robot, chat=chat, text=text, key=key)
            except RobotError as exc:
                if exc.status == 429 and exc.retry_after is not None:
                    await asyncio.sleep(min(exc.retry_after, 60.0))
                    continue
                raise
            return {
                "message_id": stored.message_id,
                "seq": stored.seq,
                "duplicate": stored.is_duplicate,
            }
        raise RobotError(429, "rate limited")


async def start(server: RobotServer, *, data_dir: Path, group: asyncio.TaskGroup) -> list[Bot]:
    """Register (on first start) and run the built-in robots in ``group``."""
    state_dir = data_dir / "robots"
    state_dir.mkdir(parents=True, exist_ok=True)
    bots = []
    for module in (faq, remind, welcome):
        robot = await server.by_name(module.NAME)
        if robot is None:
            made = await server.register(
                name=module.NAME,
                owner=None,
                transport="webhook",
                description=module.DESCRIPTION,
                is_builtin=True,
            )
            robot = made.robot
        api = InProcessApi(server, robot)
        storage = SqliteStorage(state_dir / f"{module.NAME}.db")
        bot = module.make(signing_secret=robot.signing_secret, api=api, storage=storage)
        server.internal[robot.robot_id] = bot.handle_request
        group.create_task(bot.run())
        if module is remind:
            group.create_task(remind.run_reminders(bot))
        bots.append(bot)
    return bots
