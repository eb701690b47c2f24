"""Helpers for the simulator tests: every test runs its own event loop, bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from columba.sms.esme import EsmeConfig
from columba.sms.session import SessionConfig

#: No loopback test may take longer than this.
LIMIT = 20.0

FAST = SessionConfig(response_timeout=3.0, bind_timeout=3.0, enquire_link_interval=5.0)


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run one test's dialog in a fresh event loop, failing it after :data:`LIMIT` s."""

    async def bounded() -> None:
        async with asyncio.timeout(LIMIT):
            await coroutine

    asyncio.run(bounded())


def esme_config(address: tuple[str, int], **overrides: Any) -> EsmeConfig:
    """An ESME for the simulator's default account, reconnecting quickly."""
    host, port = address
    fields: dict[str, Any] = {
        "host": host,
        "port": port,
        "system_id": "columba",
        "password": "columba",
        "source_addr": "12520",
        "session": FAST,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.2,
    }
    fields.update(overrides)
    return EsmeConfig(**fields)


async def eventually(predicate: Callable[[], bool], *, step: float = 0.01) -> None:
    """Wait until ``predicate()`` holds (the test's time limit bounds it)."""
    while True:
        if predicate():
            return
        await asyncio.sleep(step)
