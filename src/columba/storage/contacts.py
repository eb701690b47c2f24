"""Contact relations and their authorization states: request, accept, decline, block.

A relation between two users is two rows, one per side, each in its owner's state (see
``ContactState``): when alice asks bob, alice's row says ``pending_out`` and bob's row says
``pending_in``. Both sides change in one transaction, after both owners' contact-list versions
are bumped (and so locked) in a fixed order; see ``contact_lists``.
"""

from __future__ import annotations

from collections.abc import Sequence

from columba.storage.contact_lists import (
    CONTACT_QUERY,
    bump,
    check_lists,
    contact_from_row,
    encode_list_ids,
    require_accounts,
)
from columba.storage.errors import Conflict, NotFound
from columba.storage.records import Contact, ContactState
from columba.storage.sql import Op, execute, fetch, fetch_one


def _get(owner_id: int, contact_id: int) -> Op[Contact | None]:
    row = yield from fetch_one(
        f"{CONTACT_QUERY} WHERE owner_id = ? AND contact_id = ? AND NOT is_deleted",
        owner_id,
        contact_id,
    )
    return None if row is None else contact_from_row(row)


def _put(
    owner_id: int,
    contact_id: int,
    state: ContactState,
    *,
    version: int,
    now: int,
    local_name: str = "",
    list_ids: Sequence[int] = (),
) -> Op[Contact]:
    yield from execute(
        "INSERT INTO contacts (owner_id, contact_id, state, local_name, list_ids, version,"
        " is_deleted, updated_at) VALUES (?, ?, ?, ?, ?, ?, FALSE, ?)"
        " ON CONFLICT (owner_id, contact_id) DO UPDATE SET state = excluded.state,"
        " local_name = excluded.local_name, list_ids = excluded.list_ids,"
        " version = excluded.version, is_deleted = FALSE, updated_at = excluded.updated_at",
        owner_id,
        contact_id,
        state.value,
        local_name,
        encode_list_ids(list_ids),
        version,
        now,
    )
    return Contact(
        owner_id=owner_id,
        contact_id=contact_id,
        state=state,
        local_name=local_name,
        list_ids=tuple(sorted(set(list_ids))),
        version=version,
    )


def _set_state(contact: Contact, state: ContactState, *, version: int, now: int) -> Op[Contact]:
    return (
        yield from _put(
            contact.owner_id,
            contact.contact_id,
            state,
            version=version,
            now=now,
            local_name=contact.local_name,
            list_ids=contact.list_ids,
        )
    )


def _tombstone(owner_id: int, contact_id: int, *, version: int, now: int) -> Op[None]:
    yield from execute(
        "UPDATE contacts SET is_deleted = TRUE, version = ?, updated_at = ?"
        " WHERE owner_id = ? AND contact_id = ? AND NOT is_deleted",
        version,
        now,
        owner_id,
        contact_id,
    )


def request(
    owner_id: int, other_id: int, *, local_name: str, list_ids: Sequence[int], now: int
) -> Op[Contact]:
    """The owner asks to add the other user; returns the owner's entry.

    If the other user already accepted the owner, or asked first, both sides become
    ``accepted`` at once. If the other user blocks the owner, the owner's entry says
    ``pending_out`` and the other user is not told (a block is not revealed).

    Raises:
        NotFound: Either account does not exist, or a buddy list does not.
        Conflict: The owner blocks the other user (unblock first).
    """
    if owner_id == other_id:
        raise ValueError("a user cannot add themselves")
    yield from require_accounts(owner_id, other_id)
    yield from check_lists(owner_id, list_ids)
    versions = yield from bump((owner_id, other_id))
    mine = yield from _get(owner_id, other_id)
    theirs = yield from _get(other_id, owner_id)
    if mine is not None and mine.state is ContactState.BLOCKED:
        raise Conflict(f"user {owner_id} blocks user {other_id}")
    state = ContactState.PENDING_OUT
    if theirs is None or theirs.state in (ContactState.DECLINED, ContactState.PENDING_IN):
        yield from _put(
            other_id, owner_id, ContactState.PENDING_IN, version=versions[other_id], now=now
        )
    elif theirs.state is ContactState.PENDING_OUT:
        yield from _set_state(theirs, ContactState.ACCEPTED, version=versions[other_id], now=now)
        state = ContactState.ACCEPTED
    elif theirs.state is ContactState.ACCEPTED:
        state = ContactState.ACCEPTED
    return (
        yield from _put(
            owner_id,
            other_id,
            state,
            version=versions[owner_id],
            now=now,
            local_name=local_name,
            list_ids=list_ids,
        )
    )


def accept(
    owner_id: int, requester_id: int, *, local_name: str, list_ids: Sequence[int], now: int
) -> Op[Contact]:
    """The owner accepts the requester's pending request; returns the owner's entry.

    Raises:
        NotFound: There is no pending request from the requester, or no such buddy list.
    """
    yield from require_accounts(owner_id, requester_id)
    yield from check_lists(owner_id, list_ids)
    versions = yield from bump((owner_id, requester_id))
    mine = yield from _get(owner_id, requester_id)
    if mine is None or mine.state is not ContactState.PENDING_IN:
        raise NotFound(f"user {owner_id} has no pending request from user {requester_id}")
    theirs = yield from _get(requester_id, owner_id)
    if theirs is not None and theirs.state is ContactState.PENDING_OUT:
        yield from _set_state(
            theirs, ContactState.ACCEPTED, version=versions[requester_id], now=now
        )
    return (
        yield from _put(
            owner_id,
            requester_id,
            ContactState.ACCEPTED,
            version=versions[owner_id],
            now=now,
            local_name=local_name,
            list_ids=list_ids,
        )
    )


