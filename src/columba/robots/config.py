"""What the robot server needs from the configuration (``[robots]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RobotsConfig:
    """``[robots]``: delivery timing, limits and safety of the robot server.

    Attributes:
        builtin: Register and run the robots Columba ships (faq, remind, welcome).
        allow_private_webhooks: Accept webhook URLs in private and loopback ranges (tests,
            robots on the same machine). Off: only public addresses (SSRF protection).
        timeout: Seconds a webhook has to answer 2xx.
        retry_base: First retry delay in seconds; each retry waits about six times longer
            (10 s, 1 min, 5 min, 30 min, 2 h with the default), with jitter.
        retry_max: Cap of the retry delay.
        give_up_after: Seconds after which an undelivered event is dead; the group is told
            once that the robot is unavailable.
        per_chat_per_minute: Messages a robot may post to one chat per minute.
        chat_burst: ... of which at once.
        per_second: Messages a robot may post per second overall.
        max_concurrent: Webhook deliveries in flight at once (over all robots).
    """

    builtin: bool = True
    allow_private_webhooks: bool = False
    timeout: float = 3.0
    retry_base: float = 10.0
    retry_max: float = 7200.0
    give_up_after: float = 86400.0
    per_chat_per_minute: int = 20
    chat_burst: int = 5
    per_second: int = 30
    max_concurrent: int = 64
