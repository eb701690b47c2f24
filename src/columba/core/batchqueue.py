"""A queue read in batches: what a group committer takes its work from.

``asyncio.Queue`` costs a few method calls per item on each side (``put_nowait``, ``empty``,
``get_nowait``, waking getters); a committer that drains hundreds of items per transaction
pays them for every message. :class:`BatchQueue` keeps a list and one event: putting appends,
taking waits for the first item and then takes up to a batch in one slice.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchQueue(Generic[T]):
    """Items put without waiting, taken oldest first in batches (one reader)."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Add an item; a waiting :meth:`take` wakes."""
        self._items.append(item)
        self._ready.set()

    async def take(self, max_items: int) -> list[T]:
        """Wait for at least one item; return up to ``max_items`` of them, oldest first."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        items = self._items
        if len(items) <= max_items:
            self._items = []
            return items
        batch = items[:max_items]
        del items[:max_items]
        return batch

    def drain(self) -> list[T]:
        """Every item left, now (for failing them when the reader stops)."""
        items, self._items = self._items, []
        return items
