"""The storage contract, group commit: messages and device acks in one ``commit_batch``."""

from __future__ import annotations

from columba.storage import DeliveryState, DeviceAck, NewMessage, Recipient, Store

from .conftest import Backend

ALICE, BOB, CAROL = 1, 2, 3


def message(cid: int, key: str, *recipients: Recipient, sender: int = ALICE) -> NewMessage:
    return NewMessage(
        conversation_id=cid,
        sender_id=sender,
        recipients=recipients,
        content_type="text/plain",
        body=key.encode() + b"\x00\xff",
        client_key=key,
    )


def test_commit_batch_stores_in_order_and_acks_by_position(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        ab = (await store.pair_conversation(ALICE, BOB)).conversation_id
        ac = (await store.pair_conversation(ALICE, CAROL)).conversation_id
        bob = Recipient(user_id=BOB, devices=("pc", "phone"))
        carol = Recipient(user_id=CAROL, devices=("pc",))
        # 300 messages: more than one VALUES list (256 rows) per table.
        batch = [message(ab if i % 3 else ac, f"k{i}", bob if i % 3 else carol) for i in range(300)]
        stored = await store.commit_batch(batch, [])
        assert [m.client_key for m in stored] == [f"k{i}" for i in range(300)]
        assert [m.body for m in stored][:2] == [b"k0\x00\xff", b"k1\x00\xff"]
        assert [m.seq for m in stored if m.conversation_id == ab] == list(range(1, 201))
        assert [m.seq for m in stored if m.conversation_id == ac] == list(range(1, 101))
        pending = await store.pending_for_device(BOB, "pc", limit=1000)
        assert [m.message_id for m in pending] == [
            m.message_id for m in stored if m.conversation_id == ab
        ]
        # A retransmission in the next batch is a duplicate; acks ride along.
        acks = [
            DeviceAck(
                user_id=BOB,
                device_id="pc",
                message_id=m.message_id,
                conversation_id=m.conversation_id,
                seq=m.seq,
            )
            for m in stored
            if m.conversation_id == ab
        ][:150]
        again = await store.commit_batch([batch[1]], [*acks, acks[0]])
        assert again[0].is_duplicate
        assert again[0].message_id == stored[1].message_id
        left = await store.pending_for_device(BOB, "pc", limit=1000)
        assert len(left) == 50
        assert len(await store.pending_for_device(BOB, "phone", limit=1000)) == 200
        statuses = await store.delivery_statuses(acks[0].message_id)
        assert [(s.recipient_id, s.state) for s in statuses] == [(BOB, DeliveryState.DELIVERED)]
        assert statuses[0].delivered_at is not None
        # Acks alone, and acking again, change nothing more.
        assert await store.commit_batch([], acks) == []
        assert len(await store.pending_for_device(BOB, "pc", limit=1000)) == 50

    backend.run(scenario)
