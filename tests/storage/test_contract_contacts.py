"""The storage contract, part 3: contact authorization, buddy lists, blocks and deltas."""

from __future__ import annotations

import asyncio

import pytest

from columba.storage import Account, Conflict, ContactState, NotFound, Store

from .conftest import Backend

PENDING_OUT, PENDING_IN = ContactState.PENDING_OUT, ContactState.PENDING_IN
ACCEPTED, DECLINED, BLOCKED = ContactState.ACCEPTED, ContactState.DECLINED, ContactState.BLOCKED


async def users(store: Store, *names: str) -> list[Account]:
    return [await store.create_account(display_name=name, password_hash="h") for name in names]


async def state(store: Store, owner: Account, other: Account) -> ContactState | None:
    try:
        return (await store.contact(owner.user_id, other.user_id)).state
    except NotFound:
        return None


def test_request_then_accept(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob = await users(store, "alice", "bob")
        entry = await store.request_contact(alice.user_id, bob.user_id, local_name="Bobby")
        assert (entry.state, entry.local_name) == (PENDING_OUT, "Bobby")
        assert await state(store, bob, alice) is PENDING_IN
        accepted = await store.accept_contact(bob.user_id, alice.user_id, local_name="Al")
        assert (accepted.state, accepted.local_name) == (ACCEPTED, "Al")
        mine = await store.contact(alice.user_id, bob.user_id)
        assert (mine.state, mine.local_name) == (ACCEPTED, "Bobby")
        with pytest.raises(NotFound, match="pending"):
            await store.accept_contact(bob.user_id, alice.user_id)

    backend.run(scenario)


def test_requests_that_cross_are_both_accepted(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob = await users(store, "alice", "bob")
        await store.request_contact(alice.user_id, bob.user_id)
        entry = await store.request_contact(bob.user_id, alice.user_id)
        assert entry.state is ACCEPTED
        assert await state(store, alice, bob) is ACCEPTED

    backend.run(scenario)


def test_concurrent_crossing_requests_do_not_deadlock(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        people = await users(store, *(f"u{i}" for i in range(6)))
        pairs = [(a, b) for a in people for b in people if a.user_id != b.user_id]
        await asyncio.gather(*(store.request_contact(a.user_id, b.user_id) for a, b in pairs))
        for a, b in pairs:
            assert await state(store, a, b) is ACCEPTED

    backend.run(scenario)


def test_asking_someone_who_accepted_you_is_granted(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob = await users(store, "alice", "bob")
        await store.request_contact(alice.user_id, bob.user_id)
        await store.accept_contact(bob.user_id, alice.user_id)
        await store.remove_contact(alice.user_id, bob.user_id)
        assert await state(store, bob, alice) is ACCEPTED  # bob keeps alice
        again = await store.request_contact(alice.user_id, bob.user_id)
        assert again.state is ACCEPTED

    backend.run(scenario)


def test_decline(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob = await users(store, "alice", "bob")
        await store.request_contact(alice.user_id, bob.user_id)
        await store.decline_contact(bob.user_id, alice.user_id)
        assert await state(store, alice, bob) is DECLINED
        assert await state(store, bob, alice) is None
        with pytest.raises(NotFound):
            await store.decline_contact(bob.user_id, alice.user_id)
        # Asking again after a decline is allowed.
        assert (await store.request_contact(alice.user_id, bob.user_id)).state is PENDING_OUT
        assert await state(store, bob, alice) is PENDING_IN

    backend.run(scenario)


def test_removing_a_pending_request_withdraws_it(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob = await users(store, "alice", "bob")
        await store.request_contact(alice.user_id, bob.user_id)
        await store.remove_contact(alice.user_id, bob.user_id)
        assert await state(store, alice, bob) is None
        assert await state(store, bob, alice) is None
        with pytest.raises(NotFound):
            await store.remove_contact(alice.user_id, bob.user_id)

    backend.run(scenario)


def test_block_is_not_revealed(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob, carol = await users(store, "alice", "bob", "carol")
        await store.request_contact(alice.user_id, bob.user_id)
        blocked = await store.block(alice.user_id, bob.user_id)
        assert blocked.state is BLOCKED
        assert await state(store, bob, alice) is None  # alice's request is withdrawn
        assert await store.is_blocked(alice.user_id, bob.user_id)
        assert not await store.is_blocked(bob.user_id, alice.user_id)
        assert not await store.is_blocked(alice.user_id, carol.user_id)
        # bob asks: he sees his request pending, alice sees nothing new.
        assert (await store.request_contact(bob.user_id, alice.user_id)).state is PENDING_OUT
        assert await state(store, alice, bob) is BLOCKED
        with pytest.raises(Conflict):
            await store.request_contact(alice.user_id, bob.user_id)
        await store.block(alice.user_id, carol.user_id)
        assert await store.blocked(alice.user_id) == [bob.user_id, carol.user_id]
        await store.unblock(alice.user_id, bob.user_id)
        assert await store.blocked(alice.user_id) == [carol.user_id]
        with pytest.raises(NotFound):
            await store.unblock(alice.user_id, bob.user_id)
        with pytest.raises(NotFound):
            await store.block(alice.user_id, 999)

    backend.run(scenario)


def test_buddy_lists(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob, carol = await users(store, "alice", "bob", "carol")
        friends = await store.create_buddy_list(alice.user_id, "Friends")
        work = await store.create_buddy_list(alice.user_id, "Work")
        assert (friends.list_id, work.list_id) == (1, 2)
        await store.request_contact(
            alice.user_id, bob.user_id, list_ids=[friends.list_id, work.list_id]
        )
        await store.request_contact(alice.user_id, carol.user_id, list_ids=[work.list_id])
        assert (await store.contact(alice.user_id, bob.user_id)).list_ids == (1, 2)
        renamed = await store.rename_buddy_list(alice.user_id, work.list_id, "Colleagues")
        assert renamed.name == "Colleagues"
        await store.delete_buddy_list(alice.user_id, work.list_id)
        assert (await store.contact(alice.user_id, bob.user_id)).list_ids == (1,)
        assert (await store.contact(alice.user_id, carol.user_id)).list_ids == ()
        third = await store.create_buddy_list(alice.user_id, "Family")
        assert third.list_id == 3  # ids are not reused
        with pytest.raises(NotFound):
            await store.update_contact(alice.user_id, bob.user_id, list_ids=[work.list_id])
        with pytest.raises(NotFound):
            await store.request_contact(alice.user_id, bob.user_id, list_ids=[77])
        with pytest.raises(NotFound):
            await store.rename_buddy_list(alice.user_id, work.list_id, "x")
        with pytest.raises(NotFound):
            await store.delete_buddy_list(alice.user_id, work.list_id)
        moved = await store.update_contact(alice.user_id, bob.user_id, list_ids=[third.list_id])
        assert moved.list_ids == (3,)
        renamed_contact = await store.update_contact(alice.user_id, bob.user_id, local_name="B")
        assert (renamed_contact.local_name, renamed_contact.list_ids) == ("B", (3,))
        full = await store.contact_list(alice.user_id)
        assert [(bl.list_id, bl.name) for bl in full.buddy_lists] == [(1, "Friends"), (3, "Family")]

    backend.run(scenario)


def test_contact_deltas(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice, bob, carol, dave = await users(store, "alice", "bob", "carol", "dave")
        empty = await store.contact_list(alice.user_id)
        assert (empty.version, empty.is_full, empty.contacts) == (0, True, ())

        await store.request_contact(alice.user_id, bob.user_id)
        await store.request_contact(alice.user_id, carol.user_id)
        friends = await store.create_buddy_list(alice.user_id, "Friends")
        full = await store.contact_list(alice.user_id)
        assert full.is_full
        assert full.version == 3
        assert [c.contact_id for c in full.contacts] == [bob.user_id, carol.user_id]

        # bob accepts (alice's list changes), alice removes carol, dave asks alice.
        await store.accept_contact(bob.user_id, alice.user_id)
        await store.remove_contact(alice.user_id, carol.user_id)
        await store.request_contact(dave.user_id, alice.user_id)
        await store.delete_buddy_list(alice.user_id, friends.list_id)
        delta = await store.contacts_changed_since(alice.user_id, full.version)
        assert not delta.is_full
        assert delta.version == full.version + 4
        assert {(c.contact_id, c.state) for c in delta.contacts} == {
            (bob.user_id, ACCEPTED),
            (dave.user_id, PENDING_IN),
        }
        assert delta.removed_contacts == (carol.user_id,)
        assert delta.removed_buddy_lists == (friends.list_id,)

        nothing = await store.contacts_changed_since(alice.user_id, delta.version)
        assert (nothing.version, nothing.contacts, nothing.removed_contacts) == (
            delta.version,
            (),
            (),
        )
        # A version the store never issued gets the whole list, without tombstones.
        future = await store.contacts_changed_since(alice.user_id, delta.version + 100)
        assert future.is_full
        assert future.removed_contacts == ()
        assert {c.contact_id for c in future.contacts} == {bob.user_id, dave.user_id}

    backend.run(scenario)


def test_contact_errors(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        (alice,) = await users(store, "alice")
        with pytest.raises(NotFound):
            await store.request_contact(alice.user_id, 999)
        with pytest.raises(NotFound):
            await store.request_contact(999, alice.user_id)
        with pytest.raises(ValueError, match="themselves"):
            await store.request_contact(alice.user_id, alice.user_id)
        with pytest.raises(NotFound):
            await store.contact(alice.user_id, 999)
        with pytest.raises(NotFound):
            await store.update_contact(alice.user_id, 999, local_name="x")
        with pytest.raises(NotFound):
            await store.create_buddy_list(999, "x")

    backend.run(scenario)
