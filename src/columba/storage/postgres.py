"""The PostgreSQL driver: asyncpg and a pool of connections.

asyncpg was chosen over psycopg 3 (async) because it was faster on every shape of the message
hot path measured here, and caches prepared statements per connection with no extra code (see
``docs/decisions/0003-storage.md``).

Each write operation runs in one ``READ COMMITTED`` transaction on one pooled connection; a
read-only operation runs its statements without a transaction (each sees committed data). The
rules that need serialization take row locks (conversation counters, contact-list versions), in
a fixed order so that they cannot deadlock; should PostgreSQL still report a deadlock or a
serialization failure, the operation is run again from the start, a bounded number of times.

Migrations run under a transaction-scoped advisory lock keyed by the current schema, so two
processes opening the same database at once apply each migration exactly once, and test runs
in separate schemas do not wait for each other.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import asyncpg
import asyncpg.exceptions as pg

from columba.storage import migrate
from columba.storage.errors import Conflict, NotFound, StorageError, Unavailable
from columba.storage.sql import Dialect, Op, OpFactory, Result, Statement, fetch

T = TypeVar("T")

ATTEMPTS = 5
"""Runs of one operation when PostgreSQL reports a deadlock or serialization failure."""

MIGRATION_LOCK = 0x436F6C75  # "Colu": the first key of the advisory lock; the schema is the second

_RETRYABLE = (pg.DeadlockDetectedError, pg.SerializationError)
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    pg.PostgresConnectionError,
    pg.ConnectionDoesNotExistError,
    pg.InsufficientResourcesError,
    pg.OperatorInterventionError,
    pg.CannotConnectNowError,
)


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """Rewrites ``?`` placeholders to PostgreSQL's ``$1, $2 …`` (outside string literals)."""
    out = []
    count = 0
    in_literal = False
    for char in sql:
        if char == "'":
            in_literal = not in_literal
        elif char == "?" and not in_literal:
            count += 1
            out.append(f"${count}")
            continue
        out.append(char)
    return "".join(out)


def _rowcount(status: str) -> int:
    """The row count from a command tag such as ``INSERT 0 3`` or ``UPDATE 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _translate(error: BaseException) -> StorageError:
    if isinstance(error, pg.UniqueViolationError):
        return Conflict(f"{error.constraint_name or 'unique constraint'}: {error}")
    if isinstance(error, pg.ForeignKeyViolationError):
        return NotFound(f"a row it refers to does not exist ({error})")
    if isinstance(error, _UNAVAILABLE):
        return Unavailable(str(error) or type(error).__name__)
    return StorageError(str(error) or type(error).__name__)


async def _drive(connection: Any, op: Op[T]) -> T:
    """Runs an operation's statements on a connection, one round trip each."""
    try:
        statement = next(op)
        while True:
            statement = op.send(await _execute(connection, statement))
    except StopIteration as stop:
        value: T = stop.value
        return value
    finally:
        op.close()


async def _execute(connection: Any, statement: Statement) -> Result:
    sql = numbered(statement.sql)
    if statement.many is not None and statement.returns_rows:
        rows = await connection.fetchmany(sql, statement.many)  # pipelined, like executemany
        return Result(rows=rows, rowcount=len(rows))
    if statement.many is not None:
        # executemany pipelines every row in one round trip; asyncpg reports no row count.
        await connection.executemany(sql, statement.many)
        return Result(rowcount=-1)
    if statement.returns_rows:
        rows = await connection.fetch(sql, *statement.args)
        return Result(rows=rows, rowcount=len(rows))
    return Result(rowcount=_rowcount(await connection.execute(sql, *statement.args)))


async def _keep_session(connection: Any) -> None:
    """Replaces asyncpg's reset query on release to the pool (``RESET ALL; UNLISTEN *; …``).

    Operations here set no session state (no ``SET``, ``LISTEN``, cursors or session-level
    advisory locks), so the reset would only cost a round trip per operation; asyncpg still
    rolls back a transaction left open before this is called.
    """


def _migrations(migrations: tuple[migrate.Migration, ...]) -> Op[list[int]]:
    yield from fetch(
        "SELECT pg_advisory_xact_lock(?, hashtext(COALESCE(current_schema(), '')))",
        MIGRATION_LOCK,
    )
    return (yield from migrate.apply(migrations))


class PostgresEngine:
    """Runs operations on a pool of asyncpg connections."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._is_closed = False

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresEngine:
        """Connects and brings the schema up to date.

        Args:
            dsn: A ``postgresql://`` URL as asyncpg reads it; query parameters it does not
                know (``search_path=…``) are sent as server settings.
            min_size: Connections the pool keeps open.
            max_size: Connections the pool opens at most.

        Raises:
            Unavailable: The server cannot be reached.
            StorageError: Any other failure to connect or migrate.
        """
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                statement_cache_size=512,
                reset=_keep_session,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, *_UNAVAILABLE) as error:
            raise _translate(error) from error
        engine = cls(pool)
        try:
            migrations = migrate.load(Dialect.POSTGRESQL)
            await engine.run(lambda: _migrations(migrations))
        except BaseException:
            await engine.close()
            raise
        return engine

    @property
    def dialect(self) -> Dialect:
        """Always PostgreSQL."""
        return Dialect.POSTGRESQL

    async def run(
        self, factory: OpFactory[T], *, write: bool = True, retry_on_conflict: bool = False
    ) -> T:
        """Runs an operation on a pooled connection; see ``Engine.run``.

        Cancelling the awaiting task rolls the transaction back (asyncpg resets the connection
        before the pool hands it out again).
        """
        if self._is_closed:
            raise StorageError("the store is closed")
        attempt = 1
        while True:
            try:
                async with self._pool.acquire() as connection:
                    if not write:
                        return await _drive(connection, factory())
                    async with connection.transaction():
                        return await _drive(connection, factory())
            except _RETRYABLE as error:
                if attempt >= ATTEMPTS:
                    raise Unavailable(f"gave up after {attempt} attempts: {error}") from error
            except pg.UniqueViolationError as error:
                if not retry_on_conflict or attempt > 1:
                    raise _translate(error) from error
            except (asyncpg.PostgresError, asyncpg.InterfaceError, *_UNAVAILABLE) as error:
                raise _translate(error) from error
            attempt += 1

    async def close(self) -> None:
        """Closes the pool, waiting for connections in use to be released."""
        if self._is_closed:
            return
        self._is_closed = True
        await self._pool.close()
