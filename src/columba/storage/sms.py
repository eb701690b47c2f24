"""The SMS leg's storage: preferences, STOPped phones, quotas and the durable SMS outbox.

Operations are generators run by an :class:`~columba.storage.sql.Engine` (see ``sql.py``);
:class:`SmsStore` runs them. The outbox is written in batches: the SMS server enqueues, claims
and settles many SMS per transaction, so the leg keeps up with thousands of SMS a second.

Preferences, STOPs and usage are in :mod:`columba.storage.sms_preferences`. Outbox states:
``queued`` (waiting for its SMSC, a quiet-hours end or a retry) → ``submitting`` (claimed by
a bind) → ``submitted`` (every segment accepted; the SMSC ids are in ``sms_parts``) →
``delivered`` | ``failed`` (also when no final receipt came in time:
:meth:`SmsStore.expire_submitted`, detail ``EXPIRED``). A node that stops with SMS
``submitting`` puts them back to ``queued`` when it starts (:meth:`SmsStore.recover`): those
whose submit_sm was in flight at the crash may go out twice, every other SMS exactly once.
MO texts already taken are recorded in :mod:`columba.storage.sms_mo`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from columba.slots import builder
from columba.storage import delivery, wire
from columba.storage.records import DeliveryState
from columba.storage.sms_mo import MoRecord, finish_mo, take_mo
from columba.storage.sms_preferences import (
    SmsPreferences,
    get_preferences,
    is_stopped,
    periods,
    put_preferences,
    set_stopped,
    usage,
)
from columba.storage.sql import (
    Dialect,
    Engine,
    Op,
    Row,
    execute,
    execute_many,
    fetch,
    fetch_many,
    fetch_one,
    in_lists,
)

_OUTBOX_COLUMNS = (
    "sms_id, client_key, route, sender_id, recipient_id, message_id, source, destination, body,"
    " segments, state, delivered_parts, smsc_ids, detail, created_at"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSms:
    """An SMS to queue.

    Attributes:
        client_key: Makes queueing idempotent (a second SMS with the same key is not queued).
        route: The prefix of the destination's home SMSC route.
        sender_id: The user charged (0: nobody, e.g. a relayed phone-to-phone text).
        recipient_id: The user the phone belongs to (0: a phone with no account).
        message_id: The IM it carries ("" when none).
        source: The source address (access code + sender's number).
        destination: The phone's number, digits.
        body: The text, already cut to the segment limit.
        segments: How many SMS it takes.
        not_before: Not sent before this time (microseconds; quiet hours), 0: at once.
    """

    client_key: str
    route: str
    sender_id: int
    recipient_id: int
    message_id: str
    source: str
    destination: str
    body: str
    segments: int
    not_before: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxSms:
    """An SMS in the outbox."""

    sms_id: int
    client_key: str
    route: str
    sender_id: int
    recipient_id: int
    message_id: str
    source: str
    destination: str
    body: str
    segments: int
    state: str
    delivered_parts: int
    smsc_ids: tuple[str, ...]
    detail: str
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """Limits of segments per day and month (0: none) and the current periods' names."""

    day_limit: int
    month_limit: int
    day: str
    month: str


#: Outcome of an enqueue: the SMS's id, or why it was not queued.
QUOTA_DAY = -1
QUOTA_MONTH = -2


def _outbox(
    row: Row,
    state: str | None = None,
    delivered_parts: int | None = None,
    detail: str | None = None,
) -> OutboxSms:
    """The outbox row as a record; ``state``, ``delivered_parts`` and ``detail`` given: the
    record with those changed (a receipt's or an expiry's outcome)."""
    sms: OutboxSms = _new_outbox(  # every field, in field order (one per SMS and step)
        int(row[0]),
        str(row[1]),
        str(row[2]),
        int(row[3]),
        int(row[4]),
        str(row[5]),
        str(row[6]),
        str(row[7]),
        str(row[8]),
        int(row[9]),
        str(row[10]) if state is None else state,
        int(row[11]) if delivered_parts is None else delivered_parts,
        tuple(i for i in str(row[12]).split(",") if i),
        str(row[13]) if detail is None else detail,
        int(row[14]),
    )
    return sms


#: ``OutboxSms(...)`` positionally (``columba.slots.builder``).
_new_outbox = builder(OutboxSms)


# -- operations -------------------------------------------------------------------------------


def _record(events: Sequence[tuple[str, int, DeliveryState]], *, now: int) -> Op[None]:
    """Move the IMs' delivery statuses (``sent_as_sms``, ``sms_delivered``, ``failed``), in
    the same transaction as the outbox change that caused it. A message with no status for
    that recipient (it was never an IM) is skipped."""
    by_state: dict[DeliveryState, list[tuple[str, int]]] = {}
    for message_id, recipient_id, state in events:
        if message_id and recipient_id:
            by_state.setdefault(state, []).append((message_id, recipient_id))
    for state, pairs in by_state.items():
        yield from delivery.record_many(pairs, state, now=now)


def enqueue(
    items: Sequence[NewSms], quota: Quota, *, now: int
) -> Op[tuple[list[int], dict[int, tuple[int, int]]]]:
    """Queue SMS, charging each sender's quota; one outcome per item, in order, and each
    sender's segments sent (today, this month) after the batch.

    An outcome is the SMS's id (an existing id when its ``client_key`` was queued before), or
    :data:`QUOTA_DAY` / :data:`QUOTA_MONTH` when the sender's quota would be exceeded. The IM
    an SMS carries (``message_id``) is marked ``sent_as_sms`` for its recipient.
    """
    if not items:
        return [], {}
    existing: dict[str, int] = {}
    for marks, keys in in_lists([item.client_key for item in items]):
        rows = yield from fetch(
            f"SELECT client_key, sms_id FROM sms_outbox WHERE client_key IN ({marks})", *keys
        )
        existing.update({str(row[0]): int(row[1]) for row in rows})
    senders = sorted({item.sender_id for item in items if item.sender_id})
    counts: dict[tuple[int, str], int] = {}
    if senders:
        rows = yield from fetch_many(
            "SELECT user_id, period, count FROM sms_usage WHERE user_id = ? AND period IN (?, ?)",
            [(sender, quota.day, quota.month) for sender in senders],
        )
        counts = {(int(row[0]), str(row[1])): int(row[2]) for row in rows}
    outcomes: list[int] = []
    fresh: list[int] = []  # indexes of the items to insert
    charged: dict[tuple[int, str], int] = {}
    for index, item in enumerate(items):
        if item.client_key in existing:
            outcomes.append(existing[item.client_key])
            continue
        if item.sender_id:
            day_key, month_key = (item.sender_id, quota.day), (item.sender_id, quota.month)
            day = counts.get(day_key, 0) + item.segments
            month = counts.get(month_key, 0) + item.segments
            if quota.day_limit and day > quota.day_limit:
                outcomes.append(QUOTA_DAY)
                continue
            if quota.month_limit and month > quota.month_limit:
                outcomes.append(QUOTA_MONTH)
                continue
            counts[day_key], counts[month_key] = day, month
            charged[day_key], charged[month_key] = day, month
        existing[item.client_key] = -(index + 1000)  # marks a key queued by this batch
        outcomes.append(0)
        fresh.append(index)
    if fresh:
        row = yield from fetch_one(
            "UPDATE counters SET value = value + ? WHERE name = 'sms_id' RETURNING value",
            len(fresh),
        )
        assert row is not None
        first_id = int(row[0]) - len(fresh) + 1
        assigned = {items[index].client_key: first_id + n for n, index in enumerate(fresh)}
        outcomes = [
            assigned[item.client_key] if outcome <= 0 and item.client_key in assigned else outcome
            for item, outcome in zip(items, outcomes, strict=True)
        ]
        yield from execute_many(
            "INSERT INTO sms_outbox (sms_id, client_key, route, sender_id, recipient_id,"
            " message_id, source, destination, body, segments, state, not_before, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            [
                (
                    assigned[item.client_key],
                    item.client_key,
                    item.route,
                    item.sender_id,
                    item.recipient_id,
                    item.message_id,
                    item.source,
                    item.destination,
                    item.body,
                    item.segments,
                    item.not_before,
                    now,
                    now,
                )
                for item in (items[index] for index in fresh)
            ],
        )
    if charged:
        yield from execute_many(
            "INSERT INTO sms_usage (user_id, period, count) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, period) DO UPDATE SET count = excluded.count",
            [(user, period, count) for (user, period), count in charged.items()],
        )
    sent = [items[index] for index in fresh]
    yield from _record(
        [(item.message_id, item.recipient_id, DeliveryState.SENT_AS_SMS) for item in sent],
        now=now,
    )
    usage = {
        sender: (counts.get((sender, quota.day), 0), counts.get((sender, quota.month), 0))
        for sender in senders
    }
    return outcomes, usage


