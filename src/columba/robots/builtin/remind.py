"""The reminder and poll robot: ``/remind 10m stand-up``, ``/poll "Lunch?" pizza sushi``.

Reminders and polls live in the robot's storage, so they survive a restart: a reminder due
while the node was down is sent when it comes back. ``/vote <n>`` votes (one vote per member,
changeable), ``/results`` shows the counts, ``/reminders`` lists what is pending.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
import uuid
from typing import Any

from columba.bot import Api, Bot, Context, Storage

NAME = "remind"
DESCRIPTION = 'Reminders and polls (/remind 10m text, /poll "Question?" A B C, /vote 1).'
_DELAY = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_OPTIONS = 10


def parse_delay(text: str) -> int | None:
    """Seconds in ``90s``, ``10m``, ``2h``, ``1d`` (None when not one)."""
    match = _DELAY.match(text.strip().lower())
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


async def due_reminders(storage: Storage, now: float) -> list[tuple[str, dict[str, Any]]]:
    """Reminders whose time has come."""
    due = []
    for key in await storage.keys("reminder:"):
        raw = await storage.get(key)
        if raw is None:
            continue
        reminder = json.loads(raw)
        if reminder["at"] <= now:
            due.append((key, reminder))
    return due


async def run_reminders(bot: Bot, *, tick: float = 1.0) -> None:
    """Send due reminders until cancelled (owned by whoever runs the robot)."""
    while True:
        for key, reminder in await due_reminders(bot.storage, time.time()):
            if bot.api is not None:
                await bot.api.send(
                    chat=reminder["chat"], text=f"Reminder: {reminder['text']}", key=key
                )
            await bot.storage.delete(key)
        await asyncio.sleep(tick)


def make(*, signing_secret: str, api: Api, storage: Storage) -> Bot:
    """The reminder and poll robot."""
    bot = Bot(NAME, signing_secret=signing_secret, api=api, storage=storage)

    @bot.command("remind")
    async def remind(ctx: Context) -> None:
        when, _, text = ctx.args.partition(" ")
        seconds = parse_delay(when)
        if seconds is None or not text.strip():
            await ctx.reply("Usage: /remind 10m what to remember (s, m, h or d)")
            return
        # Keyed by the event, so a redelivered command cannot set the reminder twice.
        key = f"reminder:{ctx.event_id}"
        at = time.time() + seconds
        await bot.storage.set(key, json.dumps({"chat": ctx.chat, "text": text.strip(), "at": at}))
        await ctx.reply(f"OK, I'll remind this chat in {when}: {text.strip()}")

    @bot.command("reminders")
    async def reminders(ctx: Context) -> None:
        pending = []
        for key in await bot.storage.keys("reminder:"):
            raw = await bot.storage.get(key)
            if raw is not None and json.loads(raw)["chat"] == ctx.chat:
                item = json.loads(raw)
                pending.append(f"in {max(0, int(item['at'] - time.time()))}s: {item['text']}")
        await ctx.reply("\n".join(pending) if pending else "No reminders pending here.")

    @bot.command("poll")
    async def poll(ctx: Context) -> None:
        try:
            words = shlex.split(ctx.args)
        except ValueError:
            words = []
        if len(words) < 3 or len(words) > MAX_OPTIONS + 1:
            await ctx.reply(f'Usage: /poll "Question?" option1 option2 … (2 to {MAX_OPTIONS})')
            return
        question, options = words[0], words[1:]
        await ctx.save(
            "poll", {"id": uuid.uuid4().hex[:8], "q": question, "options": options, "votes": {}}
        )
        lines = [f"Poll: {question}"] + [f"{i}. {o}" for i, o in enumerate(options, 1)]
        await ctx.reply("\n".join(lines) + "\nVote with /vote <number>")

    @bot.command("vote")
    async def vote(ctx: Context) -> None:
        current = await ctx.load("poll")
        if current is None:
            await ctx.reply("No poll is open here; start one with /poll.")
            return
        try:
            choice = int(ctx.args.strip())
        except ValueError:
            choice = 0
        if not 1 <= choice <= len(current["options"]):
            await ctx.reply(f"Vote with a number from 1 to {len(current['options'])}.")
            return
        current["votes"][ctx.sender] = choice
        await ctx.save("poll", current)
        await ctx.reply(
            f"{ctx.sender_name or ctx.sender} voted for {current['options'][choice - 1]}."
        )

    @bot.command("results")
    async def results(ctx: Context) -> None:
        current = await ctx.load("poll")
        if current is None:
            await ctx.reply("No poll is open here.")
            return
        counts = [0] * len(current["options"])
        for choice in current["votes"].values():
            counts[choice - 1] += 1
        lines = [f"{current['q']}"] + [
            f"{option}: {count}" for option, count in zip(current["options"], counts, strict=True)
        ]
        await ctx.reply("\n".join(lines))

    return bot
