"""Starting the group server and the robot server inside a node (``columba serve``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from columba.robots import builtin
from columba.robots.config import RobotsConfig
from columba.robots.server import RobotServer
from columba.robots.worker import Deliverer
from columba.servers.groups.service import GroupsConfig, GroupService

if TYPE_CHECKING:
    from columba.servers.node import Node


async def start_groups(node: Node, group: asyncio.TaskGroup) -> RobotServer | None:
    """Turn groups on (``[groups]``) and, with them, the robot server (``[robots]``).

    The deliverer and the built-in robots run in ``group``, the node's task group. Returns the
    robot server, or None when robots (or groups) are off.
    """
    config = node.config
    if not config.groups.enabled:
        return None
    service = GroupService(
        im=node.im,
        config=GroupsConfig(
            member_limit=config.groups.member_limit,
            max_groups_per_user=config.groups.max_groups_per_user,
        ),
    )
    await service.start()
    node.im.groups = service
    table = config.robots
    if not table.enabled:
        return None
    robots = RobotServer(
        groups=service,
        config=RobotsConfig(
            builtin=table.builtin,
            allow_private_webhooks=table.allow_private_webhooks,
            timeout=table.timeout,
            retry_base=table.retry_base,
            retry_max=table.retry_max,
            give_up_after=table.give_up_after,
            per_chat_per_minute=table.per_chat_per_minute,
            per_second=table.per_second,
        ),
    )
    await robots.start()
    service.robots = robots
    group.create_task(Deliverer(robots).run())
    if table.builtin:
        await builtin.start(robots, data_dir=config.server.data_dir, group=group)
    return robots
