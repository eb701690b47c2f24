"""SIP-C ``S`` operations on groups (fetion-sipc.md §3.4, with Columba's additions).

Fetion's own: ``PGGetGroupList``, ``PGGetGroupInfo``, ``PGGetGroupMembers``, ``PGApplyGroup``.
Columba adds the management operations Fetion's clients did on the web (create, invite,
accept, leave, kick, roles, mute, bulletin) and the robots (``PGGetGroupRobots``,
``PGAddRobot``, ``PGRemoveRobot``), spelled the same way: ``<args><group uri=…>…</group></args>``
in, ``<results>…</results>`` out. Each operation returns ``(status, body)``; refusals are
403 (role), 404 (no such group, user or robot), 409 (already in), 486 (group full).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from columba.core.registry import Binding
from columba.groups import rules
from columba.groups.rules import Identity, ReadScope, Role
from columba.protocol.errors import ParseError
from columba.protocol.sipc.bodies import element
from columba.servers.groups.args import (
    account_arg,
    group_element,
    group_id_arg,
    member_arg,
    ok_results,
    role_in,
    service_of,
    text_arg,
)
from columba.servers.groups.queries import group_info, group_list, group_members, group_robots
from columba.storage import Account, NotFound
from columba.storage.groups import GroupFull

if TYPE_CHECKING:
    from columba.servers.groups.service import GroupService
    from columba.servers.im.server import ImServer

Operation = Callable[["ImServer", Binding, Account, ET.Element], Awaitable[tuple[int, str]]]


async def create_group(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGCreateGroup``: a new group with the caller as owner."""
    del binding
    service = service_of(server)
    node = args.find("group")
    if node is None:
        raise ParseError("<group name=…> required")
    name = (text_arg(node, "name", service.config.max_name_chars) or "").strip()
    if not name:
        raise ParseError("the group needs a name")
    bulletin = text_arg(node, "bulletin", service.config.max_bulletin_chars) or ""
    try:
        limit = int(node.get("limit-member-count", service.config.member_limit))
    except ValueError:
        raise ParseError("limit-member-count must be a number") from None
    limit = max(2, min(limit, service.config.member_limit))
    if len(await service.store.groups_of(account.user_id)) >= service.config.max_groups_per_user:
        return 403, ""
    group = await service.create(account, name=name, bulletin=bulletin, limit=limit)
    body = group_element(service, group, identity=int(Identity.OWNER), role="owner")
    return 200, f"<results>{body}</results>"


