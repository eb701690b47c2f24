"""Who may do what in a group, and which messages a robot may read.

Roles follow Fetion's personal groups (fetion-sipc.md §3.4): an owner, admins and members,
with Columba's robots beside them (identity 4, presence 499). A robot's read scope is the
Telegram "privacy mode" idea made visible (sso-bots.md B.3 item 3, B.5 item 1): by default it
reads only messages that mention it or are commands; an admin may grant it every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Role(StrEnum):
    """A user's standing in a group."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    INVITED = "invited"
    """Invited by an admin; becomes a member on accepting."""
    APPLIED = "applied"
    """Asked to join; becomes a member when an admin accepts."""

    @property
    def is_member(self) -> bool:
        """Receives the group's messages and may post."""
        return self in (Role.OWNER, Role.ADMIN, Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        """May invite, accept, kick, mute, edit the group and add robots."""
        return self in (Role.OWNER, Role.ADMIN)


class Identity(IntEnum):
    """The ``identity`` attribute of SIP-C group listings."""

    OWNER = 1
    ADMIN = 2
    MEMBER = 3
    ROBOT = 4


IDENTITY = {Role.OWNER: Identity.OWNER, Role.ADMIN: Identity.ADMIN, Role.MEMBER: Identity.MEMBER}


class ReadScope(StrEnum):
    """What a robot in a group may read."""

    MENTIONS = "mentions"
    """Messages that @mention the robot or start with ``/`` (commands): the default."""
    ALL = "all"
    """Every member's message."""


#: Presence shown for a robot member: "robot online" (fetion-sipc.md §1.8).
ROBOT_PRESENCE = 499

#: A robot's answer carries hop = the triggering message's hop + 1; robots never get a message
#: at or beyond this hop, so two robots granted each other's messages cannot loop for ever.
MAX_HOP = 3

_MENTION = re.compile(r"(?<![\w@])@([\w.-]{1,64})", re.UNICODE)
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([\w.-]{1,64}))?(?:\s|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """``/name args`` (or ``/name@robot args``) at the start of a message."""

    name: str
    args: str
    addressed_to: str | None


def mentions(text: str) -> tuple[str, ...]:
    """The names mentioned with ``@name`` in a message, in order, without repeats."""
    return tuple(dict.fromkeys(m.group(1).rstrip(".").lower() for m in _MENTION.finditer(text)))


def command(text: str) -> Command | None:
    """The command a message starts with, if any."""
    stripped = text.lstrip()
    match = _COMMAND.match(stripped)
    if match is None:
        return None
    addressed = match.group(2).lower() if match.group(2) else None
    return Command(
        name=match.group(1).lower(), args=stripped[match.end() :].strip(), addressed_to=addressed
    )


def robot_reads(
    *,
    scope: ReadScope,
    robot_name: str,
    text: str,
    sender_is_robot: bool,
    is_own: bool,
    hop: int,
) -> bool:
    """Whether a robot in a group is handed a message.

    Args:
        scope: The robot's read scope in this group.
        robot_name: The robot's name (what members type after ``@``).
        text: The message text.
        sender_is_robot: The message was posted by a robot.
        is_own: The robot posted it itself.
        hop: The message's hop count (0 for a person's message).
    """
    if is_own or sender_is_robot or hop >= MAX_HOP:
        # Robots do not read robots (sso-bots.md B.5 item 2): the default that stops loops.
        return False
    if scope is ReadScope.ALL:
        return True
    name = robot_name.lower()
    found = command(text)
    if found is not None:
        return found.addressed_to in (None, name)
    return name in mentions(text)


def may_manage(actor: Role | None) -> bool:
    """Invite, accept applications, kick, mute, edit the bulletin, add or remove robots."""
    return actor is not None and actor.is_admin


def may_kick(actor: Role | None, target: Role | None) -> bool:
    """Admins kick members; only the owner kicks admins; nobody kicks the owner."""
    if actor is None or target is None or not actor.is_admin or target is Role.OWNER:
        return False
    return actor is Role.OWNER or target not in (Role.ADMIN,)


def may_set_role(actor: Role | None, target: Role | None, new: Role) -> bool:
    """Only the owner promotes or demotes, between admin and member."""
    return (
        actor is Role.OWNER
        and target in (Role.ADMIN, Role.MEMBER)
        and new in (Role.ADMIN, Role.MEMBER)
    )


def group_uri(group_id: int, domain: str) -> str:
    """``sip:PG<id>@<domain>``, the group's URI (fetion-sipc.md §2)."""
    return f"sip:PG{group_id}@{domain}"


_GROUP_USER = re.compile(r"PG([0-9]{1,18})")


def group_id_of(user_part: str | None) -> int | None:
    """The group id in a URI's user part (``PG12`` → 12), or None when it is no group."""
    if not user_part:
        return None
    match = _GROUP_USER.fullmatch(user_part)
    return int(match.group(1)) if match else None
