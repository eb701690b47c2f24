"""The IM server role: wiring of the core services and the method dispatch table.

Every request from any transport comes through :meth:`ImServer.handle`: it is validated
(syntax, then the RFC 3261 §8.2 checks), rate-limited per link, and dispatched by method. The
handlers live in the sibling modules, one concept each. Handlers answer every request exactly
once; an unexpected exception answers 500 and is logged, and never ends the connection.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from columba.core.accounts import PasswordPolicy
from columba.core.coalesce import Coalescer
from columba.core.delivery import DeliveryConfig, DeliveryService
from columba.core.login import LoginPolicy, LoginService
from columba.core.presence import PresenceService
from columba.core.registry import Binding, DeviceLink, Dialect, Registry
from columba.metrics import Metrics
from columba.net.link import Link, release_reader
from columba.protocol.errors import ParseError
from columba.protocol.sip import semantic
from columba.protocol.sip.message import Header, Request
from columba.protocol.sip.serializer import ensure_content_length
from columba.protocol.sip.validate import validate
from columba.servers.im.hotpath import is_plain_sipc_message, sipc_answer
from columba.storage import Account, NotFound, Store

if TYPE_CHECKING:
    from columba.core.sms_bridge import SmsBridge
    from columba.servers.groups.service import GroupService

log = logging.getLogger(__name__)

Handler = Callable[["ImServer", Request, Link], Awaitable[None]]

#: Body types the IM server reads (RFC 3428 text, SIP-C's HTML fragments, presence, CPIM).
ACCEPTED_TYPES = frozenset(
    {
        "text/plain",
        "text/html",
        "text/html-fragment",
        "message/cpim",
        "application/pidf+xml",
        "application/im-iscomposing+xml",
        "application/xml",
        "text/xml",
        "application/sdp",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImConfig:
    """What the IM server needs from the configuration."""

    domain: str = "columba.local"
    realm: str = "columba.local"
    multi_device: str = "multiple"
    register_expires: int = 600
    min_expires: int = 60
    max_expires: int = 7200
    max_message_chars: int = 4000
    requests_per_second: int = 1000
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    login: LoginPolicy = field(default_factory=LoginPolicy)
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)


class ImServer:
    """Registration, presence, contacts and 1:1 messaging behind every transport."""

    def __init__(self, *, store: Store, config: ImConfig, metrics: Metrics | None = None) -> None:
        from columba.servers.groups import handlers as groups
        from columba.servers.im import messaging, presence, register

        self.store = store
        self.config = config
        self.metrics = metrics
        #: The SMS leg (IM ⇄ SMS interworking), set by the node when ``[sms]`` is on.
        self.sms: SmsBridge | None = None
        #: The group server (``columba.servers.groups``), when groups are on.
        self.groups: GroupService | None = None
        self.registry = Registry()
        self.login = LoginService(store=store, realm=config.realm, policy=config.login)
        self.delivery = DeliveryService(
            store=store,
            registry=self.registry,
            domain=config.domain,
            config=config.delivery,
            on_delivered=metrics.message_delivered if metrics is not None else None,
            on_queued=release_reader,
        )
        self.presence = PresenceService(
            registry=self.registry, store=store, domain=config.domain, send=self.notify
        )
        self._accounts: dict[int, Account] = {}
        self._ids: dict[str, int] = {}
        self._blocked: dict[int, frozenset[int]] = {}
        # Concurrent misses of one key share one store read (see ``core.coalesce``).
        self._account_reads: Coalescer[int, Account] = Coalescer(
            lambda _, account: self._remember(account)
        )
        self._identity_reads: Coalescer[str, Account | None] = Coalescer(self._remember_identity)
        self._block_reads: Coalescer[int, frozenset[int]] = Coalescer(self._blocked.__setitem__)
        self.policy = semantic.ServerPolicy(
            accepted_types=ACCEPTED_TYPES,
            is_proxy=False,
            # SERVICE is the SIP spelling of SIP-C's S (columba.protocol.sipc.dialect).
            methods=semantic.DEFAULT_POLICY.methods | {"SERVICE"},
        )
        self.dispatch: dict[str, Handler] = {
            "REGISTER": register.sip_register,
            "R": register.sipc_register,
            "MESSAGE": messaging.sip_message,
            "M": messaging.sipc_message,
            "SUBSCRIBE": presence.sip_subscribe,
            "SUB": groups.sipc_subscribe,  # N: PGPresence, else presence.sipc_subscribe
            "PUBLISH": presence.sip_publish,
            "S": groups.sipc_service,  # N: PG…, else contacts.sipc_service
            "SERVICE": groups.sipc_service,
            "OPTIONS": answer_ok,
            "O": answer_ok,
            "INFO": answer_ok,
            "IN": answer_ok,
            "BYE": answer_ok,
            "B": answer_ok,
            "NOTIFY": answer_ok,
            "ACK": ignore,
            "A": ignore,
            "BN": ignore,
        }

    # -- entry points from the network -----------------------------------------------------------

    async def handle(self, request: Request, link: Link) -> None:
        """Validate, rate-limit and dispatch one request. Never raises."""
        try:
            if not self.within_rate(link):
                self.reply(link, request, 503, "Too many requests", headers=[("Retry-After", "1")])
                return
            if not is_plain_sipc_message(request, self.policy):  # the hot path skips these
                try:
                    validate(request)
                except ParseError as exc:
                    self.reply(link, request, exc.status, exc.reason[:120])
                    return
                verdict = semantic.check_request(request, policy=self.policy)
                if verdict is not None and not verdict.is_challenge:
                    link.send(verdict.response_to(request, to_tag=_tag()))
                    return
            handler = self.dispatch.get(request.method)
            if handler is None:
                self.reply(link, request, 405, headers=[("Allow", ", ".join(self.dispatch))])
                return
            await handler(self, request, link)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("request handler failed", extra={"kv": {"method": request.method}})
            try:
                self.reply(link, request, 500, "Server Internal Error")
            except Exception:
                log.exception("could not answer 500")

    def bad_message(self, error: ParseError, data: bytes, link: Link) -> None:
        """Answer a message that could not be parsed, when enough of it is readable."""
        log.info("bad message", extra={"kv": {"peer": link.peer, "reason": error.reason}})
        if self.metrics is not None:
            self.metrics.parse_error(link.transport)
        request = _salvage(data)
        if request is not None:
            try:
                self.reply(link, request, error.status, error.reason[:120])
                return
            except Exception:
                log.debug("could not answer a bad message", exc_info=True)
        if not data:  # the stream lost its framing: nothing more can be read
            link.close()

    async def link_closed(self, link: Link) -> None:
        """A connection is gone: its devices go offline (their queues stay in the store)."""
        for binding in list(link.bindings):
            await self.unbind(binding)

    # -- helpers for handlers ---------------------------------------------------------------------

    def reply(
        self,
        link: DeviceLink,
        request: Request,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        """Answer ``request`` on ``link``."""
        headers = tuple(headers)
        if request.is_sipc and isinstance(link, Link) and link.is_reliable:
            data = sipc_answer(request, status, reason, headers, body)
            if data is not None:
                if self.metrics is not None:
                    self.metrics.request_answered(request.method, status)
                link.send_bytes(data)
                return
        # SIP-C has no tags: no random draw for it (the hot path answers every M).
        tag = _tag() if status > 100 and not request.is_sipc else None
        response = semantic.make_response(request, status, reason, to_tag=tag, extra=headers)
        if self.metrics is not None:
            self.metrics.request_answered(request.method, status)
        if body:
            link.send(ensure_content_length(response.with_body(body)))
            return
        link.send(response)

    async def notify(self, binding: Binding, request: Request) -> None:
        """Send a notification to a device without waiting for its answer.

        SIP-C clients do not answer ``BN``; SIP devices answer NOTIFY, which the link routes.
        """
        if not binding.link.is_open:
            return
        if binding.dialect is Dialect.SIPC:
            binding.link.send(request)
            return
        link = binding.link
        if isinstance(link, Link):
            link.start_task(_fire(link, request))

    async def account_for(self, identity: str) -> Account | None:
        """Find an account by sid, or by number (``+86…`` or national digits)."""
        identity = identity.strip()
        user_id = self._ids.get(identity)
        if user_id is not None:
            cached = await self.account(user_id)
            return None if cached.is_disabled else cached
        account = await self._identity_reads.load(identity, lambda: self._find(identity))
        return None if account is None or account.is_disabled else account

    async def _find(self, identity: str) -> Account | None:
        try:
            if identity.isdigit() and len(identity) == 9:
                return await self.store.account_by_sid(identity)
            number = identity if identity.startswith("+") else "+" + identity
            return await self.store.account_by_number(number)
        except (NotFound, ValueError):
            return None

    def _remember_identity(self, identity: str, account: Account | None) -> None:
        if account is not None:
            self._remember(account)
            self._ids[identity] = account.user_id

    def cached_account(self, user_id: int) -> Account | None:
        """An account from the node's cache only (None if not cached); never disabled."""
        account = self._accounts.get(user_id)
        return None if account is None or account.is_disabled else account

    def cached_account_for(self, identity: str) -> Account | None:
        """:meth:`account_for` from the node's cache only (None: not cached, or disabled)."""
        user_id = self._ids.get(identity.strip())
        return None if user_id is None else self.cached_account(user_id)

    def cached_blocks(self, owner_id: int) -> frozenset[int] | None:
        """The cached block list of a user (None when not cached: use :meth:`is_blocked`)."""
        return self._blocked.get(owner_id)

    async def account(self, user_id: int) -> Account:
        """An account by id, from the node's cache (``NotFound`` if there is none).

        The hot path reads accounts several times per message; they change rarely, and every
        change made through this node calls :meth:`forget_account`.
        """
        account = self._accounts.get(user_id)
        if account is None:
            account = await self._account_reads.load(user_id, lambda: self.store.account(user_id))
        return account

    def _remember(self, account: Account) -> None:
        if len(self._accounts) > 100_000:
            self._accounts.clear()
            self._ids.clear()
        self._accounts[account.user_id] = account

    def forget_account(self, user_id: int) -> None:
        """Drop cached copies of an account (after it changed)."""
        self._accounts.pop(user_id, None)
        self._account_reads.forget(user_id)
        self._identity_reads.forget_all()
        for key in [k for k, v in self._ids.items() if v == user_id]:
            del self._ids[key]

    async def is_blocked(self, owner_id: int, other_id: int) -> bool:
        """True when ``owner_id`` blocks ``other_id`` (cached per owner)."""
        blocked = self._blocked.get(owner_id)
        if blocked is None:
            blocked = await self._block_reads.load(owner_id, lambda: self._read_blocks(owner_id))
        return other_id in blocked

    async def _read_blocks(self, owner_id: int) -> frozenset[int]:
        return frozenset(await self.store.blocked(owner_id))

    def forget_blocks(self, owner_id: int) -> None:
        """Drop the cached block list of a user (after a block or unblock)."""
        self._blocked.pop(owner_id, None)
        self._block_reads.forget(owner_id)

    def session(self, link: Link, sid: str | None = None) -> Binding | None:
        """The binding this link is logged in with (the one for ``sid`` if given)."""
        for binding in link.bindings:
            if binding.is_active and (sid is None or binding.sid == sid):
                found: Binding = binding
                return found
        return None

    async def bind(self, binding: Binding, account: Account) -> None:
        """Make a device's login current: policy, store, outbox, presence."""
        was_online = self.registry.is_online(binding.user_id)
        if self.config.multi_device == "replace":
            for other in self.registry.bindings(binding.user_id):
                if other.device_id != binding.device_id:
                    await self.push_out(other)
        old = self.registry.add(binding)
        if old is not None and old is not binding:
            _detach(old)
        if isinstance(binding.link, Link):
            binding.link.bindings.append(binding)
        if await self.store.register_device(binding.user_id, binding.device_id):
            self.delivery.device_added(binding.user_id, binding.device_id)
        # Whatever the user has received on no device yet is owed to this one too (a first
        # login, or a device that never saw messages stored while the user was offline).
        await self.store.owe_undelivered(binding.user_id, binding.device_id)
        link = binding.link
        if isinstance(link, Link):
            link.start_task(self.delivery.run_outbox(binding))
        binding.wake.set()
        if not was_online:
            await self.presence.changed(account)

    async def push_out(self, binding: Binding) -> None:
        """End another device's login (multi-device policy "replace")."""
        from columba.core import outbound

        message = outbound.deregistered(binding)
        if message is not None:
            binding.link.send(message)
        await self.unbind(binding)

    async def unbind(self, binding: Binding) -> None:
        """A device logs out or is lost."""
        _detach(binding)
        removed = self.registry.remove(binding)
        self.presence.drop_watcher(binding)
        if removed and not self.registry.is_online(binding.user_id):
            try:
                account = await self.account(binding.user_id)
            except NotFound:
                return
            await self.presence.changed(account)

    async def expire_bindings(self) -> None:
        """Run forever: end registrations that were not refreshed in time."""
        while True:
            await asyncio.sleep(5)
            for binding in self.registry.expired(time.monotonic()):
                log.info("registration expired", extra={"kv": {"sid": binding.sid}})
                await self.unbind(binding)

    def within_rate(self, link: Link) -> bool:
        """Count a request from ``link``; False when it is over the per-connection rate."""
        now = time.monotonic()
        if now - link.second >= 1.0:
            link.second = now
            link.requests_this_second = 0
        link.requests_this_second += 1
        return link.requests_this_second <= self.config.requests_per_second


