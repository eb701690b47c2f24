"""The SMS server's receipts when things go wrong, against an SMSC that sends each receipt once
and never again (as node smpp's server does): a store that fails for a while does not lose
them, and an SMS whose final receipt never comes expires and fails."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from columba.servers.sms import SmsServer, SmsServerConfig
from columba.sms.esme import Esme, EsmeConfig, ReceiptReceived
from columba.sms.pdu import CommandStatus
from columba.sms.routing import SmscRoute
from columba.storage import open_store
from columba.storage.sms import NewSms, SmsStore
from tests.sms.scripted_smsc import ScriptedSmsc


def _sms(key: str) -> NewSms:
    return NewSms(
        client_key=key,
        route="",
        sender_id=0,
        recipient_id=0,
        message_id=f"m-{key}",
        source="125208613800000001",
        destination="8613800000002",
        body=key,
        segments=1,
    )


async def _state(store: SmsStore, key: str) -> tuple[str, str]:
    sms = await store.by_message(f"m-{key}")
    assert sms is not None
    return sms.state, sms.detail


async def _wait_state(store: SmsStore, key: str, state: str) -> None:
    while (await _state(store, key))[0] != state:  # noqa: ASYNC110 (the store)
        await asyncio.sleep(0.05)


class Lock:
    """Another process's write lock on the SQLite file: the store's writes fail meanwhile."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def take(self) -> None:
        await asyncio.to_thread(self._connection.execute, "BEGIN EXCLUSIVE")

    async def release(self) -> None:
        await asyncio.to_thread(self._connection.execute, "ROLLBACK")


@asynccontextmanager
async def _running(
    tmp_path: Path, **config: float
) -> AsyncIterator[tuple[SmsServer, ScriptedSmsc]]:
    # busy_timeout=100: a locked database fails a write after 0.1 s, not 5 s.
    store = await open_store(f"sqlite:///{tmp_path}/sms.db?busy_timeout=100")
    smsc = ScriptedSmsc()
    async with store, smsc.serving():
        server = SmsServer(
            store=store.sms,
            config=SmsServerConfig(
                routes=(SmscRoute(prefix="", host="127.0.0.1", port=smsc.port),),
                reconnect_max=0.2,
                retry_delay=0.2,
                **config,  # type: ignore[arg-type]
            ),
        )
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(server.run())
            try:
                yield server, smsc
            finally:
                runner.cancel()


