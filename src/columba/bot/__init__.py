"""``columba.bot``: write Columba robots in a few lines.

::

    from columba.bot import Bot, Context

    bot = Bot("faq", signing_secret=os.environ["ROBOT_SECRET"],
              api=HttpApi("http://127.0.0.1:8088", os.environ["ROBOT_TOKEN"]))

    @bot.command("faq")
    async def faq(ctx: Context) -> None:
        await ctx.reply(answer_for(ctx.args))

    bot.run_webhook(host="127.0.0.1", port=8081)

The SDK does the plumbing robot developers keep asking for (sso-bots.md B.3): it checks each
event's signature and timestamp, drops repeated event ids with an atomic claim, answers the
server at once and runs handlers afterwards, retries posts answered 429, keeps state in a
pluggable store, and ships :class:`~columba.bot.testing.FakeServer` for offline tests.
"""

from columba.bot.api import Api, BotApiError, HttpApi
from columba.bot.app import Bot, Context
from columba.bot.storage import MemoryStorage, SqliteStorage, Storage

__all__ = [
    "Api",
    "Bot",
    "BotApiError",
    "Context",
    "HttpApi",
    "MemoryStorage",
    "SqliteStorage",
    "Storage",
]
