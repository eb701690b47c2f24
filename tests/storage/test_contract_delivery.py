"""The storage contract, part 5: devices, pending deliveries, acks and delivery status."""

from __future__ import annotations

import pytest

from columba.storage import DeliveryState, NewMessage, NotFound, Recipient, Store

from .conftest import Backend

ALICE, BOB, CAROL = 1, 2, 3


def message(cid: int, key: str, *recipients: Recipient, sender: int = ALICE) -> NewMessage:
    return NewMessage(
        conversation_id=cid,
        sender_id=sender,
        recipients=recipients,
        content_type="text/plain",
        body=key.encode(),
        client_key=key,
    )


def test_devices(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.register_device(BOB, "pc") is True
        assert await store.register_device(BOB, "pc") is False
        assert await store.register_device(BOB, "phone") is True
        assert [d.device_id for d in await store.devices(BOB)] == ["pc", "phone"]
        assert await store.devices(CAROL) == []
        await store.unregister_device(BOB, "pc")
        assert [d.device_id for d in await store.devices(BOB)] == ["phone"]
        with pytest.raises(NotFound):
            await store.unregister_device(BOB, "pc")
        with pytest.raises(ValueError, match="device_id"):
            await store.register_device(BOB, "")

    backend.run(scenario)


def test_a_new_device_is_owed_nothing_from_before(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        await store.register_device(BOB, "pc")
        await store.store_messages([message(cid, "old", Recipient(user_id=BOB, devices=("pc",)))])
        await store.register_device(BOB, "tablet")
        assert await store.pending_for_device(BOB, "tablet") == []
        # History still serves the new device.
        assert [m.body for m in await store.messages_after(cid, 0)] == [b"old"]

    backend.run(scenario)


def test_a_device_can_claim_what_the_user_has_not_received(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        # bob has no device yet: his messages are owed to him, not to a device.
        stored = await store.store_messages(
            [message(cid, f"k{i}", Recipient(user_id=BOB)) for i in range(4)]
        )
        await store.record_delivery(stored[1].message_id, BOB, DeliveryState.SENT_AS_SMS)
        await store.record_delivery(stored[2].message_id, BOB, DeliveryState.FAILED)
        await store.store_messages([message(cid, "to-alice", Recipient(user_id=ALICE), sender=BOB)])

        assert await store.register_device(BOB, "pc")
        assert await store.owe_undelivered(BOB, "pc") == 3  # not the one sent as SMS
        pending = await store.pending_for_device(BOB, "pc")
        assert [m.seq for m in pending] == [1, 3, 4]
        assert await store.owe_undelivered(BOB, "pc") == 0  # queued once only
        await store.ack_many(BOB, "pc", [m.message_id for m in pending])
        # A later device is owed nothing: the user has received everything.
        assert await store.register_device(BOB, "phone")
        assert await store.owe_undelivered(BOB, "phone") == 0
        assert await store.pending_for_device(BOB, "phone") == []

    backend.run(scenario)


def test_pending_and_ack_are_exact(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        one = (await store.pair_conversation(ALICE, BOB)).conversation_id
        two = (await store.pair_conversation(BOB, CAROL)).conversation_id
        bob = Recipient(user_id=BOB, devices=("pc", "phone"))
        # Stored out of conversation order on purpose: two first, then one.
        m2 = await store.store_messages([message(two, "c1", bob, sender=CAROL)])
        m1 = await store.store_messages([message(one, f"a{i}", bob) for i in range(3)])
        expected = [*m1, *m2] if one < two else [*m2, *m1]
        pc = await store.pending_for_device(BOB, "pc")
        assert [m.message_id for m in pc] == [m.message_id for m in expected]
        assert await store.pending_for_device(BOB, "pc", limit=2) == pc[:2]
        assert await store.pending_for_device(ALICE, "pc") == []

        assert await store.ack(BOB, "pc", pc[0].message_id) is True
        assert await store.ack(BOB, "pc", pc[0].message_id) is False  # already acked
        assert await store.pending_for_device(BOB, "pc") == pc[1:]
        assert await store.pending_for_device(BOB, "phone") == pc  # other device unaffected

        assert await store.ack_many(BOB, "pc", [m.message_id for m in pc] + ["f" * 32]) == 3
        assert await store.pending_for_device(BOB, "pc") == []
        assert await store.ack_many(BOB, "pc", []) == 0
        assert await store.ack(CAROL, "phone", pc[1].message_id) is False  # never owed
        assert len(await store.pending_for_device(BOB, "phone")) == 4

        await store.register_device(BOB, "phone")
        await store.unregister_device(BOB, "phone")
        assert await store.pending_for_device(BOB, "phone") == []

    backend.run(scenario)


def test_the_senders_other_devices_get_a_copy_without_a_status(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        (stored,) = await store.store_messages(
            [
                message(
                    cid,
                    "sync",
                    Recipient(user_id=BOB, devices=("pc", "pc")),  # a repeated device is one row
                    Recipient(user_id=ALICE, devices=("phone",)),
                )
            ]
        )
        assert [m.message_id for m in await store.pending_for_device(ALICE, "phone")] == [
            stored.message_id
        ]
        assert len(await store.pending_for_device(BOB, "pc")) == 1
        statuses = await store.delivery_statuses(stored.message_id)
        assert [(s.recipient_id, s.state) for s in statuses] == [(BOB, DeliveryState.PENDING)]
        assert await store.ack(ALICE, "phone", stored.message_id) is True
        assert (await store.delivery_statuses(stored.message_id))[0].state is DeliveryState.PENDING

    backend.run(scenario)


def test_ack_marks_the_recipient_delivered(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        bob = Recipient(user_id=BOB, devices=("pc", "phone"))
        carol = Recipient(user_id=CAROL, devices=("pc",))
        (stored,) = await store.store_messages([message(cid, "k", bob, carol)])
        before = await store.delivery_statuses(stored.message_id)
        assert [(s.recipient_id, s.state) for s in before] == [
            (BOB, DeliveryState.PENDING),
            (CAROL, DeliveryState.PENDING),
        ]
        await store.ack(BOB, "phone", stored.message_id)
        after = {s.recipient_id: s for s in await store.delivery_statuses(stored.message_id)}
        assert after[BOB].state is DeliveryState.DELIVERED
        assert after[BOB].delivered_at is not None
        assert after[CAROL].state is DeliveryState.PENDING
        assert after[CAROL].delivered_at is None
        await store.ack(BOB, "pc", stored.message_id)  # a second device's ack keeps the first time
        again = {s.recipient_id: s for s in await store.delivery_statuses(stored.message_id)}
        assert again[BOB].delivered_at == after[BOB].delivered_at

    backend.run(scenario)


def test_delivery_status_moves_only_towards_a_better_outcome(backend: Backend) -> None:
    pending, sms, sms_ok = (
        DeliveryState.PENDING,
        DeliveryState.SENT_AS_SMS,
        DeliveryState.SMS_DELIVERED,
    )
    failed, delivered = DeliveryState.FAILED, DeliveryState.DELIVERED
    cases = [
        ([sms], sms),
        ([sms, sms_ok], sms_ok),
        ([sms, failed], failed),
        ([failed, sms], sms),
        ([sms, sms_ok, failed], sms_ok),
        ([delivered, sms], delivered),
        ([delivered, failed], delivered),
        ([sms, sms_ok, delivered], delivered),
        ([failed, delivered], delivered),
    ]

    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(ALICE, BOB)).conversation_id
        for i, (events, final) in enumerate(cases):
            (stored,) = await store.store_messages([message(cid, f"k{i}", Recipient(user_id=BOB))])
            status = None
            for event in events:
                status = await store.record_delivery(stored.message_id, BOB, event)
            assert status is not None
            assert status.state is final, events
            stamps = {
                sms: status.sms_sent_at,
                sms_ok: status.sms_delivered_at,
                failed: status.failed_at,
                delivered: status.delivered_at,
            }
            assert all(stamps[event] is not None for event in events)
            assert status.state is not pending
        with pytest.raises(NotFound):
            await store.record_delivery("0" * 32, BOB, delivered)
        with pytest.raises(NotFound):
            await store.record_delivery(stored.message_id, CAROL, delivered)
        with pytest.raises(ValueError, match="pending"):
            await store.record_delivery(stored.message_id, BOB, pending)
        assert await store.delivery_statuses("0" * 32) == []

    backend.run(scenario)
