"""The node-local registry tells its cross-node half of every change (no sockets, no Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from columba.core.registry import Binding, DeviceLink, Dialect, Registry
from columba.protocol.sip.message import Message, Request, Response


class _Link:
    """A link that is never written to (the registry does not send)."""

    transport = "tcp"
    is_open = True
    local_host = "127.0.0.1:5060"

    def send(self, message: Message) -> None:
        raise AssertionError("the registry sends nothing")

    async def request(self, request: Request, *, within: float) -> Response | None:
        raise AssertionError("the registry sends nothing")

    def close(self) -> None:
        pass


class _Recorder:
    """A ``LocationRegistry`` that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def bound(self, binding: Binding) -> None:
        self.calls.append(("bound", binding.user_id, binding.device_id))

    def unbound(self, binding: Binding) -> None:
        self.calls.append(("unbound", binding.user_id, binding.device_id))

    def wake_elsewhere(self, user_id: int) -> None:
        self.calls.append(("wake", user_id))

    def remote_presence(self, user_id: int) -> tuple[int, ...]:
        return (600,) if user_id == 2 else ()

    async def presence_changed(self, user_id: int, value: int, watchers: Sequence[int]) -> None:
        self.calls.append(("presence", user_id, value, tuple(watchers)))

    async def refresh_presence(self, user_ids: Sequence[int]) -> None:
        self.calls.append(("refresh", tuple(user_ids)))

    async def is_bound_elsewhere(self, user_id: int) -> bool:
        self.calls.append(("located", user_id))
        return user_id == 3

    def composing(self, sender_id: int, recipient_id: int, body: bytes) -> None:
        self.calls.append(("composing", sender_id, recipient_id, body))

    def tell(self, user_id: int, package: str, body: str) -> None:
        self.calls.append(("tell", user_id, package, body))


def _binding(user_id: int, device_id: str) -> Binding:
    link: DeviceLink = _Link()
    return Binding(
        user_id=user_id,
        sid=f"10000000{user_id}",
        device_id=device_id,
        link=link,
        dialect=Dialect.SIP,
        contact="sip:x@127.0.0.1",
        expires_at=100.0,
        registered_at=0.0,
    )


def test_a_single_node_registry_has_no_one_to_tell() -> None:
    registry = Registry()
    registry.add(_binding(1, "phone"))
    registry.wake_elsewhere(1)
    registry.composing_elsewhere(1, 2, b"x")
    registry.tell_elsewhere(1, "contact", "<events/>")
    assert registry.remote_presence(1) == ()
    asyncio.run(registry.presence_changed(1, 400, [2]))
    asyncio.run(registry.refresh_presence([2]))
    assert asyncio.run(registry.is_online_anywhere(1))
    assert not asyncio.run(registry.is_online_anywhere(2))


def test_bindings_added_replaced_and_removed_are_told() -> None:
    registry = Registry()
    remote = _Recorder()
    registry.remote = remote
    first = _binding(1, "phone")
    registry.add(first)
    again = _binding(1, "phone")  # the same device on a new connection
    registry.add(again)
    assert not registry.remove(first)  # no longer current: nothing to tell
    assert registry.remove(again)
    assert remote.calls == [("bound", 1, "phone"), ("bound", 1, "phone"), ("unbound", 1, "phone")]


def test_core_reaches_the_other_nodes_through_the_registry() -> None:
    registry = Registry()
    remote = _Recorder()
    registry.remote = remote
    registry.wake_elsewhere(7)
    registry.composing_elsewhere(1, 7, b"<isComposing/>")
    registry.tell_elsewhere(7, "contact", "<events/>")
    asyncio.run(registry.presence_changed(1, 400, [7, 8]))
    asyncio.run(registry.refresh_presence([]))  # nothing to read: not even asked
    asyncio.run(registry.refresh_presence([7]))
    assert registry.remote_presence(2) == (600,)
    assert remote.calls == [
        ("wake", 7),
        ("composing", 1, 7, b"<isComposing/>"),
        ("tell", 7, "contact", "<events/>"),
        ("presence", 1, 400, (7, 8)),
        ("refresh", (7,)),
    ]


def test_online_anywhere_asks_the_shared_registry_only_when_not_online_here() -> None:
    registry = Registry()
    remote = _Recorder()
    registry.remote = remote
    registry.add(_binding(1, "phone"))
    assert asyncio.run(registry.is_online_anywhere(1))
    assert asyncio.run(registry.is_online_anywhere(3))
    assert not asyncio.run(registry.is_online_anywhere(4))
    assert remote.calls[1:] == [("located", 3), ("located", 4)]