def test_receipts_the_store_cannot_take_are_acked_and_applied_later(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with asyncio.timeout(30), _running(tmp_path, receipt_hold=1.0) as (server, smsc):
            sms = server._store
            await sms.enqueue([_sms("a"), _sms("b")], day_limit=0, month_limit=0)
            server.wake("")
            (a_id, _), (b_id, _) = await smsc.wait_submits(2)
            await _wait_state(sms, "a", "submitted")
            await _wait_state(sms, "b", "submitted")
            lock = Lock(tmp_path / "sms.db")
            await lock.take()
            # The store is down: the receipt is acked (this SMSC would never send it again)
            # and held; once the store is back it is applied.
            assert await smsc.receipt(a_id) == CommandStatus.ESME_ROK
            # Down for longer than receipt_hold: refused, for the SMSC to retry if it will.
            await asyncio.sleep(1.3)
            assert await smsc.receipt(b_id) == CommandStatus.ESME_RX_T_APPN
            await lock.release()
            await _wait_state(sms, "a", "delivered")
            assert await _state(sms, "b") == ("submitted", "")
            # The store works again: receipts are taken at once.
            assert await smsc.receipt(b_id) == CommandStatus.ESME_ROK
            await _wait_state(sms, "b", "delivered")

    asyncio.run(scenario())


def test_an_sms_whose_final_receipt_never_comes_expires(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            asyncio.timeout(30),
            _running(tmp_path, submitted_expiry=1.0) as (server, smsc),
        ):
            sms = server._store
            await sms.enqueue([_sms("lost"), _sms("answered")], day_limit=0, month_limit=0)
            server.wake("")
            (_, _), (answered_id, _) = await smsc.wait_submits(2)
            await _wait_state(sms, "answered", "submitted")
            assert await smsc.receipt(answered_id) == CommandStatus.ESME_ROK
            await _wait_state(sms, "answered", "delivered")
            await _wait_state(sms, "lost", "failed")
            assert await _state(sms, "lost") == ("failed", "EXPIRED")
            assert await _state(sms, "answered") == ("delivered", "DELIVRD")

    asyncio.run(scenario())


def test_a_receipt_that_overtakes_its_settle_waits_for_it(tmp_path: Path) -> None:
    """The SMSC answers a submit and sends its receipt before the submit's outcome is in the
    store: the receipt waits for that write (its ack with it) and is applied once, instead of
    being looked up in vain and kept as an orphan."""

    async def scenario() -> None:
        async with asyncio.timeout(30), _running(tmp_path) as (server, smsc):
            sms = server._store
            settle = sms.settle
            writing, go_on = asyncio.Event(), asyncio.Event()

            async def slow_settle(*args: Any, **kwargs: Any) -> None:
                writing.set()
                await go_on.wait()
                await settle(*args, **kwargs)

            sms.settle = slow_settle  # type: ignore[method-assign]
            await sms.enqueue([_sms("early")], day_limit=0, month_limit=0)
            server.wake("")
            ((smsc_id, _),) = await smsc.wait_submits(1)
            await writing.wait()
            acked = asyncio.create_task(smsc.receipt(smsc_id))
            await asyncio.sleep(0.3)
            assert not acked.done()  # the receipt waits for the settle
            assert not server._orphans
            go_on.set()
            assert await acked == CommandStatus.ESME_ROK
            assert await _state(sms, "early") == ("delivered", "DELIVRD")
            assert not server._orphans
            assert not server._unsettled

    asyncio.run(scenario())


def test_a_receipt_sink_acks_when_told_and_once() -> None:
    """``Esme(receipt_sink=…)``: each receipt comes with the function that acks it; the SMSC
    hears nothing until it is called, and a second call does nothing."""

    async def scenario() -> None:
        smsc = ScriptedSmsc()
        taken: list[tuple[ReceiptReceived, Callable[[int], None]]] = []
        arrived = asyncio.Event()

        def sink(receipt: ReceiptReceived, ack: Callable[[int], None]) -> None:
            taken.append((receipt, ack))
            arrived.set()

        async with asyncio.timeout(20), smsc.serving():
            config = EsmeConfig(
                host="127.0.0.1", port=smsc.port, system_id="columba", password="columba"
            )
            esme = Esme(config, receipt_sink=sink)
            async with asyncio.TaskGroup() as group:
                runner = group.create_task(esme.run())
                await esme.wait_bound(within=5)
                [future] = esme.submit_nowait("8613800000002", "hello")
                await future
                ((smsc_id, _),) = await smsc.wait_submits(1)
                acked = asyncio.create_task(smsc.receipt(smsc_id))
                await arrived.wait()
                await asyncio.sleep(0.2)
                assert not acked.done()
                ((receipt, ack),) = taken
                assert receipt.receipt.message_id == smsc_id
                ack(CommandStatus.ESME_ROK)
                ack(CommandStatus.ESME_RX_T_APPN)  # too late: acked already
                assert await acked == CommandStatus.ESME_ROK
                await esme.close(grace=1.0)
                runner.cancel()

    asyncio.run(scenario())


def test_on_receipt_and_a_receipt_sink_are_one_or_the_other() -> None:
    async def stored(receipt: ReceiptReceived) -> None:
        return None

    config = EsmeConfig(host="127.0.0.1", port=1, system_id="c", password="p")
    with pytest.raises(ValueError, match="not both"):
        Esme(config, on_receipt=stored, receipt_sink=lambda receipt, ack: None)
