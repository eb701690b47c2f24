"""What is particular to the PostgreSQL driver: placeholders, retries, pools, reachability."""

from __future__ import annotations

import asyncio

import pytest

from columba.storage import Store, Unavailable, open_store
from columba.storage.postgres import _rowcount, numbered
from columba.storage.sql import Op, execute, fetch_one
from columba.storage.store import SqlStore

from .conftest import NO_POSTGRES, POSTGRES_URL, Backend, with_query

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)


def test_placeholders_are_numbered_outside_literals() -> None:
    assert numbered("SELECT ? + ?") == "SELECT $1 + $2"
    assert numbered("SELECT '?' || ?, 'it''s ?', ?") == "SELECT '?' || $1, 'it''s ?', $2"
    assert numbered("SELECT 1") == "SELECT 1"


def test_row_counts_come_from_command_tags() -> None:
    assert _rowcount("INSERT 0 3") == 3
    assert _rowcount("UPDATE 1") == 1
    assert _rowcount("DELETE 0") == 0
    assert _rowcount("CREATE TABLE") == 0


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        asyncio.run(open_store("postgresql://postgres@127.0.0.1:1/test"))


@pytest.fixture
def postgres(backend: Backend) -> Backend:
    """The PostgreSQL backend only."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    return backend


@needs_postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_small_pool_serves_many_tasks(postgres: Backend) -> None:
    async def scenario() -> None:
        async with await open_store(with_query(postgres.url, pool_max_size="2")) as store:
            conversations = await asyncio.gather(
                *(store.pair_conversation(1, n) for n in range(2, 42))
            )
            assert len({c.conversation_id for c in conversations}) == 40

    postgres.run_with(scenario)


@needs_postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_deadlock_is_retried(postgres: Backend) -> None:
    """Two operations lock two rows in opposite orders; PostgreSQL kills one, it runs again."""

    def bump_both(first: str, second: str) -> Op[None]:
        for key in (first, second):
            yield from execute(
                "UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
                " WHERE key = ?",
                key,
            )
            yield from fetch_one("SELECT pg_sleep(0.2)")

    async def scenario(store: Store) -> None:
        assert isinstance(store, SqlStore)
        await store.set_setting("a", "0")
        await store.set_setting("b", "0")
        engine = store._engine
        await asyncio.gather(
            engine.run(lambda: bump_both("a", "b")), engine.run(lambda: bump_both("b", "a"))
        )
        assert (await store.get_setting("a"), await store.get_setting("b")) == ("2", "2")

    postgres.run(scenario)
