"""The storage interface: what the core may ask of durable storage, and nothing more.

The core depends on the small protocols (``AccountStore``, ``ContactStore``, ``MessageStore``,
``DeliveryStore``, ``SettingsStore``); ``Store`` is all of them plus a lifecycle, and is what
``open_store(url)`` returns. Every method is a coroutine, runs as one transaction, and raises
only ``columba.storage.errors`` (and ``ValueError`` for arguments no store could accept).

All methods are safe to call from concurrent tasks: the SQLite driver serializes them on its
database thread, the PostgreSQL driver runs them on a pool of connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

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
)

if TYPE_CHECKING:
    from columba.storage.group_store import GroupStore
    from columba.storage.oidc import OidcStore
    from columba.storage.sms import SmsStore
    from columba.storage.ssi import SsiStore


class Unset(Enum):
    """The type of :data:`UNSET`, the "leave this field alone" default of update methods."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


class AccountStore(Protocol):
    """Accounts, their credentials, and registration invites."""

    async def create_account(
        self,
        *,
        display_name: str,
        password_hash: str,
        number: str | None = None,
        invite_code: str | None = None,
    ) -> Account:
        """Creates an account with a fresh sid, redeeming one use of an invite if given.

        Raises:
            Conflict: The number belongs to another account.
            NotFound: The invite is unknown, used up or expired (nothing is created).
            ValueError: The number is not in E.164 form.
        """
        ...

    async def account(self, user_id: int) -> Account:
        """The account with this user id (``NotFound`` if none)."""
        ...

    async def account_by_sid(self, sid: str) -> Account:
        """The account with this Columba id (``NotFound`` if none)."""
        ...

    async def account_by_number(self, number: str) -> Account:
        """The account with this E.164 number (``NotFound`` if none)."""
        ...

    async def list_accounts(self, *, after: int = 0, limit: int = 100) -> list[Account]:
        """Accounts in user-id order; pass the last id seen as ``after`` for the next page."""
        ...

    async def update_account(
        self,
        user_id: int,
        *,
        display_name: str | Unset = UNSET,
        number: str | Unset | None = UNSET,
        impresa: str | Unset = UNSET,
        is_disabled: bool | Unset = UNSET,
    ) -> Account:
        """Changes the given fields; returns the account as it now is.

        Raises:
            NotFound: No such account.
            Conflict: The new number belongs to another account.
        """
        ...

    async def set_password(
        self, user_id: int, *, password_hash: str, ha1s: Sequence[DigestHA1] = ()
    ) -> None:
        """Replaces the password hash and all Digest HA1 values together (``NotFound``)."""
        ...

    async def digest_ha1(self, user_id: int, realm: str, algorithm: DigestAlgorithm) -> str:
        """The HA1 for a realm and algorithm (``NotFound`` if none is stored)."""
        ...

    async def digest_ha1s(self, user_id: int) -> list[DigestHA1]:
        """Every HA1 stored for the account."""
        ...

    async def delete_account(self, user_id: int) -> None:
        """Deletes the account, its contacts, devices and queues (``NotFound``).

        Other users' entries for it become tombstones in their contact-list deltas; messages
        stay in their conversations. To keep the data, ``update_account(is_disabled=True)``.
        """
        ...

    async def create_invite(
        self, *, created_by: int | None, uses: int = 1, expires_at: datetime | None = None
    ) -> Invite:
        """Creates an invite with a random code (``NotFound`` if the creator does not exist)."""
        ...

    async def invite(self, code: str) -> Invite:
        """The invite with this code (``NotFound`` if none)."""
        ...

    async def invites(self, *, created_by: int | None = None) -> list[Invite]:
        """The invites one user made, or all of them."""
        ...

    async def delete_invite(self, code: str) -> None:
        """Withdraws an invite (``NotFound`` if none)."""
        ...


