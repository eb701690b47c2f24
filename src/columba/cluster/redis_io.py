"""The location registry's Redis I/O: a thin adapter over ``redis.asyncio``.

What is stored where is decided in :mod:`columba.cluster.layout`; this module only runs the
commands, pipelined so that each call is one round trip whatever its size. Errors are
``redis.exceptions.RedisError``; the caller (``columba.cluster.peers``) decides what a failed
call means.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence

import redis.asyncio as aioredis

from columba.cluster import layout


class RedisLocations:
    """One node's view of the shared registry: its own entries, others' lookups, notices."""

    def __init__(
        self, client: aioredis.Redis, *, namespace: str, node: str, epoch: str, lease: float
    ) -> None:
        self._redis = client
        self.keys = layout.Keys(namespace=namespace)
        self.node = node
        self.epoch = epoch
        self.lease = lease

    @classmethod
    def from_url(
        cls, url: str, *, namespace: str, node: str, epoch: str, lease: float
    ) -> RedisLocations:
        """Connect lazily to ``redis://`` / ``rediss://`` ``url``."""
        client = aioredis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        return cls(client, namespace=namespace, node=node, epoch=epoch, lease=lease)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    # -- this node ---------------------------------------------------------------------------

    async def heartbeat(self) -> str | None:
        """Refresh the node's key; returns the epoch it held before (None: it had expired)."""
        previous = await self._redis.set(
            self.keys.node(self.node), self.epoch, ex=max(1, round(self.lease)), get=True
        )
        return previous.decode() if isinstance(previous, bytes) else None

    async def forget_node(self) -> int:
        """Delete every entry this node name ever wrote (at start-up and at shutdown)."""
        users_key = self.keys.node_users(self.node)
        members = await self._redis.smembers(users_key)
        prefix = f"{self.node}/".encode()
        removed = 0
        ids = [int(m) for m in members if m.isdigit()]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in chunk:
                    pipe.hkeys(self.keys.location(user_id))
                fields = await pipe.execute()
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id, names in zip(chunk, fields, strict=True):
                    mine = [name for name in names if name.startswith(prefix)]
                    if mine:
                        pipe.hdel(self.keys.location(user_id), *mine)
                        removed += len(mine)
                await pipe.execute()
        await self._redis.delete(users_key)
        return removed

    async def leave(self) -> None:
        """Delete this node's heartbeat key (a clean stop)."""
        await self._redis.delete(self.keys.node(self.node))

    async def put(self, entries: Iterable[tuple[int, layout.Location]], *, now: float) -> None:
        """Write (or rewrite) entries of this node, each ``(user id, location)``."""
        by_user: dict[int, list[layout.Location]] = {}
        for user_id, location in entries:
            by_user.setdefault(user_id, []).append(location)
        if not by_user:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, locations in by_user.items():
                key = self.keys.location(user_id)
                pipe.hset(key, mapping={loc.field: loc.value() for loc in locations})
                ttl = max(1, round(max(loc.expires for loc in locations) - now + self.lease))
                # NX for a new hash, GT to lengthen an existing one (another node's longer
                # registration keeps the hash alive for its own entry).
                pipe.expire(key, ttl, nx=True)
                pipe.expire(key, ttl, gt=True)
            pipe.sadd(self.keys.node_users(self.node), *by_user)
            await pipe.execute()

    async def remove(self, entries: Iterable[tuple[int, str]], *, gone: Sequence[int]) -> None:
        """Delete entries ``(user id, device id)`` of this node; ``gone``: users with none left."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, device_id in entries:
                pipe.hdel(self.keys.location(user_id), f"{self.node}/{device_id}")
            if gone:
                pipe.srem(self.keys.node_users(self.node), *gone)
            await pipe.execute()

    # -- lookups -----------------------------------------------------------------------------

    async def locate(self, user_ids: Sequence[int]) -> dict[int, list[layout.Location]]:
        """The live entries of each user (two round trips however many users)."""
        if not user_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hgetall(self.keys.location(user_id))
            hashes: list[dict[bytes, bytes]] = await pipe.execute()
        nodes = sorted(set().union(*(layout.nodes_in(h) for h in hashes)))
        epochs = await self.epochs(nodes)
        now = time.time()
        return {
            user_id: layout.live_locations(entries, epochs, now=now)
            for user_id, entries in zip(user_ids, hashes, strict=True)
        }

    async def epochs(self, nodes: Sequence[str]) -> Mapping[str, str | None]:
        """The current epoch of each node (None: not alive)."""
        if not nodes:
            return {}
        values = await self._redis.mget([self.keys.node(n) for n in nodes])
        return {
            node: value.decode() if isinstance(value, bytes) else None
            for node, value in zip(nodes, values, strict=True)
        }

    # -- notices -----------------------------------------------------------------------------

    async def send(self, messages: Iterable[tuple[str | None, layout.Notice]]) -> None:
        """Publish notices, each to one node's inbox (or to every node for None)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            count = 0
            for node, notice in messages:
                channel = self.keys.everyone() if node is None else self.keys.inbox(node)
                pipe.publish(channel, layout.encode_notice(notice))
                count += 1
            if count:
                await pipe.execute()

    async def notices(self, *, on_subscribed: Callable[[], None]) -> AsyncIterator[bytes]:
        """Subscribe to this node's inbox and the everyone channel; yield each message's data.

        ``on_subscribed`` is called once the subscription is in place. Ends only by raising:
        a lost connection raises ``RedisError``/``OSError``.
        """
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.keys.inbox(self.node), self.keys.everyone())
            # SUBSCRIBE has been answered once a first read returns (None: nothing yet).
            await pubsub.get_message(timeout=5.0)
            on_subscribed()
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is not None and message.get("type") == "message":
                    data = message["data"]
                    yield data if isinstance(data, bytes) else str(data).encode()
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
