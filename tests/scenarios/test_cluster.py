"""Two ``columba serve`` nodes sharing PostgreSQL and the Redis location registry.

Alice uses SIP-C over TCP on node A; Bob uses SIP over UDP on node B. Each node knows only its
own connections; what crosses between them is the shared store and the registry's notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from columba.client import SipcClient, SipClient
from columba.client.base import UdpTransport
from columba.protocol.sip.message import Request
from tests.scenarios.conftest import POSTGRES_URL, _pg
from tests.scenarios.harness import Server, User

pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("COLUMBA_TEST_REDIS_URL", "")
LEASE = 5


def _skip_unless_services() -> None:
    """Skip (with the reason) unless PostgreSQL and Redis are configured and Redis answers."""
    if not POSTGRES_URL or not REDIS_URL:
        pytest.skip(
            "COLUMBA_TEST_POSTGRES_URL and COLUMBA_TEST_REDIS_URL must both be set: "
            "cluster scenarios skipped"
        )
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis at COLUMBA_TEST_REDIS_URL is unreachable ({exc}): skipped")
    finally:
        client.close()


class Cluster:
    """Nodes ``a`` and ``b`` on one database schema and one registry namespace."""

    def __init__(self, a: Server, b: Server, namespace: str) -> None:
        self.a = a
        self.b = b
        self.namespace = namespace


def _node_config(name: str, namespace: str, redis_url: str = REDIS_URL) -> str:
    return f"""
