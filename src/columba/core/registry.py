"""Who is logged in where: the bindings of one node (device → connection), with expiry.

A :class:`Binding` ties a user's device to the link it is reachable on. The registry is the
node-local half of the UDS location registry; the cross-node half (Redis leases) plugs in
behind :class:`LocationRegistry` when Columba is scaled out.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterator
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

    def next_cseq(self) -> int:
        """The next CSeq number for a request to this device."""
        self.cseq += 1
        return self.cseq


class LocationRegistry(Protocol):
    """Cross-node location leases (user → home node). The embedded default keeps none."""

    async def lease(self, user_id: int, node: str, ttl: float) -> None:
        """Claim or refresh the user's home on ``node``."""
        ...

    async def release(self, user_id: int, node: str) -> None:
        """Give up the lease if this node still holds it."""
        ...

    async def home(self, user_id: int) -> str | None:
        """The node a user is logged in on, or None."""
        ...


class Registry:
    """The node's bindings, by user and device."""

    def __init__(self) -> None:
        self._by_user: dict[int, dict[str, Binding]] = {}

    def add(self, binding: Binding) -> Binding | None:
        """Add or replace the binding of a device; returns the binding it replaced."""
        devices = self._by_user.setdefault(binding.user_id, {})
        old = devices.get(binding.device_id)
        devices[binding.device_id] = binding
        if old is not None and old is not binding:
            old.is_active = False
            old.wake.set()
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

    def __len__(self) -> int:
        return sum(len(d) for d in self._by_user.values())
