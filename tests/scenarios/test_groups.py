"""End-to-end: groups with robots against a real ``columba serve`` (SQLite and PostgreSQL).

Alice owns a group; Bob and Carol join. A robot written with ``columba.bot`` runs here, in the
test process, as a webhook on loopback (the server is told to allow private webhook targets),
and answers through the robot API. What members see is read off the wire: ``M`` from
``sip:PG<id>@…`` with ``SO:`` naming the sender, each ``XI`` once.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from columba.bot import Bot, Context, HttpApi
from columba.client import SipcClient, SipClient
from columba.client.base import TcpTransport
from columba.protocol.sip.message import Request
from tests.scenarios.harness import ADMIN_TOKEN, Server, User

pytestmark = pytest.mark.slow

ROBOT_CONFIG = """
[robots]
allow_private_webhooks = true
retry_base = 0.2
retry_max = 1.0
builtin = true
[groups]
member_limit = 4
"""


@dataclass(frozen=True)
class GroupMessage:
    """A group message as a member's device got it."""

    group: str
    source: str
    text: str
    message_id: str


class Member(SipcClient):
    """A SIP-C client that also keeps group messages (``F: sip:PG…`` with ``SO``)."""

    group_messages: asyncio.Queue[GroupMessage]
    seen_group: set[str]

    async def on_request(self, request: Request) -> None:
        source = request.get("SO")
        if request.method == "M" and source is not None:
            self.answer(request, 200)
            message_id = request.get("XI") or ""
            if message_id in self.seen_group:
                return
            self.seen_group.add(message_id)
            self.group_messages.put_nowait(
                GroupMessage(
                    group=(request.get("F") or "").split(":")[1].split("@")[0],
                    source=source.split(":")[1].split("@")[0],
                    text=request.body.decode(),
                    message_id=message_id,
                )
            )
            return
        await super().on_request(request)

    async def next_group_message(self, within: float = 10.0) -> GroupMessage:
        return await asyncio.wait_for(self.group_messages.get(), within)

    async def pg(self, event: str, body: str) -> tuple[int, str]:
        response = await self.service(event, body)
        return response.status, response.body.decode()


async def _login(server: Server, user: User) -> Member:
    client = Member(await TcpTransport.open(*server.hostport("sipc-tcp")))
    client.group_messages = asyncio.Queue()
    client.seen_group = set()
    await client.login(user.sid, user.password)
    return client


async def _member(server: Server, name: str, number: str) -> tuple[Member, str]:
    user = server.add_user(name, number)
    users[user.sid] = user
    return await _login(server, user), user.sid


users: dict[str, User] = {}


