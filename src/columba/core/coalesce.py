"""One store read per key at a time, for the node's read-through caches.

The hot path keeps accounts, block lists, SMS preferences, devices and conversations in
memory and reads the store on a miss. Without this, every request that misses while the first
read of the same key is still under way starts a read of its own: when a burst reaches many
users the node has not met yet, the reads queue behind each other at the database and each
one's wait lets more requests miss. Measured in ``bench/sms.py`` (20 senders writing to 200
users), 10,000 messages made 6,977 account reads for 220 accounts.

A :class:`Coalescer` lets the first miss of a key start the read (in a task of its own, so
cancelling that caller does not fail the others) and every later miss of the same key wait
for it. When the read succeeds and was not forgotten meanwhile, ``remember`` puts the value
in the cache before any waiter resumes. A change to the cached data calls :meth:`forget`: a
read under way then still answers the callers that joined it, but its value is not
remembered, and the next miss starts a new read, so no cache is filled with what was true
before the change.

A :class:`Batcher` goes one step further for a store call that takes many keys at once
(creating the conversations of pairs of users who never wrote to each other): misses are
gathered while one call runs and the next call takes them all, so a burst of new pairs costs
a few transactions (a few disk flushes) instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Concurrent misses of one key share one read.

    Args:
        remember: Called with ``(key, value)`` when a read that was not forgotten succeeds,
            before the callers waiting for it resume.
    """

    def __init__(self, remember: Callable[[K, V], object]) -> None:
        self._remember = remember
        self._loads: dict[K, asyncio.Task[V]] = {}

    @property
    def pending(self) -> int:
        """How many reads are under way."""
        return len(self._loads)

    async def load(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """The value of ``key``: from the read under way for it, or from a new ``fetch()``.

        Raises:
            Whatever ``fetch`` raised, to every caller that waited for that read.
        """
        task = self._loads.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._read(key, fetch))
            self._loads[key] = task
            task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    def forget(self, key: K) -> None:
        """The data of ``key`` changed: a read under way must not fill the cache."""
        self._loads.pop(key, None)

    def forget_all(self) -> None:
        """Every cached value may have changed (see :meth:`forget`)."""
        self._loads.clear()

    async def _read(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await fetch()
        finally:
            is_current = _pop_if(self._loads, key, asyncio.current_task())
        if is_current:
            self._remember(key, value)
        return value


class Batcher(Generic[K, V]):
    """Misses of many keys share store calls that take up to ``max_batch`` keys each.

    Args:
        fetch_many: The store call: a value for every key it is given.
        remember: As for :class:`Coalescer`.
        max_batch: The most keys one call takes.
    """

    def __init__(
        self,
        fetch_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        remember: Callable[[K, V], object],
        *,
        max_batch: int = 256,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._fetch_many = fetch_many
        self._remember = remember
        self._max_batch = max_batch
        self._futures: dict[K, asyncio.Future[V]] = {}
        self._queue: list[tuple[K, asyncio.Future[V]]] = []
        self._runner: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """How many keys wait for a value."""
        return len(self._futures)

    async def load(self, key: K) -> V:
        """The value of ``key``, from the next store call (or the one that already has it).

        Raises:
            Whatever the store call raised, to every caller whose key it had; ``KeyError``
            if it gave no value for ``key``.
        """
        future = self._futures.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            future.add_done_callback(_retrieve)
            self._futures[key] = future
            self._queue.append((key, future))
            if self._runner is None:
                self._runner = loop.create_task(self._run())
        return await asyncio.shield(future)

    def forget(self, key: K) -> None:
        """As :meth:`Coalescer.forget`."""
        self._futures.pop(key, None)

    async def _run(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._one(batch)
        finally:
            self._runner = None
            for _, future in self._queue:  # cancelled: nobody will run them
                future.cancel()
            self._queue.clear()

    async def _one(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._fetch_many([key for key, _ in batch])
        except BaseException as error:
            for key, future in batch:
                _pop_if(self._futures, key, future)
                if isinstance(error, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for key, future in batch:
            is_current = _pop_if(self._futures, key, future)
            if key not in values:
                future.set_exception(KeyError(key))
                continue
            if is_current:
                self._remember(key, values[key])
            future.set_result(values[key])


def _pop_if(pending: dict[K, Any], key: K, item: object) -> bool:
    """Remove ``key`` if ``item`` is still what it maps to; False if it was forgotten."""
    if pending.get(key) is item:
        del pending[key]
        return True
    return False


def _retrieve(future: asyncio.Future[Any]) -> None:
    # Every waiter may have been cancelled: the read's error is then nobody's to report.
    if not future.cancelled():
        future.exception()
