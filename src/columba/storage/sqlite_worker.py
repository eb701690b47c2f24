"""The SQLite worker process: one connection, driven statement by statement over a pipe.

``sqlite_process.SqliteProcessEngine`` starts this file as a program
(``python -I -S sqlite_worker.py``): it imports only the standard library, so the child starts
in milliseconds and holds its own interpreter lock. Why a process and not a thread: the
``sqlite3`` module drops the GIL around every statement step and must win it back from a busy
event loop, so in the server a group commit that takes 4 ms alone took 16 ms (decision 0019).

The connection helpers (:func:`connect`, :func:`execute`) are also what the thread engine
(``sqlite.py``) uses, so both engines open and run statements the same way.

Protocol, on standard input and output: frames of a 4-byte big-endian length and a pickle.
The parent is the only peer (a private pipe), so pickle is safe here.

Requests (tuples): ``("open", path, synchronous, busy_timeout_ms, sys_path[, reader])``
(``reader``: this worker serves read-only operations beside the writer, each in a
transaction of its own so that it reads one snapshot);
``("exec", begin, sql, args, many, returns_rows)`` (``begin``: start a write transaction
with ``BEGIN IMMEDIATE`` first); ``("end", commit)`` (commit, or roll back if one is open);
``("op", write, module, name, args, kwargs)``: a whole operation in one round trip, the
generator ``module.name(*args, **kwargs)`` driven here in one transaction (its module is
imported on first use, from the parent's ``sys_path``); ``("close",)``. Answers:
``("ok", value)`` where an ``exec`` gives ``(rows, rowcount)`` and an ``op`` its return value;
``("error", class name, sqlite_errorname, message)`` for a ``sqlite3.Error``; ``("raise",
exception)`` for another exception an operation raised (our storage errors).
"""

from __future__ import annotations

import importlib
import pickle
import sqlite3
import struct
import sys
import time
from collections.abc import Sequence
from typing import Any, BinaryIO

#: Frame header: the pickle's length.
HEADER = struct.Struct(">I")
#: Larger frames are refused (a bug, not a message): 256 MiB.
MAX_FRAME = 256 * 1024 * 1024


def connect(path: str, synchronous: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open a connection: WAL (not for ``:memory:``), the given ``synchronous``, foreign keys."""
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=True, cached_statements=512
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
        if path != ":memory:":
            mode = use_wal(connection, deadline=time.monotonic() + busy_timeout_ms / 1000)
            if mode != "wal":
                raise sqlite3.OperationalError(
                    f"{path}: cannot use write-ahead logging (mode {mode})"
                )
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        connection.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def use_wal(connection: sqlite3.Connection, *, deadline: float) -> str:
    """Switches a database to WAL (a setting kept in the file); returns the mode in force.

    Switching needs an exclusive lock, and when another connection opens the same new file at
    that moment SQLite answers SQLITE_BUSY at once instead of calling the busy handler, so
    this retries until the busy timeout is spent.
    """
    while True:
        try:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
            if mode != "wal":
                (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            return str(mode)
        except sqlite3.OperationalError as error:
            if not getattr(error, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def execute(
    connection: sqlite3.Connection,
    sql: str,
    args: Sequence[object],
    many: Sequence[Sequence[object]] | None,
    returns_rows: bool,
) -> tuple[list[Any], int]:
    """Run one statement: ``(rows, rowcount)`` (rows only when asked for)."""
    if many is not None and returns_rows:
        every: list[Any] = []
        for one in many:
            every += connection.execute(sql, one).fetchall()
        return every, len(every)
    if many is not None:
        cursor = connection.executemany(sql, many)
        return [], cursor.rowcount
    cursor = connection.execute(sql, args)
    rows = cursor.fetchall() if returns_rows else []
    return rows, cursor.rowcount


def _read(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def _write(stream: BinaryIO, value: tuple[Any, ...]) -> None:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an exception or value that does not pickle
        data = pickle.dumps(("raise", RuntimeError(f"unpicklable answer: {error!r}")))
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def run_op(
    connection: sqlite3.Connection, write: bool, op: Any, result: Any, *, snapshot: bool = False
) -> Any:
    """Drive an operation (a generator of statements) in one transaction; its value.

    ``result`` makes what each statement sends back into the operation (``sql.Result``,
    passed in so that this module imports only the standard library). A read (``write``
    False) runs statement by statement in autocommit, unless ``snapshot``: then in a deferred
    transaction, so that all its statements see one state of the database (a reader beside the
    writer needs that; on the writer's own connection nothing commits in between).
    """
    begun = write or snapshot
    if write:
        connection.execute("BEGIN IMMEDIATE")
    elif snapshot:
        connection.execute("BEGIN")
    try:
        try:
            statement = next(op)
            while True:
                rows, rowcount = execute(
                    connection,
                    statement.sql,
                    statement.args,
                    statement.many,
                    statement.returns_rows,
                )
                statement = op.send(result(rows=rows, rowcount=rowcount))
        except StopIteration as stop:
            value = stop.value
        if begun:
            connection.execute("COMMIT")
        return value
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        op.close()


def _operation(request: tuple[Any, ...]) -> Any:
    _, _, module, name, args, kwargs = request
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def _answer(
    connection: sqlite3.Connection | None, request: tuple[Any, ...], *, is_reader: bool = False
) -> Any:
    kind = request[0]
    if kind == "op":
        assert connection is not None
        if is_reader and request[1]:
            raise ValueError("a write operation sent to the reader")
        result = importlib.import_module("columba.storage.sql").Result
        return run_op(connection, request[1], _operation(request), result, snapshot=is_reader)
    if kind == "exec":
        assert connection is not None
        _, begin, sql, args, many, returns_rows = request
        if begin:
            connection.execute("BEGIN IMMEDIATE")
        return execute(connection, sql, args, many, returns_rows)
    if kind == "end":
        assert connection is not None
        if request[1]:
            connection.execute("COMMIT")
        elif connection.in_transaction:
            connection.execute("ROLLBACK")
        return None
    raise ValueError(f"unknown request {kind!r}")


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until ``close`` or the end of the input."""
    connection: sqlite3.Connection | None = None
    is_reader = False
    while True:
        request = _read(requests)
        if request is None or request[0] == "close":
            if connection is not None:
                connection.close()
            if request is not None:
                _write(answers, ("ok", None))
            return
        try:
            if request[0] == "open":
                sys.path[:0] = [entry for entry in request[4] if entry not in sys.path]
                connection = connect(request[1], request[2], request[3])
                is_reader = len(request) > 5 and bool(request[5])
                answer: tuple[Any, ...] = ("ok", None)
            else:
                answer = ("ok", _answer(connection, request, is_reader=is_reader))
        except sqlite3.Error as error:
            name = getattr(error, "sqlite_errorname", "")
            answer = ("error", type(error).__name__, name, str(error))
        except Exception as error:  # an operation's own error (NotFound, Conflict …)
            answer = ("raise", error)
        _write(answers, answer)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
