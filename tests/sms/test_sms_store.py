"""The SMS leg's storage (``columba.storage.sms``) on SQLite and PostgreSQL: preferences,
STOP, quotas, and the outbox's life (queue → claim → settle → receipts, recovery)."""

from __future__ import annotations

from dataclasses import replace

from columba.storage import DeliveryState, NewMessage, Recipient, Store
from columba.storage.sms import QUOTA_DAY, QUOTA_MONTH, NewSms, SmsPreferences
from tests.storage.conftest import Backend, backend

__all__ = ["backend"]


def _im(cid: int, key: str) -> NewMessage:
    """An IM from user 1 to user 2, the one an SMS leg may carry."""
    return NewMessage(
        conversation_id=cid,
        sender_id=1,
        recipients=(Recipient(user_id=2),),
        content_type="text/plain",
        body=key.encode(),
        client_key=key,
    )


def _sms(key: str, *, sender: int = 1, segments: int = 1, route: str = "") -> NewSms:
    return NewSms(
        client_key=key,
        route=route,
        sender_id=sender,
        recipient_id=2,
        message_id=f"m-{key}",
        source="125208613800000001",
        destination="8613800000002",
        body=f"text {key}",
        segments=segments,
    )


def test_preferences_default_then_stored(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        sms = store.sms
        assert await sms.preferences(7) == SmsPreferences(user_id=7)
        prefs = SmsPreferences(
            user_id=7, offline_sms=False, refuse_until=5, quiet_start=60, quiet_end=120
        )
        await sms.set_preferences(prefs)
        assert await sms.preferences(7) == prefs
        assert not await sms.is_stopped("8613900000009")
        assert await sms.set_stopped("8613900000009", True)
        assert not await sms.set_stopped("8613900000009", True)  # already
        assert await sms.is_stopped("8613900000009")
        assert await sms.set_stopped("8613900000009", False)
        assert not await sms.is_stopped("8613900000009")

    backend.run(scenario)


def test_enqueue_is_idempotent_and_charges_quota(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        sms = store.sms
        first, usage = await sms.enqueue(
            [_sms("a", segments=2), _sms("b")], day_limit=4, month_limit=5
        )
        assert usage == {1: (3, 3)}
        assert first[0] > 0
        assert first[1] == first[0] + 1
        again, _ = await sms.enqueue([_sms("a", segments=2)], day_limit=4, month_limit=5)
        assert again == [first[0]]  # same key: not queued twice, not charged twice
        assert await sms.usage(1) == (3, 3)
        outcomes, _ = await sms.enqueue(
            [_sms("c", segments=2), _sms("d"), _sms("e", sender=0, segments=9)],
            day_limit=4,
            month_limit=5,
        )
        assert outcomes[0] == QUOTA_DAY
        assert outcomes[1] > 0
        assert outcomes[2] > 0
        outcomes, _ = await sms.enqueue([_sms("f")], day_limit=0, month_limit=4)
        assert outcomes == [QUOTA_MONTH]
        assert await sms.usage(1) == (4, 4)

    backend.run(scenario)


def test_claim_settle_receipts_and_recover(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        sms = store.sms
        ids, _ = await sms.enqueue(
            [_sms("a", segments=2), _sms("b"), _sms("c"), _sms("z", route="86139")],
            day_limit=0,
            month_limit=0,
        )
        claimed = await sms.claim("", 2)
        assert [s.sms_id for s in claimed] == ids[:2]
        assert claimed[0].segments == 2
        assert claimed[0].body == "text a"
        await sms.settle([(ids[0], ["p1", "p2"])], failed=[(ids[1], "refused")])
        # A receipt for one part of two: not final; an unknown id is reported.
        final, unknown = await sms.apply_receipts([("p1", True, "DELIVRD"), ("zz", True, "X")])
        assert final == []
        assert unknown == ["zz"]
        final, unknown = await sms.apply_receipts([("p2", True, "DELIVRD")])
        assert [(s.sms_id, s.state, s.delivered_parts) for s in final] == [(ids[0], "delivered", 2)]
        assert (await sms.by_message("m-a")).state == "delivered"  # type: ignore[union-attr]
        assert (await sms.by_message("m-b")).state == "failed"  # type: ignore[union-attr]
        # "c" is claimed (submitting) when the node stops: recovered to queued, claimed again.
        assert [s.sms_id for s in await sms.claim("", 10)] == [ids[2]]
        assert await sms.claim("", 10) == []
        assert await sms.recover() == 1
        assert [s.sms_id for s in await sms.claim("", 10)] == [ids[2]]
        assert [s.sms_id for s in await sms.claim("86139", 10)] == [ids[3]]
        await sms.settle([], requeued=[(ids[3], 2**62)])
        assert await sms.claim("86139", 10) == []  # not before its retry time
        states = await sms.count_states()
        assert states == {"delivered": 1, "failed": 1, "submitting": 1, "queued": 1}

    backend.run(scenario)


def test_the_ims_status_follows_its_sms(backend: Backend) -> None:
    """The IM an SMS carries moves to sent_as_sms when queued and to sms_delivered (or
    failed) with its receipts; an SMS that carries no IM (SendCatSMS) moves nothing."""

    async def scenario(store: Store) -> None:
        cid = (await store.pair_conversation(1, 2)).conversation_id
        stored = await store.store_messages([_im(cid, f"k{n}") for n in range(3)])
        items = [replace(_sms(f"s{n}"), message_id=m.message_id) for n, m in enumerate(stored)] + [
            _sms("no-im")
        ]
        ids, _ = await store.sms.enqueue(items, day_limit=0, month_limit=0)
        for m in stored:
            (status,) = await store.delivery_statuses(m.message_id)
            assert status.state is DeliveryState.SENT_AS_SMS
        await store.sms.claim("", 10)
        await store.sms.settle([(sms_id, [f"p{sms_id}"]) for sms_id in ids])
        final, unknown = await store.sms.apply_receipts(
            [
                (f"p{ids[0]}", True, "DELIVRD"),
                (f"p{ids[1]}", False, "UNDELIV"),
                (f"p{ids[3]}", True, "DELIVRD"),
            ]
        )
        assert unknown == []
        assert sorted(s.sms_id for s in final) == [ids[0], ids[1], ids[3]]
        states = [(await store.delivery_statuses(m.message_id))[0].state for m in stored]
        assert states == [
            DeliveryState.SMS_DELIVERED,
            DeliveryState.FAILED,
            DeliveryState.SENT_AS_SMS,
        ]

    backend.run(scenario)
