"""The welcome and moderation robot: greets joiners, keeps the peace.

Added with read scope ``all`` it sees every message: it warns about words on its block list
and about floods (more than :data:`FLOOD_BURST` messages in :data:`FLOOD_WINDOW` seconds from
one member, a per-member token bucket). ``/rules`` shows the rules. It cannot delete or mute on
its own: muting stays a human admin's decision (``PGMuteMember``).
"""

from __future__ import annotations

import re
import time

from columba.bot import Api, Bot, Context, Storage
from columba.robots.limits import TokenBucket

NAME = "welcome"
DESCRIPTION = "Greets new members, warns about floods and banned words (/rules)."
FLOOD_BURST = 5
FLOOD_WINDOW = 10.0
RULES = "Be kind, stay on topic, no spam. Admins can mute members who flood the group."
BLOCKED = ("spam-link", "buy followers", "free money")


def make(*, signing_secret: str, api: Api, storage: Storage) -> Bot:
    """The welcome robot."""
    bot = Bot(NAME, signing_secret=signing_secret, api=api, storage=storage)
    buckets: dict[tuple[str, str], TokenBucket] = {}
    blocked = re.compile("|".join(re.escape(word) for word in BLOCKED), re.IGNORECASE)

    @bot.on_event("group.member_joined")
    async def greet(ctx: Context) -> None:
        await ctx.reply(f"Welcome, {ctx.sender_name or ctx.sender}! {RULES}")

    @bot.command("rules")
    async def rules(ctx: Context) -> None:
        await ctx.reply(RULES)

    @bot.on_message()
    async def watch(ctx: Context) -> None:
        if blocked.search(ctx.text):
            await ctx.reply(f"{ctx.sender_name or ctx.sender}, please keep links and ads out.")
            return
        if len(buckets) > 10_000:
            buckets.clear()
        bucket = buckets.setdefault(
            (ctx.chat, ctx.sender), TokenBucket(rate=FLOOD_BURST / FLOOD_WINDOW, burst=FLOOD_BURST)
        )
        if bucket.take(time.monotonic()):
            await ctx.reply(f"{ctx.sender_name or ctx.sender}, slow down a little, please.")

    return bot
