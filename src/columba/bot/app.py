"""``Bot``: handlers by decorator, and the plumbing between the robot server and them.

An event arrives (webhook POST, long poll, or in process) as signed JSON. ``handle_request``
checks the signature and timestamp (401 otherwise), claims the event id (a repeat is answered
200 and dropped), queues the event and answers 200 at once; :meth:`Bot.run` runs the handlers
afterwards, so slow work never makes the server retry (sso-bots.md B.3 item 1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from columba.bot.api import Api
from columba.bot.storage import MemoryStorage, Storage
from columba.robots import envelope

log = logging.getLogger(__name__)

Handler = Callable[["Context"], Awaitable[None]]
DEDUPE_TTL = 24 * 3600.0


@dataclass(kw_only=True)
class Context:
    """One event, as a handler sees it, with ways to answer and to keep state."""

    bot: Bot
    event: dict[str, Any]
    #: ``g<group id>`` or ``u<sid>``: where replies go.
    chat: str
    text: str = ""
    sender: str = ""
    sender_name: str = ""
    #: The command name (``faq`` for ``/faq …``), or None.
    command: str | None = None
    #: What follows the command, or the whole text.
    args: str = ""
    _replies: int = field(default=0, repr=False)

    @property
    def event_id(self) -> str:
        """The event's id (stable across redeliveries)."""
        return str(self.event.get("event_id", ""))

    @property
    def group_id(self) -> int | None:
        """The group, for group events."""
        value = self.event.get("group_id")
        return int(value) if value is not None else None

    @property
    def type(self) -> str:
        """``group.message``, ``direct.message``, ``group.member_joined`` …"""
        return str(self.event.get("type", ""))

    async def reply(self, text: str) -> dict[str, Any]:
        """Post ``text`` to the event's chat; the n-th reply to an event has key
        ``<event id>:<n>``, so a handler run twice cannot post twice."""
        key = f"{self.event_id}:{self._replies}"
        self._replies += 1
        api = self.bot.api
        if api is None:
            raise RuntimeError("the bot has no api to reply with")
        return await api.send(chat=self.chat, text=text, key=key, in_reply_to=self.event_id)

    async def load(self, name: str, default: Any = None) -> Any:
        """State of this chat (JSON), kept in the bot's storage."""
        raw = await self.bot.storage.get(f"{self.chat}:{name}")
        return default if raw is None else json.loads(raw)

    async def save(self, name: str, value: Any) -> None:
        """Keep state of this chat."""
        await self.bot.storage.set(f"{self.chat}:{name}", json.dumps(value))


