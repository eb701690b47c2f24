"""Model-based tests (hypothesis stateful): the delivery queues and the contact-list deltas.

Each machine drives a real store (SQLite in memory; PostgreSQL too when configured, with fewer
examples) through random sequences of operations and checks it against a plain Python model.
The store lives in one event loop per machine instance (``asyncio.Runner``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from columba.storage import (
    BuddyList,
    Conflict,
    Contact,
    ContactState,
    NewMessage,
    NotFound,
    Recipient,
    Store,
    open_store,
)

from .conftest import NO_POSTGRES, POSTGRES_URL, postgres_admin, with_query

T = TypeVar("T")
USERS = (1, 2, 3)
DEVICES = ("pc", "phone")
KEYS = tuple(f"key{i}" for i in range(6))


class StoreMachine(RuleBasedStateMachine):
    """Owns an event loop and a store for one run of a machine."""

    url = "sqlite:///:memory:"

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.schema = ""
        if self.url.startswith("postgresql"):
            self.schema = f"prop_{secrets.token_hex(6)}"
            self.runner.run(postgres_admin(f"CREATE SCHEMA {self.schema}"))
            self.store: Store = self.runner.run(
                open_store(with_query(self.url, search_path=self.schema))
            )
        else:
            self.store = self.runner.run(open_store(self.url))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def teardown(self) -> None:
        self.run(self.store.close())
        if self.schema:
            self.run(postgres_admin(f"DROP SCHEMA {self.schema} CASCADE"))
        self.runner.close()


class DeliveryMachine(StoreMachine):
    """Store, ack and fetch pending messages; the model is a set of owed rows per device."""

    def __init__(self) -> None:
        super().__init__()
        self.conversations = {
            frozenset(pair): self.run(self.store.pair_conversation(*pair)).conversation_id
            for pair in ((1, 2), (1, 3), (2, 3))
        }
        self.last_seq = dict.fromkeys(self.conversations.values(), 0)
        self.by_key: dict[tuple[int, str], tuple[str, int, int]] = {}  # -> id, conv, seq
        self.owed: dict[tuple[int, str], set[tuple[int, int, str]]] = {}  # -> (conv, seq, id)

    @rule(
        items=st.lists(
            st.tuples(
                st.sampled_from([(a, b) for a in USERS for b in USERS if a != b]),
                st.sampled_from(KEYS),
                st.sets(st.sampled_from(DEVICES)),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def store_batch(self, items: list[tuple[tuple[int, int], str, set[str]]]) -> None:
        batch = [
            NewMessage(
                conversation_id=self.conversations[frozenset((sender, to))],
                sender_id=sender,
                recipients=(Recipient(user_id=to, devices=tuple(sorted(devices))),),
                content_type="text/plain",
                body=key.encode(),
                client_key=key,
            )
            for (sender, to), key, devices in items
        ]
        stored = self.run(self.store.store_messages(batch))
        for ((sender, to), key, devices), message in zip(items, stored, strict=True):
            known = self.by_key.get((sender, key))
            if known is not None:
                assert message.is_duplicate
                assert (message.message_id, message.conversation_id, message.seq) == known
                continue
            assert not message.is_duplicate
            conversation = message.conversation_id
            self.last_seq[conversation] += 1
            assert message.seq == self.last_seq[conversation]
            self.by_key[(sender, key)] = (message.message_id, conversation, message.seq)
            for device in devices:
                self.owed.setdefault((to, device), set()).add(
                    (conversation, message.seq, message.message_id)
                )

    @precondition(lambda self: bool(self.by_key))
    @rule(data=st.data(), user=st.sampled_from(USERS), device=st.sampled_from(DEVICES))
    def ack(self, data: st.DataObject, user: int, device: str) -> None:
        ids = sorted(known[0] for known in self.by_key.values())
        chosen = data.draw(st.lists(st.sampled_from(ids), max_size=3))
        owed = self.owed.get((user, device), set())
        expected = {row for row in owed if row[2] in chosen}
        assert self.run(self.store.ack_many(user, device, chosen)) == len(expected)
        owed -= expected

    @invariant()
    def pending_matches_the_model(self) -> None:
        for user in USERS:
            for device in DEVICES:
                pending = self.run(self.store.pending_for_device(user, device, limit=1000))
                expected = sorted(self.owed.get((user, device), set()))
                assert [(m.conversation_id, m.seq, m.message_id) for m in pending] == expected

    @invariant()
    def history_is_gap_free(self) -> None:
        for conversation, last in self.last_seq.items():
            history = self.run(self.store.messages_after(conversation, 0, limit=1000))
            assert [m.seq for m in history] == list(range(1, last + 1))


@dataclass
class Replica:
    """A client's copy of one user's contact list, kept up to date by deltas only."""

    version: int = 0
    contacts: dict[int, Contact] = field(default_factory=dict)
    lists: dict[int, BuddyList] = field(default_factory=dict)


class ContactsMachine(StoreMachine):
    """Random contact operations; every user's replica, patched by deltas, equals the list."""

    def __init__(self) -> None:
        super().__init__()
        self.users = [
            self.run(self.store.create_account(display_name=f"u{i}", password_hash="h")).user_id
            for i in range(4)
        ]
        self.replicas = {user: Replica() for user in self.users}

    def attempt(self, coroutine: Coroutine[Any, Any, object]) -> None:
        # Refusals are part of the contract; the invariants must hold all the same.
        with contextlib.suppress(NotFound, Conflict, ValueError):
            self.run(coroutine)

    pairs = st.tuples(st.integers(0, 3), st.integers(0, 3))

    @rule(pair=pairs, lists=st.lists(st.integers(1, 3), max_size=2))
    def request(self, pair: tuple[int, int], lists: list[int]) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt(self.store.request_contact(a, b, list_ids=lists))

    @rule(pair=pairs)
    def accept(self, pair: tuple[int, int]) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt(self.store.accept_contact(a, b))

    @rule(pair=pairs)
    def decline(self, pair: tuple[int, int]) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt(self.store.decline_contact(a, b))

    @rule(pair=pairs)
    def remove(self, pair: tuple[int, int]) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt(self.store.remove_contact(a, b))

    @rule(pair=pairs, unblock=st.booleans())
    def block(self, pair: tuple[int, int], unblock: bool) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt((self.store.unblock if unblock else self.store.block)(a, b))

    @rule(owner=st.integers(0, 3), name=st.sampled_from(["Friends", "Work"]))
    def create_list(self, owner: int, name: str) -> None:
        self.attempt(self.store.create_buddy_list(self.users[owner], name))

    @rule(owner=st.integers(0, 3), list_id=st.integers(1, 3))
    def delete_list(self, owner: int, list_id: int) -> None:
        self.attempt(self.store.delete_buddy_list(self.users[owner], list_id))

    @rule(pair=pairs, lists=st.lists(st.integers(1, 3), max_size=2))
    def refile(self, pair: tuple[int, int], lists: list[int]) -> None:
        a, b = (self.users[i] for i in pair)
        self.attempt(self.store.update_contact(a, b, list_ids=lists, local_name=f"n{b}"))

    @rule(owner=st.integers(0, 3))
    def sync(self, owner: int) -> None:
        user = self.users[owner]
        replica = self.replicas[user]
        delta = self.run(self.store.contacts_changed_since(user, replica.version))
        assert delta.version >= replica.version
        if delta.is_full:
            replica.contacts, replica.lists = {}, {}
        for contact in delta.contacts:
            replica.contacts[contact.contact_id] = contact
        for removed in delta.removed_contacts:
            replica.contacts.pop(removed, None)
        for buddy_list in delta.buddy_lists:
            replica.lists[buddy_list.list_id] = buddy_list
        for removed in delta.removed_buddy_lists:
            replica.lists.pop(removed, None)
        replica.version = delta.version
        full = self.run(self.store.contact_list(user))
        assert replica.contacts == {c.contact_id: c for c in full.contacts}
        assert replica.lists == {bl.list_id: bl for bl in full.buddy_lists}

    @invariant()
    def requests_are_seen_from_both_sides(self) -> None:
        entries = {}
        for user in self.users:
            for contact in self.run(self.store.contact_list(user)).contacts:
                entries[(user, contact.contact_id)] = contact.state
        for (owner, other), contact_state in entries.items():
            if contact_state is ContactState.PENDING_IN:
                assert entries.get((other, owner)) is ContactState.PENDING_OUT
            for list_id in self.run(self.store.contact(owner, other)).list_ids:
                assert list_id in {
                    bl.list_id for bl in self.run(self.store.contact_list(owner)).buddy_lists
                }


FAST = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestDeliverySqlite = DeliveryMachine.TestCase
TestDeliverySqlite.settings = FAST
TestContactsSqlite = ContactsMachine.TestCase
TestContactsSqlite.settings = FAST


class PostgresDelivery(DeliveryMachine):
    url = POSTGRES_URL


class PostgresContacts(ContactsMachine):
    url = POSTGRES_URL


FEW = settings(FAST, max_examples=8, stateful_step_count=15)
TestDeliveryPostgres = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)(
    PostgresDelivery.TestCase
)
TestDeliveryPostgres.settings = FEW
TestContactsPostgres = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)(
    PostgresContacts.TestCase
)
TestContactsPostgres.settings = FEW
