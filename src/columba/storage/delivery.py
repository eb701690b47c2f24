"""Devices, their delivery queues, acknowledgements, and each recipient's delivery status.

A pending delivery row says "this device still owes an acknowledgement for this message". Rows
are keyed ``(user, device, conversation, seq)``: a device's queue is read in delivery order
straight off the primary key. An ack resolves each message id to its conversation and seq and
deletes that one row by its full key, so acking costs the same whatever the length of the queue
(a set-based ``DELETE`` would let the planner scan the queue instead, and it does when its
statistics are stale). The ack also marks the recipient's status ``delivered``.

The status of a message for a recipient only moves towards a better outcome: ``delivered``
beats everything, an SMS delivery receipt beats a failure, and ``sent_as_sms`` and ``failed``
may follow each other (an SMS leg after a failed IM leg, an SMS that then failed). Each event's
time is kept in its own column even when the state does not change, so the sender can be shown
the whole story (IM delivered at 10:02, after the SMS was sent at 10:01).
"""

from __future__ import annotations

from collections.abc import Sequence

from columba.storage.errors import NotFound
from columba.storage.messages import MESSAGE_COLUMNS, message_from_row, store_batch, values_rows
from columba.storage.records import (
    DeliveryState,
    DeliveryStatus,
    Device,
    DeviceAck,
    NewMessage,
    StoredMessage,
    to_datetime,
)
from columba.storage.sql import (
    Dialect,
    Op,
    Row,
    execute,
    execute_many,
    fetch,
    fetch_many,
    fetch_one,
    placeholders,
)

_STATUS_COLUMNS = (
    "message_id, recipient_id, state, updated_at, delivered_at, sms_sent_at, sms_delivered_at,"
    " failed_at"
)
_EVENT_COLUMN = {
    DeliveryState.DELIVERED: "delivered_at",
    DeliveryState.SENT_AS_SMS: "sms_sent_at",
    DeliveryState.SMS_DELIVERED: "sms_delivered_at",
    DeliveryState.FAILED: "failed_at",
}
# The states from which a new event may move the status to the event's state.
_MOVES_FROM = {
    DeliveryState.DELIVERED: tuple(DeliveryState),
    DeliveryState.SMS_DELIVERED: (
        DeliveryState.PENDING,
        DeliveryState.SENT_AS_SMS,
        DeliveryState.FAILED,
        DeliveryState.SMS_DELIVERED,
    ),
    DeliveryState.SENT_AS_SMS: (
        DeliveryState.PENDING,
        DeliveryState.FAILED,
        DeliveryState.SENT_AS_SMS,
    ),
    DeliveryState.FAILED: (DeliveryState.PENDING, DeliveryState.SENT_AS_SMS, DeliveryState.FAILED),
}


def _status(row: Row) -> DeliveryStatus:
    return DeliveryStatus(
        message_id=row[0],
        recipient_id=row[1],
        state=DeliveryState(row[2]),
        updated_at=to_datetime(row[3]),
        delivered_at=None if row[4] is None else to_datetime(row[4]),
        sms_sent_at=None if row[5] is None else to_datetime(row[5]),
        sms_delivered_at=None if row[6] is None else to_datetime(row[6]),
        failed_at=None if row[7] is None else to_datetime(row[7]),
    )


def check_device(device_id: str) -> None:
    """Refuses an empty device id (a programming error in the caller)."""
    if not device_id:
        raise ValueError("device_id must not be empty")


def register_device(user_id: int, device_id: str, *, now: int) -> Op[bool]:
    """Records a device; True when it is new. A new device is owed nothing from before."""
    check_device(device_id)
    count = yield from execute(
        "INSERT INTO devices (user_id, device_id, registered_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, device_id) DO NOTHING",
        user_id,
        device_id,
        now,
    )
    return count > 0


