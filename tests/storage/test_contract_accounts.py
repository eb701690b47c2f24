"""The storage contract, part 2: accounts, Digest credentials and invites."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from columba.storage import (
    UNSET,
    Conflict,
    DigestAlgorithm,
    DigestHA1,
    NotFound,
    Store,
)

from .conftest import Backend


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def test_create_and_look_up(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice = await store.create_account(
            display_name="alice", password_hash="$argon2id$…", number="+8613800138000"
        )
        assert len(alice.sid) == 9
        assert alice.sid.isdigit()
        assert alice.sid[0] != "0"
        assert alice.number == "+8613800138000"
        assert alice.impresa == ""
        assert not alice.is_disabled
        assert alice.created_at.tzinfo is not None
        assert await store.account(alice.user_id) == alice
        assert await store.account_by_sid(alice.sid) == alice
        assert await store.account_by_number("+8613800138000") == alice
        assert "argon2id" not in repr(alice)

    backend.run(scenario)


def test_sids_and_user_ids_are_unique(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        accounts = await asyncio.gather(
            *(store.create_account(display_name=f"user{i}", password_hash="h") for i in range(40))
        )
        assert len({account.sid for account in accounts}) == 40
        assert sorted(account.user_id for account in accounts) == list(range(1, 41))

    backend.run(scenario)


def test_lookups_of_missing_accounts_raise_not_found(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        with pytest.raises(NotFound):
            await store.account(404)
        with pytest.raises(NotFound):
            await store.account_by_sid("123456789")
        with pytest.raises(NotFound):
            await store.account_by_number("+4915112345678")

    backend.run(scenario)


def test_a_number_belongs_to_one_account(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice = await store.create_account(
            display_name="a", password_hash="h", number="+8613800000001"
        )
        bob = await store.create_account(
            display_name="b", password_hash="h", number="+8613800000002"
        )
        with pytest.raises(Conflict):
            await store.create_account(display_name="c", password_hash="h", number=alice.number)
        with pytest.raises(Conflict):
            await store.update_account(bob.user_id, number=alice.number)
        assert (await store.account(bob.user_id)).number == "+8613800000002"

    backend.run(scenario)


def test_racing_registrations_of_one_number(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        results = await asyncio.gather(
            *(
                store.create_account(
                    display_name=f"u{i}", password_hash="h", number="+8613900000000"
                )
                for i in range(8)
            ),
            return_exceptions=True,
        )
        winners = [result for result in results if not isinstance(result, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(result, Conflict) for result in results if result not in winners)

    backend.run(scenario)


def test_malformed_numbers_are_refused(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        for number in ("13800138000", "+0123", "+86 138", "+1234567890123456"):
            with pytest.raises(ValueError, match=r"E\.164"):
                await store.create_account(display_name="x", password_hash="h", number=number)

    backend.run(scenario)


def test_list_accounts_in_pages(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        created = [
            await store.create_account(display_name=f"u{i}", password_hash="h") for i in range(7)
        ]
        pages = []
        after = 0
        while page := await store.list_accounts(after=after, limit=3):
            pages.append([account.user_id for account in page])
            after = page[-1].user_id
        assert pages == [[1, 2, 3], [4, 5, 6], [7]]
        assert [a.user_id for a in created] == [1, 2, 3, 4, 5, 6, 7]

    backend.run(scenario)


def test_update_changes_only_what_is_given(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice = await store.create_account(
            display_name="alice", password_hash="h", number="+8613800000001"
        )
        changed = await store.update_account(alice.user_id, impresa="在开会", display_name="Alice")
        assert (changed.impresa, changed.display_name, changed.number) == (
            "在开会",
            "Alice",
            "+8613800000001",
        )
        changed = await store.update_account(alice.user_id, number=None, is_disabled=True)
        assert changed.number is None
        assert changed.is_disabled
        assert changed.impresa == "在开会"
        assert await store.update_account(alice.user_id, display_name=UNSET) == changed
        assert await store.account(alice.user_id) == changed
        with pytest.raises(NotFound):
            await store.update_account(999, impresa="x")

    backend.run(scenario)


def test_password_and_digest_ha1s_are_replaced_together(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice = await store.create_account(display_name="alice", password_hash="old")
        first = [
            DigestHA1(realm="fetion.com.cn", algorithm=DigestAlgorithm.MD5, ha1="a" * 32),
            DigestHA1(realm="fetion.com.cn", algorithm=DigestAlgorithm.SHA256, ha1="b" * 64),
            DigestHA1(realm="columba.example", algorithm=DigestAlgorithm.MD5, ha1="c" * 32),
        ]
        await store.set_password(alice.user_id, password_hash="new", ha1s=first)
        assert (await store.account(alice.user_id)).password_hash == "new"
        ha1 = await store.digest_ha1(alice.user_id, "fetion.com.cn", DigestAlgorithm.SHA256)
        assert ha1 == "b" * 64
        assert sorted(await store.digest_ha1s(alice.user_id), key=repr) == sorted(first, key=repr)
        await store.set_password(alice.user_id, password_hash="newer", ha1s=first[:1])
        assert await store.digest_ha1s(alice.user_id) == first[:1]
        with pytest.raises(NotFound):
            await store.digest_ha1(alice.user_id, "fetion.com.cn", DigestAlgorithm.SHA256)
        with pytest.raises(NotFound):
            await store.set_password(999, password_hash="x")
        assert "a" * 32 not in repr(first[0])

    backend.run(scenario)


def test_delete_account(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        alice = await store.create_account(
            display_name="alice", password_hash="h", number="+8613800000001"
        )
        bob = await store.create_account(display_name="bob", password_hash="h")
        await store.set_password(
            alice.user_id,
            password_hash="h",
            ha1s=[DigestHA1(realm="r", algorithm=DigestAlgorithm.MD5, ha1="x")],
        )
        await store.request_contact(alice.user_id, bob.user_id)
        await store.accept_contact(bob.user_id, alice.user_id)
        await store.register_device(alice.user_id, "pc")
        invite = await store.create_invite(created_by=alice.user_id)
        before = (await store.contact_list(bob.user_id)).version

        await store.delete_account(alice.user_id)

        with pytest.raises(NotFound):
            await store.account(alice.user_id)
        with pytest.raises(NotFound):
            await store.delete_account(alice.user_id)
        assert await store.digest_ha1s(alice.user_id) == []
        assert await store.devices(alice.user_id) == []
        assert (await store.invite(invite.code)).created_by is None
        delta = await store.contacts_changed_since(bob.user_id, before)
        assert delta.removed_contacts == (alice.user_id,)
        # The number is free again.
        again = await store.create_account(
            display_name="a2", password_hash="h", number="+8613800000001"
        )
        assert again.user_id != alice.user_id
        with pytest.raises(NotFound):
            await store.contact(bob.user_id, alice.user_id)

    backend.run(scenario)


def test_invites(backend: Backend) -> None:
    clock = FakeClock()

    async def scenario(store: Store) -> None:
        admin = await store.create_account(display_name="admin", password_hash="h")
        invite = await store.create_invite(
            created_by=admin.user_id,
            uses=2,
            expires_at=datetime.fromtimestamp(clock.now, UTC) + timedelta(days=1),
        )
        assert invite.uses_left == 2
        assert len(invite.code) >= 16
        assert await store.invites(created_by=admin.user_id) == [invite]
        await store.create_account(display_name="a", password_hash="h", invite_code=invite.code)
        assert (await store.invite(invite.code)).uses_left == 1
        # A failed registration does not use the invite up.
        await store.create_account(display_name="b", password_hash="h", number="+8613800000009")
        with pytest.raises(Conflict):
            await store.create_account(
                display_name="c",
                password_hash="h",
                number="+8613800000009",
                invite_code=invite.code,
            )
        assert (await store.invite(invite.code)).uses_left == 1
        await store.create_account(display_name="d", password_hash="h", invite_code=invite.code)
        with pytest.raises(NotFound, match="invite"):
            await store.create_account(display_name="e", password_hash="h", invite_code=invite.code)
        with pytest.raises(NotFound, match="invite"):
            await store.create_account(display_name="f", password_hash="h", invite_code="nonsense")

        late = await store.create_invite(
            created_by=None, expires_at=datetime.fromtimestamp(clock.now, UTC) + timedelta(hours=1)
        )
        clock.now += 2 * 3600
        with pytest.raises(NotFound, match="expired"):
            await store.create_account(display_name="g", password_hash="h", invite_code=late.code)
        assert len(await store.invites()) == 2
        await store.delete_invite(late.code)
        with pytest.raises(NotFound):
            await store.delete_invite(late.code)
        with pytest.raises(NotFound):
            await store.invite(late.code)
        with pytest.raises(ValueError, match="at least one use"):
            await store.create_invite(created_by=None, uses=0)

    backend.run(scenario, clock=clock)
