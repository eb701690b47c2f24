"""Robot state that survives restarts: a small key-value store with an atomic claim.

``claim(key, ttl)`` is how the SDK drops a redelivered event: the first caller wins, any later
caller within ``ttl`` loses, with no read-then-write race (sso-bots.md B.3 item 2). ``get`` and
``set`` hold handlers' state (JSON strings). Two implementations: in memory, and SQLite (one
file, safe for one process; use one file per robot).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    """Where a robot keeps state."""

    async def claim(self, key: str, ttl: float) -> bool:
        """True for the first claim of ``key`` within ``ttl`` seconds, False after."""
        ...

    async def get(self, key: str) -> str | None:
        """A value, or None."""
        ...

    async def set(self, key: str, value: str) -> None:
        """Store a value."""
        ...

    async def delete(self, key: str) -> None:
        """Forget a value."""
        ...

    async def keys(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``, sorted."""
        ...


class MemoryStorage:
    """State in a dict: for tests and robots that may forget."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._claims: dict[str, float] = {}

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        if len(self._claims) > 100_000:
            self._claims = {k: v for k, v in self._claims.items() if v > now}
        if self._claims.get(key, 0.0) > now:
            return False
        self._claims[key] = now + ttl
        return True

    async def get(self, key: str) -> str | None:
        return self._values.get(key)

    async def set(self, key: str, value: str) -> None:
        self._values[key] = value

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self._values if k.startswith(prefix))


class SqliteStorage:
    """State in a SQLite file; each call runs in a worker thread, one at a time."""

    def __init__(self, path: str | Path) -> None:
        self._connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._connection.executescript(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, until REAL NOT NULL);"
        )
        self._lock = asyncio.Lock()

    async def _run(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        async with self._lock:
            return await asyncio.to_thread(self._execute, sql, args)

    def _execute(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        cursor = self._connection.execute(sql, args)
        rows = cursor.fetchall()
        self._last_count = cursor.rowcount
        return rows

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.time()
        # One statement: insert, or take over an expired claim; the row count says who won.
        await self._run(
            "INSERT INTO claims (key, until) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET until = excluded.until WHERE claims.until <= ?",
            key,
            now + ttl,
            now,
        )
        return self._last_count == 1

    async def get(self, key: str) -> str | None:
        rows = await self._run("SELECT value FROM kv WHERE key = ?", key)
        return str(rows[0][0]) if rows else None

    async def set(self, key: str, value: str) -> None:
        await self._run(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value",
            key,
            value,
        )

    async def delete(self, key: str) -> None:
        await self._run("DELETE FROM kv WHERE key = ?", key)

    async def keys(self, prefix: str) -> list[str]:
        rows = await self._run(
            "SELECT key FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key", len(prefix), prefix
        )
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Close the file."""
        self._connection.close()
