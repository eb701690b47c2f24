"""The storage contract, part 4: conversations, store before deliver, history."""

from __future__ import annotations

import asyncio
import re

import pytest

from columba.storage import (
    ConversationKind,
    NewMessage,
    NotFound,
    Recipient,
    Store,
    StoredMessage,
)

from .conftest import Backend, raw_fetch

ALICE, BOB, CAROL = 1, 2, 3  # messaging tables do not require accounts


def note(
    conversation_id: int,
    key: str,
    *,
    sender: int = ALICE,
    to: int = BOB,
    devices: tuple[str, ...] = ("pc",),
) -> NewMessage:
    return NewMessage(
        conversation_id=conversation_id,
        sender_id=sender,
        recipients=(Recipient(user_id=to, devices=devices),),
        content_type="text/plain;charset=utf-8",
        body=key.encode(),
        client_key=key,
    )


def test_pair_conversation_is_found_from_either_side(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        first = await store.pair_conversation(ALICE, BOB)
        assert (first.kind, first.pair, first.last_seq) == (ConversationKind.PAIR, (1, 2), 0)
        assert await store.pair_conversation(BOB, ALICE) == first
        assert await store.conversation(first.conversation_id) == first
        other = await store.pair_conversation(ALICE, CAROL)
        assert other.conversation_id != first.conversation_id
        group = await store.create_group_conversation()
        assert (group.kind, group.pair) == (ConversationKind.GROUP, None)
        with pytest.raises(NotFound):
            await store.conversation(9999)

    backend.run(scenario)


def test_pair_conversations_makes_and_finds_many_in_one_call(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        existing = await store.pair_conversation(ALICE, BOB)
        found = await store.pair_conversations([(BOB, ALICE), (CAROL, ALICE), (2, 3), (3, 2)])
        assert set(found) == {(1, 2), (1, 3), (2, 3)}  # keyed (low, high), repeats merged
        assert found[(1, 2)] == existing
        assert len({c.conversation_id for c in found.values()}) == 3
        for (low, high), conversation in found.items():
            assert conversation.pair == (low, high)
            assert await store.pair_conversation(high, low) == conversation
        assert await store.pair_conversations([]) == {}

    backend.run(scenario)


def test_racing_creators_get_one_pair_conversation(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        found = await asyncio.gather(*(store.pair_conversation(4, 5) for _ in range(10)))
        assert len({conversation.conversation_id for conversation in found}) == 1

    backend.run(scenario)


def test_store_assigns_ids_and_sequence_numbers(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        conversation = await store.pair_conversation(ALICE, BOB)
        cid = conversation.conversation_id
        stored = [
            await store.store_message(
                conversation_id=cid,
                sender_id=ALICE,
                recipients=[Recipient(user_id=BOB, devices=("pc",))],
                content_type="text/plain",
                body=f"hello {i}".encode(),
                client_key=f"call-{i} 1 M",
            )
            for i in range(5)
        ]
        assert [m.seq for m in stored] == [1, 2, 3, 4, 5]
        assert all(re.fullmatch(r"[0-9a-f]{32}", m.message_id) for m in stored)
        assert len({m.message_id for m in stored}) == 5
        assert not any(m.is_duplicate for m in stored)
        assert (await store.conversation(cid)).last_seq == 5
        assert await store.message(stored[2].message_id) == stored[2]
        with pytest.raises(NotFound):
            await store.message("0" * 32)

    backend.run(scenario)


def test_bodies_are_kept_byte_for_byte(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        bodies = [b"", b"\x00\xff\x00binary", "飞信".encode("utf-16-be"), bytes(range(256)) * 300]
        for i, body in enumerate(bodies):
            await store.store_message(
                conversation_id=cid,
                sender_id=ALICE,
                recipients=[],
                content_type="application/octet-stream",
                body=body,
                client_key=f"k{i}",
            )
        assert [m.body for m in await store.messages_after(cid, 0)] == bodies

    backend.run(scenario)


def test_retransmission_returns_the_first_message(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        first = await store.store_messages([note(cid, "k1")])
        again = await store.store_messages([note(cid, "k1", devices=("pc", "phone"))])
        assert again[0].is_duplicate
        assert again[0].message_id == first[0].message_id
        assert again[0].seq == first[0].seq
        assert (await store.conversation(cid)).last_seq == 1
        assert await store.pending_for_device(BOB, "phone") == []  # nothing new is owed
        # The same key from another sender is another message.
        other = await store.store_messages([note(cid, "k1", sender=BOB, to=ALICE)])
        assert not other[0].is_duplicate
        assert other[0].seq == 2
        # A duplicate inside one batch is stored once.
        batch = await store.store_messages([note(cid, "k2"), note(cid, "k3"), note(cid, "k2")])
        assert [m.seq for m in batch] == [3, 4, 3]
        assert [m.is_duplicate for m in batch] == [False, False, True]
        assert len(await store.messages_after(cid, 0)) == 4

    backend.run(scenario)


def test_a_batch_spans_conversations(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        one = (await store.pair_conversation(ALICE, BOB)).conversation_id
        two = (await store.pair_conversation(ALICE, CAROL)).conversation_id
        batch = [
            note(one if i % 3 else two, f"k{i}", to=BOB if i % 3 else CAROL) for i in range(30)
        ]
        stored = await store.store_messages(batch)
        assert [m.client_key for m in stored] == [m.client_key for m in batch]
        assert [m.seq for m in stored if m.conversation_id == one] == list(range(1, 21))
        assert [m.seq for m in stored if m.conversation_id == two] == list(range(1, 11))
        assert await store.store_messages([]) == []

    backend.run(scenario)


def test_a_batch_with_an_unknown_conversation_stores_nothing(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        with pytest.raises(NotFound, match="conversation"):
            await store.store_messages([note(cid, "a"), note(424242, "b")])
        assert await store.messages_after(cid, 0) == []
        assert (await store.conversation(cid)).last_seq == 0
        assert await store.pending_for_device(BOB, "pc") == []

    backend.run(scenario)


def test_sequence_numbers_are_gap_free_under_concurrent_writers(backend: Backend) -> None:
    writers, per_writer = 20, 50

    async def scenario(store: Store) -> None:
        shared = (await store.pair_conversation(ALICE, BOB)).conversation_id
        other = (await store.pair_conversation(ALICE, CAROL)).conversation_id

        async def writer(w: int) -> list[StoredMessage]:
            out = []
            for i in range(per_writer):
                if i % 5 == 4:  # now and then a batch over both conversations
                    out += await store.store_messages(
                        [note(shared, f"w{w}-{i}"), note(other, f"w{w}-{i}x", to=CAROL)]
                    )
                else:
                    out += await store.store_messages([note(shared, f"w{w}-{i}")])
            return out

        results = await asyncio.gather(*(writer(w) for w in range(writers)))
        for conversation, expected in (
            (shared, writers * per_writer),
            (other, writers * per_writer // 5),
        ):
            seqs = [m.seq for r in results for m in r if m.conversation_id == conversation]
            assert sorted(seqs) == list(range(1, expected + 1))
            assert (await store.conversation(conversation)).last_seq == expected
        for r in results:  # each writer saw its own messages in increasing order
            own = [m.seq for m in r if m.conversation_id == shared]
            assert own == sorted(own)
        history = await store.messages_after(shared, 0, limit=10_000)
        assert [m.seq for m in history] == list(range(1, writers * per_writer + 1))

    backend.run(scenario)


def test_concurrent_retransmissions_store_once(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        results = await asyncio.gather(
            *(store.store_messages([note(cid, "same")]) for _ in range(10))
        )
        ids = {r[0].message_id for r in results}
        assert len(ids) == 1
        assert sum(not r[0].is_duplicate for r in results) == 1
        assert (await store.conversation(cid)).last_seq == 1
        rows = await raw_fetch(store, "SELECT COUNT(*) FROM deliveries")
        assert rows[0][0] == 1

    backend.run(scenario)


def test_history_is_everything_after_n(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        other = (await store.pair_conversation(ALICE, CAROL)).conversation_id
        await store.store_messages([note(cid, f"k{i}") for i in range(12)])
        await store.store_messages([note(other, "elsewhere", to=CAROL)])
        page = await store.messages_after(cid, 0, limit=5)
        assert [m.seq for m in page] == [1, 2, 3, 4, 5]
        page = await store.messages_after(cid, page[-1].seq, limit=5)
        assert [m.seq for m in page] == [6, 7, 8, 9, 10]
        assert [m.body for m in await store.messages_after(cid, 10)] == [b"k10", b"k11"]
        assert await store.messages_after(cid, 12) == []
        assert await store.messages_after(9999, 0) == []

    backend.run(scenario)
