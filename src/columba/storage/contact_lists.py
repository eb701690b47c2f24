"""The contact list as a whole: its version, its buddy lists, and deltas since a version.

Every change to an owner's list bumps that owner's contact-list version and stamps the changed
rows (contacts and buddy lists) with it; removed entries stay as tombstones (``is_deleted``).
``changed_since(owner, n)`` is then one index range scan, ``version > n``, and a client that
holds version ``n`` fetches only the delta.

The version row doubles as the owner's lock: ``bump`` takes it (in PostgreSQL, a row lock held to
commit), and every operation bumps all the owners it touches first, in ascending user id order,
so two operations crossing each other cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence

from columba.storage.errors import NotFound
from columba.storage.records import BuddyList, Contact, ContactDelta, ContactState
from columba.storage.sql import Op, Row, execute, fetch, fetch_one, placeholders

CONTACT_QUERY = (
    "SELECT owner_id, contact_id, state, local_name, list_ids, version, is_deleted FROM contacts"
)
LIST_QUERY = "SELECT owner_id, list_id, name, version, is_deleted FROM buddy_lists"


def encode_list_ids(list_ids: Sequence[int]) -> str:
    """Buddy-list ids as stored: sorted, unique, ``;``-separated (as Fetion writes them)."""
    return ";".join(str(list_id) for list_id in sorted(set(list_ids)))


def decode_list_ids(text: str) -> tuple[int, ...]:
    """The inverse of :func:`encode_list_ids`."""
    return tuple(int(part) for part in text.split(";") if part)


def contact_from_row(row: Row) -> Contact:
    """Makes a :class:`Contact` from a row selected with ``CONTACT_QUERY``."""
    return Contact(
        owner_id=row[0],
        contact_id=row[1],
        state=ContactState(row[2]),
        local_name=row[3],
        list_ids=decode_list_ids(row[4]),
        version=row[5],
    )


def buddy_list_from_row(row: Row) -> BuddyList:
    """Makes a :class:`BuddyList` from a row selected with ``LIST_QUERY``."""
    return BuddyList(owner_id=row[0], list_id=row[1], name=row[2], version=row[3])


def bump(owner_ids: Sequence[int]) -> Op[dict[int, int]]:
    """Bumps (and so locks) the owners' versions in ascending order; returns the new ones."""
    versions = {}
    for owner_id in sorted(set(owner_ids)):
        row = yield from fetch_one(
            "INSERT INTO contact_versions (owner_id, version) VALUES (?, 1)"
            " ON CONFLICT (owner_id) DO UPDATE SET version = contact_versions.version + 1"
            " RETURNING version",
            owner_id,
        )
        assert row is not None  # RETURNING always yields the row
        versions[owner_id] = int(row[0])
    return versions


def require_accounts(*user_ids: int) -> Op[None]:
    """Raises ``NotFound`` unless every user id names an account."""
    wanted = set(user_ids)
    rows = yield from fetch(
        f"SELECT user_id FROM accounts WHERE user_id IN ({placeholders(len(wanted))})", *wanted
    )
    missing = wanted - {row[0] for row in rows}
    if missing:
        raise NotFound(f"no account with user_id {min(missing)}")


def check_lists(owner_id: int, list_ids: Sequence[int]) -> Op[None]:
    """Raises ``NotFound`` unless the owner has every one of these buddy lists."""
    wanted = set(list_ids)
    if not wanted:
        return
    rows = yield from fetch(
        f"SELECT list_id FROM buddy_lists WHERE owner_id = ? AND NOT is_deleted"
        f" AND list_id IN ({placeholders(len(wanted))})",
        owner_id,
        *wanted,
    )
    missing = wanted - {row[0] for row in rows}
    if missing:
        raise NotFound(f"user {owner_id} has no buddy list {min(missing)}")


