"""Our ESME against node smpp acting as the SMSC (``node/smsc_sim.js``): bind, long UCS-2 MT
with an emoji, receipts matched to the submit ids, and long MO split by node's own code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from columba.sms.esme import Esme, IncomingMessage, ReceiptReceived, open_esme
from columba.sms.reassembly import Completed
from columba.sms.receipt import MessageState, same_message_id
from tests.interop_smpp.node_peer import NodePeer
from tests.smsc.helpers import esme_config, eventually, run

PHONE = "8613800138000"
#: 159 Chinese characters and an emoji: 320 octets of UCS-2, three UDH parts.
LONG_UCS2 = "你好，这是一条来自飞信的长短信。" * 9 + "测试" * 7 + "😀"
#: node cuts every 134 octets: the emoji's surrogate pair straddles parts 1 and 2.
MO_TEXT = "回" * 66 + "😀" + "复" * 70


async def next_message(esme: Esme) -> IncomingMessage:
    async for message in esme.messages():
        return message
    raise AssertionError("unreachable")


async def receipts(esme: Esme, count: int) -> AsyncIterator[ReceiptReceived]:
    seen = 0
    async for receipt in esme.receipts():
        yield receipt
        seen += 1
        if seen == count:
            return


def test_long_mt_and_receipts(node: str) -> None:
    async def dialog() -> None:
        async with NodePeer.start(node, "smsc_sim.js", "0", "columba", "secret") as smsc:
            port = (await smsc.expect("listening"))["port"]
            config = esme_config(("127.0.0.1", port), password="secret")
            async with open_esme(config) as esme:
                assert (await smsc.expect("bound"))["mode"] == "transceiver"
                ids = await esme.submit(PHONE, LONG_UCS2)
                submits = await smsc.collect("submit_sm", 3)
                assert [s["message_id"] for s in submits] == ids
                for index, submit in enumerate(submits, start=1):
                    assert submit["data_coding"] == 8
                    assert submit["esm_class"] & 0x40
                    assert submit["destination_addr"] == PHONE
                    assert submit["source_addr"] == "12520"
                    assert submit["registered_delivery"] == 1
                    assert submit["udh"].endswith(f"03{index:02x}")  # total 3, part n
                # node decodes each part on its own: ours never split a character.
                assert "".join(s["message"] for s in submits) == LONG_UCS2
                got = [r async for r in receipts(esme, 3)]
                for message_id, receipt in zip(ids, got, strict=True):
                    assert receipt.receipt.message_id is not None
                    assert same_message_id(message_id, receipt.receipt.message_id)
                    assert receipt.receipt.state is MessageState.DELIVERED
                    assert receipt.source == PHONE
                acked = await smsc.collect("dlr_acked", 3)
                assert {a["command_status"] for a in acked} == {0}
            await smsc.expect("unbind")  # closing the ESME unbinds in order

    run(dialog())


@pytest.mark.parametrize(
    ("ref16", "reverse", "payload"),
    [(False, False, False), (True, True, False), (False, False, True)],
    ids=["udh8", "udh16-reversed", "message_payload"],
)
def test_long_mo_from_node(node: str, ref16: bool, reverse: bool, payload: bool) -> None:
    async def dialog() -> None:
        async with NodePeer.start(node, "smsc_sim.js", "0", "columba", "secret") as smsc:
            port = (await smsc.expect("listening"))["port"]
            config = esme_config(("127.0.0.1", port), password="secret")
            async with open_esme(config) as esme:
                await smsc.expect("bound")
                await smsc.send(
                    cmd="mo",
                    to="12520123",
                    text=MO_TEXT,
                    ref=300 if ref16 else 42,
                    ref16=ref16,
                    reverse=reverse,
                    payload=payload,
                    **{"from": PHONE},
                )
                parts = (await smsc.expect("mo_sent"))["parts"]
                assert parts == (1 if payload else 3)
                message = await next_message(esme)
                assert isinstance(message, Completed)
                assert message.text == MO_TEXT
                assert not message.is_malformed
                assert (message.source, message.destination) == (PHONE, "12520123")
                acked = await smsc.collect("mo_acked", parts)
                assert {a["command_status"] for a in acked} == {0}

    run(dialog())


def test_bind_refused_by_node(node: str) -> None:
    async def dialog() -> None:
        async with NodePeer.start(node, "smsc_sim.js", "0", "columba", "secret") as smsc:
            port = (await smsc.expect("listening"))["port"]
            config = esme_config(("127.0.0.1", port), password="wrong")
            async with open_esme(config) as esme:
                await smsc.expect("bind_refused")
                await eventually(lambda: "bind" in (esme.last_error or ""))
                assert "ESME_RBINDFAIL" in (esme.last_error or "")
                assert not esme.is_bound

    run(dialog())
