"""The SSI role: password sign-in, sessions, per-app credentials, apps and keys, sign-out.

A session token is 256 random bits handed to the user agent (cookie ``ssic`` or bearer) and
kept only as its SHA-256 hash; the session's public id (``sid`` in credentials) is a separate
random value, so logs and apps never see anything that signs in. Sign-in shares the account
failure counter of SIP logins (``columba.core.login.FailureTracker``): each failure waits
longer before answering, and enough of them lock the account for a while; each client address
also has a sign-in budget per minute.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from columba.core.accounts import AccountError, normalize_number
from columba.core.passwords import hash_password, verify_password
from columba.ssi import backchannel
from columba.ssi.credentials import (
    CredentialRequest,
    issue_credential,
    issue_logout_notice,
    new_app_key,
    pairwise_subject,
)
from columba.ssi.limits import AddressLimiter
from columba.sso.verify import KEY_ALGORITHMS, MAX_LIFETIME
from columba.storage import Account, NotFound, Store
from columba.storage.ssi import AppKey, SsiApp, SsiSession

if TYPE_CHECKING:
    from columba.core.login import FailureTracker

log = logging.getLogger(__name__)

PAIRWISE_SETTING = "ssi.pairwise_secret"
PURGE_INTERVAL = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SsiPolicy:
    """See ``[ssi]`` in the configuration."""

    issuer: str = ""
    session_lifetime: int = 43200
    credential_lifetime: int = MAX_LIFETIME
    signins_per_minute: int = 30
    backchannel_timeout: float = 5.0


class SignInRefused(Exception):
    """Sign-in failed; ``status`` and ``retry_after`` say how to answer."""

    def __init__(self, status: int, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NotSignedIn(Exception):
    """No live session for that token."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    """A new session: ``token`` goes to the user agent only."""

    token: str
    session: SsiSession
    account: Account


@dataclass(frozen=True, slots=True, kw_only=True)
class Issued:
    """A credential for one app."""

    credential: str
    app: SsiApp
    expires_in: int


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


SignOutHook = Callable[[SsiSession], Awaitable[None]]


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


class SsiService:
    """Sessions and credentials over the store.

    Args:
        store: Accounts and ``store.ssi``.
        policy: Lifetimes and limits.
        failures: The account failure counter shared with SIP logins.
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        *,
        store: Store,
        policy: SsiPolicy,
        failures: FailureTracker,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.policy = policy
        self.failures = failures
        self._clock = clock
        self._default_issuer = ""
        self._pairwise: bytes | None = None
        self._purged_at = 0.0
        self.limiter = AddressLimiter(per_minute=policy.signins_per_minute)
        #: Called after a session is revoked (the OIDC provider revokes its tokens there).
        self.sign_out_hooks: list[SignOutHook] = []

    # -- issuer --------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """``iss`` of credentials: ``[ssi] issuer``, else this node's HTTP base URL."""
        return self.policy.issuer or self._default_issuer or "columba"

    def set_default_issuer(self, base_url: str) -> None:
        """The node's HTTP base URL, known once the listener is bound."""
        self._default_issuer = base_url.rstrip("/")

    # -- sessions --------------------------------------------------------------------------------

    async def _account_for(self, identity: str) -> Account | None:
        try:
            if identity.startswith("+"):
                try:
                    return await self._store.account_by_number(normalize_number(identity))
                except AccountError:
                    return None
            return await self._store.account_by_sid(identity)
        except NotFound:
            return None

    async def sign_in(self, identity: str, password: str, *, address: str) -> SignedIn:
        """Check a password and open a session.

        Raises:
            SignInRefused: 401 bad id or password, 403 locked (``retry_after``), 429 too many
                attempts from this address (``retry_after``).
        """
        now = self._clock()
        wait = self.limiter.check(address, now)
        if wait:
            raise SignInRefused(429, "too many sign-in attempts", retry_after=wait)
        account = await self._account_for(identity.strip()[:64])
        if account is None or account.is_disabled:
            # Same work and delay as a wrong password, so timing does not tell which ids exist.
            await asyncio.to_thread(verify_password, password, _dummy_hash())
            await asyncio.sleep(self.failures.base_delay)
            raise SignInRefused(401, "bad id or password")
        locked = self.failures.is_locked(account.user_id, now)
        if locked:
            raise SignInRefused(403, "too many failed logins", retry_after=int(locked) + 1)
        ok = await asyncio.to_thread(verify_password, password, account.password_hash)
        if not ok:
            await asyncio.sleep(self.failures.failed(account.user_id, now))
            raise SignInRefused(401, "bad id or password")
        self.failures.succeeded(account.user_id)
        token, session = await self.open_session(account.user_id)
        await self._maybe_purge(now)
        return SignedIn(token=token, session=session, account=account)

    async def _maybe_purge(self, now: float) -> None:
        """Once an hour, on a sign-in, drop expired sessions, codes and tokens."""
        if now - self._purged_at < PURGE_INTERVAL:
            return
        self._purged_at = now
        gone = await self._store.ssi.purge_sessions() + await self._store.oidc.purge()
        if gone:
            log.info("purged %d expired sessions, codes and tokens", gone)

    async def open_session(self, user_id: int) -> tuple[str, SsiSession]:
        """A new session for a user who has just proved who they are."""
        token = secrets.token_urlsafe(32)
        session = await self._store.ssi.create_session(
            token_hash(token),
            secrets.token_urlsafe(16),
            user_id,
            lifetime=self.policy.session_lifetime,
        )
        return token, session

    async def session(self, token: str) -> tuple[SsiSession, Account]:
        """The live session a token names, and its account.

        Raises:
            NotSignedIn: Unknown, expired or revoked token, or a disabled account.
        """
        if not token or len(token) > 256:
            raise NotSignedIn("no session")
        try:
            session = await self._store.ssi.session_by_token(token_hash(token))
            account = await self._store.account(session.user_id)
        except NotFound:
            raise NotSignedIn("no session") from None
        if not session.is_live(int(self._clock() * 1_000_000)) or account.is_disabled:
            raise NotSignedIn("session ended")
        return session, account

    async def live_session(self, session_id: str) -> SsiSession:
        """A live session by its public id (``NotSignedIn`` if it ended)."""
        try:
            session = await self._store.ssi.session_by_id(session_id)
        except NotFound:
            raise NotSignedIn("no session") from None
        if not session.is_live(int(self._clock() * 1_000_000)):
            raise NotSignedIn("session ended")
        return session

    async def sign_out(self, session: SsiSession) -> dict[str, bool]:
        """Revoke a session and tell the apps that got credentials in it.

        Returns:
            App id → whether its back-channel logout notice was delivered.
        """
        app_ids = await self._store.ssi.revoke_session(session.session_id)
        for hook in self.sign_out_hooks:
            await hook(session)
        notices = []
        now = self._clock()
        for app_id in app_ids:
            try:
                app, key = await self._app_and_key(app_id)
            except NotFound:
                continue
            if not app.logout_url:
                continue
            token = issue_logout_notice(
                issuer=self.issuer,
                app_id=app_id,
                session_id=session.session_id,
                alg=app.alg,
                kid=key.kid,
                secret=key.secret,
                now=now,
            )
            notices.append(backchannel.Notice(app_id=app_id, url=app.logout_url, token=token))
        return await backchannel.deliver(notices, within=self.policy.backchannel_timeout)

    # -- credentials ---------------------------------------------------------------------------

    async def pairwise_secret(self) -> bytes:
        """The server-wide secret behind pairwise subjects (made on first use)."""
        if self._pairwise is None:
            stored = await self._store.get_setting(PAIRWISE_SETTING)
            if stored is None:
                await self._store.set_setting(PAIRWISE_SETTING, secrets.token_hex(32))
                stored = await self._store.get_setting(PAIRWISE_SETTING)
            assert stored is not None
            self._pairwise = bytes.fromhex(stored)
        return self._pairwise

    async def subject(self, app_id: str, user_id: int) -> str:
        """The user's pairwise ``sub`` for ``app_id``."""
        return pairwise_subject(await self.pairwise_secret(), app_id, user_id)

    async def _app_and_key(self, app_id: str) -> tuple[SsiApp, AppKey]:
        app = await self._store.ssi.app(app_id)
        live = [k for k in await self._store.ssi.keys(app_id) if k.retired_at is None]
        if not live:
            raise NotFound(f"app {app_id!r} has no live key")
        return app, live[-1]

    async def credential(
        self, session: SsiSession, account: Account, app_id: str, *, nonce: str | None = None
    ) -> Issued:
        """A credential for ``app_id``, from a live session.

        Raises:
            NotFound: No such app (or it has no live key).
            NotSignedIn: The session ended.
        """
        session = await self.live_session(session.session_id)
        app, key = await self._app_and_key(app_id)
        request = CredentialRequest(
            issuer=self.issuer,
            app_id=app.app_id,
            subject=await self.subject(app.app_id, account.user_id),
            session_id=session.session_id,
            auth_time=session.auth_time // 1_000_000,
            name=account.display_name,
            nonce=nonce,
            lifetime=self.policy.credential_lifetime,
        )
        credential, _ = issue_credential(
            request, alg=app.alg, kid=key.kid, secret=key.secret, now=self._clock()
        )
        await self._store.ssi.record_grant(session.session_id, app.app_id)
        return Issued(credential=credential, app=app, expires_in=request.lifetime)

    # -- apps and keys (admin) -----------------------------------------------------------------

    async def register_app(
        self,
        app_id: str,
        *,
        name: str,
        login_urls: list[str],
        logout_url: str,
        alg: str,
        initiate_url: str = "",
    ) -> tuple[SsiApp, AppKey]:
        """Register an app with a fresh key (``Conflict`` if the id is taken)."""
        if alg not in KEY_ALGORITHMS:
            raise ValueError(f"alg must be one of {', '.join(KEY_ALGORITHMS)}")
        kid, secret = new_app_key()
        app = await self._store.ssi.create_app(
            app_id,
            name=name,
            login_urls=login_urls,
            logout_url=logout_url,
            alg=alg,
            kid=kid,
            secret=secret,
            initiate_url=initiate_url,
        )
        (key,) = await self._store.ssi.keys(app_id)
        return app, key

    async def rotate_key(self, app_id: str) -> AppKey:
        """Add a key that issues from now on; older live keys stay valid until retired."""
        kid, secret = new_app_key()
        return await self._store.ssi.add_key(app_id, kid, secret)

    async def retire_key(self, app_id: str, kid: str) -> None:
        """Stop issuing and accepting under a key (``NotFound`` if it is not live)."""
        await self._store.ssi.retire_key(app_id, kid)

    async def app(self, app_id: str) -> SsiApp:
        """One app (``NotFound``)."""
        return await self._store.ssi.app(app_id)

    async def apps(self) -> list[SsiApp]:
        """Every registered app."""
        return await self._store.ssi.apps()

    async def keys(self, app_id: str) -> list[AppKey]:
        """An app's keys, oldest first."""
        return await self._store.ssi.keys(app_id)

    async def delete_app(self, app_id: str) -> None:
        """Remove an app and its keys (``NotFound``)."""
        await self._store.ssi.delete_app(app_id)