class ContactStore(Protocol):
    """Contact lists with authorization, buddy lists, blocks, and versioned deltas.

    Every change to a user's list raises that user's contact-list version; see
    ``contacts_changed_since``.
    """

    async def request_contact(
        self, owner_id: int, other_id: int, *, local_name: str = "", list_ids: Sequence[int] = ()
    ) -> Contact:
        """The owner asks to add the other user; returns the owner's entry.

        The owner's entry becomes ``pending_out`` and the other's ``pending_in``; when the
        other user had already asked or accepted, both become ``accepted`` at once.

        Raises:
            NotFound: Either account, or a buddy list, does not exist.
            Conflict: The owner blocks the other user.
        """
        ...

    async def accept_contact(
        self,
        owner_id: int,
        requester_id: int,
        *,
        local_name: str = "",
        list_ids: Sequence[int] = (),
    ) -> Contact:
        """Accepts a pending request; both entries become ``accepted`` (``NotFound``)."""
        ...

    async def decline_contact(self, owner_id: int, requester_id: int) -> None:
        """Declines a pending request; the requester's entry says ``declined`` (``NotFound``)."""
        ...

    async def remove_contact(self, owner_id: int, other_id: int) -> None:
        """Removes the owner's entry, withdrawing the owner's request if pending (``NotFound``)."""
        ...

    async def update_contact(
        self,
        owner_id: int,
        other_id: int,
        *,
        local_name: str | None = None,
        list_ids: Sequence[int] | None = None,
    ) -> Contact:
        """Renames a contact or refiles it; None leaves a field as it is (``NotFound``)."""
        ...

    async def contact(self, owner_id: int, other_id: int) -> Contact:
        """The owner's entry for the other user (``NotFound`` if none)."""
        ...

    async def block(self, owner_id: int, other_id: int) -> Contact:
        """Blocks the other user, who is not told (``NotFound`` if either does not exist)."""
        ...

    async def unblock(self, owner_id: int, other_id: int) -> None:
        """Lifts a block, removing the entry (``NotFound`` if there was no block)."""
        ...

    async def blocked(self, owner_id: int) -> list[int]:
        """The user ids the owner blocks."""
        ...

    async def is_blocked(self, owner_id: int, other_id: int) -> bool:
        """True when the owner blocks the other user."""
        ...

    async def create_buddy_list(self, owner_id: int, name: str) -> BuddyList:
        """Creates a buddy list (``NotFound`` if the owner does not exist)."""
        ...

    async def rename_buddy_list(self, owner_id: int, list_id: int, name: str) -> BuddyList:
        """Renames a buddy list (``NotFound``)."""
        ...

    async def delete_buddy_list(self, owner_id: int, list_id: int) -> None:
        """Deletes a buddy list; its contacts stay (``NotFound``)."""
        ...

    async def contact_list(self, owner_id: int) -> ContactDelta:
        """The whole list (a delta with ``is_full`` set)."""
        ...

    async def contacts_changed_since(self, owner_id: int, version: int) -> ContactDelta:
        """Only what changed after ``version``, removals included as tombstones.

        Version 0, or a version the store never issued, gets the whole list (``is_full``).
        """
        ...


class MessageStore(Protocol):
    """Conversations and messages: store before deliver, and history."""

    async def pair_conversation(self, user_a: int, user_b: int) -> Conversation:
        """The conversation of two users, created on first use."""
        ...

    async def pair_conversations(
        self, pairs: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], Conversation]:
        """:meth:`pair_conversation` for many pairs in one transaction, keyed by
        ``(lower user id, higher user id)``."""
        ...

    async def create_group_conversation(self) -> Conversation:
        """A new, empty group conversation."""
        ...

    async def conversation(self, conversation_id: int) -> Conversation:
        """A conversation by id (``NotFound`` if none)."""
        ...

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
        """Stores one message; see ``store_messages``."""
        ...

    async def store_messages(self, messages: Sequence[NewMessage]) -> list[StoredMessage]:
        """Stores messages in one transaction (group commit); one result per input, in order.

        Each new message gets a random 32-hex-digit server id and the next sequence number of
        its conversation; each recipient gets a ``pending`` status, each listed device a pending
        delivery. A message whose ``(sender_id, client_key)`` is already stored (a client
        retransmission) is not stored again: the first one is returned, ``is_duplicate`` set.

        Raises:
            NotFound: A conversation does not exist; nothing of the batch is stored.
        """
        ...

    async def message(self, message_id: str) -> StoredMessage:
        """A message by server id (``NotFound`` if none)."""
        ...

    async def messages_after(
        self, conversation_id: int, seq: int, *, limit: int = 100
    ) -> list[StoredMessage]:
        """ "Everything after sequence N": history, oldest first, at most ``limit``."""
        ...


