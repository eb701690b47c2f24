"""Storage contract of the SMS leg's "nothing twice" records, on SQLite and PostgreSQL: MO texts
already taken (``sms_mo``, migration 0005) and SMS whose final receipt never came."""

from __future__ import annotations

from columba.storage import Store
from columba.storage.sms import NewSms, SmsStore
from columba.storage.store import SqlStore
from tests.storage.conftest import Backend, backend

__all__ = ["backend"]


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now


def _sms_store(store: Store, clock: Clock) -> SmsStore:
    assert isinstance(store, SqlStore)
    return SmsStore(store._engine, clock=clock)


def test_an_mo_is_taken_once_per_route_within_the_window(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        clock = Clock()
        sms = _sms_store(store, clock)
        first = await sms.take_mo("", "k1", window=600)
        assert not first.is_redelivery
        assert not first.is_done
        # Delivered again before it was handed on (Columba stopped): the same key, to redo.
        again = await sms.take_mo("", "k1", window=600)
        assert again.is_redelivery
        assert not again.is_done
        assert again.client_key == first.client_key
        await sms.finish_mo("", "k1")
        clock.now += 599
        done = await sms.take_mo("", "k1", window=600)
        assert (done.is_redelivery, done.is_done, done.client_key) == (True, True, first.client_key)
        # Another SMSC route, or another text: new.
        assert not (await sms.take_mo("86139", "k1", window=600)).is_redelivery
        assert not (await sms.take_mo("", "k2", window=600)).is_redelivery
        # After the window, the same text is a new text with a new key.
        clock.now += 2
        later = await sms.take_mo("", "k1", window=600)
        assert not later.is_redelivery
        assert not later.is_done
        assert later.client_key != first.client_key

    backend.run(scenario)


def test_a_submitted_sms_with_no_final_receipt_expires(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        clock = Clock()
        sms = _sms_store(store, clock)
        items = [
            NewSms(
                client_key=key,
                route="",
                sender_id=0,
                recipient_id=0,
                message_id="",
                source="125208613800000001",
                destination="8613800000002",
                body=key,
                segments=1,
            )
            for key in ("late", "answered", "fresh")
        ]
        ids, _ = await sms.enqueue(items, day_limit=0, month_limit=0)
        assert len(await sms.claim("", 3)) == 3
        await sms.settle([(ids[0], ["p0"]), (ids[1], ["p1"])])
        clock.now += 100
        await sms.settle([(ids[2], ["p2"])])
        final, _ = await sms.apply_receipts([("p1", True, "DELIVRD")])
        assert [s.sms_id for s in final] == [ids[1]]
        clock.now += 10
        assert await sms.expire_submitted("", 120) == []
        clock.now += 20
        expired = await sms.expire_submitted("", 120)
        assert [(s.sms_id, s.state, s.detail) for s in expired] == [(ids[0], "failed", "EXPIRED")]
        assert await sms.expire_submitted("", 120) == []  # once
        # A receipt that comes after the expiry changes nothing.
        assert await sms.apply_receipts([("p0", True, "DELIVRD")]) == ([], [])
        assert await sms.count_states() == {"failed": 1, "delivered": 1, "submitted": 1}

    backend.run(scenario)


def test_an_mo_redelivered_before_it_was_finished_produces_its_sms_once(backend: Backend) -> None:
    """Columba stopped after queueing the text's SMS but before marking the MO done: the
    redelivery re-runs under the record's key, and the outbox recognises the SMS."""

    async def scenario(store: Store) -> None:
        sms = _sms_store(store, Clock())

        async def hand_on() -> int:
            record = await sms.take_mo("", "k", window=600)
            assert not record.is_done
            item = NewSms(
                client_key=f"relay:{record.client_key}",
                route="",
                sender_id=0,
                recipient_id=0,
                message_id="",
                source="125208613900000009",
                destination="8613800000002",
                body="are you there",
                segments=1,
            )
            (sms_id,), _ = await sms.enqueue([item], day_limit=0, month_limit=0)
            return sms_id

        first = await hand_on()  # ... and the node stops before finish_mo
        assert await hand_on() == first
        await sms.finish_mo("", "k")
        assert (await sms.take_mo("", "k", window=600)).is_done
        assert await sms.count_states() == {"queued": 1}

    backend.run(scenario)