def claim(route: str, limit: int, *, now: int, dialect: Dialect) -> Op[list[OutboxSms]]:
    """Take up to ``limit`` queued SMS of a route, oldest first, and mark them submitting.

    On PostgreSQL the rows are locked and others' locked rows skipped, so that nodes pumping
    the same route never claim the same SMS (SQLite runs one transaction at a time).
    """
    lock = " FOR UPDATE SKIP LOCKED" if dialect is Dialect.POSTGRESQL else ""
    rows = yield from fetch(
        f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE route = ? AND state = 'queued'"
        f" AND not_before <= ? ORDER BY sms_id LIMIT ?{lock}",
        route,
        now,
        limit,
    )
    claimed = [_outbox(row) for row in rows]
    for marks, ids in in_lists([sms.sms_id for sms in claimed]):
        yield from execute(
            f"UPDATE sms_outbox SET state = 'submitting', updated_at = ? WHERE sms_id IN ({marks})",
            now,
            *ids,
        )
    return claimed


def recover(*, now: int) -> Op[int]:
    """Put SMS a stopped node left ``submitting`` back in the queue."""
    count = yield from execute(
        "UPDATE sms_outbox SET state = 'queued', updated_at = ? WHERE state = 'submitting'", now
    )
    return count


def settle(
    submitted: Sequence[tuple[int, Sequence[str]]],
    requeued: Sequence[tuple[int, int]],
    failed: Sequence[tuple[int, str]],
    *,
    now: int,
) -> Op[None]:
    """Record the outcome of submits: accepted (with SMSC ids), back in the queue (with a
    not-before time), or refused for good (with the reason)."""
    yield from execute_many(
        "UPDATE sms_outbox SET state = 'submitted', smsc_ids = ?, updated_at = ?"
        " WHERE sms_id = ? AND state = 'submitting'",
        [(",".join(ids), now, sms_id) for sms_id, ids in submitted],
    )
    yield from execute_many(
        "INSERT INTO sms_parts (smsc_id, sms_id) VALUES (?, ?) ON CONFLICT (smsc_id) DO NOTHING",
        [(smsc_id, sms_id) for sms_id, ids in submitted for smsc_id in ids],
    )
    yield from execute_many(
        "UPDATE sms_outbox SET state = 'queued', not_before = ?, updated_at = ? WHERE sms_id = ?",
        [(not_before, now, sms_id) for sms_id, not_before in requeued],
    )
    yield from execute_many(
        "UPDATE sms_outbox SET state = 'failed', detail = ?, updated_at = ? WHERE sms_id = ?",
        [(reason, now, sms_id) for sms_id, reason in failed],
    )
    if failed:
        rows = yield from fetch_many(
            "SELECT message_id, recipient_id FROM sms_outbox WHERE sms_id = ?",
            [(sms_id,) for sms_id, _ in failed],
        )
        yield from _record(
            [(str(row[0]), int(row[1]), DeliveryState.FAILED) for row in rows], now=now
        )


