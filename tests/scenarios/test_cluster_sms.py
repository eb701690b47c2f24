"""Texts from phones in a cluster: two ``columba serve`` nodes on one PostgreSQL and one Redis
registry, only node A bound to the SMSC (the simulator). Alice is logged in on node B only.

A stranger's phone (no account) texts Alice: the text is not stored, so it cannot cross as a
wake; node A offers it to node B, whose device takes it, and no SMS goes to Alice's phone.
Bob's phone (an account) texts Alice: an IM, stored, delivered by node B. Once Alice has
logged out everywhere, the stranger's next text goes on to her phone as SMS.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from columba.client import SipcClient
from tests.scenarios.conftest import POSTGRES_URL, _pg
from tests.scenarios.harness import Server
from tests.scenarios.sms_peers import SimulatorPeer
from tests.scenarios.test_cluster import _forget_namespace, _node_config, _skip_unless_services
from tests.scenarios.test_sms_flows import _sms_config

pytestmark = pytest.mark.slow

ALICE, BOB, STRANGER = "8613800000201", "8613800000202", "8613900000209"


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Nodes a and b (not started), on a fresh schema and registry namespace."""
    _skip_unless_services()
    suffix = secrets.token_hex(4)
    schema, namespace = f"cluster_sms_{suffix}", f"scenario-sms-{suffix}"
    asyncio.run(_pg(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}search_path={schema}"
    servers = []
    for name in ("a", "b"):
        data = tmp_path / name
        data.mkdir()
        config = _node_config(f"node-{name}-{suffix}", namespace)
        servers.append(Server(data_dir=data, storage_url=url, extra_config=config))
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        asyncio.run(_pg(f"DROP SCHEMA {schema} CASCADE"))
        asyncio.run(_forget_namespace(namespace))


def test_a_text_from_a_phone_reaches_the_user_on_another_node(
    nodes: tuple[Server, Server],
) -> None:
    node_a, node_b = nodes

    async def dialog() -> None:
        peer = SimulatorPeer()
        await peer.start()
        try:
            node_a.extra_config += _sms_config(peer.port)
            await asyncio.to_thread(node_a.start)
            await asyncio.to_thread(node_b.start)
            a = node_a.add_user("Alice", "+" + ALICE)
            node_a.add_user("Bob", "+" + BOB)
            alice = await SipcClient.connect(*node_b.hostport("sipc-tcp"))
            await alice.login(a.sid, a.password)
            try:
                # The stranger's text arrives at node A; Alice's device on node B takes it.
                await peer.text_from(STRANGER, "12520" + ALICE, "hello across nodes")
                got = await alice.next_message(within=20)
                assert (got.sender, got.text) == ("+" + STRANGER, "hello across nodes")
                # Bob's phone: an IM from Bob, stored, delivered by node B.
                await peer.text_from(BOB, "12520" + ALICE, "from bob's phone")
                got = await alice.next_message(within=20)
                assert got.text == "from bob's phone"
            finally:
                await alice.close()
            # Nothing went to Alice's phone while she was online on node B.
            assert peer.smsc.handset(ALICE).inbox == []
            # Logged out everywhere (the registry forgets her device): SMS to her phone.
            await asyncio.sleep(1.0)
            await peer.text_from(STRANGER, "12520" + ALICE, "are you there")
            (sms,) = await peer.inbox(ALICE, 1, within=30)
            assert (sms.source, sms.text) == ("12520" + STRANGER, "are you there")
        finally:
            await peer.stop()

    asyncio.run(dialog())
