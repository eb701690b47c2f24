"""SMSC delivery receipts: the text of SMPP 3.4 Appendix B and the receipt TLVs.

A receipt is a deliver_sm whose esm_class message type is 0001 (bit 0x04). Its
short_message reads ``id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
date:YYMMDDhhmm stat:DDDDDDD err:E text:…``, but SMSCs vary the case, underscores, seconds,
field order, and leave fields out. SMPP 3.4 adds TLVs (``receipted_message_id`` 0x001E,
``message_state`` 0x0427, ``network_error_code`` 0x0423) that win over the text when present
(sms-stack.md §6). The id may be hex in one place and decimal in the other, depending on the
SMSC: :func:`same_message_id` compares both ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from functools import lru_cache

from columba.slots import builder
from columba.sms.errors import UserDataError

#: esm_class message-type bits (SMPP 3.4 §5.2.12, bits 5-2) of deliver_sm.
ESM_TYPE_MASK = 0x3C
ESM_TYPE_DELIVERY_RECEIPT = 0x04
ESM_TYPE_INTERMEDIATE_NOTIFICATION = 0x20


class MessageState(IntEnum):
    """SMPP 3.4 ``message_state`` (§5.2.28); every state but ENROUTE is final."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def is_final(self) -> bool:
        """Whether the SMSC will report nothing more for the message."""
        return self is not MessageState.ENROUTE


