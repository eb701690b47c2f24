"""IM ⇄ SMS interworking end to end: a real ``columba serve`` bound over SMPP to an SMSC that
is either Columba's simulator or node smpp (an SMPP stack nobody on the team wrote).

The people: Alice (+8613800000001) is logged in with a SIP-C client; Bob (+8613800000002)
is offline and has his phone; a stranger's phone (+8613900000009) has no account.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from columba.client import SipcClient, SipClient
from columba.client.sipc import DOMAIN
from columba.protocol.sip.message import Response
from tests.interop_smpp.node_peer import NODE_DIR
from tests.scenarios.harness import FAST_PATH, Server, User
from tests.scenarios.sms_peers import NodeSmppPeer, SimulatorPeer, SmscPeer

pytestmark = pytest.mark.slow

ALICE, BOB, STRANGER = "8613800000001", "8613800000002", "8613900000009"


def _node_or_skip() -> str:
    path = shutil.which("node")
    if path is None or not (NODE_DIR / "node_modules" / "smpp").is_dir():
        pytest.skip("node smpp is not installed: run tests/interop_smpp/install.sh")
    return path


@pytest.fixture(params=["simulator", "node-smpp"])
def peer_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "node-smpp":
        _node_or_skip()
    return str(request.param)


def _peer(kind: str) -> SmscPeer:
    return SimulatorPeer() if kind == "simulator" else NodeSmppPeer(_node_or_skip())


@pytest.fixture
def node_server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """A server not started yet: each dialog starts it once its SMSC listens."""
    data = tmp_path / "data"
    data.mkdir()
    srv = Server(data_dir=data, storage_url=backend)
    try:
        yield srv
    finally:
        srv.stop()


def _sms_config(port: int, extra: str = "") -> str:
    return f'[sms]\nsmscs = "127.0.0.1:{port}"\npassword = "columba"\nreconnect_max = 1.0\n{extra}'


class World:
    """A started server bound to a peer, Alice logged in, Bob and a stranger's phone."""

    def __init__(self, server: Server, peer: SmscPeer) -> None:
        self.server = server
        self.peer = peer
        self.a: User
        self.b: User
        self.alice: SipcClient

    async def message(self, to: str, text: str, *, event: str = "CatMsg") -> Response:
        """Alice sends an ``M``; the raw response."""
        uri = to if ":" in to else f"sip:{to}@{DOMAIN}"
        request = self.alice._request(
            "M", ("T", uri), ("C", "text/plain"), ("N", event), body=text.encode()
        )
        return await self.alice.ask(request)

    async def next_event(self, kind: str, within: float = 20.0) -> ET.Element:
        """The next BN event of ``kind`` Alice gets."""
        async with asyncio.timeout(within):
            while True:
                request = await self.alice.events.get()
                event = ET.fromstring(request.body).find("event")
                if event is not None and event.get("type") == kind:
                    return event


async def _world(server: Server, peer: SmscPeer, extra: str = "") -> World:
    await peer.start()
    server.extra_config = _sms_config(peer.port, extra)
    await asyncio.to_thread(server.start)
    world = World(server, peer)
    world.a = server.add_user("Alice", "+" + ALICE)
    world.b = server.add_user("Bob", "+" + BOB)
    world.alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
    await world.alice.login(world.a.sid, world.a.password)
    return world


def _attrs(response: Response, tag: str) -> dict[str, str]:
    node = ET.fromstring(response.body).find(tag)
    assert node is not None, response.body
    return dict(node.attrib)