def owe_undelivered(user_id: int, device_id: str) -> Op[int]:
    """Queues for a device what the user has received on no device yet; returns how many.

    "Not received" is a status still ``pending`` or ``failed``: not acknowledged by any device,
    not sent as SMS. Messages another device acknowledged are history (``messages_after``).
    """
    check_device(device_id)
    return (
        yield from execute(
            "INSERT INTO deliveries (user_id, device_id, conversation_id, seq)"
            " SELECT ?, ?, m.conversation_id, m.seq"
            " FROM delivery_status AS s JOIN messages AS m ON m.message_id = s.message_id"
            # Literal states, not parameters: only then can the planners use the partial index.
            " WHERE s.recipient_id = ? AND s.state IN ('pending', 'failed')"
            " ON CONFLICT DO NOTHING",
            user_id,
            device_id,
            user_id,
        )
    )


def unregister_device(user_id: int, device_id: str) -> Op[None]:
    """Forgets a device and drops what it was owed.

    Raises:
        NotFound: No such device.
    """
    count = yield from execute(
        "DELETE FROM devices WHERE user_id = ? AND device_id = ?", user_id, device_id
    )
    if not count:
        raise NotFound(f"user {user_id} has no device {device_id!r}")
    yield from execute(
        "DELETE FROM deliveries WHERE user_id = ? AND device_id = ?", user_id, device_id
    )


def list_devices(user_id: int) -> Op[list[Device]]:
    """A user's devices, oldest first."""
    rows = yield from fetch(
        "SELECT user_id, device_id, registered_at FROM devices WHERE user_id = ?"
        " ORDER BY registered_at, device_id",
        user_id,
    )
    return [Device(user_id=r[0], device_id=r[1], registered_at=to_datetime(r[2])) for r in rows]


def pending(user_id: int, device_id: str, *, limit: int) -> Op[list[StoredMessage]]:
    """What a device has not acknowledged yet, in (conversation, seq) order."""
    columns = ", ".join(f"m.{column.strip()}" for column in MESSAGE_COLUMNS.split(","))
    rows = yield from fetch(
        f"SELECT {columns} FROM deliveries AS d JOIN messages AS m"
        " ON m.conversation_id = d.conversation_id AND m.seq = d.seq"
        " WHERE d.user_id = ? AND d.device_id = ?"
        " ORDER BY d.conversation_id, d.seq LIMIT ?",
        user_id,
        device_id,
        limit,
    )
    return [message_from_row(row) for row in rows]


