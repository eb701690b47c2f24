"""Test robots offline: feed events in process, collect what the robot says.

::

    async def test_faq() -> None:
        fake = FakeServer(bot)
        replies = await fake.send("/faq how do I reset my password?")
        assert "reset" in replies[0].text

Events are signed with the bot's secret and go through :meth:`Bot.handle_request` like real
ones (signature, dedupe, queue), then the handlers run at once.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from columba.bot.app import Bot
from columba.robots import envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Something the robot posted."""

    chat: str
    text: str
    key: str


class RecordingApi:
    """An ``Api`` that records posts, idempotently by key like the real one."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self._keys: dict[str, int] = {}

    async def send(
        self, *, chat: str, text: str, key: str, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        del in_reply_to
        if key in self._keys:
            return {"message_id": key, "seq": self._keys[key], "duplicate": True}
        self.replies.append(Reply(chat=chat, text=text, key=key))
        self._keys[key] = len(self.replies)
        return {"message_id": key, "seq": len(self.replies), "duplicate": False}


class FakeServer:
    """Stands in for the robot server in tests."""

    def __init__(self, bot: Bot, *, group_id: int = 1) -> None:
        self.bot = bot
        self.api = RecordingApi()
        bot.api = self.api
        self.group_id = group_id
        self._ids = itertools.count(1)

    async def deliver(self, payload: dict[str, Any], *, event_id: str | None = None) -> int:
        """Sign and hand one event to the bot; run its handlers. Returns the bot's status."""
        event_id = event_id or f"ev-test-{uuid.uuid4().hex}"
        ts = int(time.time())
        body = envelope.attempt_body(json.dumps(payload), event_id=event_id, attempt=1, ts=ts)
        headers = {
            envelope.TIMESTAMP_HEADER: str(ts),
            envelope.SIGNATURE_HEADER: envelope.sign(self.bot.secrets[0], ts, body),
        }
        status, _ = await self.bot.handle_request(body, headers)
        await self.bot.process_pending()
        return status

    async def send(
        self,
        text: str,
        *,
        sender: str = "100000001",
        sender_name: str = "alice",
        group_id: int | None = None,
        direct: bool = False,
        event_id: str | None = None,
    ) -> list[Reply]:
        """A member's message reaches the robot; returns what the robot posted because of it."""
        from columba.groups.rules import command, mentions

        group = self.group_id if group_id is None else group_id
        found = command(text)
        payload = json.loads(
            envelope.direct_message_payload(
                robot_name=self.bot.name,
                message_id=f"m{next(self._ids)}",
                sender_sid=sender,
                sender_name=sender_name,
                text=text,
            )
            if direct
            else envelope.group_message_payload(
                robot_name=self.bot.name,
                group_id=group,
                message_id=f"m{next(self._ids)}",
                seq=1,
                sender_sid=sender,
                sender_name=sender_name,
                text=text,
                mentions=mentions(text),
                command=None if found is None else (found.name, found.args),
                hop=0,
            )
        )
        before = len(self.api.replies)
        await self.deliver(payload, event_id=event_id)
        return self.api.replies[before:]

    async def join(self, sid: str, name: str, *, group_id: int | None = None) -> list[Reply]:
        """Someone joins the group; returns what the robot posted."""
        payload = json.loads(
            envelope.member_event_payload(
                robot_name=self.bot.name,
                kind="group.member_joined",
                group_id=self.group_id if group_id is None else group_id,
                user_sid=sid,
                user_name=name,
            )
        )
        before = len(self.api.replies)
        await self.deliver(payload)
        return self.api.replies[before:]
