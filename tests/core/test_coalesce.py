"""Shared store reads for the node's caches: one read per key, many keys per call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from columba.core.coalesce import Batcher, Coalescer


class Slow:
    """A store read that counts its calls and waits until released."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self.release = asyncio.Event()
        self.error: BaseException | None = None

    async def read(self, key: object) -> str:
        self.calls.append(key)
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return f"value of {key}"

    async def read_many(self, keys: Sequence[int]) -> dict[int, str]:
        self.calls.append(tuple(keys))
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return {key: f"value of {key}" for key in keys if key >= 0}


def test_concurrent_misses_share_one_read_and_the_value_is_remembered_first() -> None:
    async def scenario() -> None:
        slow = Slow()
        cache: dict[str, str] = {}
        seen_at_resume: list[bool] = []
        reads: Coalescer[str, str] = Coalescer(cache.__setitem__)

        async def caller() -> str:
            value = await reads.load("a", lambda: slow.read("a"))
            seen_at_resume.append("a" in cache)
            return value

        tasks = [asyncio.create_task(caller()) for _ in range(20)]
        other = asyncio.create_task(reads.load("b", lambda: slow.read("b")))
        await asyncio.sleep(0)
        assert reads.pending == 2
        slow.release.set()
        assert await asyncio.gather(*tasks) == ["value of a"] * 20
        assert await other == "value of b"
        assert sorted(slow.calls) == ["a", "b"]  # type: ignore[type-var]
        assert cache == {"a": "value of a", "b": "value of b"}
        assert all(seen_at_resume)
        assert reads.pending == 0
        # A later miss (the cache was dropped) reads again.
        await reads.load("a", lambda: slow.read("a"))
        assert slow.calls.count("a") == 2

    asyncio.run(scenario())


def test_an_error_reaches_every_waiter_and_is_not_remembered() -> None:
    async def scenario() -> None:
        slow = Slow()
        slow.error = LookupError("no such user")
        cache: dict[str, str] = {}
        reads: Coalescer[str, str] = Coalescer(cache.__setitem__)
        tasks = [asyncio.create_task(reads.load("a", lambda: slow.read("a"))) for _ in range(3)]
        await asyncio.sleep(0)
        slow.release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, LookupError) for r in results)
        assert cache == {}
        assert reads.pending == 0
        assert len(slow.calls) == 1

    asyncio.run(scenario())


def test_cancelling_the_first_caller_does_not_fail_the_others() -> None:
    async def scenario() -> None:
        slow = Slow()
        cache: dict[str, str] = {}
        reads: Coalescer[str, str] = Coalescer(cache.__setitem__)
        first = asyncio.create_task(reads.load("a", lambda: slow.read("a")))
        await asyncio.sleep(0)
        second = asyncio.create_task(reads.load("a", lambda: slow.read("a")))
        await asyncio.sleep(0)
        first.cancel()
        slow.release.set()
        assert await second == "value of a"
        with pytest.raises(asyncio.CancelledError):
            await first
        assert cache == {"a": "value of a"}

    asyncio.run(scenario())


def test_a_forgotten_read_answers_its_callers_but_fills_no_cache() -> None:
    async def scenario() -> None:
        slow = Slow()
        cache: dict[str, str] = {}
        reads: Coalescer[str, str] = Coalescer(cache.__setitem__)
        before = asyncio.create_task(reads.load("a", lambda: slow.read("a")))
        await asyncio.sleep(0)
        reads.forget("a")  # the data changed while the read was under way
        after = asyncio.create_task(reads.load("a", lambda: slow.read("a")))
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(slow.calls) == 2  # the caller after the change did not join the old read
        slow.release.set()
        assert await before == await after == "value of a"
        assert cache == {"a": "value of a"}  # from the second read only
        reads.forget_all()
        assert reads.pending == 0

    asyncio.run(scenario())


def test_batcher_gathers_misses_while_a_call_runs() -> None:
    async def scenario() -> None:
        slow = Slow()
        cache: dict[int, str] = {}
        batcher: Batcher[int, str] = Batcher(slow.read_many, cache.__setitem__, max_batch=3)
        first = asyncio.create_task(batcher.load(1))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert slow.calls == [(1,)]  # a lone miss goes at once
        rest = [asyncio.create_task(batcher.load(k)) for k in (2, 3, 2, 4, 5)]
        await asyncio.sleep(0)
        assert batcher.pending == 5  # 1 … 5, the repeated 2 once
        slow.release.set()
        assert await first == "value of 1"
        assert await asyncio.gather(*rest) == [f"value of {k}" for k in (2, 3, 2, 4, 5)]
        assert slow.calls == [(1,), (2, 3, 4), (5,)]  # at most max_batch keys a call
        assert cache == {k: f"value of {k}" for k in range(1, 6)}
        assert batcher.pending == 0

    asyncio.run(scenario())


def test_batcher_errors_missing_keys_and_forgetting() -> None:
    async def scenario() -> None:
        slow = Slow()
        cache: dict[int, str] = {}
        batcher: Batcher[int, str] = Batcher(slow.read_many, cache.__setitem__)
        slow.release.set()
        with pytest.raises(KeyError):
            await batcher.load(-1)  # the call gave no value for it
        slow.error = OSError("disk gone")
        results = await asyncio.gather(batcher.load(7), batcher.load(8), return_exceptions=True)
        assert all(isinstance(r, OSError) for r in results)
        slow.error = None
        slow.release.clear()
        task = asyncio.create_task(batcher.load(9))
        await asyncio.sleep(0)
        batcher.forget(9)
        slow.release.set()
        assert await task == "value of 9"
        assert cache == {}  # neither the failures nor the forgotten key
        with pytest.raises(ValueError, match="max_batch"):
            Batcher(slow.read_many, cache.__setitem__, max_batch=0)

    asyncio.run(scenario())


def test_batcher_cancelled_runner_cancels_its_waiters() -> None:
    async def scenario() -> None:
        slow = Slow()
        batcher: Batcher[int, str] = Batcher(slow.read_many, lambda *_: None)
        tasks = [asyncio.create_task(batcher.load(k)) for k in (1, 2)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        runner = batcher._runner
        assert runner is not None
        runner.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert batcher.pending == 0
        # A new miss starts a new runner.
        slow.release.set()
        assert await batcher.load(3) == "value of 3"

    asyncio.run(scenario())