class Bot:
    """A robot: handlers, a signing secret, an API to answer with, and storage.

    Args:
        name: The robot's registered name (what members type after ``@``).
        signing_secret: The secret the server signs events with; ``previous_secret`` is also
            accepted (during a rotation).
        api: How replies are posted (``HttpApi``, or the robot server in process).
        storage: Dedupe claims and handler state (default: in memory).
    """

    def __init__(
        self,
        name: str,
        *,
        signing_secret: str,
        previous_secret: str = "",
        api: Api | None = None,
        storage: Storage | None = None,
        max_queue: int = 1000,
    ) -> None:
        self.name = name
        self.secrets = (signing_secret, previous_secret)
        self.api = api
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self._commands: dict[str, Handler] = {}
        self._messages: list[tuple[bool | None, Handler]] = []
        self._events: dict[str, list[Handler]] = {}
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        self._chats: dict[str, asyncio.Lock] = {}

    # -- registering handlers ------------------------------------------------------------------

    def command(self, name: str) -> Callable[[Handler], Handler]:
        """``/name …`` (or ``/name@robot …``) runs the decorated handler."""

        def register(handler: Handler) -> Handler:
            self._commands[name.lower()] = handler
            return handler

        return register

    def on_message(self, *, mentioned: bool | None = None) -> Callable[[Handler], Handler]:
        """A message no command took; ``mentioned=True`` only when it mentions the robot."""

        def register(handler: Handler) -> Handler:
            self._messages.append((mentioned, handler))
            return handler

        return register

    def on_event(self, kind: str) -> Callable[[Handler], Handler]:
        """Other events: ``group.member_joined``, ``group.member_left``."""

        def register(handler: Handler) -> Handler:
            self._events.setdefault(kind, []).append(handler)
            return handler

        return register

    # -- receiving -----------------------------------------------------------------------------

    async def handle_request(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """Check, dedupe and queue one signed event; returns the HTTP status and JSON body."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if not envelope.verify(
            self.secrets,
            lowered.get(envelope.TIMESTAMP_HEADER.lower(), ""),
            lowered.get(envelope.SIGNATURE_HEADER.lower(), ""),
            body,
            now=time.time(),
        ):
            return 401, {"error": "bad signature or timestamp"}
        try:
            event = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return 400, {"error": "body must be JSON"}
        if not isinstance(event, dict) or not event.get("event_id"):
            return 400, {"error": "not an event"}
        if not await self.storage.claim(f"event:{event['event_id']}", DEDUPE_TTL):
            return 200, {"ok": True, "duplicate": True}
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Give the claim back so that the server's retry is not dropped as a duplicate.
            await self.storage.delete(f"event:{event['event_id']}")
            return 429, {"error": "busy"}
        return 200, {"ok": True}

    async def run(self, *, concurrency: int = 8) -> None:
        """Run queued events' handlers until cancelled (each in a task of this call): up to
        ``concurrency`` at once, one at a time per chat."""
        slots = asyncio.Semaphore(concurrency)
        async with asyncio.TaskGroup() as group:
            while True:
                event = await self._queue.get()
                await slots.acquire()
                group.create_task(self._guarded(event, slots))

    async def process_pending(self) -> None:
        """Run every queued event's handlers now, in order (tests, single-shot scripts)."""
        while not self._queue.empty():
            await self._guarded(self._queue.get_nowait(), None)

    async def _guarded(self, event: dict[str, Any], slots: asyncio.Semaphore | None) -> None:
        chat = str(event.get("chat", ""))
        lock = self._chats.setdefault(chat, asyncio.Lock())
        try:
            # One event at a time per chat, in arrival order (locks are FIFO): the server
            # delivers a chat's events in order, and the answers keep that order.
            async with lock:
                await self.dispatch(event)
        except Exception:
            log.exception("robot handler failed", extra={"kv": {"robot": self.name}})
        finally:
            if not lock.locked() and len(self._chats) > 10_000:
                self._chats.clear()
            if slots is not None:
                slots.release()

    async def dispatch(self, event: dict[str, Any]) -> None:
        """Run the handlers an event calls for."""
        kind = str(event.get("type", ""))
        chat = str(event.get("chat", ""))
        if kind not in ("group.message", "direct.message"):
            for handler in self._events.get(kind, []):
                member = event.get("member") or {}
                await handler(
                    Context(
                        bot=self,
                        event=event,
                        chat=chat,
                        sender=str(member.get("sid", "")),
                        sender_name=str(member.get("name", "")),
                    )
                )
            return
        message = event.get("message") or {}
        text = str(message.get("text", ""))
        command = message.get("command") or None
        ctx = Context(
            bot=self,
            event=event,
            chat=chat,
            text=text,
            sender=str(message.get("sender", "")),
            sender_name=str(message.get("sender_name", "")),
            command=str(command["name"]) if command else None,
            args=str(command["args"]) if command else _without_mention(text, self.name),
        )
        if ctx.command is not None and ctx.command in self._commands:
            await self._commands[ctx.command](ctx)
            return
        is_mentioned = self.name.lower() in [str(m).lower() for m in message.get("mentions", [])]
        for mentioned, handler in self._messages:
            if mentioned is None or mentioned == (is_mentioned or kind == "direct.message"):
                await handler(ctx)
                return

    # -- transports ----------------------------------------------------------------------------

    def webhook_app(self, path: str = "/") -> Any:
        """An aiohttp application that takes events at ``path``."""
        from aiohttp import web

        async def receive(request: web.Request) -> web.Response:
            body = await request.content.read(envelope_limit() + 1)
            if len(body) > envelope_limit():
                return web.json_response({"error": "too large"}, status=413)
            status, document = await self.handle_request(body, request.headers)
            return web.json_response(document, status=status)

        app = web.Application(client_max_size=envelope_limit())
        app.router.add_post(path, receive)
        return app

    async def serve_webhook(self, *, host: str = "127.0.0.1", port: int = 8081) -> None:
        """Serve the webhook and run handlers until cancelled."""
        from aiohttp import web

        runner = web.AppRunner(self.webhook_app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            await self.run()
        finally:
            await runner.cleanup()

    async def serve_socket(self, base_url: str, token: str) -> None:
        """Connect to the robot server's WebSocket (robots with ``transport=websocket``) and
        run handlers until cancelled or the server closes the socket."""
        import aiohttp

        url = base_url.rstrip("/").replace("http", "ws", 1) + "/robot/v1/ws"
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, headers=headers, heartbeat=30.0) as ws,
            asyncio.TaskGroup() as group,
        ):
            worker = group.create_task(self.run())
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(frame.data)
                    body = str(message["body"]).encode()
                    event_headers = {
                        envelope.TIMESTAMP_HEADER: str(message["ts"]),
                        envelope.SIGNATURE_HEADER: str(message["signature"]),
                    }
                    event_id = json.loads(body).get("event_id", "")
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                    continue
                status, _ = await self.handle_request(body, event_headers)
                await ws.send_str(json.dumps({"ack": event_id, "status": status}))
            worker.cancel()

    def run_webhook(self, *, host: str = "127.0.0.1", port: int = 8081) -> None:
        """Blocking: serve the webhook until interrupted."""
        asyncio.run(self.serve_webhook(host=host, port=port))


def envelope_limit() -> int:
    """Largest event body accepted (64 KiB, as the server caps them)."""
    return 64 * 1024


def _without_mention(text: str, name: str) -> str:
    """The text with a leading ``@name`` removed."""
    stripped = text.strip()
    prefix = "@" + name
    if stripped.lower().startswith(prefix.lower()):
        return stripped[len(prefix) :].lstrip(" ,:")
    return stripped
