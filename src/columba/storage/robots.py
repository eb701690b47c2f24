"""Robot operations: registrations, robots in groups, and the durable outbox of robot events.

The outbox is read head-first per ``(robot, chat)``: only the oldest pending event of each
pair is ever due, so a robot sees a chat's events in order, one in flight at a time, however
the deliveries are scheduled (sso-bots.md B.5 item 7).
"""

from __future__ import annotations

from collections.abc import Sequence

from columba.storage.errors import Conflict, NotFound
from columba.storage.group_records import GroupRobot, Robot, RobotEvent
from columba.storage.records import to_datetime
from columba.storage.sql import Op, Row, execute, fetch, fetch_one, placeholders

_ROBOT_COLUMNS = (
    "robot_id, name, owner_id, signing_secret, transport, webhook_url, description, is_builtin,"
    " created_at"
)
_ROBOT = f"SELECT {_ROBOT_COLUMNS} FROM robots"
_EVENT = (
    "SELECT event_seq, event_id, robot_id, chat_key, payload, state, attempts, next_attempt_at,"
    " created_at FROM robot_events"
)


def _robot(row: Row, offset: int = 0) -> Robot:
    r = row[offset:]
    return Robot(
        robot_id=r[0],
        name=r[1],
        owner_id=r[2],
        signing_secret=r[3],
        transport=r[4],
        webhook_url=r[5],
        description=r[6],
        is_builtin=bool(r[7]),
        created_at=to_datetime(r[8]),
    )


def _event(row: Row) -> RobotEvent:
    return RobotEvent(
        event_seq=row[0],
        event_id=row[1],
        robot_id=row[2],
        chat_key=row[3],
        payload=row[4],
        state=row[5],
        attempts=row[6],
        next_attempt_at=to_datetime(row[7]),
        created_at=to_datetime(row[8]),
    )


def create_robot(
    *,
    robot_id: int,
    name: str,
    owner_id: int | None,
    token_hash: str,
    signing_secret: str,
    transport: str,
    webhook_url: str,
    description: str,
    is_builtin: bool,
    now: int,
) -> Op[Robot]:
    """Registers a robot for an existing account (``Conflict`` when the name is taken)."""
    taken = yield from fetch_one("SELECT 1 FROM robots WHERE name = ?", name)
    if taken is not None:
        raise Conflict(f"a robot is already named {name!r}")
    yield from execute(
        f"INSERT INTO robots ({_ROBOT_COLUMNS}, token_hash) VALUES ({placeholders(10)})",
        robot_id,
        name,
        owner_id,
        signing_secret,
        transport,
        webhook_url,
        description,
        is_builtin,
        now,
        token_hash,
    )
    return (yield from find_robot("robot_id", robot_id))


def find_robot(column: str, value: object) -> Op[Robot]:
    """A robot by ``robot_id``, ``name`` or ``token_hash`` (``NotFound``)."""
    assert column in ("robot_id", "name", "token_hash")
    row = yield from fetch_one(f"{_ROBOT} WHERE {column} = ?", value)
    if row is None:
        raise NotFound("no such robot")
    return _robot(row)


def list_robots() -> Op[list[Robot]]:
    """Every robot, by name."""
    rows = yield from fetch(f"{_ROBOT} ORDER BY name")
    return [_robot(row) for row in rows]


def update_robot(
    robot_id: int, *, webhook_url: str | None, token_hash: str | None, signing_secret: str | None
) -> Op[Robot]:
    """Changes a robot's webhook or rotates its credentials (``NotFound``)."""
    count = yield from execute(
        "UPDATE robots SET webhook_url = COALESCE(?, webhook_url),"
        " token_hash = COALESCE(?, token_hash), signing_secret = COALESCE(?, signing_secret)"
        " WHERE robot_id = ?",
        webhook_url,
        token_hash,
        signing_secret,
        robot_id,
    )
    if not count:
        raise NotFound("no such robot")
    return (yield from find_robot("robot_id", robot_id))


def add_to_group(
    group_id: int, robot_id: int, *, read_scope: str, added_by: int, now: int
) -> Op[None]:
    """Puts a robot in a group, or changes its read scope there."""
    yield from execute(
        "INSERT INTO group_robots (group_id, robot_id, read_scope, added_by, added_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, robot_id)"
        " DO UPDATE SET read_scope = excluded.read_scope",
        group_id,
        robot_id,
        read_scope,
        added_by,
        now,
    )


