"""Group operations: groups, members and roles, and posting a message to a group.

A group is a conversation of kind ``group`` plus a ``chat_groups`` row with the same id. Its
messages go through :func:`columba.storage.messages.store_batch`, the one write path: posting
stores the message with a pending delivery for every device of every member (the per-device
queues of 1:1 delivery, so a member who is offline gets it on reconnect), and, in the same
transaction, the events owed to the group's robots (the robot outbox). Rules about who may do
what live in :mod:`columba.groups.rules`; these operations enforce only the invariants that
must hold under concurrency: the member limit, the sender's membership and mute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from columba.storage.errors import Conflict, NotFound
from columba.storage.group_records import Group, Member, PostedMessage
from columba.storage.messages import create_group_conversation, store_batch
from columba.storage.records import NewMessage, Recipient, StoredMessage, to_datetime
from columba.storage.sql import Dialect, Op, Row, execute, fetch, fetch_one, next_counter

MEMBER_ROLES = ("owner", "admin", "member")
_IN_MEMBER_ROLES = "('owner', 'admin', 'member')"
_GROUP = (
    "SELECT g.group_id, g.name, g.bulletin, g.owner_id, g.member_limit, g.version, g.created_at,"
    f" (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.group_id"
    f" AND m.role IN {_IN_MEMBER_ROLES}),"
    " c.last_seq FROM chat_groups g JOIN conversations c ON c.conversation_id = g.group_id"
)
_MEMBER = "SELECT group_id, user_id, role, muted_until, note, joined_at FROM group_members"


class GroupFull(Conflict):
    """The group has reached its member limit."""


class NotMember(Conflict):
    """The user is not a member of the group (or not allowed to post in it)."""


class Muted(Conflict):
    """The member is muted in the group until ``until`` (microseconds)."""

    def __init__(self, until: int) -> None:
        super().__init__("muted")
        self.until = until


#: ``(robot_id, robot_name, read_scope)`` of a group's robots.
RobotSlot = tuple[int, str, str]
#: An outbox entry: ``(robot_id, chat_key, event_id, payload)``.
EventRow = tuple[int, str, str, str]
#: Builds the robot events of a stored message, given the group's robots and whether a robot
#: sent it.
EventRouter = Callable[[StoredMessage, Sequence[RobotSlot], bool], list[EventRow]]


def _group(row: Row) -> Group:
    return Group(
        group_id=row[0],
        name=row[1],
        bulletin=row[2],
        owner_id=row[3],
        member_limit=row[4],
        version=row[5],
        created_at=to_datetime(row[6]),
        member_count=row[7],
        last_seq=row[8],
    )


def _member(row: Row) -> Member:
    return Member(
        group_id=row[0],
        user_id=row[1],
        role=row[2],
        muted_until=to_datetime(row[3]) if row[3] else None,
        note=row[4],
        joined_at=to_datetime(row[5]),
    )


def create_group(
    *, name: str, bulletin: str, owner_id: int, member_limit: int, now: int
) -> Op[Group]:
    """A new group with its owner as the first member."""
    conversation = yield from create_group_conversation(now=now)
    group_id = conversation.conversation_id
    yield from execute(
        "INSERT INTO chat_groups (group_id, name, bulletin, owner_id, member_limit, version,"
        " created_at) VALUES (?, ?, ?, ?, ?, 1, ?)",
        group_id,
        name,
        bulletin,
        owner_id,
        member_limit,
        now,
    )
    yield from execute(
        "INSERT INTO group_members (group_id, user_id, role, muted_until, note, joined_at)"
        " VALUES (?, ?, 'owner', 0, '', ?)",
        group_id,
        owner_id,
        now,
    )
    return (yield from get_group(group_id))


def get_group(group_id: int) -> Op[Group]:
    """A group by id (``NotFound``)."""
    row = yield from fetch_one(f"{_GROUP} WHERE g.group_id = ?", group_id)
    if row is None:
        raise NotFound(f"no group {group_id}")
    return _group(row)


def list_groups(*, after: int, limit: int) -> Op[list[Group]]:
    """Groups by id, for the admin API."""
    rows = yield from fetch(
        f"{_GROUP} WHERE g.group_id > ? ORDER BY g.group_id LIMIT ?", after, limit
    )
    return [_group(row) for row in rows]


def groups_of(user_id: int) -> Op[list[tuple[Group, str]]]:
    """The groups a user is in (any role, waiting ones included) with the user's role."""
    rows = yield from fetch(
        f"{_GROUP} JOIN group_members AS me ON me.group_id = g.group_id AND me.user_id = ?"
        " ORDER BY g.group_id",
        user_id,
    )
    roles = yield from fetch("SELECT group_id, role FROM group_members WHERE user_id = ?", user_id)
    role_of = {row[0]: row[1] for row in roles}
    return [(_group(row), role_of[row[0]]) for row in rows]