class DeliveryStore(Protocol):
    """Per-device delivery queues and per-recipient delivery status."""

    async def register_device(self, user_id: int, device_id: str) -> bool:
        """Records a device; True when new. A new device is owed nothing stored before."""
        ...

    async def owe_undelivered(self, user_id: int, device_id: str) -> int:
        """Queues for the device what the user has received on no device yet.

        For a user's first device, or one that logs in while every other device was offline:
        messages still ``pending`` (or ``failed``) for the user become pending for this device
        too. Returns how many were queued. Already queued ones are not queued twice.
        """
        ...

    async def unregister_device(self, user_id: int, device_id: str) -> None:
        """Forgets a device and its queue (``NotFound``)."""
        ...

    async def devices(self, user_id: int) -> list[Device]:
        """A user's registered devices."""
        ...

    async def pending_for_device(
        self, user_id: int, device_id: str, *, limit: int = 100
    ) -> list[StoredMessage]:
        """What the device has not acknowledged, in (conversation, seq) order."""
        ...

    async def ack(self, user_id: int, device_id: str, message_id: str) -> bool:
        """The device acknowledges a message; True if that removed a pending delivery.

        The user's delivery status for the message becomes ``delivered``.
        """
        ...

    async def ack_many(self, user_id: int, device_id: str, message_ids: Sequence[str]) -> int:
        """``ack`` for several messages in one transaction; returns how many were pending."""
        ...

    async def commit_batch(
        self, messages: Sequence[NewMessage], acks: Sequence[DeviceAck]
    ) -> list[StoredMessage]:
        """Group commit: ``store_messages`` and the devices' ``ack``s in one transaction."""
        ...

    async def record_delivery(
        self, message_id: str, recipient_id: int, state: DeliveryState
    ) -> DeliveryStatus:
        """Records a delivery event (SMS sent, SMS receipt, failure …) (``NotFound``)."""
        ...

    async def delivery_statuses(self, message_id: str) -> list[DeliveryStatus]:
        """Each recipient's delivery status for a message."""
        ...


class SettingsStore(Protocol):
    """A small key/value table for server state."""

    async def get_setting(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        ...

    async def set_setting(self, key: str, value: str) -> None:
        """Stores a value, replacing any previous one."""
        ...

    async def delete_setting(self, key: str) -> bool:
        """Removes a key; True when it was there."""
        ...


class Store(AccountStore, ContactStore, MessageStore, DeliveryStore, SettingsStore, Protocol):
    """Everything above, plus a lifecycle: ``async with await open_store(url) as store``."""

    @property
    def ssi(self) -> SsiStore:
        """Single sign-in sessions, apps and keys (``columba.storage.ssi``)."""
        ...

    @property
    def oidc(self) -> OidcStore:
        """The OpenID Connect provider's clients, codes and keys (``columba.storage.oidc``)."""
        ...

    @property
    def sms(self) -> SmsStore:
        """SMS preferences, quotas and the SMS outbox (``columba.storage.sms``)."""
        ...

    @property
    def groups(self) -> GroupStore:
        """Groups, robots and the robot outbox (``columba.storage.group_store``)."""
        ...

    async def close(self) -> None:
        """Closes the database connections; the store is unusable afterwards."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
