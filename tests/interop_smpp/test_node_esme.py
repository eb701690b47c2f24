"""node smpp as the ESME (``node/esme_client.js``) against our SMSC simulator: bind with the
account's password, long MT split by node's own code into the handset's inbox, receipts that
node reads, and a long MO from a handset that node decodes part by part."""

from __future__ import annotations

from columba.sms.receipt import parse_receipt
from columba.smsc import Account, SmscConfig, SmscSimulator
from tests.interop_smpp.node_peer import NodePeer
from tests.smsc.helpers import run

PHONE = "8613800138000"
#: node cuts every 134 octets, so this emoji's surrogate pair is split between parts 1 and 2.
MT_TEXT = "飞" * 66 + "😀" + "信" * 70
CONFIG = SmscConfig(accounts=(Account(system_id="nodeesme", password="pw123"),))


def test_node_esme_long_mt_receipts_and_long_mo(node: str) -> None:
    async def dialog() -> None:
        async with SmscSimulator(CONFIG).serving() as smsc:
            assert smsc.address is not None
            host, port = smsc.address
            args = (host, str(port), "nodeesme", "pw123")
            async with NodePeer.start(node, "esme_client.js", *args) as esme:
                bound = await esme.expect("bound")
                assert bound["system_id"] == "COLUMBA-SMSC"
                await esme.send(cmd="submit", to=PHONE, text=MT_TEXT, ref=9, **{"from": "12520"})
                responses = await esme.collect("submit_resp", 3)
                assert {r["command_status"] for r in responses} == {0}
                ids = [r["message_id"] for r in sorted(responses, key=lambda r: r["index"])]
                (message,) = await smsc.handset(PHONE).wait_messages(1)
                assert message.text == MT_TEXT  # reassembled from octets: the split pair heals
                assert message.parts == 3
                assert message.message_ids == tuple(ids)
                receipts = await esme.collect("deliver_sm", 3)
                for message_id, receipt in zip(ids, receipts, strict=True):
                    assert receipt["esm_class"] == 0x04
                    assert receipt["receipted_message_id"] == message_id
                    assert receipt["message_state"] == 2
                    parsed = parse_receipt(receipt["message"])  # node decoded the GSM text
                    assert parsed.message_id == message_id
                    assert parsed.state.name == "DELIVERED"
                # MO: our simulator splits (never inside a character); node decodes each part.
                mo_text = "收到，谢谢！" * 20 + "👍"
                outgoing = smsc.send_from_handset(PHONE, "12520", mo_text)
                parts = await esme.collect("deliver_sm", outgoing.parts)
                assert outgoing.parts == 2
                assert all(p["esm_class"] & 0x40 and p["data_coding"] == 8 for p in parts)
                assert "".join(p["message"] for p in parts) == mo_text
                assert await outgoing.wait_delivered() is None
                await esme.send(cmd="unbind")
                await esme.expect("unbound")

    run(dialog())


def test_node_esme_wrong_password_is_refused(node: str) -> None:
    async def dialog() -> None:
        async with SmscSimulator(CONFIG).serving() as smsc:
            assert smsc.address is not None
            host, port = smsc.address
            args = (host, str(port), "nodeesme", "nope")
            async with NodePeer.start(node, "esme_client.js", *args) as esme:
                refused = await esme.expect("bind_refused")
                assert refused["command_status"] == 0x0E  # ESME_RINVPASWD
                await esme.expect("closed")
                assert smsc.binds == []

    run(dialog())
