"""``open_store(url)``: the storage URL names the driver.

==========================================  ==================================================
URL                                         database
==========================================  ==================================================
``sqlite:///columba.db``                    the file ``columba.db``, relative to the working
                                            directory (three slashes, as in SQLAlchemy)
``sqlite:////var/lib/columba/columba.db``   an absolute path (four slashes)
``sqlite:///:memory:``                      a private in-memory database (tests)
``postgresql://user@host:5432/db``          PostgreSQL (``postgres://`` is accepted too)
==========================================  ==================================================

Query parameters tune the driver. SQLite: ``synchronous`` (``full`` by default, or ``normal``,
``extra``, ``off``), ``busy_timeout`` (milliseconds, 5000 by default) and ``worker``: where the
connection runs, ``process`` (a worker process of its own, the default; decision 0019) or
``thread`` (a thread of this process); with ``process``, ``reader`` (``on`` by default, or
``off``): a second worker process that serves reads beside the writer (decision 0024). PostgreSQL:
``pool_min_size`` (1) and ``pool_max_size`` (10); every other parameter goes to asyncpg, which
sends the ones it does not know as server settings (``?search_path=tenant1``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from columba.storage.base import Store
from columba.storage.sql import Engine
from columba.storage.store import SqlStore

_SQLITE_PARAMETERS = frozenset({"synchronous", "busy_timeout", "worker", "reader"})
_SQLITE_WORKERS = frozenset({"process", "thread"})


def _integer(name: str, text: str, *, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"storage URL: {name} must be an integer, not {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"storage URL: {name} must be between {low} and {high}")
    return value


# The drivers are imported when a URL asks for them: a SQLite-only server never loads asyncpg.


async def _open_sqlite(url: str) -> Engine:
    from columba.storage.sqlite import SqliteEngine
    from columba.storage.sqlite_process import SqliteProcessEngine

    parts = urlsplit(url)
    if parts.netloc:
        raise ValueError(f"storage URL: a sqlite URL has no host ({parts.netloc!r}): sqlite:///…")
    path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not path:
        raise ValueError("storage URL: no database file: sqlite:///path/to/file.db")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - _SQLITE_PARAMETERS
    if unknown:
        raise ValueError(f"storage URL: unknown sqlite parameters {sorted(unknown)}")
    synchronous = query.get("synchronous", "full").lower()
    busy = _integer("busy_timeout", query.get("busy_timeout", "5000"), low=0, high=3_600_000)
    worker = query.get("worker", "process").lower()
    if worker not in _SQLITE_WORKERS:
        raise ValueError(f"storage URL: worker must be one of {sorted(_SQLITE_WORKERS)}")
    reader = query.get("reader", "on").lower()
    if reader not in ("on", "off"):
        raise ValueError("storage URL: reader must be on or off")
    if worker == "thread":
        return await SqliteEngine.open(path, synchronous=synchronous, busy_timeout_ms=busy)
    return await SqliteProcessEngine.open(
        path, synchronous=synchronous, busy_timeout_ms=busy, reader=reader == "on"
    )


async def _open_postgres(url: str) -> Engine:
    from columba.storage.postgres import PostgresEngine

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key.startswith("pool_")}
    theirs = [(key, value) for key, value in query if not key.startswith("pool_")]
    unknown = set(ours) - {"pool_min_size", "pool_max_size"}
    if unknown:
        raise ValueError(f"storage URL: unknown pool parameters {sorted(unknown)}")
    min_size = _integer("pool_min_size", ours.get("pool_min_size", "1"), low=0, high=1000)
    max_size = _integer("pool_max_size", ours.get("pool_max_size", "10"), low=1, high=1000)
    if min_size > max_size:
        raise ValueError("storage URL: pool_min_size is above pool_max_size")
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(theirs)))
    return await PostgresEngine.open(dsn, min_size=min_size, max_size=max_size)


_OPENERS = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
    "postgres": _open_postgres,
}


async def open_store(url: str, *, clock: Callable[[], float] = time.time) -> Store:
    """Opens the store a URL names, applying any migrations the database lacks.

    Args:
        url: See the module documentation.
        clock: Seconds since the epoch, stamped on what is written (tests pass a fake).

    Returns:
        The store; close it with ``await store.close()`` or use it as ``async with``.

    Raises:
        ValueError: The URL is malformed or names no known driver.
        Unavailable: The database cannot be reached or opened.
        StorageError: The database was written by a newer Columba, or similar.
    """
    scheme = url.partition(":")[0].lower()
    opener = _OPENERS.get(scheme)
    if opener is None:
        known = ", ".join(f"{name}://" for name in sorted(_OPENERS))
        raise ValueError(f"storage URL: unknown scheme {scheme!r} (known: {known})")
    return SqlStore(await opener(url), clock=clock)
