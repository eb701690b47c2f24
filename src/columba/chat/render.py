"""The lines ``columba chat`` prints: ``[12:01] Alice (700000001): hello``, ``* …`` for
events, ``! …`` for errors.

Everything another user chose (names, message text) passes through :func:`clean` first, so a
message cannot move the cursor, clear the screen or reorder text with terminal escapes or
bidirectional overrides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

from columba.chat.commands import HELP
from columba.chat.roster import OFFLINE, Contact, Relation

#: How presence values read (fetion-sipc.md §3.2); hidden reads as offline to others.
PRESENCE_NAMES: dict[int, str] = {
    OFFLINE: "offline",
    0: "offline",
    100: "away",
    150: "on the phone",
    300: "right back",
    400: "online",
    499: "a robot",
    500: "out to lunch",
    600: "busy",
    800: "do not disturb",
    850: "in a meeting",
}

#: Bidirectional controls (Unicode TR9) that could make a line read differently.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def clean(text: str) -> str:
    """``text`` without control characters (tabs become spaces; newlines are kept)."""
    return "".join(
        " " if ch == "\t" else ch
        for ch in text
        if ch in "\t\n" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI)
    )


def presence_name(value: int) -> str:
    """``online``, ``away`` … (``status 123`` for a value we do not know)."""
    return PRESENCE_NAMES.get(value, f"status {value}")


def who(sid: str, name: str = "") -> str:
    """``Alice (700000001)``, or the sid alone when the name is unknown."""
    name = clean(name).replace("\n", " ").strip()
    return f"{name} ({sid})" if name and name != sid else sid


def contact_label(contact: Contact) -> str:
    """:func:`who` for a roster entry."""
    return who(contact.sid, contact.name)


def message(*, at: datetime, sender: str, text: str) -> str:
    """An incoming message; continuation lines are indented under the first."""
    first, *more = clean(text).split("\n")
    head = f"[{at:%H:%M}] {sender}: {first}"
    return "\n".join([head, *("    " + line for line in more)])


def presence_change(contact: Contact) -> str:
    """``* Bob is now away``."""
    name = clean(contact.name).strip() or contact.sid
    return f"* {name} is now {presence_name(contact.presence)}"


def contact_request(contact: Contact) -> str:
    """``* Alice (700000001) wants to add you — /accept 700000001``."""
    return f"* {contact_label(contact)} wants to add you — /accept {contact.sid}"


def error(text: str) -> str:
    """``! message refused: 404 No such user``."""
    return f"! {text}"


def note(text: str) -> str:
    """``* talking to Bob (700000002)``."""
    return f"* {text}"


_RELATION_NOTES = {
    Relation.ASKED: "waiting for them to accept",
    Relation.DECLINED: "declined",
    Relation.ASKING: "wants to add you",
    Relation.BLOCKED: "blocked",
}


def contact_list(contacts: Iterable[Contact]) -> list[str]:
    """The ``/contacts`` listing: one line per contact with presence or relation."""
    rows = [
        (
            contact_label(c),
            presence_name(c.presence)
            if c.relation is Relation.ACCEPTED
            else _RELATION_NOTES[c.relation],
        )
        for c in contacts
    ]
    if not rows:
        return ["* no contacts yet — /add <sid|number> to ask someone"]
    width = max(len(label) for label, _ in rows)
    return ["Contacts:", *(f"  {label.ljust(width)}  {state}" for label, state in rows)]


def help_text() -> list[str]:
    """The ``/help`` lines."""
    return [
        "Commands (a line without a slash goes to the current peer):",
        *("  " + line for line in HELP),
    ]
