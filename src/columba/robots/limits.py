"""Token buckets: how fast a robot may post (sso-bots.md B.5 item 9).

Per robot and chat 20 messages a minute with a burst of 5, per robot 30 a second overall; a
post over the limit is answered 429 with the seconds to wait. Time is a parameter, so the
buckets are tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> float:
        """Takes a token: 0.0 when allowed, else the seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RobotLimits:
    """The buckets of every robot, created on first use (bounded: idle ones are dropped)."""

    def __init__(
        self, *, per_chat_per_minute: float = 20, chat_burst: float = 5, per_second: float = 30
    ) -> None:
        self._chat = (per_chat_per_minute / 60.0, chat_burst)
        self._global = (per_second, per_second)
        self._buckets: dict[tuple[int, str], TokenBucket] = {}

    def take(self, robot_id: int, chat: str, now: float) -> float:
        """0.0 when the robot may post to ``chat`` now, else the seconds to wait."""
        if len(self._buckets) > 100_000:
            self._buckets.clear()
        overall = self._buckets.setdefault((robot_id, ""), TokenBucket(*self._global))
        per_chat = self._buckets.setdefault((robot_id, chat), TokenBucket(*self._chat))
        wait = overall.take(now)
        if wait:
            return wait
        wait = per_chat.take(now)
        if wait:
            overall.tokens += 1.0  # not spent after all
        return wait

    def refund(self, robot_id: int, chat: str) -> None:
        """Give back a token taken for a post that turned out to be a repeat."""
        for key in ((robot_id, ""), (robot_id, chat)):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.tokens = min(bucket.burst, bucket.tokens + 1.0)