def test_phone_to_im_im_to_phone_receipt_and_reply_thread(
    node_server: Server, peer_kind: str
) -> None:
    """Flows 1–4."""

    async def dialog() -> None:
        world = await _world(node_server, _peer(peer_kind))
        alice, peer = world.alice, world.peer
        try:
            # 1. A stranger's phone texts 12520<Alice's number>: Alice, online, gets an IM
            #    from tel:+<phone>.
            await peer.text_from(STRANGER, "12520" + ALICE, "hello from a phone")
            got = await alice.next_message(within=20)
            assert (got.sender, got.text) == ("+" + STRANGER, "hello from a phone")
            # 2. The stranger texts offline Bob: it goes on to Bob's phone from 12520<phone>.
            await peer.text_from(STRANGER, "12520" + BOB, "are you there bob")
            (sms,) = await peer.inbox(BOB, 1)
            assert (sms.source, sms.text) == ("12520" + STRANGER, "are you there bob")
            # 3. Alice writes to offline Bob: 280 Send SMS OK, an SMS, then the receipt.
            response = await world.message(world.b.sid, "dinner at 7?")
            assert (response.status, response.reason) == (280, "Send SMS OK")
            message_id = response.get("XI")
            assert message_id
            assert _attrs(response, "sms")["segments"] == "1"
            sms = (await peer.inbox(BOB, 2))[1]
            assert (sms.source, sms.text) == ("12520" + ALICE, "dinner at 7?")
            delivered = await world.next_event("SmsDelivered")
            message = delivered.find("message")
            assert message is not None
            assert message.get("id") == message_id
            status = await alice.service(
                "GetSmsStatus", f'<args><message id="{message_id}"/></args>'
            )
            assert _attrs(status, "message")["state"] == "delivered"
            # 4. Bob replies from his phone to 12520<Alice> (a long text: two SMS): it lands
            #    in their conversation.
            reply = "好的，七点见！" * 20
            await peer.text_from(BOB, "12520" + ALICE, reply)
            got = await alice.next_message(within=20)
            assert (got.sender, got.text) == (world.b.sid, reply)
            history = await alice.service(
                "GetHistoryV4", f'<args><history uri="sip:{world.b.sid}@{DOMAIN}"/></args>'
            )
            texts = [
                (m.get("from"), m.text, m.get("state"))
                for m in ET.fromstring(history.body).iter("m")
            ]
            assert texts == [
                (world.a.sid, "dinner at 7?", "sms_delivered"),
                (world.b.sid, reply, None),
            ]
        finally:
            await alice.close()
            await peer.stop()

    asyncio.run(dialog())


