"""Our ESME against our SMSC simulator over loopback: binds, long MT and MO, receipts,
throttling, retries and a restart of the SMSC."""

from __future__ import annotations

import asyncio

import pytest

from columba.sms.esme import Esme, IncomingMessage, ReceiptReceived, open_esme
from columba.sms.pdu import CommandStatus, SubmitSm
from columba.sms.reassembly import Completed
from columba.sms.receipt import MessageState, same_message_id
from columba.smsc import SmscConfig, SmscSimulator
from tests.smsc.helpers import esme_config, eventually, run

PHONE = "8613800138000"
#: 159 Chinese characters and an emoji: 320 octets of UCS-2, three parts of at most 67 units.
LONG_UCS2 = "你好，这是一条来自飞信的长短信。" * 9 + "测试" * 7 + "😀"


async def receipts(esme: Esme, count: int) -> list[ReceiptReceived]:
    out: list[ReceiptReceived] = []
    async for receipt in esme.receipts():
        out.append(receipt)
        if len(out) == count:
            return out
    raise AssertionError("unreachable")


def test_bind_refused_for_a_wrong_password() -> None:
    async def dialog() -> None:
        async with (
            SmscSimulator().serving() as smsc,
            open_esme(esme_config(smsc.address, password="wrong")) as esme,
        ):
            await eventually(lambda: "bind" in (esme.last_error or ""))
            assert "ESME_RINVPASWD" in (esme.last_error or "")
            assert not esme.is_bound
            assert smsc.binds == []

    run(dialog())


def test_long_ucs2_mt_lands_reassembled_and_receipts_match_the_ids() -> None:
    async def dialog() -> None:
        async with (
            SmscSimulator().serving() as smsc,
            open_esme(esme_config(smsc.address)) as esme,
        ):
            ids = await esme.submit(PHONE, LONG_UCS2)
            assert len(ids) == 3
            (message,) = await smsc.handset(PHONE).wait_messages(1)
            assert message.text == LONG_UCS2
            assert message.source == "12520"
            assert message.parts == 3
            assert message.message_ids == tuple(ids)
            parts = [p for p in smsc.submits if isinstance(p, SubmitSm)]
            assert {p.data_coding for p in parts} == {8}
            assert all(p.esm_class & 0x40 for p in parts)  # UDH
            got = await receipts(esme, 3)
            for message_id, receipt in zip(ids, got, strict=True):
                assert receipt.receipt.message_id is not None
                assert same_message_id(message_id, receipt.receipt.message_id)
                assert receipt.receipt.state is MessageState.DELIVERED
                assert receipt.source == PHONE
                assert receipt.destination == "12520"

    run(dialog())


def test_unreachable_phone_gets_an_undeliverable_receipt() -> None:
    async def dialog() -> None:
        async with (
            SmscSimulator().serving() as smsc,
            open_esme(esme_config(smsc.address)) as esme,
        ):
            smsc.handset(PHONE).is_reachable = False
            (message_id,) = await esme.submit(PHONE, "hello")
            (receipt,) = await receipts(esme, 1)
            assert receipt.receipt.message_id == message_id
            assert receipt.receipt.state is MessageState.UNDELIVERABLE
            assert receipt.receipt.network_error_code == (3, 1)
            assert smsc.handset(PHONE).inbox == []

    run(dialog())


def test_long_mo_is_reassembled_and_acked_only_after_it_is_stored() -> None:
    async def dialog() -> None:
        stored: list[IncomingMessage] = []
        release = asyncio.Event()

        async def store(message: IncomingMessage) -> None:
            stored.append(message)
            await release.wait()  # a slow database

        async with (
            SmscSimulator().serving() as smsc,
            open_esme(esme_config(smsc.address), on_message=store) as esme,
        ):
            await esme.wait_bound(within=5)
            text = "回复：收到，谢谢！" + "好" * 150 + " 🎉"
            outgoing = smsc.send_from_handset(PHONE, "12520123456", text)
            assert outgoing.parts == 3
            await eventually(lambda: bool(stored))
            await asyncio.sleep(0.1)
            assert not outgoing.is_settled  # the last part waits for the store
            release.set()
            assert await outgoing.wait_delivered() is None
            (message,) = stored
            assert isinstance(message, Completed)
            assert message.text == text
            assert (message.source, message.destination, message.total) == (
                PHONE,
                "12520123456",
                3,
            )

    run(dialog())


