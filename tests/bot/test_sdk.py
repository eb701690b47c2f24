"""The bot SDK: signatures, dedupe, ack-then-work, state, the test helper."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from columba.bot import Bot, Context, MemoryStorage, SqliteStorage
from columba.bot.testing import FakeServer
from columba.robots import envelope


def _bot() -> Bot:
    bot = Bot("helper", signing_secret="secret")

    @bot.command("hi")
    async def hi(ctx: Context) -> None:
        await ctx.reply(f"hi {ctx.sender_name}, you said {ctx.args!r}")

    @bot.on_message(mentioned=True)
    async def mentioned(ctx: Context) -> None:
        await ctx.reply("you called?")
        await ctx.reply("twice")

    @bot.on_event("group.member_joined")
    async def joined(ctx: Context) -> None:
        await ctx.reply(f"welcome {ctx.sender_name}")

    return bot


def test_commands_mentions_and_events_reach_their_handlers() -> None:
    async def run() -> None:
        fake = FakeServer(_bot(), group_id=7)
        (reply,) = await fake.send("/hi there", sender_name="bob")
        assert (reply.chat, reply.text) == ("g7", "hi bob, you said 'there'")
        assert [r.text for r in await fake.send("@helper ping")] == ["you called?", "twice"]
        assert await fake.send("nothing for me") == []
        assert [r.text for r in await fake.join("1", "carol")] == ["welcome carol"]
        assert [r.text for r in await fake.send("hello", direct=True)] == ["you called?", "twice"]

    asyncio.run(run())


def test_a_redelivered_event_runs_once_and_replies_have_stable_keys() -> None:
    async def run() -> None:
        fake = FakeServer(_bot())
        first = await fake.send("/hi x", event_id="ev-same")
        again = await fake.send("/hi x", event_id="ev-same")
        assert len(first) == 1
        assert again == []
        assert first[0].key == "ev-same:0"

    asyncio.run(run())


def test_bad_signatures_are_refused_and_the_answer_comes_before_the_work() -> None:
    async def run() -> None:
        bot = _bot()
        body = envelope.attempt_body('{"type":"group.message"}', event_id="e", attempt=1, ts=0)
        status, _ = await bot.handle_request(
            body, {"X-IM-Timestamp": "0", "X-IM-Signature": "v1=00"}
        )
        assert status == 401
        ran: list[str] = []
        slow = Bot("slow", signing_secret="k")

        @slow.command("work")
        async def work(ctx: Context) -> None:
            await asyncio.sleep(0.05)
            ran.append(ctx.event_id)

        payload = {
            "type": "group.message",
            "chat": "g1",
            "message": {"text": "/work", "command": {"name": "work", "args": ""}},
        }
        import time

        ts = int(time.time())
        body = envelope.attempt_body(json.dumps(payload), event_id="e1", attempt=1, ts=ts)
        headers = {"X-IM-Timestamp": str(ts), "X-IM-Signature": envelope.sign("k", ts, body)}
        status, _ = await slow.handle_request(body, headers)
        assert status == 200
        assert ran == []  # acknowledged first
        worker = asyncio.create_task(slow.run())
        await asyncio.sleep(0.2)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        assert ran == ["e1"]

    asyncio.run(run())


def test_storages_claim_atomically_and_keep_state(tmp_path: Path) -> None:
    async def run() -> None:
        sqlite = SqliteStorage(tmp_path / "state.db")
        for storage in (MemoryStorage(), sqlite):
            assert await storage.claim("k", 60)
            assert not await storage.claim("k", 60)
            assert await storage.claim("short", 0)
            assert await storage.claim("short", 60)  # the expired claim is taken over
            await storage.set("a:1", "x")
            await storage.set("a:2", "y")
            await storage.set("b:1", "z")
            assert await storage.keys("a:") == ["a:1", "a:2"]
            assert await storage.get("a:2") == "y"
            await storage.delete("a:2")
            assert await storage.get("a:2") is None
        sqlite.close()
        reopened = SqliteStorage(tmp_path / "state.db")
        assert await reopened.get("a:1") == "x"  # survives a restart
        assert not await reopened.claim("k", 60)
        reopened.close()

    asyncio.run(run())


def test_one_chat_is_handled_in_order_while_chats_run_side_by_side() -> None:
    async def run() -> None:
        bot = Bot("order", signing_secret="k")
        fake = FakeServer(bot)  # wires the recording API
        done: list[str] = []

        @bot.command("wait")
        async def wait(ctx: Context) -> None:
            await asyncio.sleep(float(ctx.args.split()[0]))
            done.append(f"{ctx.chat}:{ctx.args}")
            await ctx.reply(ctx.args)

        import time

        def event(chat: int, args: str, n: int) -> tuple[bytes, dict[str, str]]:
            payload = {
                "type": "group.message",
                "chat": f"g{chat}",
                "message": {"text": f"/wait {args}", "command": {"name": "wait", "args": args}},
            }
            ts = int(time.time())
            body = envelope.attempt_body(json.dumps(payload), event_id=f"o{n}", attempt=1, ts=ts)
            return body, {"X-IM-Timestamp": str(ts), "X-IM-Signature": envelope.sign("k", ts, body)}

        worker = asyncio.create_task(bot.run())
        for n, (chat, args) in enumerate(((1, "0.2 a"), (1, "0.0 b"), (2, "0.05 c"))):
            status, _ = await bot.handle_request(*event(chat, args, n))
            assert status == 200
        await asyncio.sleep(0.5)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        assert done == ["g2:0.05 c", "g1:0.2 a", "g1:0.0 b"]
        assert [r.text for r in fake.api.replies if r.chat == "g1"] == ["0.2 a", "0.0 b"]

    asyncio.run(run())
