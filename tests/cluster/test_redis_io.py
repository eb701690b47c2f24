"""The location registry's Redis adapter against a real Redis (``COLUMBA_TEST_REDIS_URL``)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from columba.cluster import layout
from columba.cluster.redis_io import RedisLocations

REDIS_URL = os.environ.get("COLUMBA_TEST_REDIS_URL", "")

pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="COLUMBA_TEST_REDIS_URL is not set: Redis registry tests skipped"
)


@pytest.fixture(autouse=True, scope="module")
def _redis_answers() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis at COLUMBA_TEST_REDIS_URL is unreachable ({exc}): skipped")
    finally:
        client.close()


Factory = Callable[[str], Awaitable[RedisLocations]]


def _run(test: Callable[[Factory], Awaitable[None]]) -> None:
    """Run ``test`` with a factory of nodes in a fresh namespace, removed afterwards."""
    namespace = "test-" + secrets.token_hex(6)

    async def main() -> None:
        nodes: list[RedisLocations] = []

        async def node(name: str) -> RedisLocations:
            found = RedisLocations.from_url(
                REDIS_URL, namespace=namespace, node=name, epoch=secrets.token_hex(4), lease=5
            )
            nodes.append(found)
            await found.heartbeat()
            return found

        try:
            await test(node)
        finally:
            if nodes:
                client = nodes[0]._redis
                keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
                if keys:
                    await client.delete(*keys)
            for found in nodes:
                await found.close()

    asyncio.run(main())


def _device(
    node: RedisLocations, device: str, *, expires: float, presence: int = 400
) -> layout.Location:
    return layout.Location(
        node=node.node,
        device_id=device,
        epoch=node.epoch,
        dialect="sip",
        expires=expires,
        presence=presence,
    )


def test_a_users_devices_on_two_nodes_are_found_until_removed() -> None:
    async def test(node: Factory) -> None:
        a, b = await node("a"), await node("b")
        now = time.time()
        await a.put([(7, _device(a, "phone", expires=now + 600))], now=now)
        await b.put([(7, _device(b, "pc", expires=now + 60, presence=600))], now=now)
        found = await a.locate([7, 8])
        assert sorted((loc.node, loc.device_id, loc.presence) for loc in found[7]) == [
            ("a", "phone", 400),
            ("b", "pc", 600),
        ]
        assert found[8] == []
        # The hash lives as long as its longest registration (plus the lease).
        ttl = await a._redis.ttl(a.keys.location(7))
        assert 600 < ttl <= 605
        await b.remove([(7, "pc")], gone=[7])
        assert [loc.node for loc in (await a.locate([7]))[7]] == ["a"]

    _run(test)


def test_a_dead_or_restarted_nodes_entries_no_longer_count() -> None:
    async def test(node: Factory) -> None:
        a, b = await node("a"), await node("b")
        now = time.time()
        await b.put([(1, _device(b, "pc", expires=now + 600))], now=now)
        assert len((await a.locate([1]))[1]) == 1
        await b.leave()  # as if its lease ran out
        assert (await a.locate([1]))[1] == []
        assert (await a.epochs(["a", "b"])) == {"a": a.epoch, "b": None}
        # Restarted under the same name: a new epoch, and the old entries are dropped.
        b2 = await node("b")
        assert (await a.locate([1]))[1] == []
        assert await b2.forget_node() == 1
        assert await b2._redis.hlen(b2.keys.location(1)) == 0

    _run(test)


def test_heartbeat_reports_the_previous_epoch() -> None:
    async def test(node: Factory) -> None:
        a = await node("a")
        assert await a.heartbeat() == a.epoch
        await a.leave()
        assert await a.heartbeat() is None
        assert 0 < await a._redis.ttl(a.keys.node("a")) <= 5

    _run(test)


def test_notices_reach_the_named_node_and_everyone() -> None:
    async def test(node: Factory) -> None:
        a, b = await node("a"), await node("b")
        subscribed = asyncio.Event()
        received: list[layout.Notice] = []

        async def listen() -> None:
            stream: AsyncIterator[bytes] = b.notices(on_subscribed=subscribed.set)
            async for data in stream:
                received.append(layout.decode_notice(data))
                if len(received) == 2:
                    return

        task = asyncio.create_task(listen())
        await asyncio.wait_for(subscribed.wait(), 5)
        await a.send(
            [
                ("c", layout.Wake(user_ids=(9,))),  # another node's inbox: not for b
                ("b", layout.Wake(user_ids=(1, 2))),
                (None, layout.DeviceAdded(user_id=1, device_id="pc")),
            ]
        )
        await asyncio.wait_for(task, 5)
        assert received == [
            layout.Wake(user_ids=(1, 2)),
            layout.DeviceAdded(user_id=1, device_id="pc"),
        ]

    _run(test)
