"""Delivering the robot outbox: webhooks (or in-process robots), retries, answers.

The outbox is the truth (``robot_events``); this worker only reads what is due. Each event is
the head of its ``(robot, chat)`` queue, so a chat's events reach a robot in order, one at a
time, while other chats and robots go on: a slow or dead robot holds up only itself.

An attempt signs the stored payload afresh (new timestamp and attempt number), POSTs it and
waits at most ``[robots] timeout``. 2xx settles the event (a ``{"reply": {"text": …}}`` body is
posted as the robot, keyed by the event, so a redelivery cannot post it twice); 429 waits what
``Retry-After`` says; anything else is retried with exponential backoff and jitter until
``give_up_after``, when the event is dead and the group is told once (sso-bots.md B.5 item 7).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from typing import Any

import aiohttp

from columba.robots import envelope
from columba.robots.server import RobotError, RobotServer
from columba.robots.targets import TargetRefused, check_target
from columba.storage.group_records import Robot, RobotEvent

log = logging.getLogger(__name__)

MAX_RESPONSE = 64 * 1024


class Deliverer:
    """Runs the outbox of one node's robot server. Owned by the node's task group."""

    def __init__(self, server: RobotServer) -> None:
        self.server = server
        self.config = server.config
        self._in_flight: set[int] = set()
        self._dead_notified: set[tuple[int, str]] = set()

    async def run(self) -> None:
        """Deliver due events until cancelled."""
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session,
            asyncio.TaskGroup() as group,
        ):
            while True:
                due = await self.server.store.due_events(limit=self.config.max_concurrent)
                for event in due:
                    if event.event_seq in self._in_flight:
                        continue
                    if len(self._in_flight) >= self.config.max_concurrent:
                        break
                    self._in_flight.add(event.event_seq)
                    group.create_task(self._attempt(session, event))
                await self.server.wait_work(await self._idle_for())

    async def _idle_for(self) -> float:
        """Seconds until the next event not in flight is due (in-flight ones wake us)."""
        if len(self._in_flight) >= self.config.max_concurrent:
            return 5.0  # full: a finishing delivery wakes us
        next_due = await self.server.store.next_due(excluding=tuple(self._in_flight))
        if next_due is None:
            return 5.0
        return min(max(next_due / 1e6 - time.time(), 0.0), 5.0)

    async def _attempt(self, session: aiohttp.ClientSession, event: RobotEvent) -> None:
        try:
            await self._deliver(session, event)
        except Exception:
            log.exception("robot delivery failed", extra={"kv": {"event": event.event_id}})
            await self._failed(event, "internal error")
        finally:
            self._in_flight.discard(event.event_seq)
            self.server.wake()

    async def _deliver(self, session: aiohttp.ClientSession, event: RobotEvent) -> None:
        robot = self.server.robot(event.robot_id)
        if robot is None:
            await self.server.store.settle(event.event_seq, state="dead", attempts=event.attempts)
            return
        attempt = event.attempts + 1
        ts = int(time.time())
        body = envelope.attempt_body(event.payload, event_id=event.event_id, attempt=attempt, ts=ts)
        headers = {
            "Content-Type": "application/json",
            envelope.TIMESTAMP_HEADER: str(ts),
            envelope.SIGNATURE_HEADER: envelope.sign(robot.signing_secret, ts, body),
            envelope.EVENT_ID_HEADER: event.event_id,
            "User-Agent": "Columba-Robots/1",
        }
        internal = self.server.internal.get(robot.robot_id)
        if internal is not None:
            # The handler keeps its own deadline (a socket waits ``timeout`` for the ack).
            status, reply = await asyncio.wait_for(
                internal(body, headers), self.config.timeout + 1.0
            )
            retry_after = None
        else:
            try:
                status, reply, retry_after = await self._post(session, robot, body, headers)
            except (TimeoutError, aiohttp.ClientError, TargetRefused) as exc:
                log.info(
                    "robot webhook unreachable",
                    extra={"kv": {"robot": robot.name, "reason": type(exc).__name__}},
                )
                await self._failed(event, str(exc) or type(exc).__name__)
                return
        if 200 <= status < 300:
            await self.server.store.settle(event.event_seq, state="delivered", attempts=attempt)
            self._dead_notified.discard((event.robot_id, event.chat_key))
            await self._inline_reply(robot, event, reply)
        elif status == 429:
            wait = retry_after if retry_after is not None else self.config.retry_base
            await self.server.store.settle(
                event.event_seq, state="pending", attempts=attempt, retry_in=min(wait, 3600)
            )
        else:
            await self._failed(event, f"HTTP {status}")

    async def _post(
        self, session: aiohttp.ClientSession, robot: Robot, body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, float | None]:
        await check_target(robot.webhook_url, allow_private=self.config.allow_private_webhooks)
        async with session.post(
            robot.webhook_url, data=body, headers=headers, allow_redirects=False
        ) as response:
            data = await response.content.read(MAX_RESPONSE + 1)
            retry_after: float | None = None
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            reply: Any = None
            if len(data) <= MAX_RESPONSE and data.strip():
                try:
                    reply = json.loads(data)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    reply = None
            return response.status, reply, retry_after

    async def _inline_reply(self, robot: Robot, event: RobotEvent, reply: Any) -> None:
        """A webhook answered ``{"reply": {"text": …}}``: post it as the robot, once."""
        if not isinstance(reply, dict):
            return
        inner = reply.get("reply")
        text = inner.get("text") if isinstance(inner, dict) else None
        if not isinstance(text, str) or not text.strip():
            return
        payload = json.loads(event.payload)
        hop = int((payload.get("message") or {}).get("hop", 0)) + 1
        try:
            await self.server.post_as(
                robot,
                chat=event.chat_key,
                text=text,
                key=f"inline:{event.event_id}",
                hop=hop,
                limited=False,
            )
        except RobotError as exc:
            log.info("robot reply refused", extra={"kv": {"robot": robot.name, "reason": str(exc)}})

    async def _failed(self, event: RobotEvent, reason: str) -> None:
        attempt = event.attempts + 1
        age = time.time() - event.created_at.timestamp()
        if age >= self.config.give_up_after:
            await self.server.store.settle(event.event_seq, state="dead", attempts=attempt)
            await self._tell_unavailable(event)
            return
        delay = min(self.config.retry_base * 6 ** (attempt - 1), self.config.retry_max)
        delay *= random.uniform(0.8, 1.2)  # jitter: robots that failed together retry apart
        log.info(
            "robot delivery will be retried",
            extra={
                "kv": {
                    "event": event.event_id,
                    "attempt": attempt,
                    "in": round(delay, 2),
                    "reason": reason[:80],
                }
            },
        )
        await self.server.store.settle(
            event.event_seq, state="pending", attempts=attempt, retry_in=delay
        )

    async def _tell_unavailable(self, event: RobotEvent) -> None:
        """Once per incident: a notice in the chat that the robot is not answering."""
        key = (event.robot_id, event.chat_key)
        if key in self._dead_notified:
            return
        self._dead_notified.add(key)
        robot = self.server.robot(event.robot_id)
        if robot is None:
            return
        with contextlib.suppress(RobotError):
            await self.server.post_as(
                robot,
                chat=event.chat_key,
                text=f"({robot.name} is unavailable and missed some messages)",
                key=f"unavailable:{event.event_id}",
                limited=False,
            )
