"""Reading the ``<args>`` of group operations, and the small answers they share."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from columba.groups import rules
from columba.groups.rules import Role
from columba.protocol.errors import ParseError
from columba.protocol.sip.uri import parse_uri
from columba.protocol.sipc.bodies import element
from columba.servers.im.register import uri_identity
from columba.storage import Account
from columba.storage.group_records import Group

if TYPE_CHECKING:
    from columba.servers.groups.service import GroupService
    from columba.servers.im.server import ImServer


def service_of(server: ImServer) -> GroupService:
    """The node's group service (handlers route here only when groups are on)."""
    service = server.groups
    assert service is not None  # handlers route here only when groups are on
    return service


def group_id_arg(node: ET.Element | None) -> int:
    """The group id in a ``<group uri="sip:PG<id>@…">`` element (``ParseError`` if none)."""
    if node is None or not node.get("uri"):
        raise ParseError("<group uri=…> required")
    uri = parse_uri(node.get("uri", ""), allow_bare=True)
    group_id = rules.group_id_of(uri_identity(uri))
    if group_id is None:
        raise ParseError("not a group URI (sip:PG<id>@…)")
    return group_id


def find_group(args: ET.Element) -> ET.Element | None:
    """``<group>`` or ``<groups><group>`` in the args (Fetion used both)."""
    return args.find("groups/group") if args.find("group") is None else args.find("group")


async def role_in(service: GroupService, group_id: int, user_id: int) -> Role | None:
    """A user's role in a group, or None."""
    member = await service.store.member(group_id, user_id)
    return None if member is None else Role(member.role)


async def account_arg(server: ImServer, node: ET.Element | None) -> Account | None:
    """The account a ``<member uri=…>`` names, or None (``ParseError`` without a uri)."""
    if node is None or not node.get("uri"):
        raise ParseError("<member uri=…> required")
    identity = uri_identity(parse_uri(node.get("uri", ""), allow_bare=True))
    return await server.account_for(identity) if identity else None


async def member_arg(server: ImServer, args: ET.Element) -> tuple[int, ET.Element, Account | None]:
    """``<group uri><member uri …/></group>`` of an operation on one member: the group id, the
    ``<member>`` element (for its other attributes) and its account, None if no such user
    (``ParseError`` when either uri is missing)."""
    node = args.find("group")
    group_id = group_id_arg(node)
    assert node is not None
    member = node.find("member")
    target = await account_arg(server, member)
    assert member is not None
    return group_id, member, target


def group_element(service: GroupService, group: Group, **extra: object) -> str:
    """``<group …/>`` with the group's attributes."""
    return element(
        "group",
        {
            "uri": service.uri(group.group_id),
            "name": group.name,
            "bulletin": group.bulletin,
            "current-member-count": group.member_count,
            "limit-member-count": group.member_limit,
            "last-seq": group.last_seq,
            **extra,
        },
    )


def text_arg(node: ET.Element, name: str, limit: int) -> str | None:
    """An attribute's text, refused when longer than ``limit``."""
    value = node.get(name)
    if value is not None and len(value) > limit:
        raise ParseError(f"{name} is longer than {limit} characters")
    return value


def ok_results(service: GroupService, group_id: int) -> str:
    """``<results><group uri=…/></results>``: the answer of a management operation."""
    return f"<results>{element('group', {'uri': service.uri(group_id)})}</results>"