def test_mo_refused_by_a_failing_store_is_delivered_again() -> None:
    async def dialog() -> None:
        calls: list[str] = []

        async def flaky(message: IncomingMessage) -> None:
            calls.append(message.text or "")
            if len(calls) == 1:
                raise RuntimeError("database down")

        config = SmscConfig(retry_initial=0.05)
        async with (
            SmscSimulator(config).serving() as smsc,
            open_esme(esme_config(smsc.address), on_message=flaky) as esme,
        ):
            await esme.wait_bound(within=5)
            outgoing = smsc.send_from_handset(PHONE, "12520", "short one")
            assert await outgoing.wait_delivered() is None
            assert calls == ["short one", "short one"]

    run(dialog())


def test_mo_waits_in_the_outbox_until_an_esme_binds() -> None:
    async def dialog() -> None:
        async with SmscSimulator().serving() as smsc:
            outgoing = smsc.send_from_handset(PHONE, "12520", "anyone there?")
            await asyncio.sleep(0.1)
            assert not outgoing.is_settled
            async with open_esme(esme_config(smsc.address)) as esme:
                async for message in esme.messages():
                    assert message.text == "anyone there?"  # type: ignore[union-attr]
                    break
                assert await outgoing.wait_delivered() is None

    run(dialog())


def test_throttled_submits_are_retried_after_a_back_off() -> None:
    async def dialog() -> None:
        from columba.sms.session import SessionConfig

        session = SessionConfig(throttle_backoff=0.05, response_timeout=3.0)
        async with SmscSimulator().serving() as smsc:
            smsc.fail_next_submits(CommandStatus.ESME_RTHROTTLED, 2)
            async with open_esme(esme_config(smsc.address, session=session)) as esme:
                ids = await esme.submit(PHONE, "through at last")
            assert len(ids) == 1
            assert len(smsc.submits) == 3
            assert [m.text for m in smsc.handset(PHONE).inbox] == ["through at last"]

    run(dialog())


def test_permanent_refusal_raises_submit_error() -> None:
    async def dialog() -> None:
        from columba.sms.esme import SubmitError

        async with SmscSimulator().serving() as smsc:
            smsc.fail_next_submits(CommandStatus.ESME_RINVDSTADR)
            async with open_esme(esme_config(smsc.address)) as esme:
                with pytest.raises(SubmitError) as caught:
                    await esme.submit(PHONE, "nope")
                assert caught.value.command_status == CommandStatus.ESME_RINVDSTADR

    run(dialog())


def test_esme_reconnects_after_the_smsc_restarts() -> None:
    async def dialog() -> None:
        async with asyncio.TaskGroup() as group:
            async with SmscSimulator().serving() as first:
                address = first.address
                assert address is not None
                esme = Esme(esme_config(address))
                group.create_task(esme.run())
                await esme.submit(PHONE, "before the restart")
                assert esme.binds == 1
            # The SMSC went away with its connections; the ESME retries with back-off.
            await eventually(lambda: not esme.is_bound)
            await asyncio.sleep(0.3)
            assert esme.last_error is not None
            async with SmscSimulator().serving(port=address[1]) as second:
                await esme.wait_bound(within=5)
                assert esme.binds == 2
                await esme.submit(PHONE, "after the restart")
                (message,) = await second.handset(PHONE).wait_messages(1)
                assert message.text == "after the restart"
            await esme.close()

    run(dialog())