[server]
node_name = "{name}"
[registry]
url = "{redis_url}"
namespace = "{namespace}"
lease_seconds = {LEASE}
"""


@contextlib.contextmanager
def _cluster(tmp_path: Path, extra: str = "") -> Iterator[Cluster]:
    """Nodes a and b on a fresh schema and registry namespace, stopped and removed after."""
    _skip_unless_services()
    suffix = secrets.token_hex(4)
    schema = f"cluster_{suffix}"
    namespace = f"scenario-{suffix}"
    asyncio.run(_pg(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}search_path={schema}"
    nodes = []
    try:
        for name in ("a", "b"):
            data = tmp_path / name
            data.mkdir()
            node = Server(
                data_dir=data,
                storage_url=url,
                extra_config=_node_config(f"node-{name}-{suffix}", namespace) + extra,
            )
            nodes.append(node)
            node.start()
        yield Cluster(nodes[0], nodes[1], namespace)
    finally:
        for node in nodes:
            node.stop()
        asyncio.run(_pg(f"DROP SCHEMA {schema} CASCADE"))
        asyncio.run(_forget_namespace(namespace))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with _cluster(tmp_path) as nodes:
        yield nodes


async def _forget_namespace(namespace: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class WatchingSipClient(SipClient):
    """A SIP client that also keeps the "is composing" notices it is sent."""

    def __init__(self, transport: UdpTransport, *, domain: str, transport_name: str) -> None:
        super().__init__(transport, domain=domain, transport_name=transport_name)
        self.composing: asyncio.Queue[Request] = asyncio.Queue()

    async def on_request(self, request: Request) -> None:
        ctype = request.content_type
        if ctype is not None and ctype.mime == "application/im-iscomposing+xml":
            self.composing.put_nowait(request)
        await super().on_request(request)


async def _connect_bob(node: Server) -> WatchingSipClient:
    transport = await UdpTransport.open(*node.hostport("sip-udp"))
    return WatchingSipClient(transport, domain="columba.local", transport_name="UDP")


async def _exchange(
    alice: SipcClient, bob: SipClient, a: User, b: User, count: int, tag: str
) -> None:
    """``count`` messages each way at once: each arrives once, in order."""
    sent_ab = [f"{tag} a→b {i} 你好" for i in range(count)]
    sent_ba = [f"{tag} b→a {i}" for i in range(count)]

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


def test_alice_on_node_a_and_bob_on_node_b_see_presence_and_chat(cluster: Cluster) -> None:
    async def dialog() -> None:
        a = cluster.a.add_user("Alice", "+8613800000101")
        b = cluster.a.add_user("Bob", "+8613800000102")
        alice = await SipcClient.connect(*cluster.a.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        await alice.subscribe_presence()
        bob = await _connect_bob(cluster.b)
        await bob.register(b.sid, b.password)
        # Alice asks on node A; Bob accepts on node B; Alice sees Bob online across nodes.
        assert (await alice.add_contact(b.sid)).status == 200
        accept = (
            f'<args><contacts><buddies><buddy user-id="{alice.user_id}" result="1"/>'
            "</buddies></contacts></args>"
        )
        assert (await bob.service("HandleContactRequestV4", accept)).status == 200
        update = await alice.next_presence()
        assert (update.sid, update.value) == (b.sid, 400)
        # Bob subscribes (RFC 3856) on node B to Alice on node A, and sees her change.
        await bob.subscribe(a.sid)
        assert (await bob.next_presence()).value == 400
        await alice.set_presence(600)
        assert (await bob.next_presence()).value == 600
        # Alice's "is composing" notice crosses too (never stored).
        composing = (
            '<?xml version="1.0"?><isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">'
            "<state>active</state></isComposing>"
        )
        await alice.send_message(b.sid, composing, content_type="application/im-iscomposing+xml")
        notice = await asyncio.wait_for(bob.composing.get(), 10)
        assert b"<state>active</state>" in notice.body
        # Messages both ways at once, each exactly once, in order.
        await _exchange(alice, bob, a, b, 300, "first")
        await asyncio.sleep(0.5)
        assert alice.messages.empty()
        assert bob.messages.empty()
        await alice.close()
        await bob.close()

    asyncio.run(dialog())


def test_node_b_dies_and_bob_gets_what_he_missed_on_node_a(cluster: Cluster) -> None:
    async def dialog() -> None:
        a = cluster.a.add_user("Alice", "+8613800000111")
        b = cluster.a.add_user("Bob", "+8613800000112")
        alice = await SipcClient.connect(*cluster.a.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        await alice.subscribe_presence()
        bob = await _connect_bob(cluster.b)
        await bob.register(b.sid, b.password)
        assert (await alice.add_contact(b.sid)).status == 200
        accept = (
            f'<args><contacts><buddies><buddy user-id="{alice.user_id}" result="1"/>'
            "</buddies></contacts></args>"
        )
        assert (await bob.service("HandleContactRequestV4", accept)).status == 200
        assert (await alice.next_presence()).value == 400
        await _exchange(alice, bob, a, b, 50, "before")
        # Node B crashes: no goodbye to anyone.
        cluster.b.stop(kill=True)
        texts = [f"while B was down {i}" for i in range(100)]
        for text in texts:
            await alice.send_message(b.sid, text)
        # Node B's lease runs out: Alice sees Bob offline.
        update = await alice.next_presence(within=4 * LEASE)
        assert (update.sid, update.value) == (b.sid, 0)
        # Bob's phone registers again, on node A, as the same device.
        bob2 = await _connect_bob(cluster.a)
        bob2.instance = bob.instance
        bob2.seen |= bob.seen
        await bob2.register(b.sid, b.password)
        got = [(await bob2.next_message(within=30)).text for _ in texts]
        assert got == texts
        assert (await alice.next_presence()).value == 400
        await _exchange(alice, bob2, a, b, 50, "after")
        await asyncio.sleep(0.5)
        assert bob2.messages.empty()
        assert alice.messages.empty()
        await bob.close()
        await alice.close()
        await bob2.close()

    asyncio.run(dialog())


def test_a_contact_request_and_its_answer_cross_nodes(cluster: Cluster) -> None:
    async def dialog() -> None:
        a = cluster.a.add_user("Alice", "+8613800000121")
        c = cluster.b.add_user("Carol", "+8613800000123")
        alice = await SipcClient.connect(*cluster.a.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        await alice.subscribe_presence()
        carol = await SipcClient.connect(*cluster.b.hostport("sipc-tcp"))
        await carol.login(c.sid, c.password)
        await carol.subscribe_presence()
        # Alice (node A) asks; Carol's phone on node B is told at once [018].
        assert (await alice.add_contact(c.sid)).status == 200
        request = await carol.next_contact_request()
        assert request["sid"] == a.sid
        # Carol accepts on node B: each sees the other online.
        assert (await carol.answer_contact(request["user_id"])).status == 200
        assert (await alice.next_presence()).sid == c.sid
        assert (await carol.next_presence()).sid == a.sid
        # Carol logs out: Alice on the other node sees her offline.
        await carol.logout()
        update = await alice.next_presence()
        assert (update.sid, update.value) == (c.sid, 0)
        await alice.close()
        await carol.close()

    asyncio.run(dialog())


def test_with_replace_a_login_on_one_node_pushes_out_the_device_on_the_other(
    tmp_path: Path,
) -> None:
    with _cluster(tmp_path, '[login]\nmulti_device = "replace"\n') as nodes:

        async def dialog() -> None:
            d = nodes.a.add_user("Dave", "+8613800000131")
            old = await SipcClient.connect(*nodes.b.hostport("sipc-tcp"), machine_code="OLD-PC")
            await old.login(d.sid, d.password)
            new = await SipcClient.connect(*nodes.a.hostport("sipc-tcp"), machine_code="NEW-PC")
            await new.login(d.sid, d.password)
            # The older login, on the other node, is told it was deregistered [fetion-sipc §2.5].
            while True:
                event = await asyncio.wait_for(old.events.get(), 10)
                if event.event == "registration":
                    break
            assert b"deregistered" in event.body
            await new.close()
            await old.close()

        asyncio.run(dialog())


def test_a_redis_registry_needs_postgresql(tmp_path: Path) -> None:
    _skip_unless_services()
    node = Server(
        data_dir=tmp_path,
        storage_url=f"sqlite:///{tmp_path / 'columba.db'}",
        extra_config=_node_config("lonely", "scenario-" + secrets.token_hex(4)),
    )
    with pytest.raises(RuntimeError, match="must be PostgreSQL"):
        node.start()
    node.stop()


def test_a_node_does_not_start_without_its_registry(tmp_path: Path) -> None:
    _skip_unless_services()
    schema = "cluster_" + secrets.token_hex(4)
    asyncio.run(_pg(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    node = Server(
        data_dir=tmp_path,
        storage_url=f"{POSTGRES_URL}{separator}search_path={schema}",
        extra_config=_node_config("orphan", "scenario-x", "redis://127.0.0.1:1/0"),
    )
    try:
        with pytest.raises(RuntimeError, match="location registry unreachable"):
            node.start()
    finally:
        node.stop()
        asyncio.run(_pg(f"DROP SCHEMA {schema} CASCADE"))
