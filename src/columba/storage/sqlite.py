"""The SQLite driver: the standard ``sqlite3`` module in one dedicated thread.

SQLite calls block, so none of them may run on the event loop. This engine owns one thread
(a single-worker executor) and one connection created in it with ``check_same_thread`` on, so
``sqlite3`` itself refuses any use of the connection from another thread, the event loop's
included. A whole operation (every statement of a transaction) runs in one hop to that thread
and back, which is what makes it cheaper than a per-statement bridge such as aiosqlite (see
``docs/decisions/0003-storage.md`` for the numbers).

One connection serializes the operations of this process; writes across processes are
serialized by SQLite's write lock: write transactions start with ``BEGIN IMMEDIATE`` (take the
lock at once rather than upgrade later, which is what makes concurrent writers deadlock-free),
and a busy lock is waited for up to ``busy_timeout`` milliseconds.

Pragmas: WAL (readers do not block the writer), ``foreign_keys`` on, and ``synchronous``
``FULL`` by default, so a committed message survives power loss, not only a crash of the
process; ``?synchronous=normal`` in the URL trades that for cheaper single commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from columba.storage import migrate
from columba.storage.errors import Conflict, NotFound, StorageError, Unavailable
from columba.storage.sql import Dialect, OpFactory, Result
from columba.storage.sqlite_worker import connect, run_op

T = TypeVar("T")

SYNCHRONOUS_MODES = frozenset({"off", "normal", "full", "extra"})


def translate(error_name: str, message: str) -> StorageError:
    """Our error for a ``sqlite3`` error, from its ``sqlite_errorname`` and text."""
    if error_name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return Conflict(message)
    if error_name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return NotFound(f"a row it refers to does not exist ({message})")
    if error_name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")):
        return Unavailable(message)
    return StorageError(message)


def _translate(error: sqlite3.Error) -> StorageError:
    return translate(getattr(error, "sqlite_errorname", ""), str(error))


class SqliteEngine:
    """Runs operations against one SQLite database file (or ``:memory:``)."""

    def __init__(self, executor: ThreadPoolExecutor, connection: sqlite3.Connection) -> None:
        self._executor = executor
        self._connection = connection
        self._is_closed = False

    @classmethod
    async def open(
        cls, path: str, *, synchronous: str = "full", busy_timeout_ms: int = 5000
    ) -> SqliteEngine:
        """Opens (creating if need be) a database and brings its schema up to date.

        Args:
            path: A file path, or ``:memory:`` for a private in-memory database.
            synchronous: The ``PRAGMA synchronous`` level: off, normal, full or extra.
            busy_timeout_ms: How long to wait for another process's write lock.

        Raises:
            Unavailable: The file cannot be opened, or stayed locked.
            StorageError: The schema is newer than this code, or WAL cannot be used.
        """
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS_MODES)}")
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="columba-sqlite")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(
                executor, connect, path, synchronous, busy_timeout_ms
            )
        except sqlite3.Error as error:
            executor.shutdown(wait=False)
            raise _translate(error) from error
        except BaseException:
            executor.shutdown(wait=False)
            raise
        engine = cls(executor, connection)
        try:
            migrations = migrate.load(Dialect.SQLITE)
            await engine.run(lambda: migrate.apply(migrations))
        except BaseException:
            await engine.close()
            raise
        return engine

    @property
    def dialect(self) -> Dialect:
        """Always SQLite."""
        return Dialect.SQLITE

    async def run(
        self, factory: OpFactory[T], *, write: bool = True, retry_on_conflict: bool = False
    ) -> T:
        """Runs an operation in the database thread; see ``Engine.run``.

        ``retry_on_conflict`` is not needed here: ``BEGIN IMMEDIATE`` holds the write lock from
        the first statement, so no other writer can slip in between a check and an insert.

        Cancelling the awaiting task does not cut a transaction in half: the thread finishes
        the operation (commit or rollback) and its result is dropped.
        """
        if self._is_closed:
            raise StorageError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, factory, write)

    def _transaction(self, factory: OpFactory[T], write: bool) -> T:
        try:
            value: T = run_op(self._connection, write, factory(), Result)
        except sqlite3.Error as error:
            raise _translate(error) from error
        return value

    async def close(self) -> None:
        """Closes the connection in its thread and lets the thread end."""
        if self._is_closed:
            return
        self._is_closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._connection.close)
        finally:
            self._executor.shutdown(wait=False)
