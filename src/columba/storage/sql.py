"""The sans-I/O core of the SQL drivers: operations are generators that yield statements.

Every store operation (``accounts.create_account``, ``messages.store_batch`` …) is written once,
as a generator that yields :class:`Statement` objects and receives a :class:`Result` for each.
It never touches a connection. A driver runs ("drives") the generator inside one transaction:

* the SQLite driver drives it synchronously in its dedicated thread, so a whole operation costs
  one hop from the event loop to that thread, whatever the number of statements;
* the PostgreSQL driver drives it with ``await`` on an asyncpg connection from its pool.

This keeps the rules (idempotency, sequence numbers, contact-state transitions) in one place and
the I/O at the edge, the way ``columba.protocol`` keeps its parsers free of sockets. SQL is
written in the common subset of both dialects with ``?`` placeholders; the PostgreSQL driver
rewrites them to ``$1, $2 …``. Where a round trip to PostgreSQL would be paid per row, an
operation asks for the dialect and sends arrays instead (see ``messages.py``).

An operation reads as::

    def rename(user_id: int, name: str) -> Op[None]:
        count = yield from execute("UPDATE accounts SET display_name = ? WHERE user_id = ?",
                                   name, user_id)
        if count == 0:
            raise NotFound(...)
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeAlias, TypeVar

T = TypeVar("T")

Row: TypeAlias = Sequence[Any]
"""A result row: a tuple from sqlite3, an ``asyncpg.Record`` from PostgreSQL."""


class Dialect(StrEnum):
    """The SQL dialects Columba speaks (also the URL schemes that select them)."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One SQL statement for the driver to run.

    Attributes:
        sql: The statement, with ``?`` placeholders.
        args: The values for the placeholders (for ``executemany``: unused).
        many: When not None, run the statement once per argument tuple (``executemany``).
        returns_rows: True when the caller wants the rows (``SELECT`` or ``RETURNING``); with
            ``many``, the rows of every run, in order.
    """

    sql: str
    args: Sequence[object] = ()
    many: Sequence[Sequence[object]] | None = None
    returns_rows: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What a statement produced: its rows (when asked for) and the rows it changed.

    The row count of an ``executemany`` without rows is unspecified (asyncpg reports none).
    """

    rows: Sequence[Row] = ()
    rowcount: int = 0


Op: TypeAlias = Generator[Statement, Result, T]
"""An operation: yields statements, receives their results, returns its value."""

OpFactory: TypeAlias = Callable[[], Op[T]]
"""Makes a fresh operation, so that a driver can run it again after a deadlock."""


def fetch(sql: str, *args: object) -> Op[Sequence[Row]]:
    """Runs a query and returns all its rows."""
    result = yield Statement(sql=sql, args=args, returns_rows=True)
    return result.rows


def fetch_one(sql: str, *args: object) -> Op[Row | None]:
    """Runs a query and returns its first row, or None when it returned none."""
    result = yield Statement(sql=sql, args=args, returns_rows=True)
    return result.rows[0] if result.rows else None


def execute(sql: str, *args: object) -> Op[int]:
    """Runs a statement and returns the number of rows it changed."""
    result = yield Statement(sql=sql, args=args)
    return result.rowcount


def execute_many(sql: str, rows: Sequence[Sequence[object]]) -> Op[None]:
    """Runs a statement once per argument tuple (nothing is sent when ``rows`` is empty)."""
    if rows:
        yield Statement(sql=sql, many=rows)


def fetch_many(sql: str, rows: Sequence[Sequence[object]]) -> Op[Sequence[Row]]:
    """Runs a statement once per argument tuple and returns the rows of every run.

    For per-row ``DELETE … RETURNING`` and the like: each run is a point lookup whatever the
    planner thinks of the table, and the drivers pipeline the runs (one round trip).
    """
    if not rows:
        return ()
    result = yield Statement(sql=sql, many=rows, returns_rows=True)
    return result.rows


def next_counter(name: str) -> Op[int]:
    """Allocates the next value of a named counter (``user_id``, ``conversation_id``).

    Counters live in a table rather than in ``AUTOINCREMENT`` or ``IDENTITY`` columns so that
    one schema serves both dialects; the row lock makes allocation safe under concurrency.
    """
    row = yield from fetch_one(
        "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", name
    )
    if row is None:  # pragma: no cover - the initial migration creates every counter
        raise LookupError(f"no counter {name!r}")
    return int(row[0])


def placeholders(count: int) -> str:
    """``?, ?, ?`` for ``count`` values."""
    return ", ".join("?" * count)


IN_LIST_CHUNK = 512
"""Values per ``IN (…)`` list: far below SQLite's 32,766 variables per statement."""


def in_lists(values: Sequence[T]) -> list[tuple[str, list[T]]]:
    """Splits values into ``IN`` lists: ``[("?, ?, …", chunk), …]``.

    Each list is padded to a power of two by repeating its last value (harmless in ``IN``),
    so that batches of any size use a handful of distinct statements and hit the statement
    cache instead of preparing a new statement per size.
    """
    lists = []
    for start in range(0, len(values), IN_LIST_CHUNK):
        chunk = list(values[start : start + IN_LIST_CHUNK])
        size = max(8, 1 << (len(chunk) - 1).bit_length())
        chunk += [chunk[-1]] * (size - len(chunk))
        lists.append((placeholders(size), chunk))
    return lists


class Engine(Protocol):
    """What a driver offers the store (migrated at open): run operations in transactions."""

    @property
    def dialect(self) -> Dialect:
        """The dialect the operations must speak."""
        ...

    async def run(
        self, factory: OpFactory[T], *, write: bool = True, retry_on_conflict: bool = False
    ) -> T:
        """Runs one operation in one transaction.

        Args:
            factory: Makes the operation (called again when the driver retries).
            write: False for an operation that only reads; the driver may then skip the
                transaction, so a read-only operation must not rely on a snapshot spanning
                several statements.
            retry_on_conflict: Run the operation once more when it lost a uniqueness race
                (the second run sees the winner's row and returns it).

        Raises:
            StorageError: Or a subclass; driver exceptions are translated.
        """
        ...

    async def close(self) -> None:
        """Closes the connections; the engine is unusable afterwards."""
        ...
