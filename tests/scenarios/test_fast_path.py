"""The IM server's fast path (``servers/im/fastpath.py``) answers as the general path does.

The first message between two users fills the node's caches on the general path; the next ones
go straight from the read loop into the group commit. Either way the sender gets a 200 with the
message id, the receiver gets each message once and in order, a retransmission is answered
with the first id and not delivered again, and whatever the fast path is not sure of (a block
list that changed, an offline recipient) goes the general way.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from columba.client import ClientError, SipcClient
from tests.scenarios.harness import FAST_PATH, Server

pytestmark = pytest.mark.slow


def test_fast_path_answers_and_delivers_as_the_general_path(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000401")
        b = server.add_user("Bob", "+8613800000402")
        alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await bob.login(b.sid, b.password)
        before = server.metric(FAST_PATH)
        ids = [await alice.send_message(b.sid, f"m{i}") for i in range(20)]
        assert all(re.fullmatch(r"[0-9a-f]{16,}", i) for i in ids), ids
        assert len(set(ids)) == 20
        received = [await bob.next_message() for _ in range(20)]
        assert [m.text for m in received] == [f"m{i}" for i in range(20)]
        assert [m.message_id for m in received] == ids
        # The caches were warm after the first: the rest took the fast path.
        assert server.metric(FAST_PATH) - before >= 15

        # A retransmission (same Call-ID and CSeq) gets the first id and is not delivered.
        request = alice._request(
            "M",
            ("T", f"sip:{b.sid}@fetion.com.cn"),
            ("C", "text/plain"),
            ("K", "SaveHistory"),
            ("N", "CatMsg"),
            body=b"once",
        )
        first = await alice.ask(request)
        again = await alice.ask(request)
        assert first.status == again.status == 200
        assert first.get("XI") == again.get("XI")
        assert (await bob.next_message()).text == "once"
        await alice.send_message(b.sid, "after")
        assert (await bob.next_message()).text == "after"  # not "once" a second time

        # Bob blocks Alice: the fast path's cached block list is dropped, the general path
        # refuses; unblocked, messages flow (and take the fast path) again.
        block = f'<args><blacklist><blacklist uri="sip:{a.sid}@fetion.com.cn"/></blacklist></args>'
        assert (await bob.service("AddToBlacklist", block)).status == 200
        with pytest.raises(ClientError) as refused:
            await alice.send_message(b.sid, "blocked?")
        assert refused.value.status == 403
        assert (await bob.service("RemoveFromBlacklistV4", block)).status == 200
        for i in range(3):
            await alice.send_message(b.sid, f"again {i}")
        assert [(await bob.next_message()).text for _ in range(3)] == [
            f"again {i}" for i in range(3)
        ]

        # Bob goes offline: messages wait in the store and reach him when he is back.
        await bob.close()
        await asyncio.sleep(0.2)
        await alice.send_message(b.sid, "while away")
        bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await bob.login(b.sid, b.password)
        assert (await bob.next_message()).text == "while away"
        await alice.close()
        await bob.close()

    asyncio.run(dialog())
