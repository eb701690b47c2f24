"""The SMS server role against the in-process SMSC simulator: the outbox pump, throttling,
refusals, receipts matched to what was sent, and an SMSC that comes and goes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from columba.servers.sms import SmsServer, SmsServerConfig
from columba.sms.pdu import CommandStatus
from columba.sms.routing import SmscRoute
from columba.smsc import SmscSimulator
from columba.storage import open_store
from columba.storage.sms import NewSms, SmsStore


def _sms(key: str, destination: str, text: str = "hello") -> NewSms:
    return NewSms(
        client_key=key,
        route="",
        sender_id=0,
        recipient_id=0,
        message_id="",
        source="125208613800000001",
        destination=destination,
        body=text,
        segments=1,
    )


async def _wait_state(store: SmsStore, state: str, count: int) -> None:
    async with asyncio.timeout(20):
        while (await store.count_states()).get(state, 0) < count:  # noqa: ASYNC110 (the store)
            await asyncio.sleep(0.05)


def test_pump_throttling_refusals_receipts_and_outage(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/sms.db")
        simulator = SmscSimulator()
        async with store, simulator.serving() as smsc:
            assert smsc.address is not None
            port = smsc.address[1]
            server = SmsServer(
                store=store.sms,
                config=SmsServerConfig(
                    routes=(SmscRoute(prefix="", host="127.0.0.1", port=port),),
                    reconnect_max=0.2,
                    retry_delay=0.2,
                ),
            )
            sms = store.sms
            async with asyncio.TaskGroup() as group:
                runner = group.create_task(server.run())
                # Throttled twice (the session pauses and retries), then accepted; a long
                # text goes in parts; every receipt is matched: delivered.
                smsc.fail_next_submits(CommandStatus.ESME_RTHROTTLED, 2)
                await sms.enqueue(
                    [_sms("a", "8613800000002"), _sms("b", "8613800000003", "长" * 100)],
                    day_limit=0,
                    month_limit=0,
                )
                server.wake("")
                await _wait_state(sms, "delivered", 2)
                (long_text,) = await smsc.handset("8613800000003").wait_messages(1)
                assert long_text.parts == 2
                # A refusal for good (bad destination) fails the SMS, nothing retried.
                smsc.fail_next_submits(CommandStatus.ESME_RINVDSTADR, 1)
                await sms.enqueue([_sms("c", "8613800000004")], day_limit=0, month_limit=0)
                server.wake("")
                await _wait_state(sms, "failed", 1)
                # An unreachable phone: accepted, then the receipt says UNDELIV: failed.
                smsc.handset("8613800000005").is_reachable = False
                await sms.enqueue([_sms("d", "8613800000005")], day_limit=0, month_limit=0)
                server.wake("")
                await _wait_state(sms, "failed", 2)
                runner.cancel()
        # The SMSC is gone: SMS wait; a new SMSC on the same port gets each exactly once.
        store = await open_store(f"sqlite:///{tmp_path}/sms.db")
        async with store:
            server = SmsServer(
                store=store.sms,
                config=SmsServerConfig(
                    routes=(SmscRoute(prefix="", host="127.0.0.1", port=port),),
                    reconnect_max=0.2,
                ),
            )
            async with asyncio.TaskGroup() as group:
                runner = group.create_task(server.run())
                await store.sms.enqueue(
                    [_sms(f"e{n}", "8613800000006", f"late {n}") for n in range(3)],
                    day_limit=0,
                    month_limit=0,
                )
                server.wake("")
                await asyncio.sleep(0.5)
                assert (await store.sms.count_states())["queued"] == 3
                again = SmscSimulator()
                async with again.serving(port=port):
                    messages = await asyncio.wait_for(
                        again.handset("8613800000006").wait_messages(3), 20
                    )
                    assert sorted(m.text for m in messages) == ["late 0", "late 1", "late 2"]
                    await _wait_state(store.sms, "delivered", 5)
                    assert len(again.submits) == 3
                    runner.cancel()

    asyncio.run(scenario())


def test_each_number_goes_to_its_home_smsc(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/sms.db")
        china_mobile, default = SmscSimulator(), SmscSimulator()
        async with store, china_mobile.serving() as a, default.serving() as b:
            assert a.address is not None
            assert b.address is not None
            server = SmsServer(
                store=store.sms,
                config=SmsServerConfig(
                    routes=(
                        SmscRoute(prefix="86138", host="127.0.0.1", port=a.address[1]),
                        SmscRoute(prefix="", host="127.0.0.1", port=b.address[1]),
                    ),
                ),
            )
            assert server.route_for("+8613800000002") == "86138"
            assert server.route_for("447700900123") == ""
            items = [
                replace(_sms("x", "8613800000002"), route="86138"),
                _sms("y", "447700900123"),
            ]
            async with asyncio.TaskGroup() as group:
                runner = group.create_task(server.run())
                await store.sms.enqueue(items, day_limit=0, month_limit=0)
                server.wake("86138")
                server.wake("")
                await _wait_state(store.sms, "delivered", 2)
                assert [p.destination_addr for p in a.submits] == ["8613800000002"]  # type: ignore[attr-defined]
                assert [p.destination_addr for p in b.submits] == ["447700900123"]  # type: ignore[attr-defined]
                runner.cancel()

    asyncio.run(scenario())
