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

Writes run one at a time, in the order they were sent, as with the thread engine; requests
sent whole are pipelined (the next is written before the last one's answer is read, so the
worker does not wait for a busy event loop), and a transaction driven from here holds a lock
for all its statements. A read sent whole (a
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
import collections
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
    """One worker process and the pipe to it.

    Requests are pipelined: each is written with a future queued for its answer, and one
    reader task hands the answers, which the worker writes in the order it read the
    requests, to those futures in turn. So the worker can start the next request while the
    event loop has not yet taken the last answer (under load the loop may be busy for
    milliseconds). ``lock`` keeps requests that must not be interleaved together: a caller
    holds it to write one request, or for all the statements of a transaction driven from
    here.
    """

    def __init__(self, process: asyncio.subprocess.Process, role: str) -> None:
        self.process = process
        self.role = role
        self.lock = asyncio.Lock()
        self.broken: str | None = None
        self._waiting: collections.deque[asyncio.Future[bytes]] = collections.deque()
        self._answers = asyncio.get_running_loop().create_task(self._read_answers())

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
        """Write a request and wait for its answer (the caller orders requests: see ``lock``)."""
        return await self.answer(self.send(data))

    def send(self, data: bytes) -> asyncio.Future[bytes]:
        """Write a request now; the future gets its answer's octets."""
        if self.broken is not None:
            raise Unavailable(self.broken)
        stdin = self.process.stdin
        assert stdin is not None
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        try:
            stdin.write(HEADER.pack(len(data)) + data)
        except (OSError, RuntimeError) as error:  # a closed pipe
            self._break(f"the SQLite {self.role} process is gone ({type(error).__name__})")
            raise Unavailable(self.broken or "") from error
        self._waiting.append(future)
        return future

    async def answer(self, future: asyncio.Future[bytes]) -> Any:
        """The value of the answer ``future`` gets, or the translated error."""
        data = await future
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

    async def _read_answers(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                header = await stdout.readexactly(HEADER.size)
                (size,) = HEADER.unpack(header)
                if size > MAX_FRAME:
                    raise ValueError(f"frame of {size} bytes")
                data = await stdout.readexactly(size)
                if not self._waiting:
                    raise ValueError("an answer to no request")
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(data)
        except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as error:
            self._break(f"the SQLite {self.role} process is gone ({type(error).__name__})")

    def _break(self, reason: str) -> None:
        """From now on every request fails with ``reason``; so do those waiting."""
        if self.broken is None:
            self.broken = reason
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(Unavailable(self.broken))

    async def close(self) -> None:
        process = self.process
        try:
            if self.broken is None and process.returncode is None:
                with contextlib.suppress(StorageError):
                    async with self.lock:
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
        finally:
            self._answers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._answers


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
                answer = reader.send(data)
            value: T = await reader.answer(answer)
            return value
        writer = self._writer
        async with writer.lock:
            if data is None:
                return await self._transaction(factory, write)
            # One request: the next may be written while this one runs (pipelined).
            answer = writer.send(data)
        value = await writer.answer(answer)
        return value

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
