"""Records of the group and robot store: frozen, slotted, keyword-only dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from columba.storage import wire
from columba.storage.records import NewMessage, StoredMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A membership-based group; its id is also its conversation's id."""

    group_id: int
    name: str
    bulletin: str
    owner_id: int
    member_limit: int
    version: int
    created_at: datetime
    member_count: int = 0
    last_seq: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """A user's row in a group (members, and invitees/applicants waiting)."""

    group_id: int
    user_id: int
    role: str
    muted_until: datetime | None
    note: str
    joined_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Robot:
    """A registered robot. ``robot_id`` is the user id of its account."""

    robot_id: int
    name: str
    owner_id: int | None
    signing_secret: str = field(repr=False)
    transport: str
    webhook_url: str
    description: str
    is_builtin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRobot:
    """A robot in a group, with what it may read there."""

    group_id: int
    robot: Robot
    read_scope: str
    added_by: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RobotEvent:
    """One event in a robot's outbox; ``payload`` is the JSON envelope without ``attempt``."""

    event_seq: int
    event_id: str
    robot_id: int
    chat_key: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedMessage:
    """What posting to a group did: the stored message, and robot events it queued."""

    message: StoredMessage
    robot_events: tuple[int, ...] = ()
    """The robots that were handed the message (their ids)."""
    new: NewMessage | None = None
    """What was stored: its recipients and their devices (None for a repeat)."""


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    Group,
    Member,
    Robot,
    GroupRobot,
    RobotEvent,
    PostedMessage,
)