def create_list(owner_id: int, name: str) -> Op[BuddyList]:
    """Creates a buddy list; ids count up per owner and are never reused.

    Raises:
        NotFound: No such account.
    """
    yield from require_accounts(owner_id)
    versions = yield from bump((owner_id,))
    row = yield from fetch_one(
        "SELECT COALESCE(MAX(list_id), 0) + 1 FROM buddy_lists WHERE owner_id = ?", owner_id
    )
    list_id = int(row[0]) if row is not None else 1
    yield from execute(
        "INSERT INTO buddy_lists (owner_id, list_id, name, version, is_deleted)"
        " VALUES (?, ?, ?, ?, FALSE)",
        owner_id,
        list_id,
        name,
        versions[owner_id],
    )
    return BuddyList(owner_id=owner_id, list_id=list_id, name=name, version=versions[owner_id])


def rename_list(owner_id: int, list_id: int, name: str) -> Op[BuddyList]:
    """Renames a buddy list.

    Raises:
        NotFound: No such buddy list.
    """
    yield from require_accounts(owner_id)
    versions = yield from bump((owner_id,))
    count = yield from execute(
        "UPDATE buddy_lists SET name = ?, version = ?"
        " WHERE owner_id = ? AND list_id = ? AND NOT is_deleted",
        name,
        versions[owner_id],
        owner_id,
        list_id,
    )
    if not count:
        raise NotFound(f"user {owner_id} has no buddy list {list_id}")
    return BuddyList(owner_id=owner_id, list_id=list_id, name=name, version=versions[owner_id])


def delete_list(owner_id: int, list_id: int, *, now: int) -> Op[None]:
    """Deletes a buddy list; the contacts filed under it stay, filed under the others.

    Raises:
        NotFound: No such buddy list.
    """
    yield from require_accounts(owner_id)
    versions = yield from bump((owner_id,))
    version = versions[owner_id]
    count = yield from execute(
        "UPDATE buddy_lists SET is_deleted = TRUE, version = ?"
        " WHERE owner_id = ? AND list_id = ? AND NOT is_deleted",
        version,
        owner_id,
        list_id,
    )
    if not count:
        raise NotFound(f"user {owner_id} has no buddy list {list_id}")
    rows = yield from fetch(f"{CONTACT_QUERY} WHERE owner_id = ? AND NOT is_deleted", owner_id)
    for contact in map(contact_from_row, rows):
        if list_id in contact.list_ids:
            kept = [other for other in contact.list_ids if other != list_id]
            yield from execute(
                "UPDATE contacts SET list_ids = ?, version = ?, updated_at = ?"
                " WHERE owner_id = ? AND contact_id = ?",
                encode_list_ids(kept),
                version,
                now,
                owner_id,
                contact.contact_id,
            )


def changed_since(owner_id: int, since: int) -> Op[ContactDelta]:
    """What changed in the owner's list after version ``since`` (all of it for 0).

    The current version is read before the rows. Each statement may see a later snapshot than
    the one before (a driver may run reads outside a transaction), but versions of one owner
    commit in order (the version row is locked until commit), so rows seen after the version
    read never hide an earlier change; the version returned covers every row returned.
    """
    row = yield from fetch_one("SELECT version FROM contact_versions WHERE owner_id = ?", owner_id)
    current = int(row[0]) if row is not None else 0
    is_full = since <= 0 or since > current
    base = 0 if is_full else since
    contact_rows = yield from fetch(
        f"{CONTACT_QUERY} WHERE owner_id = ? AND version > ? ORDER BY contact_id", owner_id, base
    )
    list_rows = yield from fetch(
        f"{LIST_QUERY} WHERE owner_id = ? AND version > ? ORDER BY list_id", owner_id, base
    )
    version = max([current, *(r[5] for r in contact_rows), *(r[3] for r in list_rows)])
    return ContactDelta(
        owner_id=owner_id,
        version=version,
        is_full=is_full,
        contacts=tuple(contact_from_row(r) for r in contact_rows if not r[6]),
        removed_contacts=() if is_full else tuple(r[1] for r in contact_rows if r[6]),
        buddy_lists=tuple(buddy_list_from_row(r) for r in list_rows if not r[4]),
        removed_buddy_lists=() if is_full else tuple(r[1] for r in list_rows if r[4]),
    )
