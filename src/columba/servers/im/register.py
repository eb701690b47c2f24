"""Login: SIP REGISTER with Digest, and SIP-C's two-step ``R`` with SCRAM-SHA-256.

SIP (RFC 3261 §10.3): the To URI names the account (sid or number), credentials use the sid
as username; ``Expires: 0`` (or ``expires=0``) removes a binding; too short an expiry gets
423 with Min-Expires. SIP-C (fetion-sipc.md §2.3, §2.5): step 1 carries ``CN``, step 2 ``A``;
``N: KeepAlive`` refreshes, ``X: 0`` logs out. See ``columba.protocol.sipc.scram``.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time

from columba.core.registry import Binding, Dialect
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip import digest
from columba.protocol.sip.auth import AuthParams, format_auth, parse_auth
from columba.protocol.sip.message import Request
from columba.protocol.sip.uri import BareId, SipUri, TelUri
from columba.protocol.sipc import scram
from columba.servers.im import sipc_session, ssi
from columba.servers.im.server import ImServer
from columba.storage import Account


async def challenge(
    server: ImServer, request: Request, link: Link, *, status: int = 401, stale: bool = False
) -> None:
    """Answer with Digest challenges (SHA-256 first, then MD5)."""
    name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    challenges = server.login.digest_challenges(time.time(), stale=stale)
    server.reply(link, request, status, headers=[(name, format_auth(c)) for c in challenges])


async def authenticate(
    server: ImServer, request: Request, link: Link, account: Account, *, status: int = 401
) -> bool:
    """Check Digest credentials in ``request``; answer the challenge or failure if not good."""
    now = time.time()
    locked = server.login.failures.is_locked(account.user_id, now)
    if locked:
        server.reply(
            link,
            request,
            403,
            "Too many failed logins",
            headers=[("Retry-After", str(int(locked) + 1))],
        )
        return False
    header = "authorization" if status == 401 else "proxy-authorization"
    values = request.get_all(header) or request.get_all("authorization")
    credentials = None
    for raw in values:
        try:
            parsed = parse_auth(raw)
        except ParseError:
            continue
        if parsed.scheme.lower() == "digest" and parsed.get("realm") == server.login.realm:
            credentials = parsed
            break
    if credentials is None:
        await challenge(server, request, link, status=status)
        return False
    result = await server.login.verify_digest(
        account, credentials, method=request.method, now=now, request_uri=request.uri
    )
    if result is digest.NonceStatus.STALE:
        await challenge(server, request, link, status=status, stale=True)
        return False
    if result is not True:
        if server.metrics is not None:
            server.metrics.login_failed()
        await asyncio.sleep(server.login.failures.failed(account.user_id, now))
        await challenge(server, request, link, status=status)
        return False
    server.login.failures.succeeded(account.user_id)
    return True


def uri_identity(uri: object) -> str | None:
    """The account identity (sid or number) a URI names."""
    if isinstance(uri, SipUri):
        return uri.user_decoded
    if isinstance(uri, TelUri):
        return uri.digits
    if isinstance(uri, BareId):
        return uri.value
    return None


async def sip_register(server: ImServer, request: Request, link: Link) -> None:
    """RFC 3261 §10.3 registrar."""
    to = request.to
    identity = uri_identity(to.uri) if to is not None else None
    account = await server.account_for(identity) if identity else None
    if account is None:
        server.reply(link, request, 404, "No such user")
        return
    if not await authenticate(server, request, link, account):
        return
    contacts = request.contact
    header_expires = request.expires
    if any(c.is_wildcard for c in contacts):
        if header_expires != 0:
            server.reply(link, request, 400, "Contact * needs Expires: 0")
            return
        for binding in server.registry.bindings(account.user_id):
            await server.unbind(binding)
        server.reply(link, request, 200)
        return
    cfg = server.config
    answered = []
    for contact in contacts:
        assert contact.address is not None
        expires = contact.expires if contact.expires is not None else header_expires
        expires = cfg.register_expires if expires is None else expires
        device_id = contact.address.param("+sip.instance") or _contact_key(str(contact.address.uri))
        current = server.registry.binding(account.user_id, device_id)
        if expires == 0:
            if current is not None:
                await server.unbind(current)
            continue
        if expires < cfg.min_expires:
            server.reply(link, request, 423, headers=[("Min-Expires", str(cfg.min_expires))])
            return
        expires = min(expires, cfg.max_expires)
        now = time.monotonic()
        if current is not None and current.link is link:
            current.expires_at = now + expires
        else:
            binding = Binding(
                user_id=account.user_id,
                sid=account.sid,
                device_id=device_id,
                link=link,
                dialect=Dialect.SIP,
                contact=str(contact.address.uri),
                expires_at=now + expires,
                registered_at=now,
            )
            await server.bind(binding, account)
        answered.append(f"<{contact.address.uri}>;expires={expires}")
    if not contacts:  # a query: list the current bindings
        answered = [
            f"<{b.contact}>;expires={max(0, int(b.expires_at - time.monotonic()))}"
            for b in server.registry.bindings(account.user_id)
            if b.dialect is Dialect.SIP
        ]
    server.reply(link, request, 200, headers=[("Contact", c) for c in answered])


def _contact_key(uri: str) -> str:
    return uri.split(";", 1)[0]


async def sipc_register(server: ImServer, request: Request, link: Link) -> None:
    """SIP-C ``R``: login in two steps, keep-alive, logout."""
    current = server.session(link)
    if request.event == "KeepAlive":
        if current is None:
            server.reply(link, request, 401)
            return
        current.expires_at = time.monotonic() + server.config.register_expires
        server.reply(link, request, 200, headers=[("X", str(server.config.register_expires))])
        return
    if request.expires == 0:
        if current is not None:
            await server.unbind(current)
        server.reply(link, request, 200)
        return
    identity = request.get("from")
    if (ssic := ssi.ssi_credentials(request)) is not None:  # logging in with an SSI session
        await ssi.sipc_login(server, request, link, ssic, identity or "")
        return
    account = await server.account_for(identity) if identity else None
    credentials = _sipc_credentials(request)
    now = time.time()
    if credentials is None:
        cnonce = request.get("CN") or ""
        if len(cnonce) != 32 or any(c not in "0123456789ABCDEFabcdef" for c in cnonce):
            server.reply(link, request, 400, "CN must be 32 hex digits")
            return
        if account is None:
            # Do not reveal which ids exist: answer with a challenge no password meets.
            params = AuthParams(
                scheme="Digest",
                params=(
                    ("algorithm", scram.ALGORITHM),
                    ("nonce", cnonce + secrets.token_hex(24)),
                    ("salt", base64.b64encode(secrets.token_bytes(16)).decode()),
                    ("iterations", "4096"),
                ),
            )
        else:
            params = await server.login.scram_challenge(account, cnonce, now)
        server.reply(link, request, 401, headers=[("W", format_auth(params, quote=_ALL))])
        return
    if account is None:
        await asyncio.sleep(server.config.login.failure_delay_base)
        server.reply(link, request, 401)
        return
    locked = server.login.failures.is_locked(account.user_id, now)
    if locked:
        server.reply(
            link,
            request,
            403,
            "Too many failed logins",
            headers=[("Retry-After", str(int(locked) + 1))],
        )
        return
    signature = await server.login.verify_scram(account, credentials, sid=identity or "", now=now)
    if signature is None:
        if server.metrics is not None:
            server.metrics.login_failed()
        await asyncio.sleep(server.login.failures.failed(account.user_id, now))
        server.reply(link, request, 401)
        return
    server.login.failures.succeeded(account.user_id)
    await sipc_session.logged_in(
        server, request, link, account, headers=(("A", f'Digest rspauth="{signature}"'),)
    )


_ALL = frozenset({"algorithm", "nonce", "salt", "iterations", "response", "rspauth"})


def _sipc_credentials(request: Request) -> AuthParams | None:
    for raw in request.authorization():
        try:
            parsed = parse_auth(raw)
        except ParseError:
            continue
        if parsed.scheme.lower() == "digest" and parsed.get("algorithm") == scram.ALGORITHM:
            return parsed
    return None
