"""Several ``columba serve`` nodes for ``bench/connections.py --nodes K``.

Each node is a :class:`_server.Server` process with a ``[server] node_name`` of its own and the
Redis location registry (``[registry] url``) under a namespace used by this run only; they share
one PostgreSQL schema. Accounts are made through every node's admin API at once (each node
hashes the passwords it is given), and the namespace's keys are deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import _server

#: Where ``scripts/test`` finds Redis; ``--redis-url`` or the variable override it.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url(given: str | None) -> str:
    """``--redis-url``, else ``COLUMBA_TEST_REDIS_URL``, else the local default."""
    return given or os.environ.get("COLUMBA_TEST_REDIS_URL") or DEFAULT_REDIS_URL


@dataclass
class NodeServer(_server.Server):
    """One node of the cluster: a server whose configuration joins the Redis registry."""

    node_name: str = "node-0"
    redis: str = DEFAULT_REDIS_URL
    namespace: str = "bench"
    lease_seconds: int = 30

    def _server_settings(self) -> str:
        return f'node_name = "{self.node_name}"'

    def _config(self) -> Path:
        path = super()._config()
        path.write_text(
            path.read_text()
            + f"""
[registry]
url = "{self.redis}"
namespace = "{self.namespace}"
lease_seconds = {self.lease_seconds}
"""
        )
        return path


def create_accounts(
    nodes: Sequence[_server.Server],
    count: int,
    *,
    threads: int = 8,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[_server.Account], float]:
    """``count`` accounts, the i-th made by node ``i % len(nodes)``; with the seconds taken."""
    tag = f"{secrets.randbelow(1000):03d}"
    started = time.monotonic()
    done = 0
    accounts = []
    with ThreadPoolExecutor(threads) as pool:
        made = pool.map(lambda i: nodes[i % len(nodes)].create_account(i, tag=tag), range(count))
        for account in made:
            accounts.append(account)
            done += 1
            if progress is not None:
                progress(done)
    return accounts, time.monotonic() - started


def redis_memory(url: str) -> int:
    """Bytes Redis uses for data (``INFO memory`` ``used_memory``)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def namespace_keys(url: str, namespace: str) -> int:
    """How many keys the run's namespace holds."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{namespace}:*", count=1000))
    finally:
        client.close()


def forget_namespace(url: str, namespace: str) -> None:
    """Delete the run's keys."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        batch = []
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()


async def cross_node_message(
    sender_node: _server.Server,
    receiver_node: _server.Server,
    sender: _server.Account,
    receiver: _server.Account,
    count: int,
) -> list[float]:
    """Seconds for SIP-C messages, one at a time, from a device on one node to one on another."""
    from columba.client.sipc import SipcClient

    alice = await SipcClient.connect(*sender_node.hostport("sipc-tcp"))
    bob = await SipcClient.connect(*receiver_node.hostport("sipc-tcp"))
    try:
        await alice.login(sender.sid, sender.password)
        await bob.login(receiver.sid, receiver.password)
        await asyncio.sleep(1.0)  # both logins settled in the registry
        seconds = []
        for _ in range(count):
            text = "across nodes " + secrets.token_hex(4)
            started = time.monotonic()
            await alice.send_message(receiver.sid, text)
            while (await bob.next_message(within=30)).text != text:
                pass
            seconds.append(time.monotonic() - started)
        return seconds
    finally:
        await alice.logout()
        await bob.logout()
        await alice.close()
        await bob.close()


def time_cross_node(
    nodes: Sequence[_server.Server],
    sender: _server.Account,
    receiver: _server.Account,
    count: int = 10,
) -> list[float]:
    """Messages from node 0 to node 1, one at a time (seconds each)."""
    return asyncio.run(cross_node_message(nodes[0], nodes[1], sender, receiver, count))


def time_same_node(
    nodes: Sequence[_server.Server],
    sender: _server.Account,
    receiver: _server.Account,
    count: int = 10,
) -> list[float]:
    """The baseline: messages between two devices on node 0 (seconds each)."""
    return asyncio.run(cross_node_message(nodes[0], nodes[0], sender, receiver, count))
