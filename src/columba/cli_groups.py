"""``columba group create``: make a group from the command line (the demo's, scripts').

``columba group create --name Demo --owner <sid> --member <sid> --robot faq --robot
welcome:all`` creates the group, makes the members members (no invitation round), and adds
robots with their read scope (``mentions`` unless ``:all``). The built-in robots are
registered first if the server has not started yet. Prints the group's URI. Exit status: 0
done, 1 refused (unknown user or robot), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from columba.cli_config import add_config_arguments
from columba.config import Config, ConfigError, load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba group``."""
    group = commands.add_parser("group", help="manage groups")
    actions = group.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True
    create = actions.add_parser("create", help="create a group with members and robots")
    add_config_arguments(create)
    create.add_argument("--name", required=True, help="the group's name")
    create.add_argument("--owner", required=True, help="the owner's sid or number")
    create.add_argument("--member", action="append", default=[], help="a member's sid or number")
    create.add_argument(
        "--robot", action="append", default=[], help="a robot's name, ':all' to let it read all"
    )
    create.set_defaults(handler=run_create)


def run_create(args: argparse.Namespace) -> int:
    """``columba group create``."""
    try:
        config = load_config(args.config, data_dir=args.data_dir)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"columba group: {line}", file=sys.stderr)
        return 2
    return asyncio.run(_create(config, args))


async def _create(config: Config, args: argparse.Namespace) -> int:
    from columba.groups.rules import ReadScope, group_uri
    from columba.robots.builtin import faq, remind, welcome
    from columba.robots.server import register_robot
    from columba.storage import Account, NotFound, Store, open_store

    async def find(store: Store, identity: str) -> Account:
        if identity.isdigit() and len(identity) == 9:
            return await store.account_by_sid(identity)
        return await store.account_by_number(
            identity if identity.startswith("+") else "+" + identity
        )

    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    store = await open_store(config.storage.url)
    async with store:
        try:
            owner = await find(store, args.owner)
            members = [await find(store, m) for m in args.member]
        except (NotFound, ValueError):
            print("columba group create: no such user", file=sys.stderr)
            return 1
        known = {r.name: r for r in await store.groups.robots()}
        for module in (faq, remind, welcome):
            if module.NAME not in known:
                made = await register_robot(
                    store,
                    name=module.NAME,
                    owner_id=None,
                    transport="webhook",
                    description=module.DESCRIPTION,
                    is_builtin=True,
                )
                known[module.NAME] = made.robot
        robots = []
        for spec in args.robot:
            name, _, scope = spec.partition(":")
            if name not in known or scope not in (
                "",
                ReadScope.ALL.value,
                ReadScope.MENTIONS.value,
            ):
                print(f"columba group create: no robot {spec!r}", file=sys.stderr)
                return 1
            robots.append((known[name], scope or ReadScope.MENTIONS.value))
        group = await store.groups.create_group(
            name=args.name,
            bulletin="",
            owner_id=owner.user_id,
            member_limit=config.groups.member_limit,
        )
        for member in members:
            if member.user_id != owner.user_id:
                await store.groups.set_role(group.group_id, member.user_id, "member")
        for robot, scope in robots:
            await store.groups.add_robot(
                group.group_id, robot.robot_id, read_scope=scope, added_by=owner.user_id
            )
    print(f"created group={group_uri(group.group_id, config.server.domain)} name={args.name}")
    return 0
