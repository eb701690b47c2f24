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
from columba.storage import Account, Recipient, Store, StoredMessage

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
        conversation = await self._store.pair_conversation(sender.user_id, recipient.user_id)
        devices = tuple(d.device_id for d in await self._store.devices(recipient.user_id))
        stored = await self._store.store_message(
            conversation_id=conversation.conversation_id,
            sender_id=sender.user_id,
            recipients=(Recipient(user_id=recipient.user_id, devices=devices),),
            content_type=content_type,
            body=body,
            client_key=client_key,
        )
        self._sids[sender.user_id] = sender.sid
        if not stored.is_duplicate:
            for binding in self._registry.bindings(recipient.user_id):
                binding.wake.set()
        return stored

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