def remove_from_group(group_id: int, robot_id: int) -> Op[bool]:
    """Takes a robot out of a group; True when it was in it."""
    count = yield from execute(
        "DELETE FROM group_robots WHERE group_id = ? AND robot_id = ?", group_id, robot_id
    )
    return count > 0


def robots_of_group(group_id: int) -> Op[list[GroupRobot]]:
    """A group's robots, by name."""
    rows = yield from fetch(
        "SELECT g.group_id, g.read_scope, g.added_by, "
        + ", ".join(f"r.{c.strip()}" for c in _ROBOT_COLUMNS.split(","))
        + " FROM group_robots AS g JOIN robots AS r ON r.robot_id = g.robot_id"
        " WHERE g.group_id = ? ORDER BY r.name",
        group_id,
    )
    return [
        GroupRobot(group_id=row[0], read_scope=row[1], added_by=row[2], robot=_robot(row, 3))
        for row in rows
    ]


def due_events(*, now: int, limit: int) -> Op[list[RobotEvent]]:
    """The head event of each ``(robot, chat)`` whose attempt is due, oldest first."""
    rows = yield from fetch(
        f"{_EVENT} AS e WHERE e.state = 'pending' AND e.next_attempt_at <= ? AND e.event_seq ="
        " (SELECT MIN(h.event_seq) FROM robot_events AS h WHERE h.state = 'pending'"
        " AND h.robot_id = e.robot_id AND h.chat_key = e.chat_key)"
        # Polling robots fetch their events themselves.
        " AND e.robot_id IN (SELECT robot_id FROM robots WHERE transport <> 'poll')"
        " ORDER BY e.event_seq LIMIT ?",
        now,
        limit,
    )
    return [_event(row) for row in rows]


def next_due(*, excluding: Sequence[int] = ()) -> Op[int | None]:
    """When the earliest head event (see :func:`due_events`) not in ``excluding`` (those in
    flight) is due, in microseconds, or None.

    Only heads count: an event behind one that is backing off is not due, whatever its time.
    """
    skip = list(excluding) or [0]
    row = yield from fetch_one(
        "SELECT MIN(e.next_attempt_at) FROM robot_events AS e WHERE e.state = 'pending'"
        " AND e.event_seq = (SELECT MIN(h.event_seq) FROM robot_events AS h"
        " WHERE h.state = 'pending' AND h.robot_id = e.robot_id AND h.chat_key = e.chat_key)"
        " AND e.robot_id IN (SELECT robot_id FROM robots WHERE transport <> 'poll')"
        f" AND e.event_seq NOT IN ({placeholders(len(skip))})",
        *skip,
    )
    return None if row is None or row[0] is None else int(row[0])


def pending_events(robot_id: int, *, after: int, limit: int) -> Op[list[RobotEvent]]:
    """A robot's pending events after ``after`` (long polling), oldest first."""
    rows = yield from fetch(
        f"{_EVENT} WHERE state = 'pending' AND robot_id = ? AND event_seq > ?"
        " ORDER BY event_seq LIMIT ?",
        robot_id,
        after,
        limit,
    )
    return [_event(row) for row in rows]


def get_event(event_id: str) -> Op[RobotEvent]:
    """An event by id (``NotFound``)."""
    row = yield from fetch_one(f"{_EVENT} WHERE event_id = ?", event_id)
    if row is None:
        raise NotFound("no such event")
    return _event(row)


def settle(event_seq: int, *, state: str, attempts: int, next_attempt_at: int) -> Op[None]:
    """Records an attempt: ``delivered``, ``dead``, or ``pending`` again at a later time."""
    yield from execute(
        "UPDATE robot_events SET state = ?, attempts = ?, next_attempt_at = ?"
        " WHERE event_seq = ? AND state = 'pending'",
        state,
        attempts,
        next_attempt_at,
        event_seq,
    )


def ack_up_to(robot_id: int, event_seq: int) -> Op[int]:
    """A polling robot acknowledges every event up to ``event_seq``."""
    return (
        yield from execute(
            "UPDATE robot_events SET state = 'delivered' WHERE robot_id = ? AND event_seq <= ?"
            " AND state = 'pending'",
            robot_id,
            event_seq,
        )
    )
