"""A conversation's history and each message's fate over SIP-C (``S`` ``N: GetHistoryV4``)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from columba.client import SipcClient
from tests.scenarios.harness import Server

pytestmark = pytest.mark.slow


def _history(body: bytes) -> tuple[ET.Element, list[ET.Element]]:
    history = ET.fromstring(body).find("history")
    assert history is not None
    return history, history.findall("m")


def test_history_pages_and_shows_fates_over_websocket(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000401")
        b = server.add_user("Bob", "+8613800000402")
        ws = server.addresses["http"].replace("http://", "ws://") + "/sip"
        alice = await SipcClient.connect_websocket(ws)
        await alice.login(a.sid, a.password)
        bob = await SipcClient.connect_websocket(ws)
        await bob.login(b.sid, b.password)
        # Alice writes three messages, one with markup that must come back as text; Bob
        # receives (so acknowledges) them all and answers once.
        texts = ["one", "two <b>&amp;</b>", "three"]
        for text in texts:
            await alice.send_message(b.sid, text)
        for text in texts:
            assert (await bob.next_message()).text == text
        await bob.send_message(a.sid, "back")
        assert (await alice.next_message()).text == "back"
        uri = f"sip:{b.sid}@fetion.com.cn"

        # The newest two, oldest first, with Alice's fate on her own message only (Bob's
        # acknowledgement is recorded as it arrives: ask again until it shows).
        for _ in range(50):
            response = await alice.service(
                "GetHistoryV4", f'<args><history uri="{uri}" limit="2"/></args>'
            )
            assert response.status == 200
            history, items = _history(response.body)
            if items[0].get("state") == "delivered":
                break
            await asyncio.sleep(0.1)
        assert history.get("last-seq") == "4"
        assert [m.text for m in items] == ["three", "back"]
        assert [m.get("seq") for m in items] == ["3", "4"]
        assert items[0].get("from") == a.sid
        assert items[0].get("state") == "delivered"
        assert items[1].get("from") == b.sid
        assert items[1].get("state") is None

        # Everything after sequence 1, from Bob's side of the same conversation.
        response = await bob.service(
            "GetHistoryV4", f'<args><history uri="sip:{a.sid}@x" after-seq="1"/></args>'
        )
        _, items = _history(response.body)
        assert [m.text for m in items] == ["two <b>&amp;</b>", "three", "back"]
        assert items[2].get("state") == "delivered"

        # Bad requests are answered, not crashed on.
        bad = await alice.service("GetHistoryV4", f'<args><history uri="{uri}" limit="x"/></args>')
        assert bad.status == 400
        bad = await alice.service("GetHistoryV4", "<args/>")
        assert bad.status == 400
        unknown = '<args><history uri="sip:999999999@fetion.com.cn"/></args>'
        assert (await alice.service("GetHistoryV4", unknown)).status == 404
        await alice.close()
        await bob.close()

    asyncio.run(dialog())