def test_cat_sms_direct_sms_stop_start_and_preferences(node_server: Server, peer_kind: str) -> None:
    """Flows 5 and 6, the preferences, and the long-message policy."""

    async def dialog() -> None:
        world = await _world(node_server, _peer(peer_kind))
        alice, peer = world.alice, world.peer
        try:
            # 5. SendCatSMS to a contact's phone and to herself; SendDirectCatSMS to any number.
            for to, event, phone in (
                (world.b.sid, "SendCatSMS", BOB),
                (world.a.sid, "SendCatSMS", ALICE),
                ("tel:+8613700000007", "SendDirectCatSMS", "8613700000007"),
            ):
                response = await world.message(to, f"cat sms via {event}", event=event)
                assert response.status == 280, (to, response.status, response.reason)
                (sms,) = await peer.inbox(phone, 1)
                assert (sms.source, sms.text) == ("12520" + ALICE, f"cat sms via {event}")
                assert _attrs(response, "frequency")["day-limit"] == "600"
            # 6. STOP from a phone is consumed (not forwarded) and stops SMS; START undoes it.
            await peer.text_from("8613700000007", "12520" + ALICE, "STOP")
            response = await world.message("tel:+8613700000007", "x", event="SendDirectCatSMS")
            assert response.status == 403
            await peer.text_from("8613700000007", "12520", "退订")
            await peer.text_from("8613700000007", "12520" + ALICE, "START")
            response = await world.message("tel:+8613700000007", "back", event="SendDirectCatSMS")
            assert response.status == 280
            assert (await peer.inbox("8613700000007", 2))[1].text == "back"
            with pytest.raises(TimeoutError):
                await alice.next_message(within=1)  # STOP, 退订, START were never forwarded
            # Bob refuses SMS for 3 days (Fetion's sms-online-status): Alice's IM waits as IM.
            bob = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await bob.login(world.b.sid, world.b.password)
            body = '<args><userinfo><personal sms-online-status="3.00:00:00"/></userinfo></args>'
            assert (await bob.service("SetUserInfoV4", body)).status == 200
            settings = _attrs(await bob.service("GetSmsSettings", "<args/>"), "sms-settings")
            assert settings["sms-online-status"] == "3.00:00:00"
            assert settings["refuse-until"]
            await bob.close()
            await asyncio.sleep(0.5)
            response = await world.message(world.b.sid, "refused leg")
            assert response.status == 200
            # Long-message policy: at most 3 SMS, the rest cut with a marker.
            bob = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await bob.login(world.b.sid, world.b.password)
            body = '<args><sms-settings refuse-days="0" offline-sms="1"/></args>'
            changed = _attrs(await bob.service("SetSmsSettings", body), "sms-settings")
            assert (changed["sms-online-status"], changed["offline-sms"]) == ("0.0:0:0", "1")
            await bob.close()
            await asyncio.sleep(0.5)
            response = await world.message(world.b.sid, "long " * 200)
            assert response.status == 280
            assert _attrs(response, "sms") | {"to": ""} == {
                "to": "",
                "segments": "3",
                "truncated": "1",
            }
            sms = (await peer.inbox(BOB, 2))[1]
            assert sms.parts == 3
            assert sms.text.endswith("…")
            assert sms.text.startswith("long long")
            # Quiet hours around now (UTC): Bob's SMS waits in the outbox, still 280 and queued.
            hour = datetime.now(tz=UTC).hour
            quiet = f"{(hour - 1) % 24:02}:00-{(hour + 2) % 24:02}:00"
            bob = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await bob.login(world.b.sid, world.b.password)
            body = f'<args><sms-settings quiet-hours="{quiet}"/></args>'
            changed = _attrs(await bob.service("SetSmsSettings", body), "sms-settings")
            assert changed["quiet-hours"] == quiet
            await bob.close()
            await asyncio.sleep(0.5)
            response = await world.message(world.b.sid, "at night")
            assert response.status == 280
            await asyncio.sleep(2.0)
            with pytest.raises(TimeoutError):
                await peer.inbox(BOB, 3, within=0.5)
            status = await alice.service(
                "GetSmsStatus", f'<args><message id="{response.get("XI")}"/></args>'
            )
            assert _attrs(status, "message")["state"] == "queued"
        finally:
            await alice.close()
            await peer.stop()

    asyncio.run(dialog())


def test_ims_to_an_offline_user_take_the_fast_path_and_answer_as_the_general_one(
    node_server: Server,
) -> None:
    """Once the node has cached the pair, an IM to an offline user who accepts SMS is queued
    as SMS straight from the read loop (``fastpath.py``): the same 280s, the same SMS in the
    same order, a STOP from the phone and the quota still heeded."""

    async def dialog() -> None:
        world = await _world(node_server, SimulatorPeer(), "day_limit = 10\n")
        peer = world.peer
        try:
            before = node_server.metric(FAST_PATH)
            responses = [await world.message(world.b.sid, f"note {n}") for n in range(6)]
            assert [(r.status, r.reason) for r in responses] == [(280, "Send SMS OK")] * 6
            ids = [r.get("XI") for r in responses]
            assert all(ids)
            assert len(set(ids)) == 6
            counts = [_attrs(r, "frequency")["day-count"] for r in responses]
            assert counts == [str(n) for n in range(1, 7)]
            texts = [sms.text for sms in await peer.inbox(BOB, 6)]
            assert texts == [f"note {n}" for n in range(6)]
            # The first filled the caches on the general path; the rest took the fast one.
            assert node_server.metric(FAST_PATH) - before >= 4
            # Bob's phone texts STOP: the next IMs wait as IM (200), no SMS; START undoes it.
            await peer.text_from(BOB, "12520", "STOP")
            response = await world.message(world.b.sid, "while stopped")
            assert response.status == 200
            await peer.text_from(BOB, "12520", "START")
            response = await world.message(world.b.sid, "started again")
            assert response.status == 280
            # The quota: 10 a day; the 7th went out, so three more fit, then IMs wait as IM.
            responses = [await world.message(world.b.sid, f"more {n}") for n in range(4)]
            assert [r.status for r in responses] == [280, 280, 280, 200]
            texts = [sms.text for sms in await peer.inbox(BOB, 10)][6:]
            assert texts == ["started again", "more 0", "more 1", "more 2"]
            with pytest.raises(TimeoutError):
                await peer.inbox(BOB, 11, within=1.0)
        finally:
            await world.alice.close()
            await peer.stop()

    asyncio.run(dialog())


