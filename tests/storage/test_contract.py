"""The storage contract, part 1: opening, migrations, errors and settings.

Every ``test_contract*.py`` module runs each test against every driver through the ``backend``
fixture (see ``conftest.py``): the drivers must be indistinguishable through the interface.
"""

from __future__ import annotations

import asyncio

import pytest

from columba.storage import Conflict, NotFound, StorageError, Store, open_store
from columba.storage.migrate import load
from columba.storage.sql import Dialect, Op, execute
from columba.storage.store import SqlStore

from .conftest import Backend, raw_fetch


def known_versions() -> list[int]:
    return [migration.version for migration in load(Dialect.SQLITE)]


def test_open_applies_every_migration_once(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        rows = await raw_fetch(store, "SELECT version, name FROM schema_migrations ORDER BY 1")
        assert [row[0] for row in rows] == known_versions()
        assert rows[0][1] == "initial"

    backend.run(scenario)


def test_reopening_applies_nothing(backend: Backend) -> None:
    async def first(store: Store) -> None:
        await store.set_setting("kept", "yes")

    async def second(store: Store) -> None:
        rows = await raw_fetch(store, "SELECT version FROM schema_migrations")
        assert sorted(row[0] for row in rows) == known_versions()
        assert await store.get_setting("kept") == "yes"

    backend.run(first)
    backend.run(second)


def test_concurrent_opens_migrate_once(backend: Backend) -> None:
    async def scenario() -> None:
        stores = await asyncio.gather(*(open_store(backend.url) for _ in range(4)))
        try:
            rows = await raw_fetch(stores[0], "SELECT version FROM schema_migrations")
            assert sorted(row[0] for row in rows) == known_versions()
            accounts = await asyncio.gather(
                *(
                    s.create_account(display_name=f"u{i}", password_hash="h")
                    for i, s in enumerate(stores)
                )
            )
            assert len({account.user_id for account in accounts}) == 4
        finally:
            await asyncio.gather(*(store.close() for store in stores))

    backend.run_with(scenario)


def test_a_newer_schema_is_refused(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert isinstance(store, SqlStore)
        await store._engine.run(
            lambda: execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'x', 0)"
            )
        )

    backend.run(scenario)

    async def reopen() -> None:
        with pytest.raises(StorageError, match="upgrade Columba"):
            await open_store(backend.url)

    backend.run_with(reopen)


def test_a_unique_violation_becomes_conflict(backend: Backend) -> None:
    insert = "INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 0)"

    async def scenario(store: Store) -> None:
        assert isinstance(store, SqlStore)
        await store._engine.run(lambda: execute(insert))
        with pytest.raises(Conflict):
            await store._engine.run(lambda: execute(insert))
        assert await store.get_setting("k") == "v"

    backend.run(scenario)


def test_a_foreign_key_violation_becomes_not_found(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        with pytest.raises(NotFound):
            await store.create_invite(created_by=12345)

    backend.run(scenario)


def test_a_failed_operation_leaves_no_trace(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert isinstance(store, SqlStore)

        def half_done() -> Op[None]:
            yield from execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 0)")
            raise NotFound("stop here")

        with pytest.raises(NotFound, match="stop here"):
            await store._engine.run(half_done)
        assert await store.get_setting("a") is None

    backend.run(scenario)


def test_a_closed_store_refuses_work(backend: Backend) -> None:
    async def scenario() -> None:
        store = await open_store(backend.url)
        await store.close()
        await store.close()  # closing twice is harmless
        with pytest.raises(StorageError, match="closed"):
            await store.get_setting("anything")

    backend.run_with(scenario)


def test_settings(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.get_setting("smsc.sequence") is None
        await store.set_setting("smsc.sequence", "41")
        await store.set_setting("smsc.sequence", "42")
        assert await store.get_setting("smsc.sequence") == "42"
        await store.set_setting("unicode", "飞信 ✓")
        assert await store.get_setting("unicode") == "飞信 ✓"
        assert await store.delete_setting("smsc.sequence") is True
        assert await store.delete_setting("smsc.sequence") is False
        assert await store.get_setting("smsc.sequence") is None

    backend.run(scenario)
