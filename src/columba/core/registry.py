"""Who is logged in where: the bindings of one node (device → connection), with expiry.

A :class:`Binding` ties a user's device to the link it is reachable on. The registry is the
node-local half of the UDS location registry; the cross-node half (Redis leases,
``columba.cluster``) plugs in behind :class:`LocationRegistry` when Columba is scaled out: the
registry tells it of every binding added and removed, and core asks it, through the registry,
to wake other nodes and for presence held on other nodes. Without one (the embedded default)
those calls do nothing.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from columba.protocol.sip.message import Message, Request, Response


class Dialect(enum.Enum):
    """How a device spells its messages."""

    SIP = "sip"
    SIPC = "sipc"


class DeviceLink(Protocol):
    """What core needs of a connection: send, and ask with an answer expected."""

    @property
    def transport(self) -> str:
        """``udp``, ``tcp``, ``tls``, ``ws`` or ``wss``."""
        ...

    @property
    def is_open(self) -> bool:
        """False once the connection is gone."""
        ...

    @property
    def local_host(self) -> str:
        """``host:port`` of our side, for Via and Contact."""
        ...

    def send(self, message: Message) -> None:
        """Send a response or a request that needs no answer."""
        ...

    def send_bytes(self, data: bytes) -> None:
        """Write a message already serialized (on a stream: with its length header)."""
        ...

    async def request(self, request: Request, *, within: float) -> Response | None:
        """Send a request and wait for its final response; None on timeout or a lost link."""
        ...

    def close(self) -> None:
        """Close the connection (pushes a device out)."""
        ...


@dataclass(eq=False, kw_only=True)
class Binding:
    """One registered device. Mutable: refreshed by re-registration, presence changes."""

    user_id: int
    sid: str
    device_id: str
    link: DeviceLink
    dialect: Dialect
    contact: str
    expires_at: float
    registered_at: float
    presence: int = 400
    #: Set when there may be something to deliver to this device.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: Server-side CSeq counter for requests we send to this device.
    cseq: int = 0
    #: SIP-C: the Call-ID the device's ``SUB PresenceV4`` used (BNs reuse it), if any.
    presence_call_id: str | None = None
    is_active: bool = True
    #: The SSI session this device logged in with or was given (``columba.ssi``), if any.
    ssi_session: str | None = None

    def next_cseq(self) -> int:
        """The next CSeq number for a request to this device."""
        self.cseq += 1
        return self.cseq


class LocationRegistry(Protocol):
    """The cross-node half of the location registry: other nodes' devices, and telling them.

    Calls that return nothing queue work for the implementation's own tasks and never block
    the caller; :meth:`presence_changed` is awaited so that a node's presence notices leave in
    the order its users' states changed.
    """

    def bound(self, binding: Binding) -> None:
        """A device logged in on this node (or re-registered on a new link)."""
        ...

    def unbound(self, binding: Binding) -> None:
        """A device of this node logged out, was pushed out, or its link was lost."""
        ...

    def wake_elsewhere(self, user_id: int) -> None:
        """Messages were stored for ``user_id``: wake the user's devices on other nodes."""
        ...

    def remote_presence(self, user_id: int) -> tuple[int, ...]:
        """The user's presence value on each other node where the user is online."""
        ...

    async def presence_changed(self, user_id: int, value: int, watchers: Sequence[int]) -> None:
        """Tell the nodes of ``watchers`` the user's presence on this node (-1: offline)."""
        ...

    async def refresh_presence(self, user_ids: Sequence[int]) -> None:
        """Read these users' presence on other nodes afresh (a watcher subscribes here)."""
        ...

    async def is_bound_elsewhere(self, user_id: int) -> bool:
        """True when the user has a device logged in on another node (hidden ones too)."""
        ...

    def composing(self, sender_id: int, recipient_id: int, body: bytes) -> None:
        """Relay an "is composing" notice to the recipient's devices on other nodes."""
        ...

    def tell(self, user_id: int, package: str, body: str) -> None:
        """Relay a SIP-C notification (``BN``) to the user's SIP-C devices on other nodes."""
        ...


