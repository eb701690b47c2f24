"""The OpenID Connect provider on Columba accounts: code flow with PKCE, ID tokens, userinfo.

Sign-in is the SSI session (``columba.ssi``): an authorization request from a browser that is
signed in to SSI gets a code at once (clients are registered by the admin, so there is no
consent screen); one that is not signed in is asked to sign in first. ID tokens are RS256
under a signing key that rotates every ``signing_key_days``; the JWKS publishes the live key
and recently retired ones, so tokens signed just before a rotation still verify. Signing out
of SSI revokes the session's access tokens and sends each client with a back-channel logout
URI a signed logout token (OpenID Connect Back-Channel Logout 1.0).

Authlib runs in a worker thread per request (see ``columba.oidc.server``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from joserfc.jwk import RSAKey

from columba.oidc.server import (
    ALGORITHM,
    SCOPES,
    Context,
    EndUser,
    PreparedRequest,
    Server,
    secret_hash,
)
from columba.ssi import backchannel
from columba.ssi.service import SsiService
from columba.sso.verify import BACKCHANNEL_LOGOUT_EVENT
from columba.storage import NotFound, Store
from columba.storage.oidc import OidcClient, SigningKey
from columba.storage.ssi import SsiSession

T = TypeVar("T")
Response = tuple[int, Any, list[tuple[str, str]]]
DAY = 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcPolicy:
    """See ``[ssi]`` in the configuration."""

    id_token_lifetime: int = 300
    access_token_lifetime: int = 3600
    signing_key_days: int = 30


def _rsa(jwk: dict[str, object]) -> RSAKey:
    return RSAKey.import_key(cast(Any, jwk))


class OidcProvider:
    """The provider's async side: keys, discovery, and Authlib calls off the event loop."""

    def __init__(self, *, store: Store, ssi: SsiService, policy: OidcPolicy) -> None:
        self._store = store
        self.ssi = ssi
        self.policy = policy
        ssi.sign_out_hooks.append(self.on_sign_out)

    @property
    def issuer(self) -> str:
        """The issuer: the SSI issuer (one identity for both)."""
        return self.ssi.issuer

    # -- keys ----------------------------------------------------------------------------------

    async def signing_keys(self) -> list[SigningKey]:
        """The live key (made or rotated when due), newest last, and recently retired ones."""
        keys = await self._store.oidc.signing_keys()
        now = int(time.time() * 1_000_000)
        live = [k for k in keys if k.retired_at is None]
        period = self.policy.signing_key_days * DAY * 1_000_000
        if not live or now - live[-1].created_at >= period:
            await self.rotate()
            keys = await self._store.oidc.signing_keys()
        keep = 2 * period  # a retired key stays published long enough for its tokens
        return [k for k in keys if k.retired_at is None or now - k.retired_at < keep]

    async def rotate(self) -> SigningKey:
        """Make a new signing key; older live keys retire (they stay in the JWKS a while)."""
        kid = "sig-" + secrets.token_hex(6)
        key = await asyncio.to_thread(
            RSAKey.generate_key, 2048, {"kid": kid, "use": "sig", "alg": ALGORITHM}, True
        )
        record = SigningKey(
            kid=kid,
            private_jwk=dict(key.as_dict(private=True)),
            created_at=int(time.time() * 1_000_000),
        )
        old = [k.kid for k in await self._store.oidc.signing_keys() if k.retired_at is None]
        await self._store.oidc.add_signing_key(record)
        await self._store.oidc.retire_signing_keys(old)
        return record

    async def jwks(self) -> dict[str, Any]:
        """The public keys (RFC 7517 §5)."""
        keys = []
        for record in await self.signing_keys():
            public = _rsa(record.private_jwk).as_dict(private=False)
            keys.append({**public, "kid": record.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": keys}

    def discovery(self) -> dict[str, Any]:
        """OpenID Provider metadata (OpenID Connect Discovery 1.0 §3)."""
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oidc/authorize",
            "token_endpoint": f"{base}/oidc/token",
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "jwks_uri": f"{base}/oidc/jwks.json",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "amr",
                "name",
                "preferred_username",
                "phone_number",
            ],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "authorization_response_iss_parameter_supported": False,
        }

    # -- the Authlib side ----------------------------------------------------------------------

    async def _context(self) -> Context:
        loop = asyncio.get_running_loop()

        def call(coroutine: Awaitable[T]) -> T:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)  # type: ignore[arg-type]

        current = await self.signing_keys()
        live = [k for k in current if k.retired_at is None][-1]
        return Context(
            call=call,
            store=self._store.oidc,
            accounts=self._store,
            issuer=self.issuer,
            pairwise_secret=await self.ssi.pairwise_secret(),
            signing_kid=live.kid,
            signing_key=_rsa(live.private_jwk),
            id_token_lifetime=self.policy.id_token_lifetime,
            access_token_lifetime=self.policy.access_token_lifetime,
        )

    async def authorize(self, request: PreparedRequest, user: EndUser) -> Response:
        """Answer an authorization request for a signed-in user: a redirect with a code, a
        redirect with an error, or (when the client or redirect URI is not trusted) 400."""
        server = Server(await self._context())

        def run() -> Response:
            try:
                grant = server.get_consent_grant(request, end_user=user)
            except OAuth2Error as error:
                if error.redirect_uri:
                    return server.handle_error_response(request, error)  # type: ignore[no-any-return]
                return (
                    error.status_code,
                    {"error": error.error, "error_description": error.description},
                    [],
                )
            return server.create_authorization_response(request, grant_user=user, grant=grant)  # type: ignore[no-any-return]

        return await asyncio.to_thread(run)

    async def token(self, request: PreparedRequest) -> Response:
        """Answer a token request (authorization_code grant)."""
        server = Server(await self._context())
        return await asyncio.to_thread(server.create_token_response, request)

    async def userinfo(self, access_token: str) -> dict[str, Any] | None:
        """The claims an access token allows, or None for a bad, expired or revoked token."""
        try:
            token = await self._store.oidc.token(secret_hash(access_token))
            account = await self._store.account(token.user_id)
        except NotFound:
            return None
        now = int(time.time() * 1_000_000)
        if token.revoked_at is not None or token.expires_at <= now or account.is_disabled:
            return None
        context = await self._context()
        return dict(context.user_info(token.client_id, account, token.scope))

    # -- clients and logout --------------------------------------------------------------------

    async def register_client(
        self,
        *,
        name: str,
        redirect_uris: list[str],
        is_public: bool,
        backchannel_logout_uri: str = "",
    ) -> tuple[OidcClient, str]:
        """Register a client; returns it and its secret (empty for a public client)."""
        client_id = "c-" + secrets.token_hex(8)
        secret = "" if is_public else secrets.token_urlsafe(32)
        record = OidcClient(
            client_id=client_id,
            secret_hash=secret_hash(secret) if secret else "",
            name=name,
            redirect_uris=tuple(redirect_uris),
            is_public=is_public,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        return await self._store.oidc.create_client(record), secret

    async def clients(self) -> list[OidcClient]:
        """Every registered client."""
        return await self._store.oidc.clients()

    async def on_sign_out(self, session: SsiSession) -> None:
        """Revoke the session's access tokens; back-channel logout to the clients that had them."""
        client_ids = await self._store.oidc.revoke_tokens(session.session_id)
        notices = []
        context = await self._context()
        for client_id in client_ids:
            try:
                client = await self._store.oidc.client(client_id)
            except NotFound:
                continue
            if not client.backchannel_logout_uri:
                continue
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": client_id,
                "iat": now,
                "exp": now + 120,
                "jti": secrets.token_urlsafe(16),
                "sid": session.session_id,
                "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
            }
            header = {"alg": ALGORITHM, "kid": context.signing_kid, "typ": "logout+jwt"}
            token = jwt.encode(header, claims, context.signing_key, algorithms=[ALGORITHM])
            notices.append(
                backchannel.Notice(app_id=client_id, url=client.backchannel_logout_uri, token=token)
            )
        await backchannel.deliver(notices, within=self.ssi.policy.backchannel_timeout)