def get_member(group_id: int, user_id: int) -> Op[Member | None]:
    """A user's row in a group, or None."""
    row = yield from fetch_one(f"{_MEMBER} WHERE group_id = ? AND user_id = ?", group_id, user_id)
    return None if row is None else _member(row)


def list_members(group_id: int) -> Op[list[Member]]:
    """Every row of a group (waiting invitees and applicants too), owner first."""
    rows = yield from fetch(
        f"{_MEMBER} WHERE group_id = ? ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin'"
        " THEN 1 WHEN 'member' THEN 2 ELSE 3 END, joined_at, user_id",
        group_id,
    )
    return [_member(row) for row in rows]


def set_role(group_id: int, user_id: int, role: str, *, note: str = "", now: int) -> Op[Member]:
    """Adds a user to a group with ``role``, or changes the user's role.

    Raises:
        NotFound: No such group.
        GroupFull: Making the user a member would pass the member limit.
    """
    group = yield from get_group(group_id)
    current = yield from get_member(group_id, user_id)
    joining = role in MEMBER_ROLES and (current is None or current.role not in MEMBER_ROLES)
    if joining:
        # The counter row of the conversation is not touched here, so lock the group row to
        # make "count, then insert" safe against a concurrent join (PostgreSQL).
        yield from execute(
            "UPDATE chat_groups SET version = version + 1 WHERE group_id = ?", group_id
        )
        count = yield from fetch_one(
            f"SELECT COUNT(*) FROM group_members WHERE group_id = ? AND role IN {_IN_MEMBER_ROLES}",
            group_id,
        )
        assert count is not None
        if count[0] >= group.member_limit:
            raise GroupFull(f"group {group_id} is full ({group.member_limit} members)")
    if current is None:
        yield from execute(
            "INSERT INTO group_members (group_id, user_id, role, muted_until, note, joined_at)"
            " VALUES (?, ?, ?, 0, ?, ?)",
            group_id,
            user_id,
            role,
            note,
            now,
        )
    else:
        joined = now if joining else None
        yield from execute(
            "UPDATE group_members SET role = ?, joined_at = COALESCE(?, joined_at)"
            " WHERE group_id = ? AND user_id = ?",
            role,
            joined,
            group_id,
            user_id,
        )
    member = yield from get_member(group_id, user_id)
    assert member is not None
    return member


def remove_member(group_id: int, user_id: int) -> Op[bool]:
    """Removes a user's row (leave, kick, refused invite); True when there was one."""
    count = yield from execute(
        "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", group_id, user_id
    )
    return count > 0


def mute(group_id: int, user_id: int, *, until: int) -> Op[Member]:
    """Mutes a member until ``until`` (microseconds; 0 unmutes) (``NotFound``)."""
    count = yield from execute(
        "UPDATE group_members SET muted_until = ? WHERE group_id = ? AND user_id = ?",
        until,
        group_id,
        user_id,
    )
    if not count:
        raise NotFound(f"user {user_id} is not in group {group_id}")
    member = yield from get_member(group_id, user_id)
    assert member is not None
    return member


