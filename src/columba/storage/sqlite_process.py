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

One operation at a time, as with the thread engine: a lock orders them. An operation runs in
a task of the engine's, so cancelling the caller never cuts a transaction in half: the
operation finishes (commit or rollback) and its result is dropped. If the worker dies, every
operation from then on fails with :class:`Unavailable`.
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


class SqliteProcessEngine:
    """Runs operations against one SQLite database through a worker process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._broken: str | None = None
        self._is_closed = False

    @classmethod
    async def open(
        cls, path: str, *, synchronous: str = "full", busy_timeout_ms: int = 5000
    ) -> SqliteProcessEngine:
        """Start the worker, open (creating if need be) the database and migrate it.

        Raises:
            Unavailable: The worker cannot start, or the file cannot be opened or stayed locked.
            StorageError: The schema is newer than this code, or WAL cannot be used.
        """
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS_MODES)}")
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
            raise Unavailable(f"cannot start the SQLite worker: {error}") from error
        engine = cls(process)
        try:
            await engine._call(("open", path, synchronous, busy_timeout_ms, list(sys.path)))
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
        async with self._lock:
            data = _shipped(factory, write)
            if data is not None:
                value: T = await self._round_trip(data)
                return value
            return await self._transaction(factory, write)

    async def _transaction(self, factory: OpFactory[T], write: bool) -> T:
        op = factory()
        begun = False
        try:
            try:
                statement = next(op)
                while True:
                    many = statement.many
                    rows, rowcount = await self._call(
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
                await self._call(("end", True))
            return value
        except BaseException:
            if begun and self._broken is None:
                with contextlib.suppress(StorageError):
                    await self._call(("end", False))
            raise
        finally:
            op.close()

    async def _call(self, request: tuple[Any, ...]) -> Any:
        """One round trip to the worker: its value, or the translated error."""
        return await self._round_trip(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))

    async def _round_trip(self, data: bytes) -> Any:
        if self._broken is not None:
            raise Unavailable(self._broken)
        stdin, stdout = self._process.stdin, self._process.stdout
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
            self._broken = f"the SQLite worker process is gone ({type(error).__name__})"
            raise Unavailable(self._broken) from error
        try:
            answer = pickle.loads(data)
        except Exception as error:  # a value or exception that does not unpickle here
            raise StorageError(f"unreadable answer from the SQLite worker: {error!r}") from error
        if answer[0] == "ok":
            return answer[1]
        if answer[0] == "raise":
            raise answer[1]
        _, _, error_name, message = answer
        raise translate(error_name, message)

    async def close(self) -> None:
        """Finish what is running, close the connection and let the worker exit."""
        if self._is_closed:
            return
        self._is_closed = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        process = self._process
        try:
            if self._broken is None and process.returncode is None:
                with contextlib.suppress(StorageError):
                    await self._call(("close",))
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