def test_quota_outage_and_restart_lose_nothing_and_send_once(
    node_server: Server, peer_kind: str
) -> None:
    """Flow 7."""

    async def dialog() -> None:
        world = await _world(node_server, _peer(peer_kind), "day_limit = 4\n")
        alice, peer = world.alice, world.peer
        try:
            # The SMSC goes away; Alice's IMs to offline Bob queue (durably) as SMS.
            await peer.stop()
            for n in range(3):
                response = await world.message(world.b.sid, f"queued {n}")
                assert response.status == 280
            # Quota: 4 segments a day; the 4th SMS fits, the 5th is refused clearly.
            response = await world.message("tel:+8613700000008", "four", event="SendDirectCatSMS")
            assert response.status == 280
            response = await world.message("tel:+8613700000008", "five", event="SendDirectCatSMS")
            assert (response.status, response.reason) == (486, "SMS quota exhausted (daily limit)")
            await alice.close()
            # Columba restarts while the SMS wait; then the SMSC comes back on the same port.
            await asyncio.to_thread(node_server.restart)
            await asyncio.sleep(1.0)
            await peer.start()
            texts = sorted(s.text for s in await peer.inbox(BOB, 3, within=30))
            assert texts == ["queued 0", "queued 1", "queued 2"]
            await asyncio.sleep(2.0)
            assert len(await peer.inbox(BOB, 3)) == 3
            assert peer.submits() == 4  # each SMS once: nothing lost, nothing twice
        finally:
            await peer.stop()

    asyncio.run(dialog())


