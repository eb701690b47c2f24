"""Groups and robots in the store, on every driver: membership, limits, posting, the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from columba.storage import Store
from columba.storage.groups import EventRow, GroupFull, Muted, NotMember, RobotSlot
from columba.storage.records import StoredMessage
from tests.storage.conftest import Backend


async def _users(store: Store, count: int) -> list[int]:
    ids = []
    for i in range(count):
        account = await store.create_account(display_name=f"u{i}", password_hash="!")
        ids.append(account.user_id)
    return ids


def _route(
    message: StoredMessage, robots: Sequence[RobotSlot], sender_is_robot: bool
) -> list[EventRow]:
    if sender_is_robot:
        return []
    payload = json.dumps({"message": message.message_id})
    chat = f"g{message.conversation_id}"
    return [(r, chat, f"{message.message_id}-{r}", payload) for r, _, _ in robots]


def test_members_limit_and_roles(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        owner, bob, carol = await _users(store, 3)
        group = await store.groups.create_group(
            name="Lunch", bulletin="", owner_id=owner, member_limit=2
        )
        assert group.member_count == 1
        await store.groups.set_role(group.group_id, bob, "invited")
        assert (await store.groups.group(group.group_id)).member_count == 1
        await store.groups.set_role(group.group_id, bob, "member")
        with pytest.raises(GroupFull):
            await store.groups.set_role(group.group_id, carol, "member")
        await store.groups.set_role(group.group_id, carol, "applied")  # waiting is not full
        roles = {m.user_id: m.role for m in await store.groups.members(group.group_id)}
        assert roles == {owner: "owner", bob: "member", carol: "applied"}
        listed = await store.groups.groups_of(bob)
        assert [(g.name, role) for g, role in listed] == [("Lunch", "member")]
        assert await store.groups.remove_member(group.group_id, bob)
        assert not await store.groups.remove_member(group.group_id, bob)

    backend.run(scenario)


def test_post_fans_out_to_member_devices_and_robots(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        owner, bob, outsider, robot_user = await _users(store, 4)
        for user, device in ((owner, "o1"), (owner, "o2"), (bob, "b1")):
            await store.register_device(user, device)
        group = await store.groups.create_group(
            name="G", bulletin="", owner_id=owner, member_limit=150
        )
        await store.groups.set_role(group.group_id, bob, "member")
        await store.groups.create_robot(
            robot_id=robot_user,
            name="faq",
            owner_id=owner,
            token_hash="h",
            signing_secret="s",
            transport="webhook",
        )
        await store.groups.add_robot(
            group.group_id, robot_user, read_scope="mentions", added_by=owner
        )
        posted = await store.groups.post(
            group_id=group.group_id,
            sender_id=owner,
            sending_device="o1",
            content_type="text/plain",
            body=b"hi @faq",
            client_key="k1",
            route=_route,
        )
        assert posted.message.seq == 1
        assert posted.robot_events == (robot_user,)
        assert [m.message_id for m in await store.pending_for_device(bob, "b1")] == [
            posted.message.message_id
        ]
        assert len(await store.pending_for_device(owner, "o2")) == 1
        assert await store.pending_for_device(owner, "o1") == []
        again = await store.groups.post(
            group_id=group.group_id,
            sender_id=owner,
            sending_device="o1",
            content_type="text/plain",
            body=b"hi @faq",
            client_key="k1",
            route=_route,
        )
        assert again.message.is_duplicate
        assert again.robot_events == ()
        (event,) = await store.groups.due_events()
        assert json.loads(event.payload) == {"message": posted.message.message_id}
        with pytest.raises(NotMember):
            await store.groups.post(
                group_id=group.group_id,
                sender_id=outsider,
                sending_device=None,
                content_type="text/plain",
                body=b"x",
                client_key="k2",
                route=_route,
            )
        await store.groups.mute(group.group_id, bob, seconds=60)
        with pytest.raises(Muted):
            await store.groups.post(
                group_id=group.group_id,
                sender_id=bob,
                sending_device="b1",
                content_type="text/plain",
                body=b"x",
                client_key="k3",
                route=_route,
            )
        # The robot posts as itself: members get it, no robot event.
        reply = await store.groups.post(
            group_id=group.group_id,
            sender_id=robot_user,
            sending_device=None,
            content_type="text/plain",
            body=b"answer",
            client_key="idem:1",
            route=_route,
        )
        assert reply.message.seq == 2
        assert reply.robot_events == ()

    backend.run(scenario)


def test_outbox_is_head_of_line_per_robot_and_chat(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        (robot,) = await _users(store, 1)
        await store.groups.create_robot(
            robot_id=robot,
            name="r",
            owner_id=None,
            token_hash="h",
            signing_secret="s",
            transport="webhook",
        )
        await store.groups.queue_events(
            [(robot, "g1", "e1", "a"), (robot, "g1", "e2", "b"), (robot, "g2", "e3", "c")]
        )
        assert await store.groups.queue_events([(robot, "g1", "e1", "a")]) == ()
        due = await store.groups.due_events()
        assert [e.payload for e in due] == ["a", "c"]
        await store.groups.settle(due[0].event_seq, state="pending", attempts=1, retry_in=60)
        assert [e.payload for e in await store.groups.due_events()] == ["c"]
        await store.groups.settle(due[1].event_seq, state="delivered", attempts=1)
        assert await store.groups.due_events() == []  # "b" waits behind "a"
        polled = await store.groups.pending_events(robot, after=0)
        assert [e.payload for e in polled] == ["a", "b"]
        assert await store.groups.ack_events(robot, polled[-1].event_seq) == 2

    backend.run(scenario)
