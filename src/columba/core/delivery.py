"""Store before deliver; deliver to every device; forget only what a device acknowledged.

``submit`` stores a message (server id + per-conversation sequence number, idempotent on the
sender's retransmissions) with a pending delivery for every known device of the recipient.
Each online device has one outbox task (owned by its connection) that sends what is pending,
in order, and acknowledges each message in the store when the device answers 200. A device
that was offline, or whose link died before answering, gets the rest when it next registers:
nothing is lost, and a client drops a redelivered message by its id (``XI``), so each is
shown once.

With the group committer running (``run_committer``, as every node does), the hot path is one
transaction per loop tick for everyone: the messages submitted since the last commit and the
acks the devices gave meanwhile (``Store.commit_batch``). A message committed for a device on
a reliable link is handed to its outbox in memory, in commit order (``core.outbox``); the
store is read only when an outbox starts or recovers. A device's acks are committed before
its outbox reads the store again, so an acknowledged message is never sent twice by us.
Devices on UDP keep the simple loop: wake, read the store, send one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import cast

from columba.core import outbound
from columba.core.coalesce import Batcher, Coalescer
from columba.core.outbox import Outbox, RequestLink
from columba.core.registry import Binding, Registry
from columba.storage import Account, DeviceAck, NewMessage, Recipient, Store, StoredMessage

log = logging.getLogger(__name__)

#: Told the outcome of a queued message's commit: the stored message, or the error.
Settle = Callable[[StoredMessage | None, BaseException | None], None]
#: What waits for a commit: the future of ``submit``, or the callback of ``queue``.
Waiter = asyncio.Future[StoredMessage] | Settle


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    """Delivery timing; see ``[delivery]`` in the configuration."""

    ack_timeout: float = 32.0
    window: int = 32
    retry_base: float = 1.0
    retry_max: float = 300.0


class DeliveryService:
    """Stores messages and runs device outboxes."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        domain: str,
        config: DeliveryConfig = DeliveryConfig(),
        on_delivered: Callable[[float], None] | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._domain = domain
        self._config = config
        self._on_delivered = on_delivered
        # Called once a submitted message has its place in the commit queue: the connection
        # may then read its next request while this one waits for the commit (order is kept:
        # the queue is committed, handed over and answered in order).
        self._on_queued = on_queued
        self._waiting: list[tuple[NewMessage, Waiter]] = []
        self._acks: list[DeviceAck] = []
        self._barriers: list[asyncio.Future[None]] = []
        self._work = asyncio.Event()
        self._outboxes: dict[Binding, Outbox] = {}
        self._committing = False
        # Caches for the hot path. A single node owns its users' logins, so it sees every
        # device registration; scaled out, these move behind the location registry.
        self._device_cache: dict[int, tuple[str, ...]] = {}
        self._conversations: dict[tuple[int, int], int] = {}
        # Concurrent misses of one key share one store call (see ``core.coalesce``).
        self._device_reads: Coalescer[int, tuple[str, ...]] = Coalescer(
            self._device_cache.__setitem__
        )
        # New pairs are created many to a transaction (see ``core.coalesce``).
        self._conversation_reads: Batcher[tuple[int, int], int] = Batcher(
            self._pairs, self._conversations.__setitem__
        )
        self._sids: dict[int, str] = {}
        #: Conversations that are groups (filled by the group server): their messages reach
        #: devices from the group's URI, with the sender in ``SO``.
        self.group_conversations: set[int] = set()

    async def submit(
        self,
        *,
        sender: Account,
        recipient: Account,
        content_type: str,
        body: bytes,
        client_key: str,
    ) -> StoredMessage:
        """Store a 1:1 message and wake the recipient's devices.

        Returns the stored message; ``is_duplicate`` is set when this was a retransmission of
        one already stored (it is then not delivered again).
        """
        prepare = partial(
            self.prepare,
            sender=sender,
            recipient=recipient,
            content_type=content_type,
            body=body,
            client_key=client_key,
        )
        # The caches answer the hot path without a coroutine call each.
        new = prepare()
        if new is None:  # fill them from the store, then the same
            await self._conversation(sender.user_id, recipient.user_id)
            await self._devices_of(recipient.user_id)
            new = prepare()
            assert new is not None
        self._sids[sender.user_id] = sender.sid
        if self._committing:
            # The committer hands the message to the recipient's outboxes.
            future: asyncio.Future[StoredMessage] = asyncio.get_running_loop().create_future()
            self._waiting.append((new, future))
            self._work.set()
            if self._on_queued is not None:
                self._on_queued()
            stored = await future
        else:
            stored = (await self._store.store_messages([new]))[0]
            if not stored.is_duplicate:
                for binding in self._registry.bindings(recipient.user_id):
                    binding.wake.set()
        if not stored.is_duplicate:
            # Scaled out: the recipient's devices on other nodes read the shared store too.
            self._registry.wake_elsewhere(recipient.user_id)
        return stored

    @property
    def is_committing(self) -> bool:
        """True while the group committer runs (``queue`` may be used)."""
        return self._committing

    def prepare(
        self,
        *,
        sender: Account,
        recipient: Account,
        content_type: str,
        body: bytes,
        client_key: str,
    ) -> NewMessage | None:
        """The message ``submit`` would store, from the caches alone (None on a cache miss:
        use ``submit``, which fills them)."""
        sender_id, recipient_id = sender.user_id, recipient.user_id
        key = (sender_id, recipient_id) if sender_id < recipient_id else (recipient_id, sender_id)
        conversation = self._conversations.get(key)
        devices = self._device_cache.get(recipient_id)
        if conversation is None or devices is None:
            return None
        return NewMessage(
            conversation_id=conversation,
            sender_id=sender_id,
            recipients=(Recipient(user_id=recipient_id, devices=devices),),
            content_type=content_type,
            body=body,
            client_key=client_key,
        )

    def queue(self, new: NewMessage, sender_sid: str, settle: Settle) -> None:
        """``submit`` without a coroutine: put a prepared 1:1 message in the commit queue.

        ``settle(stored, None)`` runs once it is committed and handed to the recipient's
        outboxes (``stored.is_duplicate`` for a retransmission), ``settle(None, error)`` if
        the commit failed; both from the committer, in commit order. Only while
        ``is_committing``.
        """
        if not self._committing:
            raise RuntimeError("queue() needs the group committer running")
        self._sids[new.sender_id] = sender_sid
        recipient_id = new.recipients[0].user_id
        registry = self._registry

        def committed(stored: StoredMessage | None, error: BaseException | None) -> None:
            if stored is not None and not stored.is_duplicate:
                registry.wake_elsewhere(recipient_id)
            settle(stored, error)

        self._waiting.append((new, committed))
        self._work.set()

    async def run_committer(self, *, max_batch: int = 256) -> None:
        """Group commit: every message and ack waiting, in one transaction. Owned by the node.

        While one transaction runs, the next batch gathers (connections go on reading once
        their message is queued), so the batch grows with the load and a lone sender pays
        one commit per message. Committed messages are handed to the recipients' outboxes in
        commit order before their senders hear of them. If a commit fails, its senders get the
        error (no 200) and its acks are dropped: those messages stay pending and are sent to
        the devices again (a client drops a repeat by its ``XI``). Runs until cancelled;
        messages still waiting then fail, and their senders get no 200.
        """
        self._committing = True
        try:
            while True:
                await self._work.wait()
                self._work.clear()
                while self._waiting or self._acks or self._barriers:
                    await self._commit_once(max_batch)
        finally:
            self._committing = False
            waiting, self._waiting = self._waiting, []
            for _, waiter in waiting:
                _settle(waiter, None, ConnectionError("the node is stopping"))
            self._release_barriers(self._barriers)

    async def _commit_once(self, max_batch: int) -> None:
        batch = self._waiting[:max_batch]
        del self._waiting[:max_batch]
        acks, self._acks = self._acks, []
        barriers, self._barriers = self._barriers, []
        try:
            stored = await self._store.commit_batch([new for new, _ in batch], acks)
        except Exception as exc:
            log.warning("group commit failed", exc_info=True)
            for _, waiter in batch:
                _settle(waiter, None, exc)
            self._release_barriers(barriers)
            return
        for (new, waiter), message in zip(batch, stored, strict=True):
            if not message.is_duplicate:
                self._hand_over(new, message)
            _settle(waiter, message, None)
        self._release_barriers(barriers)

    @staticmethod
    def _release_barriers(barriers: list[asyncio.Future[None]]) -> None:
        for barrier in barriers:
            if not barrier.done():
                barrier.set_result(None)

    def hand_over(self, new: NewMessage, message: StoredMessage) -> None:
        """A message committed outside ``submit`` (a group post, ``servers/groups``): give it
        to its online devices' outboxes as the committer does. Call in commit order."""
        self._hand_over(new, message)

    def _hand_over(self, new: NewMessage, message: StoredMessage) -> None:
        """A message is committed: give it to its devices' outboxes, or wake their loops."""
        for recipient in new.recipients:
            for binding in self._registry.bindings(recipient.user_id):
                if binding.device_id not in recipient.devices:
                    continue  # owed nothing (a device new since); owe_undelivered covers it
                box = self._outboxes.get(binding)
                if box is not None:
                    box.offer(message)
                else:
                    binding.wake.set()

    def _acked(self, binding: Binding, message: StoredMessage) -> None:
        """An outbox's device answered 200: commit the ack with the next batch."""
        self._acks.append(
            DeviceAck(
                user_id=binding.user_id,
                device_id=binding.device_id,
                message_id=message.message_id,
                conversation_id=message.conversation_id,
                seq=message.seq,
            )
        )
        self._work.set()
        if self._on_delivered is not None:
            age = datetime.now(tz=UTC) - message.created_at
            self._on_delivered(age.total_seconds())

    async def _acks_committed(self) -> None:
        """Wait until every ack given so far is committed (nothing to wait for without the
        committer: acks are then committed one batch at a time by ``_send_batch``)."""
        if not self._committing:
            return
        barrier: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers.append(barrier)
        self._work.set()
        await barrier

    def device_added(self, user_id: int, device_id: str) -> None:
        """Keep the device cache current when a device logs in for the first time."""
        self._device_reads.forget(user_id)
        devices = self._device_cache.get(user_id)
        if devices is not None and device_id not in devices:
            self._device_cache[user_id] = (*devices, device_id)

    async def _devices_of(self, user_id: int) -> tuple[str, ...]:
        devices = self._device_cache.get(user_id)
        if devices is None:
            devices = await self._device_reads.load(user_id, lambda: self._read_devices(user_id))
        return devices

    async def _read_devices(self, user_id: int) -> tuple[str, ...]:
        return tuple(d.device_id for d in await self._store.devices(user_id))

    async def _conversation(self, user_a: int, user_b: int) -> int:
        key = (min(user_a, user_b), max(user_a, user_b))
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = await self._conversation_reads.load(key)
        return conversation

    async def _pairs(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
        found = await self._store.pair_conversations(pairs)
        return {pair: conversation.conversation_id for pair, conversation in found.items()}

    async def run_outbox(self, binding: Binding) -> None:
        """Deliver a device's pending messages until its binding ends. Owned by its link."""
        link = binding.link
        # In memory only with the committer running: it hands messages over and commits acks.
        is_reliable = getattr(link, "is_reliable", False) and hasattr(link, "send_prepared")
        if self._committing and is_reliable:
            await self._run_memory_outbox(binding, cast(RequestLink, link))
            return
        window = self._config.window if binding.link.transport != "udp" else 1
        backoff = self._config.retry_base
        while binding.is_active and binding.link.is_open:
            binding.wake.clear()
            pending = await self._store.pending_for_device(
                binding.user_id, binding.device_id, limit=window * 4
            )
            if not pending:
                await binding.wake.wait()
                continue
            delivered = await self._send_batch(binding, pending, window)
            if delivered == len(pending) < window * 4 and not binding.wake.is_set():
                # Everything the store had was delivered and nothing new was stored since:
                # wait for the next message instead of asking the store again.
                backoff = self._config.retry_base
                await binding.wake.wait()
                continue
            if delivered < len(pending):
                # Something was not acknowledged: back off, then retry from the store.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(binding.wake.wait(), timeout=backoff)
                backoff = min(backoff * 2, self._config.retry_max)
            else:
                backoff = self._config.retry_base

    async def _run_memory_outbox(self, binding: Binding, link: RequestLink) -> None:
        """The outbox of a device on a reliable link (see ``core.outbox``)."""
        config = self._config
        box = Outbox(
            binding,
            link,
            window=config.window,
            ack_timeout=config.ack_timeout,
            domain=self._domain,
            sid_of=self._sids.get,
            acked=self._acked,
            groups=self.group_conversations,
        )
        self._outboxes[binding] = box
        limit = config.window * 4
        try:
            while binding.is_active and binding.link.is_open:
                if box.failed and not box.in_flight:
                    binding.wake.clear()
                    box.backoff = min(max(box.backoff * 2, config.retry_base), config.retry_max)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(binding.wake.wait(), timeout=box.backoff)
                    box.failed = False
                    box.wants_store = True
                    continue
                if (box.wants_store or (box.backlog and not box.queue)) and not box.in_flight:
                    binding.wake.clear()
                    box.start_refill()
                    await self._acks_committed()
                    pending = await self._store.pending_for_device(
                        binding.user_id, binding.device_id, limit=limit
                    )
                    for sender_id in {m.sender_id for m in pending}:
                        await self._sid(sender_id)
                    box.refilled(pending, is_full=len(pending) >= limit)
                    box.pump()
                    continue
                await binding.wake.wait()
                binding.wake.clear()
                if not box.failed:
                    # Someone stored messages for this device without handing them over
                    # (another node, a group): read the store once what is in flight is done.
                    box.wants_store = True
                    box.pump()
        finally:
            if self._outboxes.get(binding) is box:
                del self._outboxes[binding]
            box.close()

    async def _send_batch(self, binding: Binding, pending: list[StoredMessage], window: int) -> int:
        """Send messages in order with up to ``window`` in flight; ack what was answered."""
        semaphore = asyncio.Semaphore(window)
        sids = {m.sender_id: await self._sid(m.sender_id) for m in pending}
        acked: list[str] = []
        failed = False

        async def one(message: StoredMessage) -> None:
            nonlocal failed
            try:
                if failed or not binding.is_active:
                    return
                # No await before link.request(): requests go out in the store's order.
                sender_sid = sids[message.sender_id]
                request = outbound.im_request(
                    binding,
                    outbound.stored_im(
                        message,
                        sender_sid,
                        is_group=message.conversation_id in self.group_conversations,
                    ),
                    domain=self._domain,
                )
                response = await binding.link.request(request, within=self._config.ack_timeout)
                if response is not None and 200 <= response.status < 300:
                    acked.append(message.message_id)
                    if self._on_delivered is not None:
                        age = datetime.now(tz=UTC) - message.created_at
                        self._on_delivered(age.total_seconds())
                else:
                    failed = True
            finally:
                semaphore.release()

        async with asyncio.TaskGroup() as group:
            for message in pending:
                await semaphore.acquire()
                if failed:
                    semaphore.release()
                    break
                group.create_task(one(message))
        if acked:
            # Also marks each message delivered for this recipient (the sender's view).
            await self._store.ack_many(binding.user_id, binding.device_id, acked)
        return len(acked)

    async def _sid(self, user_id: int) -> str:
        sid = self._sids.get(user_id)
        if sid is None:
            sid = (await self._store.account(user_id)).sid
            self._sids[user_id] = sid
        return sid


def _settle(waiter: Waiter, stored: StoredMessage | None, error: BaseException | None) -> None:
    """Tell a commit's waiter its outcome; a callback's failure is logged, never raised into
    the committer (the other messages of the batch are committed all the same)."""
    if isinstance(waiter, asyncio.Future):
        if waiter.done():
            return
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(cast(StoredMessage, stored))
        return
    try:
        waiter(stored, error)
    except Exception:
        log.exception("a commit callback failed")
