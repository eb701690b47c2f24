"""Durable storage: accounts, contacts, messages and their delivery, server settings.

One interface (``columba.storage.base``), two drivers chosen by URL (``columba.storage.url``):
SQLite, embedded and the default, and PostgreSQL for scaled-out deployments. The schema is the
numbered migrations in ``columba/storage/migrations/``, applied at open. Errors are those of
``columba.storage.errors``.

Typical use::

    store = await open_store("sqlite:////var/lib/columba/columba.db")
    async with store:
        alice = await store.create_account(display_name="alice", password_hash=phc)
"""

from __future__ import annotations

from columba.storage.base import (
    UNSET,
    AccountStore,
    ContactStore,
    DeliveryStore,
    MessageStore,
    SettingsStore,
    Store,
    Unset,
)
from columba.storage.errors import Conflict, NotFound, StorageError, Unavailable
from columba.storage.records import (
    Account,
    BuddyList,
    Contact,
    ContactDelta,
    ContactState,
    Conversation,
    ConversationKind,
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
from columba.storage.url import open_store

__all__ = [
    "UNSET",
    "Account",
    "AccountStore",
    "BuddyList",
    "Conflict",
    "Contact",
    "ContactDelta",
    "ContactState",
    "ContactStore",
    "Conversation",
    "ConversationKind",
    "DeliveryState",
    "DeliveryStatus",
    "DeliveryStore",
    "Device",
    "DeviceAck",
    "DigestAlgorithm",
    "DigestHA1",
    "Invite",
    "MessageStore",
    "NewMessage",
    "NotFound",
    "Recipient",
    "SettingsStore",
    "StorageError",
    "Store",
    "StoredMessage",
    "Unavailable",
    "Unset",
    "open_store",
]
