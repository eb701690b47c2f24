"""Back-channel logout: tell apps that a session they logged a user in with has ended.

Each notice is an HTTP POST of ``logout_token=<token>`` (form-encoded, as OpenID Connect
Back-Channel Logout 1.0 §2.5) to the app's registered logout URL. Notices are sent
concurrently, each with a timeout, and awaited by the sign-out that caused them (no task
outlives its owner); a failing app is logged and does not delay the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One notice to deliver."""

    app_id: str
    url: str
    token: str


async def _post(session: aiohttp.ClientSession, notice: Notice) -> bool:
    try:
        async with session.post(notice.url, data={"logout_token": notice.token}) as response:
            if response.status in (200, 204):
                return True
            log.warning("back-channel logout to %s: HTTP %s", notice.app_id, response.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("back-channel logout to %s failed: %s", notice.app_id, type(exc).__name__)
    return False


async def deliver(notices: Sequence[Notice], *, within: float) -> dict[str, bool]:
    """POST every notice, each given ``within`` seconds; returns app id → delivered."""
    if not notices:
        return {}
    client_timeout = aiohttp.ClientTimeout(total=within)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        asyncio.TaskGroup() as group,
    ):
        tasks = {n.app_id: group.create_task(_post(session, n)) for n in notices}
    return {app_id: task.result() for app_id, task in tasks.items()}
