"""The in-memory outbox of a device: order, window, dedupe against store reads, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from columba.core.outbox import Outbox
from columba.core.registry import Binding, Dialect
from columba.protocol.sip.message import Request, Response
from columba.storage import StoredMessage

Answer = Callable[[Response | None], None]


class FakeLink:
    """Records what the outbox sends; the test answers through the callbacks."""

    transport = "tcp"
    is_open = True
    is_reliable = True
    local_host = "127.0.0.1:1"

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int, str]]] = []
        self.answers: dict[tuple[str, int, str], Answer] = {}
        self.forgotten: list[object] = []

    def send_prepared(self, data: bytes, key: tuple[str, int, str], on_answer: Answer) -> object:
        self.sent.append((data, key))
        self.answers[key] = on_answer
        return key

    def send_request(self, request: Request, on_answer: Answer) -> object:
        raise AssertionError("SIP-C messages take the prepared path")

    def forget(self, key: object) -> None:
        self.forgotten.append(key)

    def answer(self, index: int, status: int = 200) -> None:
        key = self.sent[index][1]
        response = Response(status=status, reason="x", version="SIP-C/4.0", headers=())
        self.answers.pop(key)(response)


def stored(n: int, conversation: int = 1) -> StoredMessage:
    return StoredMessage(
        message_id=f"{conversation:04d}{n:028d}",
        conversation_id=conversation,
        seq=n,
        sender_id=2,
        content_type="text/plain",
        body=f"m{n}".encode(),
        client_key=f"k{conversation}-{n}",
        created_at=datetime.now(tz=UTC),
    )


def outbox(link: FakeLink, acked: list[str], *, window: int = 2) -> Outbox:
    binding = Binding(
        user_id=1,
        sid="900000001",
        device_id="pc",
        link=link,  # type: ignore[arg-type]
        dialect=Dialect.SIPC,
        contact="",
        expires_at=0.0,
        registered_at=0.0,
    )
    return Outbox(
        binding,
        link,
        window=window,
        ack_timeout=0.05,
        domain="fetion.com.cn",
        sid_of=lambda _: "900000002",
        acked=lambda _, message: acked.append(message.message_id),
    )


def bodies(link: FakeLink) -> list[bytes]:
    return [data.rsplit(b"\r\n\r\n", 1)[1] for data, _ in link.sent]


def test_messages_go_in_order_within_the_window_and_are_acked_on_200() -> None:
    async def run() -> None:
        link, acked = FakeLink(), []
        box = outbox(link, acked)
        box.refilled([], is_full=False)
        for n in range(1, 5):
            box.offer(stored(n))
        assert bodies(link) == [b"m1", b"m2"]  # window 2
        link.answer(0)
        link.answer(1)
        assert bodies(link) == [b"m1", b"m2", b"m3", b"m4"]
        assert acked == [stored(1).message_id, stored(2).message_id]
        box.offer(stored(1))  # acked already: not known, but the store would not hand it again
        assert not box.binding.wake.is_set()
        box.close()

    asyncio.run(run())


def test_a_store_read_and_hand_overs_are_merged_once_in_order() -> None:
    async def run() -> None:
        link, acked = FakeLink(), []
        box = outbox(link, acked, window=10)
        box.start_refill()
        box.offer(stored(3))  # handed over while the store is read: kept, not sent yet
        box.offer(stored(2))
        assert link.sent == []
        box.refilled([stored(1), stored(2)], is_full=False)
        box.pump()
        assert bodies(link) == [b"m1", b"m2", b"m3"]
        box.offer(stored(3))  # in flight: not sent twice
        assert len(link.sent) == 3
        box.close()

    asyncio.run(run())


def test_a_full_read_is_a_backlog_and_drops_hand_overs_until_read_again() -> None:
    async def run() -> None:
        link, acked = FakeLink(), []
        box = outbox(link, acked, window=10)
        box.start_refill()
        box.refilled([stored(1), stored(2)], is_full=True)
        box.pump()
        box.offer(stored(9))  # behind the unread backlog: left in the store
        assert bodies(link) == [b"m1", b"m2"]
        link.answer(0)
        assert not box.binding.wake.is_set()
        link.answer(1)
        assert box.binding.wake.is_set()  # queue sent: the run loop reads the store again
        box.close()

    asyncio.run(run())


def test_a_refusal_or_a_timeout_stops_sending_and_wakes_the_loop() -> None:
    async def run() -> None:
        link, acked = FakeLink(), []
        box = outbox(link, acked)
        box.refilled([], is_full=False)
        for n in range(1, 4):
            box.offer(stored(n))
        link.answer(0, status=486)
        assert box.failed
        assert bodies(link) == [b"m1", b"m2"]
        assert not box.binding.wake.is_set()  # m2 still in flight
        await asyncio.sleep(0.1)  # m2 times out
        assert link.forgotten == [link.sent[1][1]]
        assert box.binding.wake.is_set()
        assert not box.in_flight
        assert acked == []
        box.close()

    asyncio.run(run())


def test_a_lost_link_answers_none() -> None:
    async def run() -> None:
        link, acked = FakeLink(), []
        box = outbox(link, acked)
        box.refilled([], is_full=False)
        box.offer(stored(1))
        link.answers.pop(link.sent[0][1])(None)
        assert box.failed
        assert not box.in_flight
        assert acked == []
        box.close()

    asyncio.run(run())
