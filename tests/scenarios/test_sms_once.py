"""Nothing twice from a phone: a real ``columba serve`` bound to an SMSC (the simulator or node
smpp) that delivers an MO text again, as an SMSC does when its deliver_sm got no response
because Columba stopped. The SMSC's second delivery is indistinguishable from the first: same
phone, same address, same text.

Alice (+8613800000001) is logged in; Bob's phone (+8613800000002) has an account; a stranger's
phone (+8613900000009) has none.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from columba.client import SipcClient
from columba.client.base import IncomingMessage
from columba.client.sipc import DOMAIN
from tests.scenarios.harness import Server
from tests.scenarios.test_sms_flows import ALICE, BOB, STRANGER, _peer, _sms_config, _world
from tests.scenarios.test_sms_flows import node_server as node_server
from tests.scenarios.test_sms_flows import peer_kind as peer_kind
from tests.sms.scripted_smsc import ScriptedSmsc

pytestmark = pytest.mark.slow


async def _next_new(client: SipcClient, seen: set[str], within: float = 20.0) -> IncomingMessage:
    """The next message with an id not seen before. A stored IM whose device ack did not
    reach the store before the restart is sent again under its id, which clients drop (and
    this one, after its reconnect, must be told of); a text taken twice would have a new id."""
    async with asyncio.timeout(within):
        while True:
            got = await client.next_message(within=within)
            if got.message_id not in seen:
                seen.add(got.message_id)
                return got


async def _nothing_more(client: SipcClient, seen: set[str], within: float = 2.0) -> None:
    try:
        got = await _next_new(client, seen, within)
    except TimeoutError:
        return
    pytest.fail(f"delivered again: {got.text!r}")


def test_an_mo_the_smsc_delivers_again_reaches_the_user_once(
    node_server: Server, peer_kind: str
) -> None:
    async def dialog() -> None:
        world = await _world(node_server, _peer(peer_kind))
        alice, peer = world.alice, world.peer
        seen: set[str] = set()
        try:
            # The stranger's text (not stored: pushed to Alice's device), delivered twice.
            await peer.text_from(STRANGER, "12520" + ALICE, "are you coming")
            got = await _next_new(alice, seen)
            assert (got.sender, got.text) == ("+" + STRANGER, "are you coming")
            await peer.text_from(STRANGER, "12520" + ALICE, "are you coming")
            await _nothing_more(alice, seen)
            # Bob's phone texts Alice (an IM in their conversation); then Columba restarts,
            # forgetting everything but the store, and the SMSC delivers the text again.
            await peer.text_from(BOB, "12520" + ALICE, "on my way")
            got = await _next_new(alice, seen)
            assert (got.sender, got.text) == (world.b.sid, "on my way")
            await alice.close()
            await asyncio.to_thread(node_server.restart)
            alice = world.alice = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await alice.login(world.a.sid, world.a.password)
            await peer.text_from(BOB, "12520" + ALICE, "on my way")
            # Acked and dropped: the next text is the next thing Alice gets.
            await peer.text_from(BOB, "12520" + ALICE, "parking now")
            got = await _next_new(alice, seen)
            assert (got.sender, got.text) == (world.b.sid, "parking now")
            await _nothing_more(alice, seen)
            history = await alice.service(
                "GetHistoryV4", f'<args><history uri="sip:{world.b.sid}@{DOMAIN}"/></args>'
            )
            texts = [m.text for m in ET.fromstring(history.body).iter("m")]
            assert texts == ["on my way", "parking now"]
        finally:
            await alice.close()
            await peer.stop()

    asyncio.run(dialog())


def test_an_sms_whose_receipt_never_comes_expires_and_the_sender_is_told(
    node_server: Server,
) -> None:
    """An SMSC that accepts the SMS and never sends its receipt (ours sends them on demand)."""

    async def dialog() -> None:
        smsc = ScriptedSmsc()
        async with smsc.serving():
            node_server.extra_config = _sms_config(smsc.port, "submitted_expiry = 1.0\n")
            await asyncio.to_thread(node_server.start)
            a = node_server.add_user("Alice", "+" + ALICE)
            b = node_server.add_user("Bob", "+" + BOB)
            alice = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            try:
                await alice.login(a.sid, a.password)
                request = alice._request(
                    "M",
                    ("T", f"sip:{b.sid}@{DOMAIN}"),
                    ("C", "text/plain"),
                    ("N", "CatMsg"),
                    body=b"dinner at 7?",
                )
                response = await alice.ask(request)
                assert (response.status, response.reason) == (280, "Send SMS OK")
                message_id = response.get("XI")
                async with asyncio.timeout(20):
                    await smsc.wait_submits(1)
                    while True:
                        event = ET.fromstring((await alice.events.get()).body).find("event")
                        if event is not None and event.get("type") == "SmsFailed":
                            break
                message = event.find("message")
                assert message is not None
                assert (message.get("id"), message.get("state")) == (message_id, "EXPIRED")
                status = await alice.service(
                    "GetSmsStatus", f'<args><message id="{message_id}"/></args>'
                )
                node = ET.fromstring(status.body).find("message")
                assert node is not None
                assert node.get("state") == "failed"
            finally:
                await alice.close()

    asyncio.run(dialog())
