"""Conversations and the message store: store before deliver, the hot path.

``store_batch`` is the one write path (``store_message`` is a batch of one). In one transaction
it

1. finds messages already stored under the same ``(sender, client_key)``: a retransmission
   returns the first message, marked ``is_duplicate``, and writes nothing;
2. advances each conversation's ``last_seq`` by the number of new messages for it; the row
   lock this takes makes the numbers gap-free and strictly increasing per conversation;
3. inserts the messages, a ``pending`` delivery status per recipient, and a pending delivery
   row per recipient device.

The statements are shaped per dialect. SQLite runs in-process, where a statement costs a few
microseconds of Python and C: a batch uses ``IN`` lists and ``executemany``, a handful of
statements whatever its size. PostgreSQL is a round trip away: a batch costs three round trips
plus ``BEGIN``/``COMMIT``, whatever its size. Lookups and counter updates there are pipelined
point statements (``fetchmany``), one per key, so that no plan can turn them into scans, and
the counter rows are locked in ascending id order, so concurrent batches cannot deadlock; the
inserts are one statement over arrays (``unnest``).

If two transactions race to store the same ``(sender, client_key)`` (possible only with
PostgreSQL), the loser fails on the unique index; the store runs this operation with
``retry_on_conflict`` so that the second run finds and returns the winner's message.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from columba.storage.errors import NotFound
from columba.storage.records import (
    Conversation,
    ConversationKind,
    DeliveryState,
    NewMessage,
    StoredMessage,
    to_datetime,
)
from columba.storage.sql import (
    Dialect,
    Op,
    Row,
    execute,
    fetch,
    fetch_many,
    fetch_one,
    in_lists,
    next_counter,
)

MESSAGE_COLUMNS = (
    "message_id, conversation_id, seq, sender_id, content_type, body, client_key, created_at"
)
_CONVERSATION = (
    "SELECT conversation_id, kind, pair_low, pair_high, last_seq, created_at FROM conversations"
)

_Key = tuple[int, str]  # (sender_id, client_key)


def message_from_row(row: Row, *, is_duplicate: bool = False) -> StoredMessage:
    """Makes a :class:`StoredMessage` from a row selected with ``MESSAGE_COLUMNS``."""
    return StoredMessage(
        message_id=row[0],
        conversation_id=row[1],
        seq=row[2],
        sender_id=row[3],
        content_type=row[4],
        body=bytes(row[5]),
        client_key=row[6],
        created_at=to_datetime(row[7]),
        is_duplicate=is_duplicate,
    )


def _conversation(row: Row) -> Conversation:
    kind = ConversationKind(row[1])
    return Conversation(
        conversation_id=row[0],
        kind=kind,
        pair=(row[2], row[3]) if kind is ConversationKind.PAIR else None,
        last_seq=row[4],
        created_at=to_datetime(row[5]),
    )


def pair_conversation(user_a: int, user_b: int, *, now: int) -> Op[Conversation]:
    """The conversation between two users, created on first use."""
    low, high = sorted((user_a, user_b))
    query = f"{_CONVERSATION} WHERE pair_low = ? AND pair_high = ?"
    row = yield from fetch_one(query, low, high)
    if row is None:
        conversation_id = yield from next_counter("conversation_id")
        # A concurrent creator may win; its row is then the one we return.
        yield from execute(
            "INSERT INTO conversations (conversation_id, kind, pair_low, pair_high, last_seq,"
            " created_at) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (pair_low, pair_high) DO NOTHING",
            conversation_id,
            ConversationKind.PAIR.value,
            low,
            high,
            now,
        )
        row = yield from fetch_one(query, low, high)
        assert row is not None  # inserted by us or by the winner, committed before we resumed
    return _conversation(row)


def pair_conversations(
    pairs: Sequence[tuple[int, int]], *, now: int
) -> Op[dict[tuple[int, int], Conversation]]:
    """:func:`pair_conversation` for many pairs in one transaction, keyed ``(low, high)``.

    The pairs are taken in order, so that two nodes creating overlapping sets cannot
    deadlock on PostgreSQL.
    """
    out: dict[tuple[int, int], Conversation] = {}
    for low, high in sorted({(min(a, b), max(a, b)) for a, b in pairs}):
        out[(low, high)] = yield from pair_conversation(low, high, now=now)
    return out


def create_group_conversation(*, now: int) -> Op[Conversation]:
    """A new, empty group conversation (its members are kept by the group server)."""
    conversation_id = yield from next_counter("conversation_id")
    yield from execute(
        "INSERT INTO conversations (conversation_id, kind, pair_low, pair_high, last_seq,"
        " created_at) VALUES (?, ?, NULL, NULL, 0, ?)",
        conversation_id,
        ConversationKind.GROUP.value,
        now,
    )
    return (yield from get_conversation(conversation_id))


def get_conversation(conversation_id: int) -> Op[Conversation]:
    """A conversation by id.

    Raises:
        NotFound: No such conversation.
    """
    row = yield from fetch_one(f"{_CONVERSATION} WHERE conversation_id = ?", conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    return _conversation(row)


def new_message_id() -> str:
    """A new message id: 32 lowercase hex digits, time first, then 72 random bits.

    The first 14 digits are the wall-clock time in microseconds, so new ids sort after older
    ones and every index keyed by a message id (``messages``, ``delivery_status``) grows at
    its right edge: a commit of 100 messages dirties a few index pages instead of about 100
    random ones, which halved the store's cost per message (decision 0022). The 72 random bits
    keep ids unguessable and unique without coordination between nodes; a clock that steps
    back costs locality, never correctness.
    """
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def store_batch(
    dialect: Dialect, batch: Sequence[NewMessage], *, now: int
) -> Op[list[StoredMessage]]:
    """Stores messages atomically; returns one result per input, in input order.

    Raises:
        NotFound: A conversation does not exist (nothing of the batch is stored).
    """
    first: dict[_Key, int] = {}
    for index, message in enumerate(batch):
        first.setdefault((message.sender_id, message.client_key), index)
    existing = yield from _find_existing(dialect, list(first))
    fresh = [batch[index] for key, index in first.items() if key not in existing]
    counts = Counter(message.conversation_id for message in fresh)
    last_seqs = yield from _advance(dialect, counts)
    next_seq = {conversation: last_seqs[conversation] - n for conversation, n in counts.items()}
    created_at = to_datetime(now)
    stored: dict[_Key, StoredMessage] = {}
    for message in fresh:
        next_seq[message.conversation_id] += 1
        stored[(message.sender_id, message.client_key)] = StoredMessage(
            message_id=new_message_id(),
            conversation_id=message.conversation_id,
            seq=next_seq[message.conversation_id],
            sender_id=message.sender_id,
            content_type=message.content_type,
            body=message.body,
            client_key=message.client_key,
            created_at=created_at,
        )
    yield from _insert(dialect, fresh, stored, now=now)
    results = []
    for index, message in enumerate(batch):
        key = (message.sender_id, message.client_key)
        if key in existing:
            results.append(existing[key])
        elif first[key] == index:
            results.append(stored[key])
        else:
            results.append(replace(stored[key], is_duplicate=True))
    return results


def _find_existing(dialect: Dialect, keys: Sequence[_Key]) -> Op[dict[_Key, StoredMessage]]:
    rows: list[Row] = []
    if dialect is Dialect.POSTGRESQL:
        # One point lookup per key, pipelined: a set-based "client_key = ANY(…)" was measured
        # to flip to a sequential scan of messages when statistics changed (23 ms per batch).
        rows += yield from fetch_many(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_key = ? AND sender_id = ?",
            [(client_key, sender_id) for sender_id, client_key in keys],
        )
    else:
        # client_key leads the unique index; the sender is checked here, not in SQL.
        wanted = set(keys)
        for marks, chunk in in_lists([key for _, key in keys]):
            candidates = yield from fetch(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_key IN ({marks})", *chunk
            )
            rows += [row for row in candidates if (row[3], row[6]) in wanted]
    return {(row[3], row[6]): message_from_row(row, is_duplicate=True) for row in rows}


def _advance(dialect: Dialect, counts: Counter[int]) -> Op[dict[int, int]]:
    """Adds ``counts[c]`` to each conversation's last_seq; returns the new values."""
    ids = sorted(counts)
    if dialect is Dialect.POSTGRESQL:
        # Pipelined point updates run in order, so the row locks are taken in ascending id
        # order: two batches sharing conversations cannot deadlock.
        rows = yield from fetch_many(
            "UPDATE conversations SET last_seq = last_seq + ? WHERE conversation_id = ?"
            " RETURNING conversation_id, last_seq",
            [(counts[conversation], conversation) for conversation in ids],
        )
    else:
        # One UPDATE … FROM (VALUES …) and one read-back folded into a single row: every
        # sqlite3 step gives up the GIL, and getting it back costs up to a switch interval
        # while the event loop is busy, so a statement per conversation would be the cost.
        for sql, args in values_rows(
            "UPDATE conversations SET last_seq = last_seq + v.column2 FROM ({values}) AS v"
            " WHERE conversations.conversation_id = v.column1",
            [(conversation, counts[conversation]) for conversation in ids],
        ):
            yield from execute(sql, *args)
        rows = []
        for marks, chunk in in_lists(ids):
            row = yield from fetch_one(
                "SELECT group_concat(conversation_id || ' ' || last_seq) FROM conversations"
                f" WHERE conversation_id IN ({marks})",
                *chunk,
            )
            if row is not None and row[0]:
                rows += [tuple(map(int, pair.split())) for pair in row[0].split(",")]
    last_seqs = {row[0]: row[1] for row in rows}
    missing = set(counts) - set(last_seqs)
    if missing:
        raise NotFound(f"no conversation {min(missing)}")
    return last_seqs


