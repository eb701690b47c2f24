"""Messages stored per second by ``columba.storage``, on each driver, beside raw INSERTs.

Run: ``uv run --frozen python bench/store.py [--postgres-url URL] [--messages N]``.

Each message goes to one of 1,000 pair conversations, for one recipient with one device, so
each stores three rows: the message, the recipient's delivery status, the device's pending
delivery. "store" is ``Store.store_message`` / ``Store.store_messages`` (retransmission check,
sequence number, the three inserts, one transaction). "raw INSERT" is the same three rows
written straight with the driver library in the same transaction shape, without the store's
checks: the floor the store's overhead is measured against. Each driver gets a fresh database
(a temporary SQLite file; a PostgreSQL schema created and dropped by the run).

PostgreSQL runs when ``--postgres-url`` or ``COLUMBA_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from columba.storage import NewMessage, Recipient, Store, open_store

CONVERSATIONS = 1000
BODY = "你好, this is a typical short chat message of some sixty bytes.".encode()

RAW_ROWS = [
    "INSERT INTO messages (message_id, conversation_id, seq, sender_id, client_key, content_type,"
    " body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO delivery_status (message_id, recipient_id, state, updated_at)"
    " VALUES (?, ?, 'pending', ?)",
    "INSERT INTO deliveries (user_id, device_id, conversation_id, seq) VALUES (?, ?, ?, ?)",
]


def numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


class Workload:
    """Makes messages with unique client keys, spread over the conversations."""

    def __init__(self, conversation_ids: list[int]) -> None:
        self.conversation_ids = conversation_ids
        self.count = 0
        self.seqs = dict.fromkeys(conversation_ids, 10_000_000)  # raw rows keep off store seqs

    def message(self) -> NewMessage:
        self.count += 1
        return NewMessage(
            conversation_id=self.conversation_ids[self.count % len(self.conversation_ids)],
            sender_id=1,
            recipients=(Recipient(user_id=2, devices=("pc",)),),
            content_type="text/plain",
            body=BODY,
            client_key=f"{secrets.token_hex(8)}-{self.count}",
        )

    def raw_rows(self) -> tuple[tuple[object, ...], ...]:
        message = self.message()
        self.seqs[message.conversation_id] += 1
        seq, now = self.seqs[message.conversation_id], time.time_ns() // 1000
        message_id = secrets.token_hex(16)
        return (
            (
                message_id,
                message.conversation_id,
                seq,
                1,
                message.client_key,
                "text/plain",
                BODY,
                now,
            ),
            (message_id, 2, now),
            (2, "pc", message.conversation_id, seq),
        )


async def timed(count: int, work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return count / (time.perf_counter() - started)


async def store_rates(store: Store, n: int, batch: int, writers: int) -> dict[str, float]:
    conversations = [
        (await store.pair_conversation(1, 1000 + i)).conversation_id for i in range(CONVERSATIONS)
    ]
    load = Workload(conversations)
    single = n // 10
    # Messages are made before the clock starts: the rates are the store's alone.
    ones = [load.message() for _ in range(single)]
    many = [[load.message() for _ in range(single // writers)] for _ in range(writers)]
    batches = [[load.message() for _ in range(batch)] for _ in range(n // batch)]

    async def one_writer() -> None:
        for message in ones:
            await store.store_messages([message])

    async def many_writers() -> None:
        async def writer(messages: list[NewMessage]) -> None:
            for message in messages:
                await store.store_messages([message])

        await asyncio.gather(*(writer(messages) for messages in many))

    async def batched() -> None:
        for messages in batches:
            await store.store_messages(messages)

    async def drain() -> None:
        while pending := await store.pending_for_device(2, "pc", limit=batch):
            await store.ack_many(2, "pc", [m.message_id for m in pending])

    rates = {
        "single, 1 writer": await timed(single, one_writer),
        f"single, {writers} writers": await timed(single // writers * writers, many_writers),
        f"batch of {batch}": await timed(n // batch * batch, batched),
    }
    pending_count = single * 2 + n // batch * batch
    rates[f"pending+ack_many, {batch} a time"] = await timed(pending_count, drain)
    return rates


def sqlite_raw_rates(path: str, synchronous: str, n: int, batch: int) -> dict[str, float]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    ids = [row[0] for row in connection.execute("SELECT conversation_id FROM conversations")]
    load = Workload(ids)
    ones = [load.raw_rows() for _ in range(n // 10)]
    batches = [[load.raw_rows() for _ in range(batch)] for _ in range(n // batch)]
    started = time.perf_counter()
    for rows in ones:
        connection.execute("BEGIN IMMEDIATE")
        for sql, row in zip(RAW_ROWS, rows, strict=True):
            connection.execute(sql, row)
        connection.execute("COMMIT")
    single = len(ones) / (time.perf_counter() - started)
    started = time.perf_counter()
    for rows_batch in batches:
        connection.execute("BEGIN IMMEDIATE")
        for i, sql in enumerate(RAW_ROWS):
            connection.executemany(sql, [rows[i] for rows in rows_batch])
        connection.execute("COMMIT")
    batched = len(batches) * batch / (time.perf_counter() - started)
    connection.close()
    return {"single, 1 writer": single, f"batch of {batch}": batched}


async def postgres_raw_rates(
    url: str, schema: str, n: int, batch: int, writers: int
) -> dict[str, float]:
    pool = await asyncpg.create_pool(
        url, min_size=writers, max_size=writers, server_settings={"search_path": schema}
    )
    ids = [row[0] for row in await pool.fetch("SELECT conversation_id FROM conversations")]
    load = Workload(ids)
    statements = [numbered(sql) for sql in RAW_ROWS]
    single = n // 10
    ones = [load.raw_rows() for _ in range(single)]
    many = [[load.raw_rows() for _ in range(single // writers)] for _ in range(writers)]
    batches = [[load.raw_rows() for _ in range(batch)] for _ in range(n // batch)]

    async def writer(messages: list[tuple[tuple[object, ...], ...]]) -> None:
        async with pool.acquire() as connection:
            for rows in messages:
                async with connection.transaction():
                    for sql, row in zip(statements, rows, strict=True):
                        await connection.execute(sql, *row)

    async def batched() -> None:
        async with pool.acquire() as connection:
            for rows_batch in batches:
                async with connection.transaction():
                    for i, sql in enumerate(statements):
                        await connection.executemany(sql, [rows[i] for rows in rows_batch])

    rates = {
        "single, 1 writer": await timed(len(ones), lambda: writer(ones)),
        f"single, {writers} writers": await timed(
            sum(map(len, many)), lambda: asyncio.gather(*(writer(chunk) for chunk in many))
        ),
        f"batch of {batch}": await timed(len(batches) * batch, batched),
    }
    await pool.close()
    return rates


async def run_sqlite(
    directory: str, synchronous: str, args: argparse.Namespace
) -> dict[str, tuple[float, float | None]]:
    path = str(Path(directory) / f"bench-{synchronous}.db")
    async with await open_store(f"sqlite:///{path}?synchronous={synchronous}") as store:
        rates = await store_rates(store, args.messages, args.batch, args.writers)
    raw = sqlite_raw_rates(path, synchronous, args.messages, args.batch)
    return {name: (rate, raw.get(name)) for name, rate in rates.items()}


async def run_postgres(url: str, args: argparse.Namespace) -> dict[str, tuple[float, float | None]]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        async with await open_store(
            f"{url}{'&' if '?' in url else '?'}search_path={schema}&pool_max_size={args.writers}"
        ) as store:
            rates = await store_rates(store, args.messages, args.batch, args.writers)
        raw = await postgres_raw_rates(url, schema, args.messages, args.batch, args.writers)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    return {name: (rate, raw.get(name)) for name, rate in rates.items()}


def show(results: dict[str, dict[str, tuple[float, float | None]]]) -> None:
    head = (
        f"{'driver':<12} {'scenario':<28} {'store msg/s':>12} {'raw INSERT':>12} {'store/raw':>10}"
    )
    print(head)
    print("-" * len(head))
    for driver, rates in results.items():
        for scenario, (store, raw) in rates.items():
            raw_cell = "-" if raw is None else f"{raw:,.0f}"
            ratio = "-" if raw is None else f"{store / raw:.0%}"
            print(f"{driver:<12} {scenario:<28} {store:>12,.0f} {raw_cell:>12} {ratio:>10}")


async def run_all(args: argparse.Namespace) -> dict[str, dict[str, tuple[float, float | None]]]:
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for synchronous in ("full", "normal"):
            results[f"sqlite/{synchronous}"] = await run_sqlite(directory, synchronous, args)
    if args.postgres_url:
        results["postgresql"] = await run_postgres(args.postgres_url, args)
    return results


def median(values: list[float | None]) -> float | None:
    known = sorted(value for value in values if value is not None)
    return known[len(known) // 2] if known else None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages per batched run")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--writers", type=int, default=8, help="concurrent single writers")
    parser.add_argument("--repeat", type=int, default=3, help="runs; each cell is the median")
    parser.add_argument("--postgres-url", default=os.environ.get("COLUMBA_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    runs = [await run_all(args) for _ in range(args.repeat)]
    results = {
        driver: {
            scenario: (
                median([run[driver][scenario][0] for run in runs]) or 0.0,
                median([run[driver][scenario][1] for run in runs]),
            )
            for scenario in rates
        }
        for driver, rates in runs[0].items()
    }
    single = args.messages // 10
    print(
        f"{os.cpu_count()} cores; {args.messages:,} messages in batches of {args.batch},"
        f" {single:,} single; median of {args.repeat} runs\n"
    )
    show(results)


if __name__ == "__main__":
    asyncio.run(main())
