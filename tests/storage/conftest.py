"""Fixtures for the storage tests: one ``backend`` per driver, each on a fresh database.

SQLite always runs, on a file in the test's temporary directory. PostgreSQL runs when
``COLUMBA_TEST_POSTGRES_URL`` names a server (``scripts/test`` sets it); each test then gets a
schema of its own, created with a random name, put on the ``search_path`` of every connection
the store opens, and dropped afterwards, so concurrent runs cannot collide.

Tests are plain functions that call ``backend.run(scenario)``: ``run`` opens a store, awaits
``scenario(store)`` in a fresh event loop (``asyncio.run``) and closes the store.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from columba.storage import Store, open_store
from columba.storage.sql import Row, fetch
from columba.storage.store import SqlStore

POSTGRES_URL = os.environ.get("COLUMBA_TEST_POSTGRES_URL", "")
NO_POSTGRES = "COLUMBA_TEST_POSTGRES_URL is not set: PostgreSQL contract tests skipped"


def with_query(url: str, **parameters: str) -> str:
    """The URL with query parameters added."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *parameters.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def postgres_admin(statement: str) -> None:
    """Runs one statement on the test server, outside any test schema."""
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def raw_fetch(store: Store, sql: str, *args: object) -> Sequence[Row]:
    """Runs a query on the store's own engine (for checks the interface does not offer)."""
    assert isinstance(store, SqlStore)
    return await store._engine.run(lambda: fetch(sql, *args), write=False)


@dataclass
class Backend:
    """A database for one test: its driver name and the URL that opens it."""

    name: str
    url: str

    def run(
        self,
        scenario: Callable[[Store], Awaitable[None]],
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Opens a store, runs ``scenario`` with it in a new event loop, closes the store."""

        async def main() -> None:
            store = await (
                open_store(self.url) if clock is None else open_store(self.url, clock=clock)
            )
            async with store:
                await scenario(store)

        asyncio.run(main())

    def run_with(self, scenario: Callable[[], Awaitable[Any]]) -> Any:
        """Runs a coroutine that opens stores itself (concurrent opens, several stores)."""
        return asyncio.run(scenario())


@pytest.fixture(params=["sqlite", "sqlite-thread", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Backend]:
    """A fresh, empty database on each driver (SQLite with each of its two engines)."""
    if request.param == "sqlite":
        yield Backend(name="sqlite", url=f"sqlite:///{tmp_path}/columba.db")
        return
    if request.param == "sqlite-thread":
        yield Backend(name="sqlite", url=f"sqlite:///{tmp_path}/columba.db?worker=thread")
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = f"test_{secrets.token_hex(6)}"
    asyncio.run(postgres_admin(f"CREATE SCHEMA {schema}"))
    try:
        yield Backend(name="postgresql", url=with_query(POSTGRES_URL, search_path=schema))
    finally:
        asyncio.run(postgres_admin(f"DROP SCHEMA {schema} CASCADE"))
