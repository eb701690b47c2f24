"""The records the store hands out and takes in: frozen, slotted, keyword-only dataclasses.

Times are timezone-aware UTC ``datetime`` values here and integer microseconds since the Unix
epoch in the database (one representation for both dialects, exact, and cheap to compare).
Secrets (the password hash, Digest HA1 values) are kept out of ``repr`` so that logging a record
does not log them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from columba.storage import wire

# ITU-T E.164: a leading "+", a country code that does not start with 0, at most 15 digits.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class DigestAlgorithm(StrEnum):
    """Login verifiers the store keeps per realm, named by the token the protocol carries."""

    MD5 = "MD5"
    """SIP Digest (RFC 7616) with MD5: the value is HA1."""
    SHA256 = "SHA-256"
    """SIP Digest (RFC 7616) with SHA-256: the value is HA1."""
    SCRAM_SHA256 = "SCRAM-SHA-256"
    """SIP-C SCRAM login (RFC 5802, RFC 7677): the value is the encoded salt, iteration count,
    StoredKey and ServerKey; opaque to the store like the others."""


class ContactState(StrEnum):
    """One side of a contact relation, as the owner of that side sees it."""

    PENDING_OUT = "pending_out"
    """The owner asked the other user and waits for an answer."""
    PENDING_IN = "pending_in"
    """The other user asked the owner, who has not answered yet."""
    ACCEPTED = "accepted"
    DECLINED = "declined"
    """The owner asked and the other user declined."""
    BLOCKED = "blocked"
    """The owner blocks the other user; the other user is not told."""


class ConversationKind(StrEnum):
    """What a conversation is between: two users, or a group (members kept elsewhere)."""

    PAIR = "pair"
    GROUP = "group"


class DeliveryState(StrEnum):
    """The fate of one message for one recipient, as the sender is shown it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    """A device of the recipient acknowledged the message."""
    SENT_AS_SMS = "sent_as_sms"
    SMS_DELIVERED = "sms_delivered"
    """The SMSC reported the SMS delivered (a delivery receipt)."""
    FAILED = "failed"