def _detach(binding: Binding) -> None:
    link = binding.link
    if isinstance(link, Link) and binding in link.bindings:
        link.bindings.remove(binding)


async def _fire(link: Link, request: Request) -> None:
    await link.request(request, within=32.0)


def _tag() -> str:
    return secrets.token_hex(5)


def _salvage(data: bytes) -> Request | None:
    """A request built from the readable headers of a bad message, to address a 400 to it."""
    if not data:
        return None
    text = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = text.split("\r\n")
    start = lines[0].split(" ")
    version = start[-1] if start[-1].upper().startswith("SIP") else "SIP/2.0"
    if version.upper().startswith("SIP/") and version != "SIP/2.0":
        version = "SIP/2.0"
    if version.upper().startswith("SIP-C") and version not in ("SIP-C/2.0", "SIP-C/4.0"):
        version = "SIP-C/4.0"
    if not start[0] or start[0].upper().startswith("SIP"):
        return None  # a response: never answered
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip() and " " not in name.strip():
            headers.append(Header(name.strip(), value.strip()))
    return Request(method="BAD", uri="sip:invalid", version=version, headers=tuple(headers))


async def answer_ok(server: ImServer, request: Request, link: Link) -> None:
    """OPTIONS, INFO, BYE and keep-alive style requests: 200 OK."""
    server.reply(link, request, 200)


async def ignore(server: ImServer, request: Request, link: Link) -> None:
    """ACK and client-sent BN: never answered (RFC 3261 §17; fetion-sipc.md §1.3)."""
    del server, request, link
