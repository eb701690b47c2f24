"""A per-address budget of sign-in attempts (a sliding one-minute window). Time is a parameter."""

from __future__ import annotations

from collections import deque


class AddressLimiter:
    """At most ``per_minute`` attempts per client address in any 60 s.

    The table is bounded: addresses idle for a minute are dropped on the next sweep.
    """

    def __init__(self, *, per_minute: int, max_addresses: int = 100_000) -> None:
        self._per_minute = per_minute
        self._max = max_addresses
        self._seen: dict[str, deque[float]] = {}

    def check(self, address: str, now: float) -> int:
        """Count an attempt; returns 0 when allowed, else seconds to wait."""
        window = self._seen.get(address)
        if window is None:
            if len(self._seen) >= self._max:
                self._sweep(now)
            window = self._seen[address] = deque()
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self._per_minute:
            return int(window[0] + 60.0 - now) + 1
        window.append(now)
        return 0

    def _sweep(self, now: float) -> None:
        for address in [a for a, w in self._seen.items() if not w or w[-1] <= now - 60.0]:
            del self._seen[address]
