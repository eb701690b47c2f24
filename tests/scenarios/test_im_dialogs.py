"""End-to-end dialogs against a real ``columba serve`` process, on SQLite and PostgreSQL.

Alice uses SIP-C over TCP (like a Fetion PC client); Bob uses plain SIP over UDP.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from columba.client import ClientError, SipcClient, SipClient
from tests.scenarios.harness import Server, User

pytestmark = pytest.mark.slow


async def _alice_and_bob(server: Server) -> tuple[SipcClient, SipClient, User, User]:
    a = server.add_user("Alice", "+8613800000001")
    b = server.add_user("Bob", "+8613800000002")
    alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
    await alice.login(a.sid, a.password)
    await alice.subscribe_presence()
    bob = await SipClient.connect(*server.hostport("sip-udp"), transport="udp")
    await bob.register(b.sid, b.password)
    return alice, bob, a, b


async def _befriend(alice: SipcClient, bob: SipClient, a: User, b: User) -> None:
    """Alice asks, Bob (a SIP client, through SERVICE) accepts."""
    response = await alice.add_contact(b.sid)
    assert response.status == 200
    accept = (
        f'<args><contacts><buddies><buddy user-id="{alice.user_id}" result="1"/>'
        "</buddies></contacts></args>"
    )
    response = await bob.service("HandleContactRequestV4", accept)
    assert response.status == 200


def test_two_users_on_two_transports_befriend_see_presence_and_chat(server: Server) -> None:
    async def dialog() -> None:
        alice, bob, a, b = await _alice_and_bob(server)
        await _befriend(alice, bob, a, b)
        # Alice sees Bob online as soon as they are contacts.
        update = await alice.next_presence()
        assert (update.sid, update.value) == (b.sid, 400)
        # Bob subscribes to Alice's presence (RFC 3856) and sees her change it.
        await bob.subscribe(a.sid)
        assert (await bob.next_presence()).value == 400
        await alice.set_presence(600)
        assert (await bob.next_presence()).value == 600
        # 1,000 messages each way: none lost, none duplicated, order kept.
        count = 1000
        sent_ab = [f"a→b {i} 你好" for i in range(count)]
        sent_ba = [f"b→a {i}" for i in range(count)]

        async def send_all(client: SipcClient | SipClient, to: str, texts: list[str]) -> None:
            for text in texts:
                await client.send_message(to, text)

        async def receive(client: SipcClient | SipClient, n: int) -> list[str]:
            return [(await client.next_message(within=60)).text for _ in range(n)]

        got_b, got_a, _, _ = await asyncio.gather(
            receive(bob, count),
            receive(alice, count),
            send_all(alice, b.sid, sent_ab),
            send_all(bob, a.sid, sent_ba),
        )
        assert got_b == sent_ab
        assert got_a == sent_ba
        await asyncio.sleep(0.3)
        assert alice.messages.empty()
        assert bob.messages.empty()
        # Bob goes away: Alice sees him offline.
        await bob.unregister()
        update = await alice.next_presence()
        assert (update.sid, update.value) == (b.sid, 0)
        await alice.close()
        await bob.close()

    asyncio.run(dialog())


def test_receiver_cut_without_goodbye_gets_what_it_missed_exactly_once(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000011")
        b = server.add_user("Bob", "+8613800000012")
        alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        device = "BOBS-PHONE-0001"
        bob = await SipcClient.connect(*server.hostport("sipc-tcp"), machine_code=device)
        await bob.login(b.sid, b.password)
        texts = [f"message {i}" for i in range(400)]
        received: list[str] = []
        for text in texts[:150]:
            await alice.send_message(b.sid, text)
        while len(received) < 100:
            received.append((await bob.next_message(within=30)).text)
        bob.transport.abort()  # type: ignore[attr-defined]  # RST, no logout
        while not bob.messages.empty():  # what the device had already received and shown
            received.append(bob.messages.get_nowait().text)
        seen = set(bob.seen)
        for text in texts[150:]:  # Alice goes on while Bob is gone
            await alice.send_message(b.sid, text)
        # Bob comes back on the same device and gets the rest, in order, each once.
        bob2 = await SipcClient.connect(*server.hostport("sipc-tcp"), machine_code=device)
        bob2.seen |= seen  # the device remembers the ids it already showed
        await bob2.login(b.sid, b.password)
        while len(received) < len(texts):
            received.append((await bob2.next_message(within=30)).text)
        assert received == texts
        await asyncio.sleep(0.3)
        assert bob2.messages.empty()
        await alice.close()
        await bob2.close()

    asyncio.run(dialog())


def test_server_restart_mid_stream_loses_nothing_acknowledged(server: Server) -> None:
    a = server.add_user("Alice", "+8613800000021")
    b = server.add_user("Bob", "+8613800000022")
    acknowledged: list[str] = []

    async def send_until_cut() -> None:
        alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        for i in range(300):
            if i == 150:
                server.stop(kill=True)  # a crash, mid-stream
            try:
                await alice.send_message(b.sid, f"m{i}")
            except (ClientError, ConnectionError, OSError):
                break
            acknowledged.append(f"m{i}")
        await alice.close()

    asyncio.run(send_until_cut())
    assert len(acknowledged) >= 150
    server.start()

    async def receive() -> None:
        bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await bob.login(b.sid, b.password)
        got = [(await bob.next_message(within=30)).text for _ in acknowledged]
        assert got == acknowledged
        await bob.close()

    asyncio.run(receive())


def test_wrong_password_is_refused_and_repeated_failures_slow_down(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000031")
        timings = []
        for _ in range(4):
            client = await SipcClient.connect(*server.hostport("sipc-tcp"))
            start = time.monotonic()
            with pytest.raises(ClientError) as info:
                await client.login(a.sid, "not-the-password")
            timings.append(time.monotonic() - start)
            assert info.value.status == 401
            await client.close()
        # 0.5 s, 1 s, 2 s, 4 s: each failure waits longer than the one before.
        assert timings[3] > timings[0] + 2.5
        # The right password still works (and resets the count).
        client = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await client.login(a.sid, a.password)
        await client.close()

    asyncio.run(dialog())


def test_malformed_input_gets_400_and_the_connection_stays_usable(server: Server) -> None:
    host, port = server.hostport("sipc-tcp")
    with socket.create_connection((host, port), timeout=10) as sock:
        bad = (
            b"M fetion.com.cn SIP-C/4.0\r\nF: 1\r\nI: 7\r\nQ: 1 M\r\n"
            b"this is not a header\r\nL: 3\r\n\r\nabc"
        )
        sock.sendall(bad)
        reply = sock.recv(4096)
        assert reply.startswith(b"SIP-C/4.0 400 "), reply
        assert b"I: 7" in reply
        ok = b"O fetion.com.cn SIP-C/4.0\r\nF: 1\r\nI: 8\r\nQ: 1 O\r\nN: KeepConnectionBusy\r\n\r\n"
        sock.sendall(ok)
        reply = sock.recv(4096)
        assert reply.startswith(b"SIP-C/4.0 200 OK"), reply
    udp = server.hostport("sip-udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(
            b"OPTIONS sip:x@columba.local SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n"
            b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@columba.local>\r\nCall-ID: c1\r\n"
            b"CSeq: 99999999999 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            udp,
        )
        reply, _ = sock.recvfrom(4096)
        assert reply.startswith(b"SIP/2.0 400 "), reply
