"""Store before deliver; deliver to every device; forget only what a device acknowledged.

``submit`` stores a message (server id + per-conversation sequence number, idempotent on the
sender's retransmissions) with a pending delivery for every known device of the recipient,
and wakes the recipient's online devices. Each online device has one outbox task (owned by
its connection) that sends what the store says is pending, in order, and acknowledges each
message in the store when the device answers 200. A device that was offline, or whose link
died before answering, gets the rest when it next registers: nothing is lost, and a client
drops a redelivered message by its id (``XI``), so each is shown once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from columba.core import outbound
from columba.core.registry import Binding, Registry
from columba.storage import Account, NewMessage, Recipient, Store, StoredMessage

log = logging.getLogger(__name__)


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
    ) -> None:
        self._store = store
        self._registry = registry
        self._domain = domain
        self._config = config
        self._on_delivered = on_delivered
        self._queue: asyncio.Queue[tuple[NewMessage, asyncio.Future[StoredMessage]]] = (
            asyncio.Queue()
        )
        self._committing = False
        # Caches for the hot path. A single node owns its users' logins, so it sees every
        # device registration; scaled out, these move behind the location registry.
        self._device_cache: dict[int, tuple[str, ...]] = {}
        self._conversations: dict[tuple[int, int], int] = {}
        self._sids: dict[int, str] = {}

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
        conversation = await self._conversation(sender.user_id, recipient.user_id)
        devices = await self._devices_of(recipient.user_id)
        new = NewMessage(
            conversation_id=conversation,
            sender_id=sender.user_id,
            recipients=(Recipient(user_id=recipient.user_id, devices=devices),),
            content_type=content_type,
            body=body,
            client_key=client_key,
        )
        if self._committing:
            future: asyncio.Future[StoredMessage] = asyncio.get_running_loop().create_future()
            self._queue.put_nowait((new, future))
            stored = await future
        else:
            stored = (await self._store.store_messages([new]))[0]
        self._sids[sender.user_id] = sender.sid
        if not stored.is_duplicate:
            for binding in self._registry.bindings(recipient.user_id):
                binding.wake.set()
        return stored

    async def run_committer(self, *, max_batch: int = 256) -> None:
        """Group commit: store every message waiting in one transaction. Owned by the node.

        Each connection hands its requests over one at a time, so concurrent senders are what
        fills a batch; a lone sender pays one commit per message, as before. Runs until
        cancelled; messages still waiting then fail, and their senders get no 200.
        """
        self._committing = True
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    stored = await self._store.store_messages([new for new, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), message in zip(batch, stored, strict=True):
                    if not future.done():
                        future.set_result(message)
        finally:
            self._committing = False
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(ConnectionError("the node is stopping"))

    def device_added(self, user_id: int, device_id: str) -> None:
        """Keep the device cache current when a device logs in for the first time."""
        devices = self._device_cache.get(user_id)
        if devices is not None and device_id not in devices:
            self._device_cache[user_id] = (*devices, device_id)

    async def _devices_of(self, user_id: int) -> tuple[str, ...]:
        devices = self._device_cache.get(user_id)
        if devices is None:
            devices = tuple(d.device_id for d in await self._store.devices(user_id))
            self._device_cache[user_id] = devices
        return devices

    async def _conversation(self, user_a: int, user_b: int) -> int:
        key = (min(user_a, user_b), max(user_a, user_b))
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = (await self._store.pair_conversation(user_a, user_b)).conversation_id
            self._conversations[key] = conversation
        return conversation

    async def run_outbox(self, binding: Binding) -> None:
        """Deliver a device's pending messages until its binding ends. Owned by its link."""
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
                    outbound.InstantMessage(
                        message_id=message.message_id,
                        sender_sid=sender_sid,
                        content_type=message.content_type,
                        body=message.body,
                        created_at=message.created_at,
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
