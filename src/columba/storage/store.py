"""``SqlStore``: the ``Store`` interface over any SQL engine (SQLite or PostgreSQL).

Each method names an operation from the concept modules and asks the engine to run it; the
rules live in those modules, the I/O in the engines. Time comes from an injectable clock so
tests can control it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property, partial
from types import TracebackType
from typing import Self

from columba.storage import accounts, contact_lists, contacts, delivery, messages, settings
from columba.storage.base import UNSET, Unset
from columba.storage.group_store import GroupStore
from columba.storage.oidc import OidcStore
from columba.storage.records import (
    Account,
    BuddyList,
    Contact,
    ContactDelta,
    Conversation,
    DeliveryState,
    DeliveryStatus,
    Device,
    DeviceAck,
    DigestAlgorithm,
    DigestHA1,
    Invite,
    NewMessage,
    Recipient,
    StoredMessage,
    to_micros,
)
from columba.storage.sms import SmsStore
from columba.storage.sql import Dialect, Engine
from columba.storage.ssi import SsiStore


class SqlStore:
    """A :class:`~columba.storage.base.Store` backed by a SQL engine.

    Args:
        engine: The driver that runs operations (already migrated).
        clock: Seconds since the epoch, as ``time.time``; stamped on what is written.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of the engine underneath."""
        return self._engine.dialect

    def _now(self) -> int:
        return int(self._clock() * 1_000_000)

    @cached_property
    def ssi(self) -> SsiStore:
        """Single sign-in storage (``columba.storage.ssi``)."""
        return SsiStore(self._engine, clock=self._clock)

    @cached_property
    def oidc(self) -> OidcStore:
        """OpenID Connect provider storage (``columba.storage.oidc``)."""
        return OidcStore(self._engine, clock=self._clock)

    @cached_property
    def sms(self) -> SmsStore:
        """SMS preferences, quotas and the SMS outbox (``columba.storage.sms``)."""
        return SmsStore(self._engine, clock=self._clock)

    @cached_property
    def groups(self) -> GroupStore:
        """Groups, robots and the robot outbox (``columba.storage.group_store``)."""
        return GroupStore(self._engine, clock=self._clock)

    async def close(self) -> None:
        """Closes the engine."""
        await self._engine.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # Accounts ---------------------------------------------------------------------------------

    async def create_account(
        self,
        *,
        display_name: str,
        password_hash: str,
        number: str | None = None,
        invite_code: str | None = None,
    ) -> Account:
        now = self._now()
        return await self._engine.run(
            partial(
                accounts.create_account,
                display_name=display_name,
                password_hash=password_hash,
                number=number,
                invite_code=invite_code,
                now=now,
            )
        )

    async def account(self, user_id: int) -> Account:
        return await self._engine.run(
            partial(accounts.find_account, "user_id", user_id), write=False
        )

    async def account_by_sid(self, sid: str) -> Account:
        return await self._engine.run(partial(accounts.find_account, "sid", sid), write=False)

    async def account_by_number(self, number: str) -> Account:
        return await self._engine.run(partial(accounts.find_account, "number", number), write=False)

    async def list_accounts(self, *, after: int = 0, limit: int = 100) -> list[Account]:
        return await self._engine.run(
            partial(accounts.list_accounts, after=after, limit=limit), write=False
        )

    async def update_account(
        self,
        user_id: int,
        *,
        display_name: str | Unset = UNSET,
        number: str | Unset | None = UNSET,
        impresa: str | Unset = UNSET,
        is_disabled: bool | Unset = UNSET,
    ) -> Account:
        given = {
            "display_name": display_name,
            "number": number,
            "impresa": impresa,
            "is_disabled": is_disabled,
        }
        changes = {column: value for column, value in given.items() if value is not UNSET}
        return await self._engine.run(partial(accounts.update_account, user_id, changes))

    async def set_password(
        self, user_id: int, *, password_hash: str, ha1s: Sequence[DigestHA1] = ()
    ) -> None:
        await self._engine.run(partial(accounts.set_password, user_id, password_hash, ha1s))

    async def digest_ha1(self, user_id: int, realm: str, algorithm: DigestAlgorithm) -> str:
        return await self._engine.run(
            partial(accounts.digest_ha1, user_id, realm, algorithm), write=False
        )

    async def digest_ha1s(self, user_id: int) -> list[DigestHA1]:
        return await self._engine.run(partial(accounts.digest_ha1s, user_id), write=False)

    async def delete_account(self, user_id: int) -> None:
        now = self._now()
        await self._engine.run(partial(accounts.delete_account, user_id, now=now))

    async def create_invite(
        self, *, created_by: int | None, uses: int = 1, expires_at: datetime | None = None
    ) -> Invite:
        now = self._now()
        expires = None if expires_at is None else to_micros(expires_at)
        return await self._engine.run(
            partial(
                accounts.create_invite,
                created_by=created_by,
                uses=uses,
                expires_at=expires,
                now=now,
            )
        )

    async def invite(self, code: str) -> Invite:
        return await self._engine.run(partial(accounts.find_invite, code), write=False)

    async def invites(self, *, created_by: int | None = None) -> list[Invite]:
        return await self._engine.run(partial(accounts.list_invites, created_by), write=False)

    async def delete_invite(self, code: str) -> None:
        await self._engine.run(partial(accounts.delete_invite, code))

    # Contacts ---------------------------------------------------------------------------------

    async def request_contact(
        self, owner_id: int, other_id: int, *, local_name: str = "", list_ids: Sequence[int] = ()
    ) -> Contact:
        now = self._now()
        return await self._engine.run(
            partial(
                contacts.request,
                owner_id,
                other_id,
                local_name=local_name,
                list_ids=list_ids,
                now=now,
            )
        )

    async def accept_contact(
        self,
        owner_id: int,
        requester_id: int,
        *,
        local_name: str = "",
        list_ids: Sequence[int] = (),
    ) -> Contact:
        now = self._now()
        return await self._engine.run(
            partial(
                contacts.accept,
                owner_id,
                requester_id,
                local_name=local_name,
                list_ids=list_ids,
                now=now,
            )
        )

    async def decline_contact(self, owner_id: int, requester_id: int) -> None:
        now = self._now()
        await self._engine.run(partial(contacts.decline, owner_id, requester_id, now=now))

    async def remove_contact(self, owner_id: int, other_id: int) -> None:
        now = self._now()
        await self._engine.run(partial(contacts.remove, owner_id, other_id, now=now))

    async def update_contact(
        self,
        owner_id: int,
        other_id: int,
        *,
        local_name: str | None = None,
        list_ids: Sequence[int] | None = None,
    ) -> Contact:
        now = self._now()
        return await self._engine.run(
            partial(
                contacts.update,
                owner_id,
                other_id,
                local_name=local_name,
                list_ids=list_ids,
                now=now,
            )
        )

    async def contact(self, owner_id: int, other_id: int) -> Contact:
        return await self._engine.run(partial(contacts.get, owner_id, other_id), write=False)

    async def block(self, owner_id: int, other_id: int) -> Contact:
        now = self._now()
        return await self._engine.run(partial(contacts.block, owner_id, other_id, now=now))

    async def unblock(self, owner_id: int, other_id: int) -> None:
        now = self._now()
        await self._engine.run(partial(contacts.unblock, owner_id, other_id, now=now))

    async def blocked(self, owner_id: int) -> list[int]:
        return await self._engine.run(partial(contacts.blocked, owner_id), write=False)

    async def is_blocked(self, owner_id: int, other_id: int) -> bool:
        return await self._engine.run(partial(contacts.is_blocked, owner_id, other_id), write=False)

    async def create_buddy_list(self, owner_id: int, name: str) -> BuddyList:
        return await self._engine.run(partial(contact_lists.create_list, owner_id, name))

    async def rename_buddy_list(self, owner_id: int, list_id: int, name: str) -> BuddyList:
        return await self._engine.run(partial(contact_lists.rename_list, owner_id, list_id, name))

    async def delete_buddy_list(self, owner_id: int, list_id: int) -> None:
        now = self._now()
        await self._engine.run(partial(contact_lists.delete_list, owner_id, list_id, now=now))

    async def contact_list(self, owner_id: int) -> ContactDelta:
        return await self.contacts_changed_since(owner_id, 0)

    async def contacts_changed_since(self, owner_id: int, version: int) -> ContactDelta:
        return await self._engine.run(
            partial(contact_lists.changed_since, owner_id, version), write=False
        )

    # Messages ---------------------------------------------------------------------------------

    async def pair_conversation(self, user_a: int, user_b: int) -> Conversation:
        now = self._now()
        return await self._engine.run(partial(messages.pair_conversation, user_a, user_b, now=now))

    async def pair_conversations(
        self, pairs: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], Conversation]:
        now = self._now()
        return await self._engine.run(partial(messages.pair_conversations, tuple(pairs), now=now))

    async def create_group_conversation(self) -> Conversation:
        now = self._now()
        return await self._engine.run(partial(messages.create_group_conversation, now=now))

    async def conversation(self, conversation_id: int) -> Conversation:
        return await self._engine.run(
            partial(messages.get_conversation, conversation_id), write=False
        )

    async def store_message(
        self,
        *,
        conversation_id: int,
        sender_id: int,
        recipients: Sequence[Recipient],
        content_type: str,
        body: bytes,
        client_key: str,
    ) -> StoredMessage:
        message = NewMessage(
            conversation_id=conversation_id,
            sender_id=sender_id,
            recipients=tuple(recipients),
            content_type=content_type,
            body=body,
            client_key=client_key,
        )
        (stored,) = await self.store_messages((message,))
        return stored

    async def store_messages(self, messages_: Sequence[NewMessage]) -> list[StoredMessage]:
        if not messages_:
            return []
        now = self._now()
        dialect = self._engine.dialect
        return await self._engine.run(
            partial(messages.store_batch, dialect, messages_, now=now), retry_on_conflict=True
        )

    async def message(self, message_id: str) -> StoredMessage:
        return await self._engine.run(partial(messages.get_message, message_id), write=False)

    async def messages_after(
        self, conversation_id: int, seq: int, *, limit: int = 100
    ) -> list[StoredMessage]:
        return await self._engine.run(
            partial(messages.messages_after, conversation_id, seq, limit=limit), write=False
        )

    # Delivery ---------------------------------------------------------------------------------

    async def register_device(self, user_id: int, device_id: str) -> bool:
        now = self._now()
        return await self._engine.run(
            partial(delivery.register_device, user_id, device_id, now=now)
        )

    async def owe_undelivered(self, user_id: int, device_id: str) -> int:
        return await self._engine.run(partial(delivery.owe_undelivered, user_id, device_id))

    async def unregister_device(self, user_id: int, device_id: str) -> None:
        await self._engine.run(partial(delivery.unregister_device, user_id, device_id))

    async def devices(self, user_id: int) -> list[Device]:
        return await self._engine.run(partial(delivery.list_devices, user_id), write=False)

    async def pending_for_device(
        self, user_id: int, device_id: str, *, limit: int = 100
    ) -> list[StoredMessage]:
        return await self._engine.run(
            partial(delivery.pending, user_id, device_id, limit=limit), write=False
        )

    async def ack(self, user_id: int, device_id: str, message_id: str) -> bool:
        return await self.ack_many(user_id, device_id, (message_id,)) > 0

    async def ack_many(self, user_id: int, device_id: str, message_ids: Sequence[str]) -> int:
        now = self._now()
        return await self._engine.run(
            partial(delivery.ack, user_id, device_id, message_ids, now=now)
        )

    async def commit_batch(
        self, messages_: Sequence[NewMessage], acks: Sequence[DeviceAck]
    ) -> list[StoredMessage]:
        now = self._now()
        dialect = self._engine.dialect
        return await self._engine.run(
            partial(delivery.commit_batch, dialect, messages_, acks, now=now),
            retry_on_conflict=True,
        )

    async def record_delivery(
        self, message_id: str, recipient_id: int, state: DeliveryState
    ) -> DeliveryStatus:
        now = self._now()
        return await self._engine.run(
            partial(delivery.record, message_id, recipient_id, state, now=now)
        )

    async def delivery_statuses(self, message_id: str) -> list[DeliveryStatus]:
        return await self._engine.run(partial(delivery.statuses, message_id), write=False)

    # Settings ---------------------------------------------------------------------------------

    async def get_setting(self, key: str) -> str | None:
        return await self._engine.run(partial(settings.get, key), write=False)

    async def set_setting(self, key: str, value: str) -> None:
        now = self._now()
        await self._engine.run(partial(settings.put, key, value, now=now))

    async def delete_setting(self, key: str) -> bool:
        return await self._engine.run(partial(settings.delete, key))
