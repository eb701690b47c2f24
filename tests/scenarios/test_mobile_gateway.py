"""Patent P3 end to end: a mobile client speaks MCP through the access gateway and chats with a
text SIP-C client through one server; nothing is lost either way, and fewer bytes travel."""

from __future__ import annotations

import asyncio

import pytest

from columba.client import SipcClient
from columba.client.base import McpTransport
from tests.scenarios.harness import Server

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stateful", [True, False], ids=["stateful", "stateless"])
def test_mobile_over_mcp_and_pc_over_sipc_chat_and_see_presence(
    server: Server, stateful: bool
) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000201")
        b = server.add_user("Bob", "+8613800000202")
        phone = await SipcClient.connect_mcp(*server.hostport("mcp"), stateful=stateful)
        await phone.login(a.sid, a.password)  # SCRAM login, carried in MCP
        await phone.subscribe_presence()
        pc = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await pc.login(b.sid, b.password)
        await pc.subscribe_presence()
        # Contacts: the phone asks, the PC accepts; each sees the other online.
        assert (await phone.add_contact(b.sid)).status == 200
        request = await pc.next_contact_request()
        assert (await pc.answer_contact(request["user_id"])).status == 200
        assert (await phone.next_presence()).value == 400
        assert (await pc.next_presence()).value == 400
        texts = [f"手机消息 {i} 😀" for i in range(50)]
        for text in texts:
            await phone.send_message(b.sid, text)
        assert [(await pc.next_message()).text for _ in texts] == texts
        replies = [f"<Font Face='宋体'>reply {i}</Font>" for i in range(50)]
        for text in replies:
            await pc.send_message(a.sid, text, content_type="text/html-fragment")
        got = [await phone.next_message() for _ in replies]
        assert [m.text for m in got] == replies
        assert {m.content_type for m in got} == {"text/html-fragment"}
        await pc.set_presence(100)
        assert (await phone.next_presence()).value == 100
        transport = phone.transport
        assert isinstance(transport, McpTransport)
        assert transport.bytes_sent > 0
        assert transport.bytes_received > 0
        await phone.logout()
        await pc.close()

    asyncio.run(dialog())
