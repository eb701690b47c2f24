"""How a robot talks back: the robot API, with idempotency keys and automatic 429 retries."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import aiohttp


class BotApiError(Exception):
    """The robot API refused a call (``status``: its HTTP status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class Api(Protocol):
    """Posting as the robot."""

    async def send(
        self, *, chat: str, text: str, key: str, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        """Post ``text`` to ``chat`` (``g<group id>`` or ``u<sid>``); ``key`` makes it
        idempotent. Returns ``{"message_id", "seq", "duplicate"}``."""
        ...


class HttpApi:
    """The robot API over HTTP (``POST /robot/v1/messages``).

    A 429 is retried after its ``Retry-After`` (at most ``max_retries`` times); the same
    ``Idempotency-Key`` is sent each time, so a retry after a lost answer cannot post twice.
    """

    def __init__(self, base_url: str, token: str, *, max_retries: int = 5) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._max_retries = max_retries
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def send(
        self, *, chat: str, text: str, key: str, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        session = await self._client()
        body: dict[str, Any] = {"chat": chat, "text": text}
        if in_reply_to is not None:
            body["in_reply_to"] = in_reply_to
        headers = {"Authorization": f"Bearer {self._token}", "Idempotency-Key": key}
        for attempt in range(self._max_retries + 1):
            async with session.post(
                f"{self.base_url}/robot/v1/messages", json=body, headers=headers
            ) as response:
                if response.status == 429 and attempt < self._max_retries:
                    wait = float(response.headers.get("Retry-After", "1") or 1)
                    await asyncio.sleep(min(wait, 60.0))
                    continue
                document = await response.json(content_type=None)
                if response.status != 200:
                    error = document.get("error") if isinstance(document, dict) else None
                    raise BotApiError(response.status, str(error))
                result: dict[str, Any] = document
                return result
        raise BotApiError(429, "rate limited")  # pragma: no cover - the loop returns or raises

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