def to_datetime(micros: int) -> datetime:
    """Turns a database timestamp (microseconds since the epoch) into an aware UTC datetime."""
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def to_micros(moment: datetime) -> int:
    """Turns an aware datetime into microseconds since the epoch (a naive one is refused)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give the time zone (UTC)")
    return round(moment.timestamp() * 1_000_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A user of this server.

    Attributes:
        user_id: Internal numeric id; never shown to users, never reused.
        sid: The Columba id (Fetion's "sid"), nine digits, allocated by the store.
        number: The E.164 mobile number (MSISDN), or None for an IM-only account.
        display_name: Nickname shown to contacts.
        password_hash: Opaque PHC string made by the caller (argon2id or scrypt).
        impresa: The personal status text (Fetion's "impresa").
        created_at: When the account was created.
        is_disabled: A disabled account cannot sign in; its data is kept.
    """

    user_id: int
    sid: str
    number: str | None
    display_name: str
    password_hash: str = field(repr=False)
    impresa: str
    created_at: datetime
    is_disabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestHA1:
    """A password verifier for one realm and algorithm, never the password itself.

    For Digest, ``ha1`` is H(username:realm:password) (RFC 7616 §3.4.2); for SCRAM it is the
    server's verifier (see :class:`DigestAlgorithm`). The store treats the value as opaque.
    """

    realm: str
    algorithm: DigestAlgorithm
    ha1: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Invite:
    """An invitation code for invite-only self-registration.

    Attributes:
        code: The secret the invitee types or follows in a link.
        created_by: The inviting user, or None for an operator's invite.
        uses_left: How many more accounts may be created with this code.
        expires_at: After this moment the code is refused; None for never.
        created_at: When the invite was made.
    """

    code: str
    created_by: int | None
    uses_left: int
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """The owner's side of a relation to another user.

    Attributes:
        owner_id: Whose contact list this entry is in.
        contact_id: The other user.
        state: Where the authorization stands, seen from the owner.
        local_name: The owner's own name for the contact ("" for none).
        list_ids: The owner's buddy lists this contact is filed under.
        version: The owner's contact-list version at which this entry last changed.
    """

    owner_id: int
    contact_id: int
    state: ContactState
    local_name: str
    list_ids: tuple[int, ...]
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BuddyList:
    """A named group in an owner's contact list (Fetion's buddy-list)."""

    owner_id: int
    list_id: int
    name: str
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactDelta:
    """What changed in an owner's contact list since a version the client holds.

    Attributes:
        owner_id: The contact list's owner.
        version: The version the client holds after applying this delta.
        is_full: True when this is the whole list (the client asked from 0, or from a version
            the store does not know): the client replaces its copy instead of patching it.
        contacts: Entries added or changed (all entries when ``is_full``).
        removed_contacts: User ids whose entries were removed (tombstones).
        buddy_lists: Buddy lists added or renamed (all lists when ``is_full``).
        removed_buddy_lists: Ids of buddy lists that were deleted.
    """

    owner_id: int
    version: int
    is_full: bool
    contacts: tuple[Contact, ...]
    removed_contacts: tuple[int, ...]
    buddy_lists: tuple[BuddyList, ...]
    removed_buddy_lists: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """A sequence of messages with its own gap-free sequence numbers.

    Attributes:
        conversation_id: Internal numeric id.
        kind: Between a pair of users, or a group.
        pair: The two user ids (lower first) of a pair conversation; None for a group.
        last_seq: The sequence number of the newest message (0 when empty).
        created_at: When the conversation was created.
    """

    conversation_id: int
    kind: ConversationKind
    pair: tuple[int, int] | None
    last_seq: int
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A user a message is for, and that user's devices that must each acknowledge it."""

    user_id: int
    devices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    """A message to store, as ``store_messages`` takes it.

    Attributes:
        conversation_id: The conversation it belongs to.
        sender_id: Who sent it.
        recipients: Who it is for; each gets a delivery status, each listed device a pending
            delivery. The sender may be listed too (its other devices), without a status.
        content_type: The MIME type of the body (``text/plain``, ``text/html-fragment`` …).
        body: The body, as bytes on the wire.
        client_key: The sender's retransmission key (e.g. SIP Call-ID and CSeq); storing the
            same ``(sender_id, client_key)`` twice returns the first message.
    """

    conversation_id: int
    sender_id: int
    recipients: tuple[Recipient, ...]
    content_type: str
    body: bytes
    client_key: str

    def __post_init__(self) -> None:
        if not self.client_key:
            raise ValueError("client_key must not be empty")
        if not self.content_type:
            raise ValueError("content_type must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """A message as stored.

    Attributes:
        message_id: The server id, 32 hex digits, time first (like Fetion's XI;
            ``messages.new_message_id``).
        conversation_id: The conversation it belongs to.
        seq: Its place in the conversation: 1, 2, 3 … with no gaps.
        sender_id: Who sent it.
        content_type: The MIME type of the body.
        body: The body bytes.
        client_key: The sender's retransmission key.
        created_at: When the server stored it.
        is_duplicate: True when this store call found the message already stored (a client
            retransmission): nothing was written and nothing new is owed to any device.
    """

    message_id: str
    conversation_id: int
    seq: int
    sender_id: int
    content_type: str
    body: bytes
    client_key: str
    created_at: datetime
    is_duplicate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A device (client instance) of a user, with its own delivery queue."""

    user_id: int
    device_id: str
    registered_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAck:
    """A device's acknowledgement of a message, with the message's place in its queue."""

    user_id: int
    device_id: str
    message_id: str
    conversation_id: int
    seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryStatus:
    """What happened to one message for one recipient, with when each step happened."""

    message_id: str
    recipient_id: int
    state: DeliveryState
    updated_at: datetime
    delivered_at: datetime | None
    sms_sent_at: datetime | None
    sms_delivered_at: datetime | None
    failed_at: datetime | None


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    Account,
    DigestHA1,
    Invite,
    Contact,
    BuddyList,
    ContactDelta,
    Conversation,
    Recipient,
    NewMessage,
    StoredMessage,
    Device,
    DeviceAck,
    DeliveryStatus,
)
