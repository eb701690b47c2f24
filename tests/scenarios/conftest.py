"""Fixtures: a running server per test, on each storage backend."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios.harness import Server

POSTGRES_URL = os.environ.get("COLUMBA_TEST_POSTGRES_URL", "")


async def _pg(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A storage URL: a file in the test's directory, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'columba.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("COLUMBA_TEST_POSTGRES_URL is not set: PostgreSQL scenarios skipped")
    schema = "scenario_" + secrets.token_hex(6)
    asyncio.run(_pg(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}search_path={schema}"
    asyncio.run(_pg(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """A started server; stopped after the test (its log is printed on failure)."""
    data = tmp_path / "data"
    data.mkdir()
    srv = Server(data_dir=data, storage_url=backend)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