def ack(user_id: int, device_id: str, message_ids: Sequence[str], *, now: int) -> Op[int]:
    """A device acknowledges messages; returns how many pending rows that removed.

    The acknowledging user's status for each message becomes ``delivered`` (the sender's own
    devices have no status, so their acks only clear their queue). Acking a message twice, or
    one that was never owed, removes nothing and is not an error.
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return 0
    positions = yield from fetch_many(
        "SELECT conversation_id, seq FROM messages WHERE message_id = ?", [(id_,) for id_ in ids]
    )
    removed = yield from fetch_many(
        "DELETE FROM deliveries WHERE user_id = ? AND device_id = ? AND conversation_id = ?"
        " AND seq = ? RETURNING seq",
        [(user_id, device_id, row[0], row[1]) for row in positions],
    )
    delivered = DeliveryState.DELIVERED.value
    yield from execute_many(
        "UPDATE delivery_status SET state = ?, delivered_at = COALESCE(delivered_at, ?),"
        " updated_at = ? WHERE message_id = ? AND recipient_id = ? AND state <> ?",
        [(delivered, now, now, id_, user_id, delivered) for id_ in ids],
    )
    return len(removed)


def ack_batch(dialect: Dialect, acks: Sequence[DeviceAck], *, now: int) -> Op[None]:
    """Acknowledgements of any devices, in one transaction: ``ack`` for a group commit.

    Each ack names the message's (conversation, seq), so no lookup through ``messages`` is
    needed. SQLite gets two set-based statements (a join on the primary key, checked with
    ``EXPLAIN QUERY PLAN``: the queue is never scanned); PostgreSQL gets pipelined point
    statements, as ``ack`` does, so that no plan can turn them into scans.
    """
    unique = list({(a.user_id, a.device_id, a.message_id): a for a in acks}.values())
    if not unique:
        return
    delivered = DeliveryState.DELIVERED.value
    if dialect is Dialect.POSTGRESQL:
        yield from execute_many(
            "DELETE FROM deliveries WHERE user_id = ? AND device_id = ? AND conversation_id = ?"
            " AND seq = ?",
            [(a.user_id, a.device_id, a.conversation_id, a.seq) for a in unique],
        )
        statuses = dict.fromkeys((a.message_id, a.user_id) for a in unique)
        yield from execute_many(
            "UPDATE delivery_status SET state = ?, delivered_at = COALESCE(delivered_at, ?),"
            " updated_at = ? WHERE message_id = ? AND recipient_id = ? AND state <> ?",
            [(delivered, now, now, message, user, delivered) for message, user in statuses],
        )
        return
    for sql, args in values_rows(
        "DELETE FROM deliveries WHERE rowid IN (SELECT d.rowid FROM ({values}) AS v"
        " JOIN deliveries AS d ON d.user_id = v.column1 AND d.device_id = v.column2"
        " AND d.conversation_id = v.column3 AND d.seq = v.column4)",
        [(a.user_id, a.device_id, a.conversation_id, a.seq) for a in unique],
    ):
        yield from execute(sql, *args)
    for sql, args in values_rows(
        f"UPDATE delivery_status SET state = '{delivered}',"
        " delivered_at = COALESCE(delivered_at, ?), updated_at = ? FROM ({values}) AS v"
        f" WHERE message_id = v.column1 AND recipient_id = v.column2 AND state <> '{delivered}'",
        list(dict.fromkeys((a.message_id, a.user_id) for a in unique)),
    ):
        yield from execute(sql, now, now, *args)


def commit_batch(
    dialect: Dialect, messages: Sequence[NewMessage], acks: Sequence[DeviceAck], *, now: int
) -> Op[list[StoredMessage]]:
    """Stores messages (``store_batch``) and applies acks (``ack_batch``) in one transaction."""
    stored: list[StoredMessage] = []
    if messages:
        stored = yield from store_batch(dialect, messages, now=now)
    yield from ack_batch(dialect, acks, now=now)
    return stored


def record(
    message_id: str, recipient_id: int, state: DeliveryState, *, now: int
) -> Op[DeliveryStatus]:
    """Records a delivery event for one recipient (see the module doc for the state rules).

    Raises:
        NotFound: The message has no status for this recipient.
    """
    if state is DeliveryState.PENDING:
        raise ValueError("pending is where a status starts, not an event")
    column = _EVENT_COLUMN[state]
    moves_from = [old.value for old in _MOVES_FROM[state]]
    row = yield from fetch_one(
        f"UPDATE delivery_status SET"
        f" state = CASE WHEN state IN ({placeholders(len(moves_from))}) THEN ? ELSE state END,"
        f" {column} = COALESCE({column}, ?), updated_at = ?"
        f" WHERE message_id = ? AND recipient_id = ? RETURNING {_STATUS_COLUMNS}",
        *moves_from,
        state.value,
        now,
        now,
        message_id,
        recipient_id,
    )
    if row is None:
        raise NotFound(f"message {message_id} has no status for user {recipient_id}")
    return _status(row)


def record_many(events: Sequence[tuple[str, int]], state: DeliveryState, *, now: int) -> Op[None]:
    """:func:`record` of one event for many ``(message id, recipient id)`` pairs, in one
    batch; a pair with no status (a message that was never an IM) is skipped, not an error."""
    if state is DeliveryState.PENDING:
        raise ValueError("pending is where a status starts, not an event")
    column = _EVENT_COLUMN[state]
    moves_from = [old.value for old in _MOVES_FROM[state]]
    yield from execute_many(
        f"UPDATE delivery_status SET"
        f" state = CASE WHEN state IN ({placeholders(len(moves_from))}) THEN ? ELSE state END,"
        f" {column} = COALESCE({column}, ?), updated_at = ?"
        f" WHERE message_id = ? AND recipient_id = ?",
        [
            (*moves_from, state.value, now, now, message_id, recipient)
            for message_id, recipient in events
        ],
    )


def statuses(message_id: str) -> Op[list[DeliveryStatus]]:
    """Each recipient's status for a message, by recipient id."""
    rows = yield from fetch(
        f"SELECT {_STATUS_COLUMNS} FROM delivery_status WHERE message_id = ? ORDER BY recipient_id",
        message_id,
    )
    return [_status(row) for row in rows]
