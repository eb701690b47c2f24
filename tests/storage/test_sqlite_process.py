"""The SQLite worker process engine: whole operations in one round trip, statements one by one,
errors carried back, cancellation, a worker that dies."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pytest

from columba.storage import Conflict, NotFound, StorageError, Store, Unavailable, open_store
from columba.storage.sql import Op, Row, Statement, fetch
from columba.storage.sqlite_process import SqliteProcessEngine, _shipped
from columba.storage.store import SqlStore


def engine_of(store: Store) -> SqliteProcessEngine:
    assert isinstance(store, SqlStore)
    assert isinstance(store._engine, SqliteProcessEngine)
    return store._engine


def insert_then(value: str, *, fail: bool) -> Op[int]:
    """A module-level operation (shippable): one write, then maybe an error of ours."""
    yield Statement(
        sql="INSERT INTO settings (key, value, updated_at) VALUES ('probe', ?, 0)", args=(value,)
    )
    if fail:
        raise NotFound("told to fail")
    result = yield Statement(sql="SELECT count(*) FROM settings", returns_rows=True)
    count = result.rows[0][0]
    assert isinstance(count, int)
    return count


async def probe(store: Store) -> Sequence[Row]:
    engine = engine_of(store)
    return await engine.run(
        lambda: fetch("SELECT value FROM settings WHERE key = 'probe'"), write=False
    )


def test_a_partial_of_a_storage_operation_is_shipped_whole() -> None:
    from columba.storage import delivery

    assert _shipped(partial(delivery.list_devices, 1), False) is not None
    assert _shipped(lambda: delivery.list_devices(1), False) is None
    # Not ours, or arguments that do not pickle: statement by statement instead.
    assert _shipped(partial(insert_then, "x", fail=False), True) is None
    assert _shipped(partial(delivery.list_devices, lambda: 1), False) is None


def test_the_hot_path_operations_run_in_the_worker(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine_of(store)
            conversation = await store.pair_conversation(1, 2)
            assert await store.register_device(2, "pc")
            assert [d.device_id for d in await store.devices(2)] == ["pc"]
            from columba.storage import NewMessage, Recipient

            new = NewMessage(
                conversation_id=conversation.conversation_id,
                sender_id=1,
                recipients=(Recipient(user_id=2, devices=("pc",)),),
                content_type="text/plain",
                body=b"hi",
                client_key="k1",
            )
            (stored,) = await store.commit_batch([new], [])
            again = await store.commit_batch([new], [])
            assert again[0].is_duplicate
            assert again[0].message_id == stored.message_id
            pending = await store.pending_for_device(2, "pc")
            assert [m.message_id for m in pending] == [stored.message_id]
            with pytest.raises(NotFound):
                await store.message("no-such-id")

    asyncio.run(scenario())


def test_statement_by_statement_commits_or_rolls_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine = engine_of(store)
            with pytest.raises(NotFound, match="told to fail"):
                await engine.run(lambda: insert_then("one", fail=True))
            assert await probe(store) == []  # rolled back
            assert await engine.run(lambda: insert_then("two", fail=False)) >= 1
            assert [tuple(row) for row in await probe(store)] == [("two",)]
            # A constraint the database enforces comes back as our Conflict.
            with pytest.raises(Conflict):
                await engine.run(lambda: insert_then("three", fail=False))
            assert [tuple(row) for row in await probe(store)] == [("two",)]

    asyncio.run(scenario())


def test_a_cancelled_caller_does_not_cut_a_transaction(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine = engine_of(store)

            def slow() -> Op[None]:
                yield Statement(
                    sql="INSERT INTO settings (key, value, updated_at) VALUES ('probe', 'x', 0)"
                )
                yield Statement(
                    sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 300000) SELECT count(*) FROM n",
                    returns_rows=True,
                )
                yield Statement(sql="UPDATE settings SET value = 'done' WHERE key = 'probe'")

            task = asyncio.create_task(engine.run(slow))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The operation finished all the same, then the next one ran.
            assert [tuple(row) for row in await probe(store)] == [("done",)]

    asyncio.run(scenario())


def test_a_dead_worker_makes_the_store_unavailable(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/a.db")
        engine = engine_of(store)
        os.kill(engine._writer.process.pid, signal.SIGKILL)
        await engine._writer.process.wait()
        with pytest.raises(Unavailable, match="worker process is gone"):
            await store.register_device(1, "pc")
        with pytest.raises(Unavailable):  # and stays so
            await probe(store)
        # Reads sent whole still have the reader (the last committed state).
        assert await store.devices(1) == []
        await store.close()
        with pytest.raises(StorageError, match="closed"):
            await store.devices(1)

    asyncio.run(scenario())


def test_the_worker_exits_when_the_store_closes(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/a.db")
        engine = engine_of(store)
        assert engine._reader is not None
        processes = [engine._writer.process, engine._reader.process]
        await store.close()
        assert [p.returncode for p in processes] == [0, 0]

    asyncio.run(scenario())


def test_records_pickle_to_equal_copies() -> None:
    import pickle
    from datetime import UTC, datetime

    from columba.storage import DeviceAck, NewMessage, Recipient, StoredMessage

    records = [
        NewMessage(
            conversation_id=1,
            sender_id=2,
            recipients=(Recipient(user_id=3, devices=("pc", "phone")),),
            content_type="text/plain",
            body=b"\x00hi",
            client_key="k",
        ),
        StoredMessage(
            message_id="m" * 32,
            conversation_id=1,
            seq=7,
            sender_id=2,
            content_type="text/plain",
            body=b"hi",
            client_key="k",
            created_at=datetime(2026, 11, 24, tzinfo=UTC),
            is_duplicate=True,
        ),
        DeviceAck(user_id=3, device_id="pc", message_id="m" * 32, conversation_id=1, seq=7),
    ]
    for record in records:
        copy = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        assert copy == record
        assert hash(copy) == hash(record)
        assert type(copy) is type(record)


def test_reads_sent_whole_go_to_the_reader_and_see_every_committed_write(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine = engine_of(store)
            assert engine._reader is not None
            calls: list[str] = []
            for worker in (engine._writer, engine._reader):
                real = worker.send

                def counted(data: bytes, real=real, role=worker.role) -> asyncio.Future[bytes]:
                    calls.append(role)
                    return real(data)

                worker.send = counted  # type: ignore[method-assign]
            for i in range(20):
                await store.register_device(7, f"d{i}")
                # Read right after the write returned: the reader sees it.
                assert len(await store.devices(7)) == i + 1
            assert calls.count("reader") == 20
            assert calls.count("worker") == 20

    asyncio.run(scenario())


def test_reads_go_on_beside_a_long_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            await store.register_device(7, "pc")
            engine = engine_of(store)
            # A write that holds the write lock for 0.5 s (statement by statement, a lambda).
            write = asyncio.create_task(engine.run(lambda: _slow_write(0.5)))
            await asyncio.sleep(0.1)
            started = asyncio.get_running_loop().time()
            assert [d.device_id for d in await store.devices(7)] == ["pc"]
            assert asyncio.get_running_loop().time() - started < 0.3
            assert not write.done()
            await write

    asyncio.run(scenario())


def _slow_write(seconds: float) -> Op[None]:
    yield Statement(sql="INSERT INTO settings (key, value, updated_at) VALUES ('slow', 'x', 0)")
    # A recursive CTE that keeps the writer busy inside its transaction.
    yield Statement(
        sql="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " SELECT count(*) FROM n",
        args=(int(seconds * 4_000_000),),
        returns_rows=True,
    )


def test_a_dead_reader_leaves_the_reads_to_the_writer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine = engine_of(store)
            assert engine._reader is not None
            os.kill(engine._reader.process.pid, signal.SIGKILL)
            await engine._reader.process.wait()
            await store.register_device(7, "pc")
            # The reader's answer task sees the pipe close: the reader is marked gone, and
            # reads from then on go to the writer (a read caught in between would fail).
            async with asyncio.timeout(5):
                while engine._reader.broken is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            assert "reader process is gone" in engine._reader.broken
            assert [d.device_id for d in await store.devices(7)] == ["pc"]

    asyncio.run(scenario())


def test_an_in_memory_database_has_no_reader() -> None:
    async def scenario() -> None:
        async with await open_store("sqlite:///:memory:") as store:
            assert engine_of(store)._reader is None
            await store.register_device(7, "pc")
            assert [d.device_id for d in await store.devices(7)] == ["pc"]

    asyncio.run(scenario())


def test_the_reader_refuses_a_write_operation(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            reader = engine_of(store)._reader
            assert reader is not None
            from columba.storage import delivery

            request = _shipped(partial(delivery.register_device, 7, "pc", now=0), True)
            assert request is not None
            with pytest.raises(ValueError, match="reader"):
                await reader.round_trip(request)

    asyncio.run(scenario())


def test_reader_off_in_the_url_keeps_one_worker(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db?reader=off") as store:
            assert engine_of(store)._reader is None
            await store.register_device(7, "pc")
            assert [d.device_id for d in await store.devices(7)] == ["pc"]

    asyncio.run(scenario())


def test_requests_sent_whole_are_pipelined_and_answered_in_order(tmp_path: Path) -> None:
    """The writer is sent the next request before the last one's answer is read; a
    transaction driven statement by statement is never interleaved with them."""

    async def scenario() -> None:
        async with await open_store(f"sqlite:///{tmp_path}/a.db") as store:
            engine = engine_of(store)
            writer = engine._writer
            in_flight: list[int] = []
            real = writer.send

            def counted(data: bytes) -> asyncio.Future[bytes]:
                in_flight.append(len(writer._waiting))
                return real(data)

            writer.send = counted  # type: ignore[method-assign]
            slow = asyncio.create_task(engine.run(lambda: _slow_write(0.3)))
            await asyncio.sleep(0.05)
            devices = [store.register_device(7, f"d{i}") for i in range(30)]
            await asyncio.gather(slow, *devices)
            assert max(in_flight) > 1  # several requests in the pipe at once
            assert len(await store.devices(7)) == 30
            # The slow transaction's two statements and its commit were not split: its row
            # is there, and so is every device.
            setting = await engine.run(
                lambda: fetch("SELECT value FROM settings WHERE key = 'slow'"), write=False
            )
            assert [tuple(row) for row in setting] == [("x",)]

    asyncio.run(scenario())
