"""The contacts the chat client knows: who they are, how they relate to us, their presence.

It starts from the ``<contact-list>`` of the login results (``<b i=user-id u=uri n=name
r=relation/>``, fetion-sipc.md §2.3 step 5) and learns from notifications: names from
``BN PresenceV4`` (``<p sid n/>``), relations from ``BN contact`` events.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

#: Presence of a contact with no device logged in (``b="0"`` on the wire reads the same).
OFFLINE = -1

_SIP_USER = re.compile(r"^(?:sips?|tel):([^@;]+)")


class Relation(enum.IntEnum):
    """A buddy's ``r`` / ``relation-status`` value."""

    ASKED = 0  # we asked them; they have not answered
    ACCEPTED = 1
    DECLINED = 2
    ASKING = 3  # they asked us
    BLOCKED = 4


@dataclass(slots=True, kw_only=True)
class Contact:
    """One person in the roster (``name`` may be unknown: empty)."""

    sid: str
    user_id: int = 0
    name: str = ""
    relation: Relation = Relation.ACCEPTED
    presence: int = OFFLINE


def sid_of(uri: str) -> str:
    """The user part of ``sip:700000001@fetion.com.cn`` (the text itself if not a URI)."""
    match = _SIP_USER.match(uri)
    return match.group(1) if match else uri


def relation_of(text: str | None) -> Relation | None:
    """A relation from an attribute value (``None`` when absent or unknown)."""
    try:
        return Relation(int(text or ""))
    except ValueError:
        return None


class Roster:
    """Contacts by sid."""

    def __init__(self) -> None:
        self._contacts: dict[str, Contact] = {}

    @classmethod
    def from_login(cls, results: ET.Element | None) -> Roster:
        """The roster in a SIP-C login's ``<results>`` (empty if there is none)."""
        roster = cls()
        if results is None:
            return roster
        for buddy in results.iter("b"):
            sid = sid_of(buddy.get("u", ""))
            if not sid:
                continue
            roster.learn(
                sid,
                user_id=int_attr(buddy.get("i")),
                name=buddy.get("n"),
                relation=relation_of(buddy.get("r")) or Relation.ACCEPTED,
            )
        return roster

    def __iter__(self) -> Iterator[Contact]:
        """Contacts first, then pending ones, each group by name."""
        return iter(
            sorted(
                self._contacts.values(),
                key=lambda c: (c.relation is not Relation.ACCEPTED, (c.name or c.sid).lower()),
            )
        )

    def __len__(self) -> int:
        return len(self._contacts)

    def get(self, sid: str) -> Contact | None:
        """The contact with this sid, if known."""
        return self._contacts.get(sid)

    def find(self, text: str) -> Contact | None:
        """The contact a user typed: a sid, or a name that only one contact has."""
        contact = self._contacts.get(text)
        if contact is not None:
            return contact
        named = [c for c in self._contacts.values() if c.name and c.name.lower() == text.lower()]
        return named[0] if len(named) == 1 else None

    def learn(
        self,
        sid: str,
        *,
        user_id: int | None = None,
        name: str | None = None,
        relation: Relation | None = None,
    ) -> Contact:
        """The contact with this sid, added if new, with whatever else we now know of it.

        A new contact without a ``relation`` is an accepted one (only those send presence).
        """
        contact = self._contacts.get(sid)
        if contact is None:
            contact = self._contacts[sid] = Contact(sid=sid)
        if relation is not None:
            contact.relation = relation
        if user_id:
            contact.user_id = user_id
        if name:
            contact.name = name
        return contact

    def by_user_id(self, user_id: int) -> Contact | None:
        """The contact with this user id, if known."""
        return next((c for c in self._contacts.values() if c.user_id == user_id), None)

    def remove(self, sid: str) -> None:
        """Forget a contact (a declined request)."""
        self._contacts.pop(sid, None)


def int_attr(text: str | None) -> int:
    """A number from an attribute value (a user id, a presence value): 0 if absent or bad."""
    try:
        return int(text or "")
    except ValueError:
        return 0