def _insert(
    dialect: Dialect,
    fresh: Sequence[NewMessage],
    stored: dict[_Key, StoredMessage],
    *,
    now: int,
) -> Op[None]:
    messages: list[tuple[object, ...]] = []
    statuses: list[tuple[object, ...]] = []
    deliveries: list[tuple[object, ...]] = []
    for message in fresh:
        row = stored[(message.sender_id, message.client_key)]
        messages.append(
            (
                row.message_id,
                row.conversation_id,
                row.seq,
                row.sender_id,
                row.client_key,
                row.content_type,
                row.body,
                now,
            )
        )
        statuses.extend(
            (row.message_id, user, now)
            for user in dict.fromkeys(r.user_id for r in message.recipients)
            if user != message.sender_id
        )
        owed = dict.fromkeys((r.user_id, d) for r in message.recipients for d in r.devices)
        deliveries.extend((user, device, row.conversation_id, row.seq) for user, device in owed)
    if dialect is Dialect.POSTGRESQL:
        if messages:
            yield from execute(
                _PG_INSERT,
                now,
                *_columns(messages, 7),
                now,
                *_columns(statuses, 2),
                *_columns(deliveries, 4),
            )
        return
    # One multi-row INSERT per table (per 256 rows), not an executemany: sqlite3 steps (and
    # gives up the GIL) once per row of an executemany, once per statement here.
    for sql, args in values_rows(
        "INSERT INTO messages (message_id, conversation_id, seq, sender_id, client_key,"
        " content_type, body, created_at) SELECT * FROM ({values}) WHERE column1 IS NOT NULL",
        messages,
    ):
        yield from execute(sql, *args)
    for sql, args in values_rows(
        "INSERT INTO delivery_status (message_id, recipient_id, state, updated_at)"
        f" SELECT column1, column2, '{DeliveryState.PENDING.value}', column3 FROM ({{values}})"
        " WHERE column1 IS NOT NULL",
        statuses,
    ):
        yield from execute(sql, *args)
    for sql, args in values_rows(
        "INSERT INTO deliveries (user_id, device_id, conversation_id, seq)"
        " SELECT * FROM ({values}) WHERE column1 IS NOT NULL",
        deliveries,
    ):
        yield from execute(sql, *args)


