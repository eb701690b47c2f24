"""The SQLite driver's default engine: the connection lives in a worker process of its own.

The thread engine (``sqlite.py``) runs ``sqlite3`` in a thread of the server, which shares the
interpreter lock with the event loop: ``sqlite3`` releases it around every step of every
statement and then has to win it back from a loop that is busy with thousands of messages a
second. Measured in the relay (decision 0019), a group commit of 91 messages and 92 acks that
takes 3.8 ms alone took 16 ms there, and the commit is what every message waits for. Here the
connection is in a child process (``sqlite_worker.py``, standard library only) with its own
lock. An operation given as ``functools.partial`` of a module-level operation of
``columba.storage`` (as the hot ones in ``store.py`` are) goes over the pipe whole and runs in
the worker in one round trip; any other (a lambda) is driven from here, one round trip per
statement. Either way the event loop never blocks.

Writes go one at a time, as with the thread engine: a lock orders them. A read sent whole (a
``partial`` run with ``write=False``) goes to a second worker, the *reader*, with its own
connection: SQLite's write-ahead log lets it read the last committed state while the writer
commits, in its own transaction so that all its statements see one snapshot, and on the
other core. A read still sees every write whose ``run`` returned before it started. An
in-memory database has no reader (a second connection would see another database), nor does
``open(..., reader=False)``; a reader that dies leaves the reads to the writer (decision
0024). An operation runs in a task of the engine's, so cancelling the caller never cuts a
transaction in half: the operation finishes (commit or rollback) and its result is dropped.
If the writer dies, every operation from then on fails with :class:`Unavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import pickle
import sys
from pathlib import Path
from typing import Any, TypeVar

from columba.storage import migrate
from columba.storage.errors import StorageError, Unavailable
from columba.storage.sql import Dialect, OpFactory, Result
from columba.storage.sqlite import SYNCHRONOUS_MODES, translate
from columba.storage.sqlite_worker import HEADER, MAX_FRAME

T = TypeVar("T")

#: The worker program, run by path with ``-I -S`` (no site packages, no environment).
WORKER = Path(__file__).with_name("sqlite_worker.py")


class _Worker:
    """One worker process and the pipe to it: one request at a time, behind a lock."""

    def __init__(self, process: asyncio.subprocess.Process, role: str) -> None:
        self.process = process
        self.role = role
        self.lock = asyncio.Lock()
        self.broken: str | None = None

    @classmethod
    async def start(cls, role: str) -> _Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                str(WORKER),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise Unavailable(f"cannot start the SQLite {role}: {error}") from error
        return cls(process, role)

    async def call(self, request: tuple[Any, ...]) -> Any:
        """One round trip: the worker's value, or the translated error."""
        return await self.round_trip(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))

    async def round_trip(self, data: bytes) -> Any:
        if self.broken is not None:
            raise Unavailable(self.broken)
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        try:
            stdin.write(HEADER.pack(len(data)) + data)
            header = await stdout.readexactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes")
            data = await stdout.readexactly(size)
        except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as error:
            self.broken = f"the SQLite {self.role} process is gone ({type(error).__name__})"
            raise Unavailable(self.broken) from error
        try:
            answer = pickle.loads(data)
        except Exception as error:  # a value or exception that does not unpickle here
            raise StorageError(
                f"unreadable answer from the SQLite {self.role}: {error!r}"
            ) from error
        if answer[0] == "ok":
            return answer[1]
        if answer[0] == "raise":
            raise answer[1]
        _, _, error_name, message = answer
        raise translate(error_name, message)

    async def close(self) -> None:
        process = self.process
        try:
            if self.broken is None and process.returncode is None:
                with contextlib.suppress(StorageError):
                    await self.call(("close",))
            if process.stdin is not None:
                process.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        except ProcessLookupError:
            pass


class SqliteProcessEngine:
    """Runs operations against one SQLite database through worker processes."""

    def __init__(self, writer: _Worker, reader: _Worker | None = None) -> None:
        self._writer = writer
        self._reader = reader
        self._tasks: set[asyncio.Task[Any]] = set()
        self._is_closed = False

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        synchronous: str = "full",
        busy_timeout_ms: int = 5000,
        reader: bool = True,
    ) -> SqliteProcessEngine:
        """Start the writer, open (creating if need be) the database and migrate it; then,
        for a file and unless ``reader`` is False, start the reader.

        Raises:
            Unavailable: A worker cannot start, or the file cannot be opened or stayed locked.
            StorageError: The schema is newer than this code, or WAL cannot be used.
        """
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS_MODES)}")
        engine = cls(await _Worker.start("worker"))
        try:
            await engine._writer.call(("open", path, synchronous, busy_timeout_ms, list(sys.path)))
            migrations = migrate.load(Dialect.SQLITE)
            await engine.run(lambda: migrate.apply(migrations))
            if reader and not _is_memory(path):
                # After the migrations: the reader never sees a schema being made.
                engine._reader = await _Worker.start("reader")
                await engine._reader.call(
                    ("open", path, synchronous, busy_timeout_ms, list(sys.path), True)
                )
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
        """Runs an operation in one transaction; see ``Engine.run``.

        ``retry_on_conflict`` is not needed: ``BEGIN IMMEDIATE`` holds the write lock from the
        first statement, so no other writer can slip in between a check and an insert.
        """
        if self._is_closed:
            raise StorageError("the store is closed")
        task = asyncio.get_running_loop().create_task(self._locked(factory, write))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _locked(self, factory: OpFactory[T], write: bool) -> T:
        data = _shipped(factory, write)
        reader = self._reader
        if data is not None and not write and reader is not None and reader.broken is None:
            # A read sent whole runs beside the writer, on its own snapshot (WAL).
            async with reader.lock:
                value: T = await reader.round_trip(data)
                return value
        async with self._writer.lock:
            if data is not None:
                value = await self._writer.round_trip(data)
                return value
            return await self._transaction(factory, write)

    async def _transaction(self, factory: OpFactory[T], write: bool) -> T:
        op = factory()
        begun = False
        call = self._writer.call
        try:
            try:
                statement = next(op)
                while True:
                    many = statement.many
                    rows, rowcount = await call(
                        (
                            "exec",
                            write and not begun,
                            statement.sql,
                            tuple(statement.args),
                            None if many is None else list(many),
                            statement.returns_rows,
                        )
                    )
                    begun = begun or write
                    statement = op.send(Result(rows=rows, rowcount=rowcount))
            except StopIteration as stop:
                value: T = stop.value
            if begun:
                await call(("end", True))
            return value
        except BaseException:
            if begun and self._writer.broken is None:
                with contextlib.suppress(StorageError):
                    await call(("end", False))
            raise
        finally:
            op.close()

    async def close(self) -> None:
        """Finish what is running, close the connections and let the workers exit."""
        if self._is_closed:
            return
        self._is_closed = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._reader is not None:
            await self._reader.close()
        await self._writer.close()


def _is_memory(path: str) -> bool:
    """An in-memory database: a second connection would see another, empty one."""
    return path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in path


def _shipped(factory: object, write: bool) -> bytes | None:
    """The ``op`` request for ``functools.partial(f, …)`` of a module-level operation of ours,
    which the worker runs whole in one round trip; None for anything else (a lambda, or
    arguments that do not pickle): its statements then go one round trip each."""
    if not isinstance(factory, functools.partial):
        return None
    function = factory.func
    module = getattr(function, "__module__", "")
    name = getattr(function, "__qualname__", ".")
    if not module.startswith("columba.storage.") or "." in name:
        return None
    request = ("op", write, module, name, factory.args, factory.keywords)
    try:
        return pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