def update_group(group_id: int, *, name: str | None, bulletin: str | None) -> Op[Group]:
    """Renames a group or changes its bulletin (``NotFound``)."""
    count = yield from execute(
        "UPDATE chat_groups SET name = COALESCE(?, name), bulletin = COALESCE(?, bulletin),"
        " version = version + 1 WHERE group_id = ?",
        name,
        bulletin,
        group_id,
    )
    if not count:
        raise NotFound(f"no group {group_id}")
    return (yield from get_group(group_id))


def post(
    dialect: Dialect,
    *,
    group_id: int,
    sender_id: int,
    sending_device: str | None,
    content_type: str,
    body: bytes,
    client_key: str,
    route: EventRouter,
    now: int,
) -> Op[PostedMessage]:
    """Stores a group message for every member device and queues the robots' events.

    The sender's other devices get it too; the device it came from does not. A repeat of
    the same ``(sender, client_key)`` returns the first message and queues nothing.

    Raises:
        NotFound: No such group.
        NotMember: The sender is neither a member nor one of the group's robots.
        Muted: The sender is muted.
    """
    rows = yield from fetch(
        "SELECT m.user_id, m.muted_until, d.device_id FROM group_members AS m"
        " LEFT JOIN devices AS d ON d.user_id = m.user_id"
        f" WHERE m.group_id = ? AND m.role IN {_IN_MEMBER_ROLES}",
        group_id,
    )
    robots = yield from fetch(
        "SELECT g.robot_id, r.name, g.read_scope FROM group_robots AS g"
        " JOIN robots AS r ON r.robot_id = g.robot_id WHERE g.group_id = ?",
        group_id,
    )
    if not rows:
        raise NotFound(f"no group {group_id}")
    devices: dict[int, list[str]] = {}
    muted_until = 0
    for user_id, until, device_id in rows:
        owed = devices.setdefault(user_id, [])
        if user_id == sender_id:
            muted_until = until
            if device_id == sending_device:
                continue
        if device_id is not None:
            owed.append(device_id)
    slots: list[RobotSlot] = [(row[0], row[1], row[2]) for row in robots]
    sender_is_robot = any(slot[0] == sender_id for slot in slots)
    if sender_id not in devices and not sender_is_robot:
        raise NotMember(f"user {sender_id} is not a member of group {group_id}")
    if muted_until > now:
        raise Muted(muted_until)
    new = NewMessage(
        conversation_id=group_id,
        sender_id=sender_id,
        recipients=tuple(Recipient(user_id=u, devices=tuple(d)) for u, d in devices.items()),
        content_type=content_type,
        body=body,
        client_key=client_key,
    )
    (stored,) = yield from store_batch(dialect, [new], now=now)
    if stored.is_duplicate:
        return PostedMessage(message=stored)
    queued = yield from queue_events(route(stored, slots, sender_is_robot), now=now)
    return PostedMessage(message=stored, robot_events=queued, new=new)


def queue_events(events: Sequence[EventRow], *, now: int) -> Op[tuple[int, ...]]:
    """Writes robot events to the outbox; returns the ids of the robots that got one.

    Event ids are derived from what caused them (message id and robot), so queueing the same
    event twice (a retransmitted 1:1 message) keeps the first.
    """
    queued = []
    for robot_id, chat_key, event_id, payload in events:
        seq = yield from next_counter("robot_event")
        count = yield from execute(
            "INSERT INTO robot_events (event_seq, event_id, robot_id, chat_key, payload, state,"
            " attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
            " ON CONFLICT (event_id) DO NOTHING",
            seq,
            event_id,
            robot_id,
            chat_key,
            payload,
            now,
            now,
        )
        if count:
            queued.append(robot_id)
    return tuple(queued)