def apply_receipts(
    receipts: Sequence[tuple[str, bool, str]], *, now: int
) -> Op[tuple[list[OutboxSms], list[str]]]:
    """Apply delivery receipts ``(smsc id, delivered?, state name)``.

    Returns the SMS that reached a final state with these receipts (delivered: every
    segment's receipt came; failed: one segment failed), and the SMSC ids no SMS has (yet:
    a receipt may overtake the write of its submit's outcome).
    """
    if not receipts:
        return [], []
    owner: dict[str, int] = {}
    for marks, smsc_ids in in_lists(sorted({smsc_id for smsc_id, _, _ in receipts})):
        rows = yield from fetch(
            f"SELECT smsc_id, sms_id FROM sms_parts WHERE smsc_id IN ({marks})", *smsc_ids
        )
        owner.update({str(row[0]): int(row[1]) for row in rows})
    unknown = [smsc_id for smsc_id, _, _ in receipts if smsc_id not in owner]
    delivered: dict[int, int] = {}
    failures: dict[int, str] = {}
    for smsc_id, is_delivered, state in receipts:
        sms_id = owner.get(smsc_id)
        if sms_id is None:
            continue
        if is_delivered:
            delivered[sms_id] = delivered.get(sms_id, 0) + 1
        else:
            failures[sms_id] = state
    touched = sorted(set(delivered) | set(failures))
    if not touched:
        return [], unknown
    before: dict[int, Row] = {}
    for marks, ids in in_lists(touched):
        rows = yield from fetch(
            f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE sms_id IN ({marks})", *ids
        )
        before.update({int(row[0]): row for row in rows})
    final: list[OutboxSms] = []
    updates: list[tuple[str, int, str, int, int]] = []
    for sms_id in touched:
        row = before.get(sms_id)
        if row is None:
            continue
        was = str(row[10])  # the state
        if was in ("delivered", "failed"):
            continue
        parts = int(row[11]) + delivered.get(sms_id, 0)
        state, detail = was, str(row[13])
        if sms_id in failures:
            state, detail = "failed", failures[sms_id]
        elif parts >= int(row[9]):  # the segments
            state, detail = "delivered", "DELIVRD"
        updates.append((state, parts, detail, now, sms_id))
        if state != was:
            final.append(_outbox(row, state, parts, detail))
    yield from execute_many(
        "UPDATE sms_outbox SET state = ?, delivered_parts = ?, detail = ?, updated_at = ?"
        " WHERE sms_id = ?",
        updates,
    )
    yield from _record(
        [
            (
                sms.message_id,
                sms.recipient_id,
                DeliveryState.SMS_DELIVERED if sms.state == "delivered" else DeliveryState.FAILED,
            )
            for sms in final
        ],
        now=now,
    )
    return final, unknown


