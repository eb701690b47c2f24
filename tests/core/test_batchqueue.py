"""``columba.core.batchqueue``: the group committers' queue."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.core.batchqueue import BatchQueue


@given(st.lists(st.integers(), min_size=1, max_size=50), st.integers(min_value=1, max_value=20))
def test_batches_keep_the_order_and_the_size_limit(items: list[int], size: int) -> None:
    async def scenario() -> list[list[int]]:
        queue: BatchQueue[int] = BatchQueue()
        for item in items:
            queue.put(item)
        batches = []
        while len(queue):
            batches.append(await queue.take(size))
        return batches

    batches = asyncio.run(scenario())
    assert [item for batch in batches for item in batch] == items
    assert all(1 <= len(batch) <= size for batch in batches)


def test_take_waits_for_a_put_and_a_timeout_loses_nothing() -> None:
    async def scenario() -> None:
        queue: BatchQueue[str] = BatchQueue()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await queue.take(10)
        taking = asyncio.create_task(queue.take(10))
        await asyncio.sleep(0.01)
        assert not taking.done()
        queue.put("a")
        queue.put("b")
        assert await taking == ["a", "b"]
        queue.put("c")
        assert queue.drain() == ["c"]
        assert len(queue) == 0

    asyncio.run(scenario())
