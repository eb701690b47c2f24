"""A small key/value table for server state (a node's last SMSC sequence number, flags …).

Values are text; the caller chooses the encoding (JSON for anything structured).
"""

from __future__ import annotations

from columba.storage.sql import Op, execute, fetch_one


def get(key: str) -> Op[str | None]:
    """The value stored under ``key``, or None."""
    row = yield from fetch_one("SELECT value FROM settings WHERE key = ?", key)
    return None if row is None else str(row[0])


def put(key: str, value: str, *, now: int) -> Op[None]:
    """Stores ``value`` under ``key``, replacing what was there."""
    yield from execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        key,
        value,
        now,
    )


def delete(key: str) -> Op[bool]:
    """Removes ``key``; True when it was there."""
    count = yield from execute("DELETE FROM settings WHERE key = ?", key)
    return count > 0