VALUES_CHUNK = 256
"""Rows per ``VALUES`` list (8 columns × 256 rows stay far below SQLite's variable limit)."""


def values_rows(template: str, rows: Sequence[Sequence[object]]) -> list[tuple[str, list[object]]]:
    """SQLite statements over ``VALUES`` lists: ``template`` with ``{values}`` filled in.

    Each list is padded with rows of NULLs to a power of two (at least 8), so that batches of
    any size share a handful of cached statements; the template must ignore the NULL rows
    (``WHERE column1 IS NOT NULL``, or a join on ``column1``).
    """
    statements = []
    for start in range(0, len(rows), VALUES_CHUNK):
        chunk = rows[start : start + VALUES_CHUNK]
        width = len(chunk[0])
        size = max(8, 1 << (len(chunk) - 1).bit_length())
        row = "(" + ", ".join("?" * width) + ")"
        args: list[object] = [value for values in chunk for value in values]
        args += [None] * (width * (size - len(chunk)))
        sql = template.format(values="VALUES " + ", ".join([row] * size))
        statements.append((sql, args))
    return statements


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Turns rows into columns (one array parameter per column for ``unnest``)."""
    return [[row[i] for row in rows] for i in range(width)]


# One round trip: data-modifying CTEs insert the messages, their statuses and their deliveries.
_PG_INSERT = f"""
WITH inserted_messages AS (
    INSERT INTO messages (created_at, message_id, conversation_id, seq, sender_id, client_key,
                          content_type, body)
    SELECT ?::bigint, * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[],
                            ?::text[], ?::bytea[])
), inserted_statuses AS (
    INSERT INTO delivery_status (updated_at, state, message_id, recipient_id)
    SELECT ?::bigint, '{DeliveryState.PENDING.value}', * FROM unnest(?::text[], ?::bigint[])
)
INSERT INTO deliveries (user_id, device_id, conversation_id, seq)
SELECT * FROM unnest(?::bigint[], ?::text[], ?::bigint[], ?::bigint[])
"""


def get_message(message_id: str) -> Op[StoredMessage]:
    """A stored message by server id.

    Raises:
        NotFound: No such message.
    """
    row = yield from fetch_one(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE message_id = ?", message_id
    )
    if row is None:
        raise NotFound(f"no message {message_id}")
    return message_from_row(row)


def messages_after(conversation_id: int, seq: int, *, limit: int) -> Op[list[StoredMessage]]:
    """The messages of a conversation with a sequence number above ``seq``, oldest first."""
    rows = yield from fetch(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ?"
        " ORDER BY seq LIMIT ?",
        conversation_id,
        seq,
        limit,
    )
    return [message_from_row(row) for row in rows]