def expire_submitted(route: str, *, before: int, now: int) -> Op[list[OutboxSms]]:
    """Fail SMS of a route ``submitted`` with no news since ``before``: no final receipt came
    (detail ``EXPIRED``, as an SMSC's own expiry receipt says). Returns them, failed."""
    rows = yield from fetch(
        f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE route = ? AND state = 'submitted'"
        " AND updated_at < ?",
        route,
        before,
    )
    expired = [_outbox(row, state="failed", detail="EXPIRED") for row in rows]
    # The state is checked again: a receipt applied meanwhile (another node) wins.
    yield from execute_many(
        "UPDATE sms_outbox SET state = 'failed', detail = 'EXPIRED', updated_at = ?"
        " WHERE sms_id = ? AND state = 'submitted'",
        [(now, sms.sms_id) for sms in expired],
    )
    yield from _record(
        [(sms.message_id, sms.recipient_id, DeliveryState.FAILED) for sms in expired], now=now
    )
    return expired


def by_message(message_id: str) -> Op[OutboxSms | None]:
    """The SMS that carries an IM (the latest, when several)."""
    row = yield from fetch_one(
        f"SELECT {_OUTBOX_COLUMNS} FROM sms_outbox WHERE message_id = ?"
        " ORDER BY sms_id DESC LIMIT 1",
        message_id,
    )
    return None if row is None else _outbox(row)


def count_states(route: str | None = None) -> Op[dict[str, int]]:
    """How many SMS are in each state (of one route, or all)."""
    if route is None:
        rows = yield from fetch("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state")
    else:
        rows = yield from fetch(
            "SELECT state, COUNT(*) FROM sms_outbox WHERE route = ? GROUP BY state", route
        )
    return {str(row[0]): int(row[1]) for row in rows}


