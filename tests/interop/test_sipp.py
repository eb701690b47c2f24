"""SIPp, a SIP implementation nobody on the team wrote, against a real Columba server.

Each test is a short dialog between SIPp (scenarios/*.xml) and a Columba user on our own
Python client, over UDP and over TCP, with nothing configured for Columba beyond the
address of record: the sid as user name and Digest username, ``columba.local`` as domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from columba.client import SipcClient
from tests.interop.columba_process import DOMAIN, ColumbaServer, User
from tests.interop.sipp_runner import Sipp, SippResult

pytestmark = pytest.mark.timeout(30)

TRANSPORTS = ["udp", "tcp"]


@asynccontextmanager
async def logged_in(server: ColumbaServer, user: User) -> AsyncIterator[SipcClient]:
    """``user`` online on our SIP-C client for the duration of the block."""
    address = server.sipc_tcp
    client = await SipcClient.connect(address.host, address.port)
    try:
        await client.login(user.sid, user.password)
        yield client
    finally:
        await client.close()


async def make_contacts(server: ColumbaServer, watcher: User, presentity: User) -> None:
    """``watcher`` asks ``presentity`` to be a contact and ``presentity`` accepts."""
    async with logged_in(server, watcher) as asking, logged_in(server, presentity) as asked:
        response = await asking.add_contact(presentity.sid)
        assert response.status == 200, response
        request = await asked.next_contact_request()
        assert request["sid"] == watcher.sid
        response = await asked.answer_contact(request["user_id"])
        assert response.status == 200, response


def passed(result: SippResult) -> None:
    """Assert SIPp's call succeeded, showing its logs when it did not."""
    assert result.returncode == 0, result.explain()


# -- REGISTER (RFC 3261 §10, Digest §22) -----------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_registers_with_digest(
    columba: ColumbaServer, sipp: str, tmp_path: Path, transport: str
) -> None:
    """SIPp registers: 401 with a challenge, REGISTER with credentials, 200 with the binding."""
    alice = columba.add_user("Alice")
    sipp_run = Sipp(
        sipp,
        tmp_path,
        "register.xml",
        server=columba.sip(transport),
        transport=transport,
        user=alice,
    )

    result = asyncio.run(sipp_run.run())

    passed(result)
    assert "registered expires=600" in result.log, result.explain()
    assert result.responses("REGISTER") == [401, 200]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_wrong_password_is_refused(
    columba: ColumbaServer, sipp: str, tmp_path: Path, transport: str
) -> None:
    """A wrong password: the server answers the credentials with a new 401 (or 403), not 200."""
    mallory = columba.add_user("Mallory")
    sipp_run = Sipp(
        sipp,
        tmp_path,
        "register.xml",
        server=columba.sip(transport),
        transport=transport,
        user=mallory,
        password="not-the-password",
    )

    result = asyncio.run(sipp_run.run())
    assert result.returncode == 1, result.explain()  # the call failed (255 would be a timeout)
    codes = result.responses("REGISTER")
    # The credentials were answered (no timeout), and refused.
    assert len(codes) >= 2, result.explain()
    assert codes[0] == 401
    assert codes[1] in (401, 403), result.explain()
    assert 200 not in codes
    assert "registered" not in result.log