def _http(url: str, body: object | None = None) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_builtin_simulator_phones_api(node_server: Server) -> None:
    """``/api/phones`` on a node whose built-in simulator is on (the default)."""

    async def dialog() -> None:
        original = node_server._config

        def with_simulator() -> Path:
            path = original()
            path.write_text(path.read_text().replace('smsc = "off"', 'smsc = "127.0.0.1:0"'))
            return path

        node_server._config = with_simulator  # type: ignore[method-assign]
        await asyncio.to_thread(node_server.start)
        base = node_server.addresses["http"]
        a = node_server.add_user("Alice", "+" + ALICE)
        b = node_server.add_user("Bob", "+" + BOB)
        alice = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        try:
            status, sent = await asyncio.to_thread(
                _http, f"{base}/api/phones/{STRANGER}/messages", {"to_user": a.sid, "text": "hi"}
            )
            assert (status, sent["to"]) == (202, "12520" + ALICE)
            got = await alice.next_message(within=20)
            assert (got.sender, got.text) == ("+" + STRANGER, "hi")
            # Fetion's other address: 12520<the user's Columba id>.
            status, sent = await asyncio.to_thread(
                _http,
                f"{base}/api/phones/{STRANGER}/messages",
                {"to": "12520" + a.sid, "text": "id"},
            )
            assert status == 202
            assert (await alice.next_message(within=20)).text == "id"
            response = await alice.ask(
                alice._request(
                    "M", ("T", f"sip:{b.sid}@{DOMAIN}"), ("C", "text/plain"), body=b"sms me"
                )
            )
            assert response.status == 280
            for _ in range(100):
                status, inbox = await asyncio.to_thread(_http, f"{base}/api/phones/{BOB}/messages")
                if inbox["messages"]:
                    break
                await asyncio.sleep(0.1)
            (message,) = inbox["messages"]  # type: ignore[misc]
            assert (message["from"], message["text"]) == ("12520" + ALICE, "sms me")
            status, phones = await asyncio.to_thread(_http, f"{base}/api/phones")
            numbers = {p["number"] for p in phones["phones"]}  # type: ignore[attr-defined]
            assert {STRANGER, BOB} <= numbers
            # A SIP device: the phone's text arrives as MESSAGE; an IM to offline Bob is
            # answered 202 (sent as SMS), and the receipt comes back as an RFC 5438 IMDN.
            c = node_server.add_user("Carol", "+8613800000003")
            carol = await SipClient.connect(*node_server.hostport("sip-udp"), transport="udp")
            await carol.register(c.sid, c.password)
            await asyncio.to_thread(
                _http, f"{base}/api/phones/{STRANGER}/messages", {"to_user": c.sid, "text": "yo"}
            )
            assert (await carol.next_message(within=20)).text == "yo"
            message_id = await carol.send_message(b.sid, "from sip")
            assert message_id
            notice = await carol.next_message(within=20)
            assert notice.content_type == "message/imdn+xml"
            assert message_id in notice.text
            assert "<delivered/>" in notice.text
            await carol.close()
            status, error = await asyncio.to_thread(
                _http, f"{base}/api/phones/{BOB}/messages", {"text": ""}
            )
            assert status == 400
            assert "text" in str(error["error"])
        finally:
            await alice.close()

    asyncio.run(dialog())


def test_group_sms_reaches_every_other_members_phone(node_server: Server) -> None:
    """``PGSendCatSMS`` (issue 6): a group message sent as SMS to the other members' phones,
    once each even when the request is retransmitted; a non-member is refused."""

    async def dialog() -> None:
        world = await _world(node_server, _peer("simulator"))
        alice, peer = world.alice, world.peer
        try:
            created = await alice.service("PGCreateGroup", '<args><group name="Hikers"/></args>')
            assert created.status == 200
            uri = _attrs(created, "group")["uri"]
            member = f'<member uri="sip:{world.b.sid}@{DOMAIN}"/>'
            invite = f'<args><group uri="{uri}">{member}</group></args>'
            assert (await alice.service("PGInviteMember", invite)).status == 200
            bob = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await bob.login(world.b.sid, world.b.password)
            accepted = await bob.service(
                "PGHandleInvite", f'<args><group uri="{uri}" result="1"/></args>'
            )
            assert accepted.status == 200
            await bob.close()

            request = alice._request(
                "M", ("T", uri), ("C", "text/plain"), ("N", "PGSendCatSMS"), body=b"summit at 9"
            )
            response = await alice.ask(request)
            assert (response.status, response.reason) == (280, "Send SMS OK"), response.body
            (sms,) = await peer.inbox(BOB, 1)
            assert (sms.source, sms.text) == ("12520" + ALICE, "summit at 9")
            again = await alice.ask(request)  # the same Call-ID and CSeq: a retransmission
            assert again.status == 280
            with pytest.raises(TimeoutError):
                await peer.inbox(BOB, 2, within=3)
            assert await peer.inbox(ALICE, 0, within=0.5) == []  # not to the sender

            stranger = node_server.add_user("Carol", "+8613800000003")
            carol = await SipcClient.connect(*node_server.hostport("sipc-tcp"))
            await carol.login(stranger.sid, stranger.password)
            refused = await carol.ask(
                carol._request(
                    "M", ("T", uri), ("C", "text/plain"), ("N", "PGSendCatSMS"), body=b"spam"
                )
            )
            assert refused.status == 403
            await carol.close()
        finally:
            await alice.close()
            await peer.stop()

    asyncio.run(dialog())
