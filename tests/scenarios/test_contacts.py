"""Contacts with authorization: info visibility, removal, the block list."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from columba.client import ClientError, SipcClient
from tests.scenarios.harness import Server

pytestmark = pytest.mark.slow


def test_contact_info_block_unblock_and_delete(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000301")
        b = server.add_user("Bob", "+8613800000302")
        alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await bob.login(b.sid, b.password)
        uri = f"sip:{b.sid}@fetion.com.cn"
        # Not a contact yet: the profile, but not the number.
        info = await alice.service("GetContactInfoV4", f'<args><contact uri="{uri}"/></args>')
        contact = ET.fromstring(info.body).find("contact")
        assert contact is not None
        assert contact.get("nickname") == "Bob"
        assert contact.get("mobile-no") is None
        # Bob blocks Alice: her messages are refused, and he is not told.
        block = f'<args><blacklist><blacklist uri="sip:{a.sid}@fetion.com.cn"/></blacklist></args>'
        assert (await bob.service("AddToBlacklist", block)).status == 200
        with pytest.raises(ClientError) as info_error:
            await alice.send_message(b.sid, "hello?")
        assert info_error.value.status == 403
        assert (await bob.service("RemoveFromBlacklistV4", block)).status == 200
        await alice.send_message(b.sid, "hello again")
        assert (await bob.next_message()).text == "hello again"
        # Befriend, then the number is visible; delete, and it is hidden again.
        assert (await alice.add_contact(b.sid)).status == 200
        request = await bob.next_contact_request()
        assert (await bob.answer_contact(request["user_id"])).status == 200
        info = await alice.service("GetContactInfoV4", f'<args><contact uri="{uri}"/></args>')
        contact = ET.fromstring(info.body).find("contact")
        assert contact is not None
        assert contact.get("mobile-no") == b.number
        body = f'<args><contacts><buddies><buddy uri="{uri}"/></buddies></contacts></args>'
        assert (await alice.service("DeleteBuddyV4", body)).status == 200
        await alice.close()
        await bob.close()

    asyncio.run(dialog())
