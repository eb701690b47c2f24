"""The read-only group operations: list, info, members, robots (fetion-sipc.md §3.4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from columba.core.registry import Binding
from columba.groups.rules import IDENTITY, ROBOT_PRESENCE, Identity, Role
from columba.protocol.sipc.bodies import element
from columba.servers.groups.args import find_group, group_element, group_id_arg, role_in, service_of
from columba.storage import Account, NotFound
from columba.storage.group_records import Group

if TYPE_CHECKING:
    from columba.servers.groups.service import GroupService
    from columba.servers.im.server import ImServer


async def group_list(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGGetGroupList`` [045, 046]: the user's groups with the user's identity in each."""
    del binding, args
    service = service_of(server)
    entries = []
    for group, role in await service.store.groups_of(account.user_id):
        attrs: dict[str, object] = {"uri": service.uri(group.group_id), "name": group.name}
        if Role(role) in IDENTITY:
            attrs["identity"] = int(IDENTITY[Role(role)])
        attrs["role"] = role
        entries.append(element("group", attrs))
    return 200, f'<results><group-list version="1">{"".join(entries)}</group-list></results>'


async def _readable(
    server: ImServer, account: Account, args: ET.Element
) -> tuple[GroupService, Group] | int:
    service = service_of(server)
    group_id = group_id_arg(find_group(args))
    try:
        group = await service.store.group(group_id)
    except NotFound:
        return 404
    role = await role_in(service, group_id, account.user_id)
    if role is None or not role.is_member:
        return 403
    return service, group


async def group_info(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGGetGroupInfo``: name, bulletin, member count and limit, newest sequence number."""
    del binding
    found = await _readable(server, account, args)
    if isinstance(found, int):
        return found, ""
    service, group = found
    return 200, f"<results><groups>{group_element(service, group)}</groups></results>"


async def group_members(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGGetGroupMembers``: members with identity, role, presence and mute; then robots."""
    del binding
    found = await _readable(server, account, args)
    if isinstance(found, int):
        return found, ""
    service, group = found
    now = service.store.now()
    entries = []
    for member in await service.store.members(group.group_id):
        role = Role(member.role)
        if not role.is_member:
            continue
        other = await server.account(member.user_id)
        muted = member.muted_until
        muted_until = int(muted.timestamp()) if muted and muted.timestamp() * 1e6 > now else 0
        entries.append(
            element(
                "member",
                {
                    "uri": service.user_uri(other),
                    "nickname": other.display_name,
                    "identity": int(IDENTITY[role]),
                    "role": role.value,
                    "state": server.presence.state(other.user_id),
                    "muted-until": muted_until,
                },
            )
        )
    for slot in await service.store.group_robots(group.group_id):
        robot = await server.account(slot.robot.robot_id)
        entries.append(
            element(
                "member",
                {
                    "uri": service.user_uri(robot),
                    "nickname": slot.robot.name,
                    "identity": int(Identity.ROBOT),
                    "role": "robot",
                    "state": ROBOT_PRESENCE,
                    "read-scope": slot.read_scope,
                },
            )
        )
    inner = element("group", {"uri": service.uri(group.group_id)}, "".join(entries))
    return 200, f"<results><groups>{inner}</groups></results>"


async def group_robots(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGGetGroupRobots``: the group's robots and what each may read (visible to all)."""
    del binding
    found = await _readable(server, account, args)
    if isinstance(found, int):
        return found, ""
    service, group = found
    entries = []
    for slot in await service.store.group_robots(group.group_id):
        robot = await server.account(slot.robot.robot_id)
        entries.append(
            element(
                "robot",
                {
                    "uri": service.user_uri(robot),
                    "name": slot.robot.name,
                    "description": slot.robot.description,
                    "read-scope": slot.read_scope,
                },
            )
        )
    inner = element("group", {"uri": service.uri(group.group_id)}, "".join(entries))
    return 200, f"<results><groups>{inner}</groups></results>"