async def invite_member(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGInviteMember``: an admin invites a user, who answers with ``PGHandleInvite``."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    if not rules.may_manage(await role_in(service, group_id, account.user_id)):
        return 403, ""
    invitee = await account_arg(server, node.find("member"))
    if invitee is None:
        return 404, ""
    if await service.robots_has(invitee.user_id):
        return 400, ""
    current = await role_in(service, group_id, invitee.user_id)
    if current is not None and current.is_member:
        return 409, ""
    if current is Role.APPLIED:  # asked already: inviting accepts
        return await _join(service, group_id, invitee)
    await service.store.set_role(group_id, invitee.user_id, Role.INVITED.value)
    group = await service.store.group(group_id)
    inviter = element(
        "member", {"uri": service.user_uri(account), "nickname": account.display_name}
    )
    await service.tell_user(invitee.user_id, "InviteGroup", group, inviter)
    return 200, ok_results(service, group_id)


async def _join(service: GroupService, group_id: int, account: Account) -> tuple[int, str]:
    try:
        await service.store.set_role(group_id, account.user_id, Role.MEMBER.value)
    except GroupFull:
        return 486, ""
    await service.member_changed(group_id, "MemberJoined", account)
    return 200, ok_results(service, group_id)


async def handle_invite(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGHandleInvite``: the invitee accepts (``result="1"``) or refuses."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    if await role_in(service, group_id, account.user_id) is not Role.INVITED:
        return 403, ""
    if node.get("result", "1") != "1":
        await service.store.remove_member(group_id, account.user_id)
        return 200, ok_results(service, group_id)
    return await _join(service, group_id, account)


async def apply_group(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGApplyGroup``: ask to join; the admins are told (``BN PGGroup ApplyGroup``)."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    try:
        await service.store.group(group_id)
    except NotFound:
        return 404, ""
    current = await role_in(service, group_id, account.user_id)
    if current is not None and current.is_member:
        return 409, ""
    if current is Role.INVITED:  # invited already: applying accepts
        return await _join(service, group_id, account)
    desc = text_arg(node, "desc", 200) or ""
    await service.store.set_role(group_id, account.user_id, Role.APPLIED.value, note=desc)
    applicant = element("member", {"uri": service.user_uri(account), "desc": desc})
    await service.tell_admins(group_id, "ApplyGroup", applicant)
    return 200, ok_results(service, group_id)


async def handle_apply(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGHandleApply``: an admin accepts (``result="1"``) or refuses an applicant."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    if not rules.may_manage(await role_in(service, group_id, account.user_id)):
        return 403, ""
    member = node.find("member")
    applicant = await account_arg(server, member)
    if applicant is None or await role_in(service, group_id, applicant.user_id) is not Role.APPLIED:
        return 404, ""
    assert member is not None
    if member.get("result", "1") != "1":
        await service.store.remove_member(group_id, applicant.user_id)
        return 200, ok_results(service, group_id)
    return await _join(service, group_id, applicant)


async def leave_group(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGLeaveGroup``: a member leaves (the owner cannot)."""
    del binding
    service = service_of(server)
    group_id = group_id_arg(args.find("group"))
    role = await role_in(service, group_id, account.user_id)
    if role is None:
        return 404, ""
    if role is Role.OWNER:
        return 403, ""
    await service.store.remove_member(group_id, account.user_id)
    await service.member_changed(group_id, "MemberLeft", account, users=[account.user_id])
    return 200, ok_results(service, group_id)


async def kick_member(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGKickMember``: an admin removes a member (only the owner removes admins)."""
    del binding
    service = service_of(server)
    group_id, _, target = await member_arg(server, args)
    if target is None:
        return 404, ""
    actor = await role_in(service, group_id, account.user_id)
    if not rules.may_kick(actor, await role_in(service, group_id, target.user_id)):
        return 403, ""
    await service.store.remove_member(group_id, target.user_id)
    await service.member_changed(group_id, "MemberKicked", target, users=[target.user_id])
    return 200, ok_results(service, group_id)


async def set_member_role(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGSetMemberRole``: the owner makes a member admin, or an admin a member."""
    del binding
    service = service_of(server)
    group_id, member, target = await member_arg(server, args)
    if target is None:
        return 404, ""
    try:
        new = Role(member.get("role", ""))
    except ValueError:
        raise ParseError("role must be admin or member") from None
    actor = await role_in(service, group_id, account.user_id)
    if not rules.may_set_role(actor, await role_in(service, group_id, target.user_id), new):
        return 403, ""
    await service.store.set_role(group_id, target.user_id, new.value)
    await service.member_changed(group_id, "RoleChanged", target)
    return 200, ok_results(service, group_id)


async def mute_member(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGMuteMember``: an admin mutes a member for ``seconds`` (0 unmutes)."""
    del binding
    service = service_of(server)
    group_id, member, target = await member_arg(server, args)
    if target is None:
        return 404, ""
    try:
        seconds = max(0, min(int(member.get("seconds", "600")), 30 * 86400))
    except ValueError:
        raise ParseError("seconds must be a number") from None
    actor = await role_in(service, group_id, account.user_id)
    if not rules.may_kick(actor, await role_in(service, group_id, target.user_id)):
        return 403, ""
    await service.store.mute(group_id, target.user_id, seconds=seconds)
    await service.member_changed(group_id, "MemberMuted", target)
    return 200, ok_results(service, group_id)


async def set_group_info(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGSetGroupInfo``: an admin renames the group or changes its bulletin."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    if not rules.may_manage(await role_in(service, group_id, account.user_id)):
        return 403, ""
    name = text_arg(node, "name", service.config.max_name_chars)
    bulletin = text_arg(node, "bulletin", service.config.max_bulletin_chars)
    group = await service.store.update_group(
        group_id, name=name.strip() or None if name is not None else None, bulletin=bulletin
    )
    await service.tell(group_id, "GroupInfoChanged", "")
    return 200, f"<results>{group_element(service, group)}</results>"


async def add_robot(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGAddRobot``: an admin adds a robot with a read scope every member can see."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    robot_node = node.find("robot")
    if robot_node is None:
        raise ParseError("<robot uri=… | name=…> required")
    try:
        scope = ReadScope(robot_node.get("read-scope", ReadScope.MENTIONS.value))
    except ValueError:
        raise ParseError("read-scope must be mentions or all") from None
    if not rules.may_manage(await role_in(service, group_id, account.user_id)):
        return 403, ""
    robot_id = await service.find_robot(server, robot_node)
    if robot_id is None:
        return 404, ""
    await service.add_robot(group_id, robot_id, scope, added_by=account)
    return 200, ok_results(service, group_id)


async def remove_robot(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``PGRemoveRobot``: an admin takes a robot out of the group."""
    del binding
    service = service_of(server)
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    robot_node = node.find("robot")
    if robot_node is None:
        raise ParseError("<robot uri=… | name=…> required")
    if not rules.may_manage(await role_in(service, group_id, account.user_id)):
        return 403, ""
    robot_id = await service.find_robot(server, robot_node)
    if robot_id is None or not await service.store.remove_robot(group_id, robot_id):
        return 404, ""
    await service.tell(
        group_id, "RobotRemoved", element("robot", {"uri": robot_node.get("uri", "")})
    )
    return 200, ok_results(service, group_id)


OPERATIONS: dict[str, Operation] = {
    "PGGetGroupList": group_list,
    "PGGetGroupInfo": group_info,
    "PGGetGroupMembers": group_members,
    "PGGetGroupRobots": group_robots,
    "PGCreateGroup": create_group,
    "PGInviteMember": invite_member,
    "PGHandleInvite": handle_invite,
    "PGApplyGroup": apply_group,
    "PGHandleApply": handle_apply,
    "PGLeaveGroup": leave_group,
    "PGKickMember": kick_member,
    "PGSetMemberRole": set_member_role,
    "PGMuteMember": mute_member,
    "PGSetGroupInfo": set_group_info,
    "PGAddRobot": add_robot,
    "PGRemoveRobot": remove_robot,
}