def decline(owner_id: int, requester_id: int, *, now: int) -> Op[None]:
    """The owner declines a pending request: the requester's entry says ``declined``.

    Raises:
        NotFound: There is no pending request from the requester.
    """
    yield from require_accounts(owner_id, requester_id)
    versions = yield from bump((owner_id, requester_id))
    mine = yield from _get(owner_id, requester_id)
    if mine is None or mine.state is not ContactState.PENDING_IN:
        raise NotFound(f"user {owner_id} has no pending request from user {requester_id}")
    yield from _tombstone(owner_id, requester_id, version=versions[owner_id], now=now)
    theirs = yield from _get(requester_id, owner_id)
    if theirs is not None and theirs.state is ContactState.PENDING_OUT:
        yield from _set_state(
            theirs, ContactState.DECLINED, version=versions[requester_id], now=now
        )


def remove(owner_id: int, other_id: int, *, now: int) -> Op[None]:
    """Removes the owner's entry; a request the owner made is withdrawn from the other side.

    Raises:
        NotFound: The owner has no entry for the other user.
    """
    yield from require_accounts(owner_id, other_id)
    versions = yield from bump((owner_id, other_id))
    mine = yield from _get(owner_id, other_id)
    if mine is None:
        raise NotFound(f"user {owner_id} has no contact {other_id}")
    yield from _tombstone(owner_id, other_id, version=versions[owner_id], now=now)
    theirs = yield from _get(other_id, owner_id)
    withdrawn = mine.state is ContactState.PENDING_OUT
    if withdrawn and theirs is not None and theirs.state is ContactState.PENDING_IN:
        yield from _tombstone(other_id, owner_id, version=versions[other_id], now=now)


def block(owner_id: int, other_id: int, *, now: int) -> Op[Contact]:
    """The owner blocks the other user (who is not told); a request from the owner is withdrawn.

    Raises:
        NotFound: Either account does not exist.
    """
    if owner_id == other_id:
        raise ValueError("a user cannot block themselves")
    yield from require_accounts(owner_id, other_id)
    versions = yield from bump((owner_id, other_id))
    mine = yield from _get(owner_id, other_id)
    theirs = yield from _get(other_id, owner_id)
    if theirs is not None and theirs.state is ContactState.PENDING_IN:
        yield from _tombstone(other_id, owner_id, version=versions[other_id], now=now)
    if mine is None:
        return (
            yield from _put(
                owner_id, other_id, ContactState.BLOCKED, version=versions[owner_id], now=now
            )
        )
    return (yield from _set_state(mine, ContactState.BLOCKED, version=versions[owner_id], now=now))


def unblock(owner_id: int, other_id: int, *, now: int) -> Op[None]:
    """Lifts a block: the entry is removed (the other user may ask again).

    Raises:
        NotFound: The owner does not block the other user.
    """
    yield from require_accounts(owner_id)
    versions = yield from bump((owner_id,))
    mine = yield from _get(owner_id, other_id)
    if mine is None or mine.state is not ContactState.BLOCKED:
        raise NotFound(f"user {owner_id} does not block user {other_id}")
    yield from _tombstone(owner_id, other_id, version=versions[owner_id], now=now)


def update(
    owner_id: int,
    other_id: int,
    *,
    local_name: str | None,
    list_ids: Sequence[int] | None,
    now: int,
) -> Op[Contact]:
    """Changes the owner's name for a contact and the buddy lists it is filed under.

    Raises:
        NotFound: No such entry, or no such buddy list.
    """
    yield from require_accounts(owner_id)
    if list_ids is not None:
        yield from check_lists(owner_id, list_ids)
    versions = yield from bump((owner_id,))
    mine = yield from _get(owner_id, other_id)
    if mine is None:
        raise NotFound(f"user {owner_id} has no contact {other_id}")
    return (
        yield from _put(
            owner_id,
            other_id,
            mine.state,
            version=versions[owner_id],
            now=now,
            local_name=mine.local_name if local_name is None else local_name,
            list_ids=mine.list_ids if list_ids is None else list_ids,
        )
    )


def get(owner_id: int, other_id: int) -> Op[Contact]:
    """The owner's entry for the other user.

    Raises:
        NotFound: The owner has no entry for the other user.
    """
    contact = yield from _get(owner_id, other_id)
    if contact is None:
        raise NotFound(f"user {owner_id} has no contact {other_id}")
    return contact


def is_blocked(owner_id: int, other_id: int) -> Op[bool]:
    """True when the owner blocks the other user."""
    contact = yield from _get(owner_id, other_id)
    return contact is not None and contact.state is ContactState.BLOCKED


def blocked(owner_id: int) -> Op[list[int]]:
    """The users the owner blocks, in id order."""
    rows = yield from fetch(
        "SELECT contact_id FROM contacts WHERE owner_id = ? AND state = ? AND NOT is_deleted"
        " ORDER BY contact_id",
        owner_id,
        ContactState.BLOCKED.value,
    )
    return [row[0] for row in rows]


def forget_user(user_id: int, *, now: int) -> Op[None]:
    """Turns every other owner's entry for a user being deleted into a tombstone."""
    rows = yield from fetch(
        "SELECT owner_id FROM contacts WHERE contact_id = ? AND NOT is_deleted", user_id
    )
    owners = [row[0] for row in rows if row[0] != user_id]
    versions = yield from bump(owners)
    for owner_id in owners:
        yield from _tombstone(owner_id, user_id, version=versions[owner_id], now=now)