# -- MESSAGE (RFC 3428) -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_sends_message_to_a_columba_user(
    columba: ColumbaServer, sipp: str, tmp_path: Path, transport: str
) -> None:
    """SIPp, not registered, sends a MESSAGE (407, then credentials); Bob's client gets it."""
    alice = columba.add_user("Alice")
    bob = columba.add_user("Bob")
    text = f"hello Bob, from SIPp over {transport}"

    async def dialog() -> None:
        async with logged_in(columba, bob) as bob_client:
            sipp_run = Sipp(
                sipp,
                tmp_path,
                "message_send.xml",
                server=columba.sip(transport),
                transport=transport,
                user=alice,
                keys={"to": bob.sid, "text": text},
                auth_uri=f"{bob.sid}@{DOMAIN}",  # the digest-uri is the Request-URI
            )
            result = await sipp_run.run()
            passed(result)
            assert result.responses("MESSAGE") == [407, 200]
            message = await bob_client.next_message()
            assert message.sender == alice.sid
            assert message.text == text
            assert message.content_type.startswith("text/plain")
            assert f"accepted X-Message-ID:{message.message_id}" in result.log

    asyncio.run(dialog())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_receives_message_from_a_columba_user(
    columba: ColumbaServer, sipp: str, tmp_path: Path, transport: str
) -> None:
    """SIPp registers and waits; Alice's client sends; SIPp gets the MESSAGE and answers 200."""
    alice = columba.add_user("Alice")
    bob = columba.add_user("Bob")
    text = f"hello SIPp over {transport}"

    async def dialog() -> None:
        sipp_run = Sipp(
            sipp,
            tmp_path,
            "register_wait_message.xml",
            server=columba.sip(transport),
            transport=transport,
            user=bob,
            ooc_scenario="answer_message.xml",
        )
        await sipp_run.start()
        if not await sipp_run.wait_log("registered"):
            passed(await sipp_run.finish())
            pytest.fail("SIPp ended without registering")
        async with logged_in(columba, alice) as alice_client:
            message_id = await alice_client.send_message(bob.sid, text)
            result = await sipp_run.finish()
        passed(result)
        assert f"MESSAGE from sip:{alice.sid}@" in result.log, result.explain()
        assert f"X-Message-ID:{message_id}" in result.log, result.explain()
        assert f"text:{text}" in result.log, result.explain()

    asyncio.run(dialog())


# -- SUBSCRIBE/NOTIFY for presence (RFC 6665, RFC 3856, PIDF RFC 3863) ------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_subscribes_to_a_contacts_presence(
    columba: ColumbaServer, sipp: str, tmp_path: Path, transport: str
) -> None:
    """Alice accepted Bob as a contact; SIPp (Bob) subscribes: 200, NOTIFY active, PIDF open."""
    alice = columba.add_user("Alice")
    bob = columba.add_user("Bob")

    async def dialog() -> None:
        await make_contacts(columba, watcher=bob, presentity=alice)
        async with logged_in(columba, alice):
            sipp_run = Sipp(
                sipp,
                tmp_path,
                "subscribe_contact.xml",
                server=columba.sip(transport),
                transport=transport,
                user=bob,
                keys={"to": alice.sid},
            )
            result = await sipp_run.run()
        passed(result)
        assert result.responses("SUBSCRIBE") == [200], result.explain()
        assert "Subscription-State:active" in result.log
        assert f"entity={alice.sid} basic=open" in result.log, result.explain()

    asyncio.run(dialog())


def test_sipp_subscription_is_pending_until_accepted(
    columba: ColumbaServer, sipp: str, tmp_path: Path
) -> None:
    """SIPp (Carol) subscribes to a stranger: 202 and NOTIFY pending; Alice accepts: active."""
    alice = columba.add_user("Alice")
    carol = columba.add_user("Carol")

    async def dialog() -> None:
        async with logged_in(columba, alice) as alice_client:
            sipp_run = Sipp(
                sipp,
                tmp_path,
                "subscribe_pending.xml",
                server=columba.sip("udp"),
                transport="udp",
                user=carol,
                keys={"to": alice.sid},
            )
            await sipp_run.start()
            if not await sipp_run.wait_log("pending"):
                passed(await sipp_run.finish())
                pytest.fail("SIPp was not told the subscription is pending")
            request = await alice_client.next_contact_request()
            assert request["sid"] == carol.sid
            await alice_client.answer_contact(request["user_id"])
            result = await sipp_run.finish()
        passed(result)
        assert result.responses("SUBSCRIBE") == [202], result.explain()
        assert "pending Subscription-State:pending" in result.log
        assert f"entity={alice.sid} basic=open" in result.log, result.explain()

    asyncio.run(dialog())


def test_sipp_unsubscribes_inside_the_dialog(
    columba: ColumbaServer, sipp: str, tmp_path: Path
) -> None:
    """SIPp subscribes, then sends SUBSCRIBE Expires: 0 in the dialog: 200, NOTIFY terminated."""
    alice = columba.add_user("Alice")
    bob = columba.add_user("Bob")

    async def dialog() -> None:
        await make_contacts(columba, watcher=bob, presentity=alice)
        async with logged_in(columba, alice):
            sipp_run = Sipp(
                sipp,
                tmp_path,
                "subscribe_unsubscribe.xml",
                server=columba.sip("udp"),
                transport="udp",
                user=bob,
                keys={"to": alice.sid},
            )
            result = await sipp_run.run()
        passed(result)
        assert "final NOTIFY Subscription-State:terminated" in result.log, result.explain()

    asyncio.run(dialog())