class Registry:
    """The node's bindings, by user and device."""

    def __init__(self) -> None:
        self._by_user: dict[int, dict[str, Binding]] = {}
        #: The cross-node registry when scaled out (``columba.cluster``), else None.
        self.remote: LocationRegistry | None = None

    def add(self, binding: Binding) -> Binding | None:
        """Add or replace the binding of a device; returns the binding it replaced."""
        devices = self._by_user.setdefault(binding.user_id, {})
        old = devices.get(binding.device_id)
        devices[binding.device_id] = binding
        if old is not None and old is not binding:
            old.is_active = False
            old.wake.set()
        if self.remote is not None:
            self.remote.bound(binding)
        return old

    def remove(self, binding: Binding) -> bool:
        """Remove a binding if it is still the current one for its device."""
        devices = self._by_user.get(binding.user_id)
        if not devices or devices.get(binding.device_id) is not binding:
            return False
        del devices[binding.device_id]
        if not devices:
            del self._by_user[binding.user_id]
        binding.is_active = False
        binding.wake.set()
        if self.remote is not None:
            self.remote.unbound(binding)
        return True

    def bindings(self, user_id: int) -> list[Binding]:
        """A user's active bindings."""
        return list(self._by_user.get(user_id, {}).values())

    def binding(self, user_id: int, device_id: str) -> Binding | None:
        """One device's binding."""
        return self._by_user.get(user_id, {}).get(device_id)

    def for_link(self, link: DeviceLink) -> list[Binding]:
        """Bindings carried by one connection."""
        return [b for b in self.all() if b.link is link]

    def is_online(self, user_id: int) -> bool:
        """True when the user has at least one device logged in."""
        return bool(self._by_user.get(user_id))

    def all(self) -> Iterator[Binding]:
        """Every binding."""
        for devices in list(self._by_user.values()):
            yield from list(devices.values())

    def expired(self, now: float) -> list[Binding]:
        """Bindings whose registration has run out."""
        return [b for b in self.all() if b.expires_at <= now]

    def wake_elsewhere(self, user_id: int) -> None:
        """Wake the user's devices on other nodes (messages were stored for the user)."""
        if self.remote is not None:
            self.remote.wake_elsewhere(user_id)

    def remote_presence(self, user_id: int) -> tuple[int, ...]:
        """The user's presence values on other nodes (empty on a single node)."""
        return self.remote.remote_presence(user_id) if self.remote is not None else ()

    async def presence_changed(self, user_id: int, value: int, watchers: Sequence[int]) -> None:
        """Tell other nodes' watchers of the user's presence here (nothing on a single node)."""
        if self.remote is not None:
            await self.remote.presence_changed(user_id, value, watchers)

    async def refresh_presence(self, user_ids: Sequence[int]) -> None:
        """Read these users' presence on other nodes afresh (nothing on a single node)."""
        if self.remote is not None and user_ids:
            await self.remote.refresh_presence(user_ids)

    async def is_online_anywhere(self, user_id: int) -> bool:
        """True when the user has a device logged in here or, scaled out, on another node.

        Unlike :meth:`remote_presence` (what this node was told of its users' contacts), this
        asks the shared registry, for any user, and counts hidden devices as logged in: what
        the UDS needs to choose between IM and SMS.
        """
        if self.is_online(user_id):
            return True
        return self.remote is not None and await self.remote.is_bound_elsewhere(user_id)

    def composing_elsewhere(self, sender_id: int, recipient_id: int, body: bytes) -> None:
        """Relay an "is composing" notice to the recipient's devices on other nodes."""
        if self.remote is not None:
            self.remote.composing(sender_id, recipient_id, body)

    def tell_elsewhere(self, user_id: int, package: str, body: str) -> None:
        """Relay a SIP-C notification to the user's SIP-C devices on other nodes."""
        if self.remote is not None:
            self.remote.tell(user_id, package, body)

    def __len__(self) -> int:
        return sum(len(d) for d in self._by_user.values())