def _admin(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        server.addresses["http"] + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def _webhook(bot: Bot, port: int) -> AsyncIterator[None]:
    """Serve ``bot`` as a webhook on 127.0.0.1:``port`` while the block runs."""
    runner = web.AppRunner(bot.webhook_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    worker = asyncio.create_task(bot.run())
    try:
        yield
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await runner.cleanup()
        if isinstance(bot.api, HttpApi):
            await bot.api.close()


def _echo_robot(server: Server, port: int, *, delay: float = 0.0) -> tuple[Bot, list[str]]:
    """Register a webhook robot "echo" and make its SDK side; returns it and what it saw."""
    made = _admin(
        server,
        "POST",
        "/api/robots",
        {"name": "echo", "transport": "webhook", "webhook_url": f"http://127.0.0.1:{port}/"},
    )
    api = HttpApi(server.addresses["http"], made["token"])
    bot = Bot("echo", signing_secret=made["signing_secret"], api=api)
    seen: list[str] = []

    @bot.command("echo")
    async def echo(ctx: Context) -> None:
        seen.append(ctx.text)
        if delay:
            await asyncio.sleep(delay)
        await ctx.reply(f"echo: {ctx.args}")

    @bot.on_message()
    async def other(ctx: Context) -> None:
        seen.append(ctx.text)

    return bot, seen


async def _group_of_three(server: Server) -> tuple[list[Member], list[str], str]:
    """Alice creates a group; Bob is invited and accepts; Carol applies and is accepted."""
    (alice, a), (bob, b), (carol, c) = [
        await _member(server, name, f"+86138000000{i:02d}")
        for i, name in enumerate(("Alice", "Bob", "Carol"), 1)
    ]
    status, body = await alice.pg("PGCreateGroup", '<args><group name="Lunch"/></args>')
    assert status == 200
    uri = body.split('uri="')[1].split('"')[0]
    assert uri.startswith("sip:PG")
    member = f'<args><group uri="{uri}"><member uri="sip:{b}@columba.local"/></group></args>'
    assert (await alice.pg("PGInviteMember", member))[0] == 200
    assert (await bob.pg("PGHandleInvite", f'<args><group uri="{uri}" result="1"/></args>'))[
        0
    ] == 200
    assert (await carol.pg("PGApplyGroup", f'<args><group uri="{uri}" desc="hi"/></args>'))[
        0
    ] == 200
    accept = (
        f'<args><group uri="{uri}"><member uri="sip:{c}@columba.local" result="1"/></group></args>'
    )
    assert (await alice.pg("PGHandleApply", accept))[0] == 200
    status, listing = await carol.pg("PGGetGroupList", "<args/>")
    assert uri in listing
    return [alice, bob, carol], [a, b, c], uri


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """A started server with robots on (private webhooks allowed, quick retries)."""
    data = tmp_path / "data"
    data.mkdir()
    srv = Server(data_dir=data, storage_url=backend, extra_config=ROBOT_CONFIG)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_robot_answers_every_member_and_reads_only_its_scope(server: Server) -> None:
    async def dialog() -> None:
        (alice, bob, carol), (_a, b, _c), uri = await _group_of_three(server)
        port = _free_port()
        bot, seen = _echo_robot(server, port)
        add = f'<args><group uri="{uri}"><robot name="echo"/></group></args>'
        assert (await alice.pg("PGAddRobot", add))[0] == 200
        status, members = await carol.pg(
            "PGGetGroupMembers", f'<args><groups><group uri="{uri}"/></groups></args>'
        )
        assert status == 200
        assert 'nickname="echo"' in members
        assert 'state="499"' in members
        assert 'read-scope="mentions"' in members
        async with _webhook(bot, port):
            # A plain message: every other member gets it from the group, naming Bob.
            await bob.send_message(uri, "hello all")
            for who in (alice, carol):
                got = await who.next_group_message()
                assert (got.group, got.source, got.text) == (uri[4:].split("@")[0], b, "hello all")
            # A command: the robot answers, and everyone sees the answer from the robot.
            await bob.send_message(uri, "/echo ping")
            robot_sid = None
            for who in (alice, carol):
                assert (await who.next_group_message()).text == "/echo ping"
            for who in (alice, bob, carol):
                answer = await who.next_group_message()
                assert answer.text == "echo: ping"
                robot_sid = robot_sid or answer.source
                assert answer.source == robot_sid != b
            # The robot never saw "hello all" (read scope: mentions and commands).
            assert seen == ["/echo ping"]
            # The built-in FAQ robot, added by name, answers by meaning.
            faq = f'<args><group uri="{uri}"><robot name="faq"/></group></args>'
            assert (await alice.pg("PGAddRobot", faq))[0] == 200
            await carol.send_message(uri, "@faq how can I make a new group?")
            for who in (alice, bob):
                await who.next_group_message()
            answer = await carol.next_group_message(within=30)
            assert "PGCreateGroup" in answer.text
        for client in (alice, bob, carol):
            await client.close()

    asyncio.run(dialog())


def test_robot_down_then_back_gets_each_event_once_and_never_holds_up_the_group(
    server: Server,
) -> None:
    async def dialog() -> None:
        (alice, bob, carol), _, uri = await _group_of_three(server)
        port = _free_port()
        bot, seen = _echo_robot(server, port, delay=2.0)
        assert (
            await alice.pg(
                "PGAddRobot", f'<args><group uri="{uri}"><robot name="echo"/></group></args>'
            )
        )[0] == 200
        # The robot is down: its events wait in the outbox and are retried.
        await bob.send_message(uri, "/echo one")
        await bob.send_message(uri, "/echo two")
        for _ in range(2):
            await alice.next_group_message()
        await asyncio.sleep(1.0)
        async with _webhook(bot, port):
            answers = [await alice.next_group_message(within=20) for _ in range(2)]
            assert [m.text for m in answers] == ["echo: one", "echo: two"]  # in order
            # The slow robot (2 s per command) does not hold up the members.
            await bob.send_message(uri, "/echo slow")
            started = time.monotonic()
            await carol.send_message(uri, "still here")
            texts = [(await alice.next_group_message()).text for _ in range(2)]
            assert texts == ["/echo slow", "still here"]
            assert time.monotonic() - started < 1.0
            assert (await alice.next_group_message(within=20)).text == "echo: slow"
            await asyncio.sleep(1.0)
        assert seen.count("/echo one") == 1
        assert seen.count("/echo two") == 1
        assert alice.group_messages.empty()  # no duplicate answers
        for client in (alice, bob, carol):
            await client.close()

    asyncio.run(dialog())


def test_kick_mute_limit_and_offline_delivery(server: Server) -> None:
    async def dialog() -> None:
        (alice, bob, carol), (_a, b, c), uri = await _group_of_three(server)
        dave, d = await _member(server, "Dave", "+8613800000004")
        erin, e = await _member(server, "Erin", "+8613800000005")
        invite = '<args><group uri="{}"><member uri="sip:{}@columba.local"/></group></args>'
        assert (await alice.pg("PGInviteMember", invite.format(uri, d)))[0] == 200
        assert (await dave.pg("PGHandleInvite", f'<args><group uri="{uri}" result="1"/></args>'))[
            0
        ] == 200
        # Bad or unauthorised requests get clear answers.
        info = '<args><groups><group uri="{}"/></groups></args>'
        assert (await erin.pg("PGGetGroupInfo", info.format(uri)))[0] == 403
        assert (await erin.pg("PGGetGroupInfo", info.format("sip:PG999999@columba.local")))[
            0
        ] == 404
        assert (await erin.pg("PGGetGroupInfo", info.format(f"sip:{b}@columba.local")))[0] == 400
        assert (await erin.pg("PGGetGroupInfo", "<args><groups>"))[0] == 400
        assert (await erin.pg("PGCreateGroup", '<args><group name=""/></args>'))[0] == 400
        assert (await bob.pg("PGSetGroupInfo", f'<args><group uri="{uri}" name="x"/></args>'))[
            0
        ] == 403
        with pytest.raises(Exception, match="403"):
            await erin.send_message(uri, "let me in")
        with pytest.raises(Exception, match="404"):
            await erin.send_message("sip:PG999999@columba.local", "anyone?")
        # The limit is 4: Erin cannot join.
        assert (await alice.pg("PGInviteMember", invite.format(uri, e)))[0] == 200
        assert (await erin.pg("PGHandleInvite", f'<args><group uri="{uri}" result="1"/></args>'))[
            0
        ] == 486
        # Bob (a member) may not kick; Alice (owner) mutes Bob, then kicks Carol.
        kick = '<args><group uri="{}"><member uri="sip:{}@columba.local"/></group></args>'
        assert (await bob.pg("PGKickMember", kick.format(uri, c)))[0] == 403
        mute = (
            f'<args><group uri="{uri}"><member uri="sip:{b}@columba.local" seconds="60"/>'
            "</group></args>"
        )
        assert (await alice.pg("PGMuteMember", mute))[0] == 200
        with pytest.raises(Exception, match="403"):
            await bob.send_message(uri, "can I talk?")
        assert (await alice.pg("PGKickMember", kick.format(uri, c)))[0] == 200
        with pytest.raises(Exception, match="403"):
            await carol.send_message(uri, "am I still here?")
        # Dave goes offline; Alice writes; Dave gets it on his next login, once.
        await dave.close()
        await alice.send_message(uri, "while you were away")
        assert (await bob.next_group_message()).text == "while you were away"
        dave2 = await _login(server, users[d])
        assert (await dave2.next_group_message()).text == "while you were away"
        await asyncio.sleep(0.5)
        assert dave2.group_messages.empty()  # once, not again
        # Carol, kicked, never gets it.
        await asyncio.sleep(0.5)
        assert carol.group_messages.empty()
        for client in (alice, bob, carol, erin):
            await client.close()
        await dave2.close()

    asyncio.run(dialog())


def _http(
    server: Server, method: str, path: str, body: dict[str, Any] | None, token: str, **headers: str
) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(
        server.addresses["http"] + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_sip_member_polling_robot_direct_chat_idempotency_and_limits(server: Server) -> None:
    async def dialog() -> None:
        (alice, bob, carol), _, uri = await _group_of_three(server)
        # A plain SIP device: Dave joins by applying and posts with MESSAGE to the group URI.
        dave_user = server.add_user("Dave", "+8613800000004")
        dave = await SipClient.connect(*server.hostport("sip-udp"), transport="udp")
        await dave.register(dave_user.sid, dave_user.password)
        apply = f'<args><group uri="{uri}" desc="me too"/></args>'
        assert (await dave.service("PGApplyGroup", apply)).status == 200
        accept = (
            f'<args><group uri="{uri}"><member uri="sip:{dave_user.sid}@columba.local"'
            ' result="1"/></group></args>'
        )
        assert (await alice.pg("PGHandleApply", accept))[0] == 200
        await dave.send_message(uri, "hi from SIP")
        for who in (alice, bob, carol):
            got = await who.next_group_message()
            assert (got.source, got.text) == (dave_user.sid, "hi from SIP")
        await bob.send_message(uri, "hi Dave")
        incoming = await dave.next_message()
        assert (incoming.sender, incoming.text) == (uri[4:].split("@")[0], "hi Dave")
        for who in (alice, carol):
            assert (await who.next_group_message()).text == "hi Dave"
        # A robot that polls, granted every message.
        status, made, _ = _http(
            server, "POST", "/api/robots", {"name": "poller", "transport": "poll"}, ADMIN_TOKEN
        )
        assert status == 201
        token = made["token"]
        group_id = int(uri[6:].split("@")[0])
        status, _, _ = _http(
            server,
            "POST",
            f"/api/groups/{group_id}/robots",
            {"robot": "poller", "read_scope": "all"},
            ADMIN_TOKEN,
        )
        assert status == 201
        status, listed, _ = _http(
            server, "GET", f"/api/groups/{group_id}/robots", None, ADMIN_TOKEN
        )
        assert {"name": "poller", "read_scope": "all"} in listed["robots"]
        await carol.send_message(uri, "anyone for lunch?")
        status, updates, _ = _http(server, "GET", "/robot/v1/updates?timeout=10", None, token)
        assert status == 200
        (event,) = [e for e in updates["events"] if e["type"] == "group.message"]
        assert event["message"]["text"] == "anyone for lunch?"
        # Answer twice with one Idempotency-Key: one message in the group.
        post = {"group_id": group_id, "text": "me!", "in_reply_to": event["event_id"]}
        first = _http(
            server, "POST", "/robot/v1/messages", post, token, **{"Idempotency-Key": "k1"}
        )
        again = _http(
            server, "POST", "/robot/v1/messages", post, token, **{"Idempotency-Key": "k1"}
        )
        assert first[0] == again[0] == 200
        assert first[1]["message_id"] == again[1]["message_id"]
        assert again[1]["duplicate"] is True
        assert (await bob.next_group_message()).text == "anyone for lunch?"
        assert (await bob.next_group_message()).text == "me!"
        # The next poll acknowledges what was read; the robot's own message is not an event.
        status, updates, _ = _http(
            server, "GET", f"/robot/v1/updates?timeout=0&offset={event['event_seq']}", None, token
        )
        assert [e for e in updates["events"] if e["type"] == "group.message"] == []
        # Flood: the burst is 5 per chat, then 429 with Retry-After.
        statuses = [
            _http(
                server,
                "POST",
                "/robot/v1/messages",
                {"group_id": group_id, "text": f"n{i}"},
                token,
                **{"Idempotency-Key": f"n{i}"},
            )
            for i in range(6)
        ]
        assert [s[0] for s in statuses[:4]] == [200] * 4
        assert statuses[5][0] == 429
        assert int(statuses[5][2]["Retry-After"]) >= 1
        # Bad token, bad body.
        assert _http(server, "POST", "/robot/v1/messages", post, "nope")[0] == 401
        # 1:1 with a robot: the built-in FAQ answers a direct message.
        status, robots, _ = _http(server, "GET", "/api/robots", None, ADMIN_TOKEN)
        faq_sid = next(r["sid"] for r in robots["robots"] if r["name"] == "faq")
        await alice.send_message(faq_sid, "how many people can be in a group?")
        answer = await alice.next_message(within=30)
        assert (answer.sender, "150" in answer.text) == (faq_sid, True)
        # A robot on a WebSocket (no public URL): events pushed, acknowledged, answered.
        status, made, _ = _http(
            server, "POST", "/api/robots", {"name": "sock", "transport": "websocket"}, ADMIN_TOKEN
        )
        assert status == 201
        sock = Bot(
            "sock",
            signing_secret=made["signing_secret"],
            api=HttpApi(server.addresses["http"], made["token"]),
        )

        @sock.command("sock")
        async def answer(ctx: Context) -> None:
            await ctx.reply(f"sock: {ctx.args}")

        connected = asyncio.create_task(sock.serve_socket(server.addresses["http"], made["token"]))
        add = f'<args><group uri="{uri}"><robot name="sock"/></group></args>'
        assert (await alice.pg("PGAddRobot", add))[0] == 200
        await asyncio.sleep(0.5)
        while not bob.group_messages.empty():
            bob.group_messages.get_nowait()
        await alice.send_message(uri, "/sock hello")
        assert (await bob.next_group_message()).text == "/sock hello"
        assert (await bob.next_group_message(within=20)).text == "sock: hello"
        connected.cancel()
        await asyncio.gather(connected, return_exceptions=True)
        assert isinstance(sock.api, HttpApi)
        await sock.api.close()
        # A webhook URL that is not http(s) is refused.
        status, _, _ = _http(
            server,
            "POST",
            "/api/robots",
            {"name": "bad", "transport": "webhook", "webhook_url": "ftp://x"},
            ADMIN_TOKEN,
        )
        assert status == 400
        for client in (alice, bob, carol):
            await client.close()
        await dave.close()

    asyncio.run(dialog())


def _pg_presence(client: Member) -> list[list[tuple[str, str, str]]]:
    """The ``BN PGGroup`` PresenceChanged bodies the client has got so far, each as a list of
    (group uri, member sid, state); other notifications are dropped."""
    found = []
    while not client.events.empty():
        request = client.events.get_nowait()
        if request.event != "PGGroup" or b'type="PresenceChanged"' not in request.body:
            continue
        root = ET.fromstring(request.body)
        found.append(
            [
                (
                    group.get("uri", ""),
                    member.get("uri", "")[4:].split("@")[0],
                    member.get("state", ""),
                )
                for group in root.iter("group")
                for member in group.iter("member")
            ]
        )
    return found


async def _next_pg_presence(client: Member, within: float = 10.0) -> list[tuple[str, str, str]]:
    """Wait for the next PresenceChanged ``BN PGGroup``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = _pg_presence(client)
        if got:
            assert len(got) == 1, got  # one notification per change
            return got[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no PresenceChanged BN PGGroup")


async def _subscribe_pg(client: Member) -> None:
    response = await client.ask(client._request("SUB", ("N", "PGPresence"), body=b"<args/>"))
    assert response.status == 200


def test_group_presence_pushes_to_subscribed_members(server: Server) -> None:
    async def dialog() -> None:
        (alice, bob, carol), (a, b, _c), uri = await _group_of_three(server)
        # A second group Alice and Bob share: one change, one BN listing both groups.
        status, body = await alice.pg("PGCreateGroup", '<args><group name="Tea"/></args>')
        assert status == 200
        uri2 = body.split('uri="')[1].split('"')[0]
        member = f'<args><group uri="{uri2}"><member uri="sip:{b}@columba.local"/></group></args>'
        assert (await alice.pg("PGInviteMember", member))[0] == 200
        handle = f'<args><group uri="{uri2}" result="1"/></args>'
        assert (await bob.pg("PGHandleInvite", handle))[0] == 200
        dave, _d = await _member(server, "Dave", "+8613800000004")  # in no group
        await _subscribe_pg(alice)
        await _subscribe_pg(dave)
        await asyncio.sleep(0.3)
        snapshot = [entry for bn in _pg_presence(alice) for entry in bn]
        assert (uri, b, "400") in snapshot
        assert (uri2, b, "400") in snapshot
        both = sorted([(uri, b), (uri2, b)])

        def shared(got: list[tuple[str, str, str]], state: str) -> None:
            assert sorted((g, m) for g, m, _ in got) == both
            assert {s for _, _, s in got} == {state}

        # Bob sets his presence, logs out, logs in again, loses his connection.
        assert (await bob.set_presence(100)).status == 200
        shared(await _next_pg_presence(alice), "100")
        await bob.logout()
        shared(await _next_pg_presence(alice), "-1")
        bob = await _login(server, users[b])
        shared(await _next_pg_presence(alice), "400")
        assert (await bob.set_presence(400)).status == 200  # no change: no push
        await bob.close()
        shared(await _next_pg_presence(alice), "-1")
        # Alice is not told about herself; Carol did not subscribe; Dave shares no group.
        assert (await alice.set_presence(600)).status == 200
        await asyncio.sleep(0.5)
        assert _pg_presence(alice) == []
        assert _pg_presence(carol) == []
        assert _pg_presence(dave) == []
        # Alice's subscription ends with her login: after a new login, none until she asks.
        await alice.logout()
        alice = await _login(server, users[a])
        bob = await _login(server, users[b])
        await asyncio.sleep(0.5)
        assert _pg_presence(alice) == []
        await _subscribe_pg(alice)
        await asyncio.sleep(0.3)
        _pg_presence(alice)  # the snapshot
        assert (await bob.set_presence(850)).status == 200
        shared(await _next_pg_presence(alice), "850")
        for client in (alice, bob, carol, dave):
            await client.close()

    asyncio.run(dialog())
