"""What is particular to the SQLite driver: URLs, pragmas, its thread, other processes."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import pytest

from columba.storage import NewMessage, Recipient, StorageError, Store, Unavailable, open_store
from columba.storage.sqlite import SqliteEngine
from columba.storage.store import SqlStore

from .conftest import raw_fetch


def engine_of(store: Store) -> SqliteEngine:
    assert isinstance(store, SqlStore)
    assert isinstance(store._engine, SqliteEngine)
    return store._engine


async def pragma(store: Store, name: str) -> object:
    return (await raw_fetch(store, f"PRAGMA {name}"))[0][0]


def test_url_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def scenario() -> None:
        async with await open_store("sqlite:///relative.db") as store:
            await store.set_setting("where", "relative")
        async with await open_store(f"sqlite:///{tmp_path}/absolute.db") as store:
            await store.set_setting("where", "absolute")
        async with await open_store("sqlite:///:memory:") as store:
            assert await pragma(store, "journal_mode") == "memory"
            await store.set_setting("where", "memory")

    asyncio.run(scenario())
    assert (tmp_path / "relative.db").exists()
    assert (tmp_path / "absolute.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "no database file"),
        ("sqlite://host/file.db", "no host"),
        ("sqlite:///x.db?journal=delete", "unknown sqlite parameters"),
        ("sqlite:///x.db?synchronous=sometimes", "synchronous"),
        ("sqlite:///x.db?busy_timeout=soon", "integer"),
        ("sqlite:///x.db?worker=fork", "worker"),
        ("sqlite:///x.db?reader=2", "reader must be on or off"),
        ("mysql://root@localhost/columba", "unknown scheme"),
        ("postgresql://u@h/db?pool_size=3", "unknown pool parameters"),
        ("postgresql://u@h/db?pool_min_size=5&pool_max_size=2", "above"),
    ],
)
def test_bad_urls_are_refused_before_any_io(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        asyncio.run(open_store(url))


def test_a_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        asyncio.run(open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db"))


def test_write_ahead_logging_and_durability(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            assert await pragma(store, "journal_mode") == "wal"
            assert await pragma(store, "synchronous") == 2  # FULL
            assert await pragma(store, "foreign_keys") == 1
        async with await open_store(f"sqlite:///{tmp_path}/b.db?synchronous=normal") as store:
            assert await pragma(store, "synchronous") == 1

    asyncio.run(scenario())


def test_the_connection_refuses_the_event_loop_thread() -> None:
    async def scenario() -> None:
        async with await open_store("sqlite:///:memory:?worker=thread") as store:
            with pytest.raises(sqlite3.ProgrammingError, match="thread"):
                engine_of(store)._connection.execute("SELECT 1")

    asyncio.run(scenario())


def test_the_event_loop_keeps_running_while_sqlite_works() -> None:
    batch = [
        NewMessage(
            conversation_id=1,
            sender_id=1,
            recipients=(Recipient(user_id=2, devices=("pc", "phone")),),
            content_type="text/plain",
            body=b"x" * 200,
            client_key=f"k{i}",
        )
        for i in range(20_000)
    ]

    async def scenario() -> None:
        async with await open_store("sqlite:///:memory:") as store:
            await store.pair_conversation(1, 2)
            ticks = 0
            done = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not done.is_set():
                    await asyncio.sleep(0.001)
                    ticks += 1

            async with asyncio.TaskGroup() as group:
                group.create_task(ticker())
                started = time.perf_counter()
                await store.store_messages(batch)
                elapsed = time.perf_counter() - started
                done.set()
            # Blocked, the loop would tick once at most; it ticks all along instead.
            assert elapsed > 0.05
            assert ticks >= 5, (ticks, elapsed)

    asyncio.run(scenario())


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from columba.storage import NewMessage, Recipient, open_store

    async def main(url, name):
        async with await open_store(url) as store:
            cid = (await store.pair_conversation(1, 2)).conversation_id
            for i in range(60):
                message = NewMessage(
                    conversation_id=cid, sender_id=1, recipients=(Recipient(user_id=2),),
                    content_type="text/plain", body=b"x", client_key=f"{name}-{i}",
                )
                await store.store_messages([message])

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def test_processes_share_one_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db?busy_timeout=20000"

    async def scenario() -> None:
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, url, f"p{n}")
            for n in range(3)
        ]
        assert [await process.wait() for process in processes] == [0, 0, 0]
        async with await open_store(url) as store:
            rows = await raw_fetch(store, "SELECT version FROM schema_migrations")
            assert len(rows) == len({row[0] for row in rows})
            cid = (await store.pair_conversation(1, 2)).conversation_id
            history = await store.messages_after(cid, 0, limit=1000)
            assert [m.seq for m in history] == list(range(1, 181))
            assert len({m.client_key for m in history}) == 180

    asyncio.run(scenario())


def test_a_lock_held_too_long_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"

    async def scenario() -> None:
        async with await open_store(f"sqlite:///{path}?busy_timeout=50") as store:
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            try:
                with pytest.raises(Unavailable, match="locked"):
                    await store.set_setting("k", "v")
            finally:
                other.execute("ROLLBACK")
                other.close()
            await store.set_setting("k", "v")  # and works once the lock is released
            assert await store.get_setting("k") == "v"

    asyncio.run(scenario())


def test_a_closed_engine_is_closed_for_good() -> None:
    async def scenario() -> None:
        store = await open_store("sqlite:///:memory:")
        await store.close()
        with pytest.raises(StorageError):
            await store.pair_conversation(1, 2)

    asyncio.run(scenario())
