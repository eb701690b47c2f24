"""Event envelopes, signatures, rate limits and webhook targets."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from columba.robots import envelope
from columba.robots.limits import RobotLimits, TokenBucket
from columba.robots.targets import TargetRefused, check_target, is_public


def test_signature_round_trip_and_rejections() -> None:
    body = envelope.attempt_body('{"type":"x"}', event_id="ev-1", attempt=2, ts=1000)
    assert json.loads(body) == {"type": "x", "event_id": "ev-1", "attempt": 2, "ts": 1000}
    signature = envelope.sign("s3cret", 1000, body)
    assert signature.startswith("v1=")
    assert envelope.verify(("s3cret", ""), "1000", signature, body, now=1100)
    assert envelope.verify(("new", "s3cret"), "1000", signature, body, now=1100)  # rotation
    assert not envelope.verify(("other", ""), "1000", signature, body, now=1100)
    assert not envelope.verify(("s3cret", ""), "1000", signature, body + b" ", now=1100)
    assert not envelope.verify(("s3cret", ""), "1000", signature, body, now=1000 + 301)
    assert not envelope.verify(("s3cret", ""), "soon", signature, body, now=1000)


@given(st.binary(max_size=200), st.text(max_size=20), st.text(max_size=80))
@example(b"", "0", "\x80")  # non-ASCII text: hmac.compare_digest raises TypeError on it
def test_verify_never_raises(body: bytes, ts: str, signature: str) -> None:
    envelope.verify(("k",), ts, signature, body, now=0)


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=1.0, burst=2.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(1.0) == 0.0


def test_robot_limits_per_chat() -> None:
    limits = RobotLimits(per_chat_per_minute=20, chat_burst=5, per_second=30)
    waits = [limits.take(1, "g1", 0.0) for _ in range(6)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(3.0)
    assert limits.take(1, "g2", 0.0) == 0.0  # another chat has its own bucket


def test_webhook_targets() -> None:
    assert not is_public("127.0.0.1")
    assert not is_public("10.1.2.3")
    assert not is_public("::ffff:192.168.0.1")
    assert not is_public("169.254.169.254")
    assert is_public("93.184.216.34")

    async def check() -> None:
        with pytest.raises(TargetRefused):
            await check_target("http://127.0.0.1:8080/hook", allow_private=False)
        with pytest.raises(TargetRefused):
            await check_target("ftp://example.com/", allow_private=True)
        with pytest.raises(TargetRefused):
            await check_target("http://user:pw@example.com/", allow_private=True)
        await check_target("http://127.0.0.1:8080/hook", allow_private=True)

    asyncio.run(check())
