"""Replay stores: remember each accepted ``jti`` until its credential could no longer pass.

A credential lives at most ``exp + leeway``; after that the expiry check refuses it anyway, so
the store may forget the id. One process can use :class:`MemoryReplayStore`; several processes
of one app need a shared store (Redis ``SET jti 1 NX EXAT <expires>`` has exactly these
semantics) behind the same two-method protocol.
"""

from __future__ import annotations

import heapq
from typing import Protocol


class ReplayStore(Protocol):
    """Where a verifier records the credential ids it accepted."""

    def add(self, jti: str, expires_at: float, *, now: float) -> bool:
        """Remember ``jti`` until ``expires_at``; False when it is already remembered."""
        ...


class MemoryReplayStore:
    """An in-process replay store with a size bound.

    Args:
        max_entries: When full (a flood of distinct valid credentials), new ids are refused,
            which fails closed: a legitimate login is retried, a replay never passes.
    """

    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._max = max_entries

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, jti: str, expires_at: float, *, now: float) -> bool:
        """See :meth:`ReplayStore.add`."""
        self._purge(now)
        if jti in self._expiry or len(self._expiry) >= self._max:
            return False
        self._expiry[jti] = expires_at
        heapq.heappush(self._heap, (expires_at, jti))
        return True

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, jti = heapq.heappop(heap)
            self._expiry.pop(jti, None)