# -- the store --------------------------------------------------------------------------------


class SmsStore:
    """The SMS operations over an engine; time from ``clock`` (seconds since the epoch)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def now(self) -> int:
        """The clock, in microseconds."""
        return int(self._clock() * 1_000_000)

    async def preferences(self, user_id: int) -> SmsPreferences:
        return await self._engine.run(partial(get_preferences, user_id), write=False)

    async def set_preferences(self, prefs: SmsPreferences) -> None:
        now = self.now()
        await self._engine.run(partial(put_preferences, prefs, now=now))

    async def set_stopped(self, number: str, stopped: bool) -> bool:
        now = self.now()
        return await self._engine.run(partial(set_stopped, number, stopped, now=now))

    async def is_stopped(self, number: str) -> bool:
        return await self._engine.run(partial(is_stopped, number), write=False)

    async def usage(self, user_id: int) -> tuple[int, int]:
        """Segments sent (today, this month)."""
        day, month = periods(self._clock())
        counts = await self._engine.run(partial(usage, user_id, (day, month)), write=False)
        return counts.get(day, 0), counts.get(month, 0)

    async def enqueue(
        self, items: Sequence[NewSms], *, day_limit: int, month_limit: int
    ) -> tuple[list[int], dict[int, tuple[int, int]]]:
        """Queue SMS (see :func:`enqueue`): the outcomes, and the senders' usage."""
        now = self.now()
        day, month = periods(self._clock())
        quota = Quota(day_limit=day_limit, month_limit=month_limit, day=day, month=month)
        return await self._engine.run(partial(enqueue, items, quota, now=now))

    async def claim(self, route: str, limit: int) -> list[OutboxSms]:
        now = self.now()
        dialect = self._engine.dialect
        return await self._engine.run(partial(claim, route, limit, now=now, dialect=dialect))

    async def recover(self) -> int:
        now = self.now()
        return await self._engine.run(partial(recover, now=now))

    async def settle(
        self,
        submitted: Sequence[tuple[int, Sequence[str]]],
        requeued: Sequence[tuple[int, int]] = (),
        failed: Sequence[tuple[int, str]] = (),
    ) -> None:
        now = self.now()
        await self._engine.run(partial(settle, submitted, requeued, failed, now=now))

    async def apply_receipts(
        self, receipts: Sequence[tuple[str, bool, str]]
    ) -> tuple[list[OutboxSms], list[str]]:
        now = self.now()
        return await self._engine.run(partial(apply_receipts, receipts, now=now))

    async def expire_submitted(self, route: str, older_than: float) -> list[OutboxSms]:
        """Fail the route's SMS still ``submitted`` ``older_than`` seconds after their last
        news (see :func:`expire_submitted`)."""
        now = self.now()
        before = now - int(older_than * 1_000_000)
        return await self._engine.run(partial(expire_submitted, route, before=before, now=now))

    async def take_mo(self, route: str, mo_key: str, *, window: float) -> MoRecord:
        """Record an MO from ``route`` or find it (see :mod:`columba.storage.sms_mo`)."""
        now, span = self.now(), int(window * 1_000_000)
        return await self._engine.run(partial(take_mo, route, mo_key, now=now, window=span))

    async def finish_mo(self, route: str, mo_key: str) -> None:
        """The MO was handed on completely: a redelivery is acked and dropped."""
        await self._engine.run(partial(finish_mo, route, mo_key))

    async def by_message(self, message_id: str) -> OutboxSms | None:
        return await self._engine.run(partial(by_message, message_id), write=False)

    async def count_states(self, route: str | None = None) -> dict[str, int]:
        return await self._engine.run(partial(count_states, route), write=False)


__all__ = [
    "QUOTA_DAY",
    "QUOTA_MONTH",
    "MoRecord",
    "NewSms",
    "OutboxSms",
    "Quota",
    "SmsPreferences",
    "SmsStore",
    "periods",
]


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    NewSms,
    OutboxSms,
    Quota,
)
