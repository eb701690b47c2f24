"""One node among several: its bindings in Redis, and the notices it trades with the others.

:class:`ClusterNode` is the :class:`columba.core.registry.LocationRegistry` of a scaled-out
node. The node-local :class:`~columba.core.registry.Registry` tells it of every binding added
or removed; it writes them to Redis as entries of the user's location hash (see
:mod:`columba.cluster.layout`) and refreshes them as registrations are renewed. Durable state
is PostgreSQL's: a message is stored (with a pending delivery for each of the recipient's
devices) by whichever node received it, and the recipient's other nodes are only *woken*,
with a pub/sub notice on their inbox channel; their outboxes then read the shared store,
exactly as for a local message. Presence crosses the same way: a node tells the nodes of a
user's watchers what the user's presence is *on that node*, and each node combines what it
was told with its own devices.

Resources and errors: the node owns three tasks (``run``): the *pump* (queued entry writes,
wakes and notices, sent in batches), the *heartbeat* (the node's lease, renewed entries, other
nodes' liveness) and the *listener* (the inbox subscription). A Redis error never reaches a
device's request: it is logged, the pump keeps its batch and retries with backoff, and the
listener resubscribes and then wakes every local device once, because pub/sub does not keep
what was published while it was away (the store does: nothing is lost, only late).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from columba.cluster import layout, local
from columba.cluster.redis_io import RedisLocations
from columba.core.registry import Binding
from columba.storage import NotFound

if TYPE_CHECKING:
    from columba.servers.im.server import ImServer

log = logging.getLogger(__name__)

Key = tuple[int, str]
#: Relayed notices kept while Redis cannot be reached; later ones are dropped.
MAX_QUEUED_NOTICES = 10_000
#: Redis failures, as the client raises them (a refused connection is an ``OSError``).
FAILURES = (RedisError, OSError)


class ClusterNode:
    """This node's half of the shared location registry (implements ``LocationRegistry``)."""

    def __init__(self, *, im: ImServer, redis: RedisLocations) -> None:
        self._im = im
        self._redis = redis
        self.node = redis.node
        #: Presence of users on other nodes: user → node → (epoch, value).
        self._presence: dict[int, dict[str, tuple[str, int]]] = {}
        self._to_put: dict[Key, Binding] = {}
        self._to_remove: set[Key] = set()
        self._to_wake: set[int] = set()
        #: Notices for a recipient's devices on whichever other nodes it is bound.
        self._to_relay: list[layout.Composing | layout.Tell] = []
        self._has_subscribed = False
        self._work = asyncio.Event()
        self._subscribed = asyncio.Event()
        #: Registration expiry (Unix time) last written for each local entry.
        self._written: dict[Key, float] = {}
        #: Texts from phones offered to other nodes: token → (answers, answers awaited).
        self._offers: dict[str, tuple[asyncio.Queue[bool], int]] = {}
        self._tasks: asyncio.TaskGroup | None = None

    # -- LocationRegistry: called by core, never blocks on Redis -----------------------------

    def bound(self, binding: Binding) -> None:
        key = (binding.user_id, binding.device_id)
        self._to_remove.discard(key)
        self._to_put[key] = binding
        self._work.set()

    def unbound(self, binding: Binding) -> None:
        key = (binding.user_id, binding.device_id)
        self._to_put.pop(key, None)
        self._to_remove.add(key)
        self._work.set()

    def wake_elsewhere(self, user_id: int) -> None:
        self._to_wake.add(user_id)
        self._work.set()

    def remote_presence(self, user_id: int) -> tuple[int, ...]:
        return tuple(value for _, value in self._presence.get(user_id, {}).values())

    async def presence_changed(self, user_id: int, value: int, watchers: Sequence[int]) -> None:
        try:
            now = time.time()
            await self._redis.put(
                [(b.user_id, self._location(b, now, value)) for b in self._bindings(user_id)],
                now=now,
            )
            found = await self._redis.locate(sorted({user_id, *watchers}))
        except FAILURES as exc:
            log.warning("presence not shared with other nodes", extra={"kv": {"error": str(exc)}})
            return
        # The user's presence elsewhere, afresh: this node's watchers are told next.
        self._learn(user_id, found.get(user_id, []))
        found.pop(user_id, None)
        nodes = {loc.node for locs in found.values() for loc in locs} - {self.node}
        notice = layout.PresenceChanged(
            user_id=user_id, node=self.node, epoch=self._redis.epoch, value=value
        )
        await self._send_now([(node, notice) for node in sorted(nodes)])

    async def refresh_presence(self, user_ids: Sequence[int]) -> None:
        try:
            found = await self._redis.locate(sorted(set(user_ids)))
        except FAILURES as exc:
            log.warning("presence elsewhere not read", extra={"kv": {"error": str(exc)}})
            return
        for user, locations in found.items():
            self._learn(user, locations)

    async def is_bound_elsewhere(self, user_id: int) -> bool:
        try:
            found = await self._redis.locate([user_id])
        except FAILURES as exc:
            log.warning("registry not read", extra={"kv": {"error": str(exc)}})
            return bool(self.remote_presence(user_id))  # what we were last told
        return any(loc.node != self.node for loc in found.get(user_id, []))

    def composing(self, sender_id: int, recipient_id: int, body: bytes) -> None:
        self._relay(layout.Composing(sender_id=sender_id, recipient_id=recipient_id, body=body))

    def tell(self, user_id: int, package: str, body: str) -> None:
        if len(body) > layout.MAX_TELL_CHARS:
            log.warning("notification too long to relay", extra={"kv": {"package": package}})
            return
        self._relay(layout.Tell(recipient_id=user_id, package=package, body=body))

    async def deliver_from_phone(
        self, user_id: int, phone: str, text: str, message_id: str, *, within: float
    ) -> bool:
        """Offer a text from a phone with no account to the user's devices on other nodes (a
        :class:`~columba.core.phone_text.PhoneRelay`); True if one took it within ``within``
        seconds. Not stored, so it goes straight to those nodes, which answer."""
        try:
            found = await self._redis.locate([user_id])
        except FAILURES as exc:
            log.warning("registry not read", extra={"kv": {"error": str(exc)}})
            return False
        nodes = sorted({loc.node for loc in found.get(user_id, [])} - {self.node})
        if not nodes:
            return False
        token = secrets.token_hex(8)
        answers: asyncio.Queue[bool] = asyncio.Queue()
        self._offers[token] = (answers, len(nodes))
        notice = layout.PhoneText(
            recipient_id=user_id,
            phone=phone,
            text=text,
            message_id=message_id,
            reply_to=self.node,
            token=token,
        )
        try:
            await self._redis.send([(node, notice) for node in nodes])
            async with asyncio.timeout(within + 1.0):  # the nodes' own wait, and the trip
                for _ in nodes:
                    if await answers.get():
                        return True
        except FAILURES as exc:
            log.warning("phone text not offered elsewhere", extra={"kv": {"error": str(exc)}})
        except TimeoutError:
            log.info("phone text: no answer from other nodes", extra={"kv": {"user": user_id}})
        finally:
            del self._offers[token]
        return False

    async def _offer_here(self, notice: layout.PhoneText) -> None:
        """Another node's text from a phone, to this node's devices of the user; answered."""
        is_taken = False
        with _logged("phone text"):
            is_taken = await local.phone_text(self._im, notice)
        answer = layout.PhoneTextTaken(token=notice.token, is_taken=is_taken)
        await self._send_now([(notice.reply_to, answer)])

    def _relay(self, notice: layout.Composing | layout.Tell) -> None:
        if len(self._to_relay) >= MAX_QUEUED_NOTICES:
            # Redis has been away for a while: notices are ephemeral (the store is not).
            log.warning("registry notice dropped", extra={"kv": {"queued": MAX_QUEUED_NOTICES}})
            return
        self._to_relay.append(notice)
        self._work.set()

    # -- lifetime ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Claim the node's name, drop a previous life's entries, subscribe to the inbox.

        Raises ``RedisError``/``OSError`` when Redis cannot be reached (the node does not
        start without its registry).
        """
        previous = await self._redis.heartbeat()
        if previous is not None:
            log.warning(
                "another live node may be using this node name; its entries are replaced",
                extra={"kv": {"node": self.node}},
            )
        removed = await self._redis.forget_node()
        if removed:
            log.info("dropped stale registry entries", extra={"kv": {"count": removed}})

    async def run(self) -> None:
        """Run the pump, the heartbeat and the listener until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._tasks = group
            group.create_task(self._listen())
            group.create_task(self._pump())
            group.create_task(self._heartbeat())

    async def wait_subscribed(self, within: float = 10.0) -> None:
        """Wait until the inbox subscription is in place (raises ``TimeoutError``)."""
        await asyncio.wait_for(self._subscribed.wait(), within)

    async def stop(self) -> None:
        """A clean stop: remove this node's entries and lease, close the connections."""
        try:
            await self._redis.forget_node()
            await self._redis.leave()
        except FAILURES as exc:
            log.warning("registry entries left to expire", extra={"kv": {"error": str(exc)}})
        finally:
            await self._redis.close()

    # -- the pump ----------------------------------------------------------------------------

    async def _pump(self) -> None:
        backoff = 0.1
        while True:
            await self._work.wait()
            self._work.clear()
            puts, self._to_put = self._to_put, {}
            removes, self._to_remove = self._to_remove, set()
            wakes, self._to_wake = self._to_wake, set()
            relays, self._to_relay = self._to_relay, []
            try:
                await self._flush(puts, removes, wakes, relays)
                backoff = 0.1
            except FAILURES as exc:
                log.warning("registry update failed; retrying", extra={"kv": {"error": str(exc)}})
                # Keep what was not done (newer changes win), and try again later.
                self._to_put = {**puts, **self._to_put}
                self._to_remove |= removes - set(self._to_put)
                self._to_wake |= wakes
                self._to_relay[:0] = relays
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._work.set()

    async def _flush(
        self,
        puts: dict[Key, Binding],
        removes: set[Key],
        wakes: set[int],
        relays: list[layout.Composing | layout.Tell],
    ) -> None:
        now = time.time()
        active = [b for b in puts.values() if b.is_active]
        if active:
            await self._redis.put([(b.user_id, self._location(b, now)) for b in active], now=now)
            for binding in active:
                self._written[(binding.user_id, binding.device_id)] = self._expires(binding, now)
        if removes:
            gone = sorted({user for user, _ in removes if not self._im.registry.bindings(user)})
            await self._redis.remove(sorted(removes), gone=gone)
            for key in removes:
                self._written.pop(key, None)
        for binding in active:
            # The entry is visible now: messages stored from here on wake this device through
            # the inbox; one more read of the store catches what was stored just before.
            binding.wake.set()
        out: list[tuple[str | None, layout.Notice]] = []
        if active:
            out += [
                (None, layout.DeviceAdded(user_id=b.user_id, device_id=b.device_id)) for b in active
            ]
        # Multi-device policy "replace": a login here ends the user's logins on other nodes.
        replacing = (
            {b.user_id: b for b in active} if self._im.config.multi_device == "replace" else {}
        )
        found = await self._redis.locate(
            sorted(wakes | {n.recipient_id for n in relays} | set(replacing))
        )
        remote = {user: {loc.node for loc in locs} - {self.node} for user, locs in found.items()}
        offset = now - time.monotonic()
        for user, binding in replacing.items():
            push = layout.PushOut(user_id=user, since=binding.registered_at + offset)
            out += [(node, push) for node in sorted(remote.get(user, ()))]
        for notice in relays:
            out += [(node, notice) for node in sorted(remote.get(notice.recipient_id, ()))]
        by_node: dict[str, list[int]] = {}
        for user in wakes:
            for node in remote.get(user, ()):
                by_node.setdefault(node, []).append(user)
        for node, users in sorted(by_node.items()):
            for start in range(0, len(users), layout.MAX_WAKE_USERS):
                chunk = tuple(users[start : start + layout.MAX_WAKE_USERS])
                out.append((node, layout.Wake(user_ids=chunk)))
        await self._redis.send(out)

    async def _send_now(self, messages: list[tuple[str | None, layout.Notice]]) -> None:
        try:
            await self._redis.send(messages)
        except FAILURES as exc:
            log.warning("notice not sent", extra={"kv": {"error": str(exc)}})

    # -- the heartbeat -----------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = max(1.0, self._redis.lease / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._beat()
            except FAILURES as exc:
                log.warning("registry heartbeat failed", extra={"kv": {"error": str(exc)}})

    async def _beat(self) -> None:
        previous = await self._redis.heartbeat()
        now = time.time()
        renewed = []
        seen: set[Key] = set()
        for binding in self._im.registry.all():
            key = (binding.user_id, binding.device_id)
            seen.add(key)
            expires = self._expires(binding, now)
            written = self._written.get(key)
            # The lease lapsed (Redis restarted, or we stalled): write everything again.
            if previous != self._redis.epoch or written is None or abs(written - expires) > 1:
                renewed.append(binding)
        if renewed:
            await self._redis.put([(b.user_id, self._location(b, now)) for b in renewed], now=now)
            for binding in renewed:
                self._written[(binding.user_id, binding.device_id)] = self._expires(binding, now)
        for key in set(self._written) - seen:
            del self._written[key]
        await self._forget_dead_nodes()

    async def _forget_dead_nodes(self) -> None:
        nodes = sorted({node for values in self._presence.values() for node in values})
        if not nodes:
            return
        epochs = await self._redis.epochs(nodes)
        changed = []
        for user, values in list(self._presence.items()):
            alive = {n: v for n, v in values.items() if epochs.get(n) == v[0]}
            if alive != values:
                self._set_presence(user, alive)
                changed.append(user)
        for user in changed:
            await self._presence_here(user)

    # -- the listener ------------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                async for data in self._redis.notices(on_subscribed=self._on_subscribed):
                    backoff = 0.1
                    with _logged("registry notice"):
                        await self._handle(data)
            except FAILURES as exc:
                log.warning("registry subscription lost", extra={"kv": {"error": str(exc)}})
            self._subscribed.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_subscribed(self) -> None:
        if self._has_subscribed:
            self._catch_up()
        self._has_subscribed = True
        self._subscribed.set()

    def _catch_up(self) -> None:
        """After a lost subscription: every local device reads the store once more."""
        for binding in self._im.registry.all():
            binding.wake.set()

    async def _handle(self, data: bytes) -> None:
        try:
            notice = layout.decode_notice(data)
        except layout.BadNotice as exc:
            log.warning("bad registry notice", extra={"kv": {"reason": str(exc)}})
            return
        if isinstance(notice, layout.Wake):
            local.wake(self._im, notice.user_ids)
        elif isinstance(notice, layout.DeviceAdded):
            self._im.delivery.device_added(notice.user_id, notice.device_id)
        elif isinstance(notice, layout.PresenceChanged):
            if notice.node == self.node:
                return
            values = dict(self._presence.get(notice.user_id, {}))
            if notice.value == layout.OFFLINE:
                values.pop(notice.node, None)
            else:
                values[notice.node] = (notice.epoch, notice.value)
            self._set_presence(notice.user_id, values)
            await self._presence_here(notice.user_id)
        elif isinstance(notice, layout.Tell):
            await local.tell(self._im, notice)
        elif isinstance(notice, layout.PushOut):
            await local.push_out(self._im, notice)
        elif isinstance(notice, layout.PhoneText):
            # The devices get seconds to answer: not on the listener's time.
            if self._tasks is not None:
                self._tasks.create_task(self._offer_here(notice))
        elif isinstance(notice, layout.PhoneTextTaken):
            offer = self._offers.get(notice.token)
            if offer is not None:
                offer[0].put_nowait(notice.is_taken)
        else:
            await local.composing(self._im, notice)

    async def _presence_here(self, user_id: int) -> None:
        """Tell this node's watchers of a user whose presence elsewhere changed."""
        try:
            account = await self._im.account(user_id)
        except NotFound:
            return
        with _logged("presence notification"):
            await self._im.presence.changed(account, relay=False)

    # -- helpers -----------------------------------------------------------------------------

    def _learn(self, user_id: int, locations: Sequence[layout.Location]) -> bool:
        """Replace what we know of a user's presence elsewhere; True if it changed."""
        values = {
            loc.node: (loc.epoch, loc.presence)
            for loc in locations
            if loc.node != self.node and loc.presence != layout.OFFLINE
        }
        if values == self._presence.get(user_id, {}):
            return False
        self._set_presence(user_id, values)
        return True

    def _set_presence(self, user_id: int, values: dict[str, tuple[str, int]]) -> None:
        if values:
            self._presence[user_id] = values
        else:
            self._presence.pop(user_id, None)

    def _bindings(self, user_id: int) -> list[Binding]:
        return [b for b in self._im.registry.bindings(user_id) if b.is_active]

    @staticmethod
    def _expires(binding: Binding, now: float) -> float:
        return round(now + (binding.expires_at - time.monotonic()))

    def _location(self, binding: Binding, now: float, value: int | None = None) -> layout.Location:
        if value is None:
            value = self._im.presence.state(binding.user_id, local_only=True)
        return layout.Location(
            node=self.node,
            device_id=binding.device_id,
            epoch=self._redis.epoch,
            dialect=binding.dialect.value,
            expires=self._expires(binding, now),
            presence=value,
        )


def new_epoch() -> str:
    """A value that tells this life of a node from its previous ones."""
    return secrets.token_hex(6)


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    try:
        yield None
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception:
        log.exception(f"{what} failed")