#: Appendix B ``stat`` words (seven letters), then spellings SMSCs use instead.
STAT_WORDS: dict[MessageState, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
_STATES: dict[str, MessageState] = {
    **{word: state for state, word in STAT_WORDS.items()},
    "DELIVERED": MessageState.DELIVERED,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "ACCEPTED": MessageState.ACCEPTED,
    "REJECTED": MessageState.REJECTED,
    "REJECT": MessageState.REJECTED,
    "EXPIRD": MessageState.EXPIRED,
    "DELETD": MessageState.DELETED,
}

# The field names, in any case, with a space or underscore inside the two date names.
_FIELD = re.compile(
    r"(?i)(?<![A-Za-z0-9])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:"
)


# The Appendix B text in its usual spelling, each value free of white space: the fast path
# of _fields (it gives what the general scan would for such a text).
_CANONICAL = re.compile(
    r"id:(?P<id>\S*) sub:(?P<sub>\S*) dlvrd:(?P<dlvrd>\S*) submit date:(?P<submit>\S*)"
    r" done date:(?P<done>\S*) stat:(?P<stat>\S*) err:(?P<err>\S*) text:(?P<text>.*)\Z",
    re.DOTALL,
)
_CANONICAL_NAMES = {
    "id": "id",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "submit": "submit date",
    "done": "done date",
    "stat": "stat",
    "err": "err",
    "text": "text",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReceipt:
    """What an SMSC says became of a message it accepted.

    Attributes:
        message_id: The id from submit_sm_resp (``receipted_message_id`` or ``id:``).
        state: The message's state; UNKNOWN when neither the TLV nor ``stat:`` says.
        submitted: ``sub:``, parts submitted (often 001 whatever happened).
        delivered: ``dlvrd:``, parts delivered.
        submit_date: ``submit date:``, in the SMSC's local time.
        done_date: ``done date:``, in the SMSC's local time.
        error: ``err:``, the network-specific error code as sent (three characters).
        text: ``text:``, the first characters of the message.
        network_error_code: The ``network_error_code`` TLV as (network type, error code).
    """

    message_id: str | None
    state: MessageState = MessageState.UNKNOWN
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    error: str | None = None
    text: str | None = None
    network_error_code: tuple[int, int] | None = None


def is_delivery_receipt(esm_class: int) -> bool:
    """Whether a deliver_sm with this esm_class is an SMSC receipt (final or intermediate)."""
    return esm_class & ESM_TYPE_MASK in (
        ESM_TYPE_DELIVERY_RECEIPT,
        ESM_TYPE_INTERMEDIATE_NOTIFICATION,
    )


def parse_receipt(
    short_message: bytes | str = b"",
    *,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
    network_error_code: bytes | None = None,
) -> DeliveryReceipt:
    """Read a receipt from its text and TLVs; the TLVs win where both say something.

    Raises:
        UserDataError: neither the text nor the TLVs look like a receipt.
    """
    text = short_message.decode("latin-1") if isinstance(short_message, bytes) else short_message
    fields = _fields(text)
    if (
        receipted_message_id is None
        and message_state is None
        and not ("id" in fields or "stat" in fields)
    ):
        raise UserDataError("not a delivery receipt: no id, stat or receipt TLVs")
    state = _state(fields.get("stat"))
    if message_state is not None:
        state = (
            MessageState(message_state)
            if message_state in MessageState._value2member_map_
            else MessageState.UNKNOWN
        )
    network_error: tuple[int, int] | None = None
    if network_error_code is not None and len(network_error_code) == 3:
        network_error = (network_error_code[0], int.from_bytes(network_error_code[1:], "big"))
    message_id = receipted_message_id if receipted_message_id is not None else fields.get("id")
    receipt: DeliveryReceipt = _new_receipt(  # the fields in order: one comes per MT
        message_id or None,
        state,
        _number(fields.get("sub")),
        _number(fields.get("dlvrd")),
        _date(fields.get("submit date")),
        _date(fields.get("done date")),
        fields.get("err") or None,
        fields.get("text"),
        network_error,
    )
    return receipt


_new_receipt = builder(DeliveryReceipt)


def format_receipt(receipt: DeliveryReceipt) -> str:
    """Write the Appendix B text (for the built-in SMSC simulator)."""

    def date(value: datetime | None) -> str:
        return value.strftime("%y%m%d%H%M") if value is not None else "0000000000"

    return (
        f"id:{receipt.message_id or ''} sub:{receipt.submitted or 0:03d}"
        f" dlvrd:{receipt.delivered or 0:03d} submit date:{date(receipt.submit_date)}"
        f" done date:{date(receipt.done_date)} stat:{STAT_WORDS[receipt.state]}"
        f" err:{receipt.error or '000'} text:{(receipt.text or '')[:20]}"
    )


def same_message_id(ours: str, theirs: str, *, digits_may_be_hex: bool = False) -> bool:
    """Whether two message ids name the same message, allowing for hex vs decimal spellings.

    SMSCs differ: some answer submit_sm with a hex id and report it in decimal in the
    receipt text, or the other way round; leading zeros and case vary too. An id made only of
    decimal digits is read as decimal unless ``digits_may_be_hex`` (set it per SMSC that is
    known to send hex ids such as ``12345678``): otherwise "10" and "16" would match.
    """
    a, b = ours.strip(), theirs.strip()
    if a.lower() == b.lower():
        return True
    if a.isdigit() and b.isdigit() and int(a) == int(b):
        return True
    for x, y in ((a, b), (b, a)):
        hex_ok = _is_hex(x) and (digits_may_be_hex or not x.isdigit())
        if hex_ok and y.isdigit() and int(x, 16) == int(y):
            return True
    return False


def _fields(text: str) -> dict[str, str]:
    """The receipt's ``name:value`` fields, names lower-cased, date names with a space.

    A value runs to the next field name; ``text:`` runs to the end, since the message
    excerpt may hold anything.
    """
    canonical = _CANONICAL.match(text)
    if canonical is not None:  # Appendix B exactly, as most SMSCs write it: one match
        return {_CANONICAL_NAMES[k]: v for k, v in canonical.groupdict().items()}
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for index, match in enumerate(matches):
        name = match.group(1).lower().replace("_", " ")
        if name in fields:
            continue
        if name == "text":
            fields[name] = text[match.end() :]
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields[name] = text[match.end() : end].strip()
    return fields


def _state(word: str | None) -> MessageState:
    if not word:
        return MessageState.UNKNOWN
    return _STATES.get(word.split()[0].upper(), MessageState.UNKNOWN)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@lru_cache(maxsize=1024)  # receipts of one minute share their dates: most reads are hits
def _date(value: str | None) -> datetime | None:
    """``YYMMDDhhmm`` or ``YYMMDDhhmmss`` (two-digit years are this century)."""
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    year, month, day, hour, minute = (int(value[i : i + 2]) for i in range(0, 10, 2))
    second = int(value[10:12]) if len(value) == 12 else 0
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        return None


def _is_hex(value: str) -> bool:
    return bool(value) and all(char in "0123456789abcdefABCDEF" for char in value)
