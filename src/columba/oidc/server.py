"""Authlib's framework-agnostic OAuth 2.0 / OpenID Connect server, wired to Columba.

Authlib (``authlib.oauth2``, ``authlib.oidc.core``) has no aiohttp integration and calls its
model hooks synchronously, so the provider runs it in a worker thread
(:class:`~columba.oidc.provider.OidcProvider`) and each hook here reaches the async store
through ``call`` (``asyncio.run_coroutine_threadsafe`` on the server's loop). Requests are
read completely by the aiohttp handler first (:class:`PreparedRequest`).

Pitfalls of Authlib's defaults we close (sso-bots.md §A.6):

- ``CodeChallenge(required=True)`` forces PKCE only on *public* clients and accepts ``plain``:
  :class:`StrictCodeChallenge` requires S256 from every client.
- A replayed code: ``query_authorization_code`` marks the code used atomically in the store,
  so of two concurrent redemptions only one gets it; later ones get ``invalid_grant``.
- ``create_authorization_response`` without ``grant=`` is deprecated: we always pass it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey

from columba.ssi.credentials import pairwise_subject
from columba.storage import Account, NotFound
from columba.storage.oidc import OidcClient, OidcCode, OidcToken

T = TypeVar("T")
Call = Callable[[Awaitable[T]], T]

SCOPES = ("openid", "profile", "phone")
ALGORITHM = "RS256"  # OIDC Core §15.1: every OP must offer RS256


def secret_hash(secret: str) -> str:
    """What the store keeps of a client secret, code or token (all random, 256 bits)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    """Query and form parameters, already read."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data = dict(pairs)
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class PreparedRequest(OAuth2Request):  # type: ignore[misc]
    """An HTTP request whose parameters were read before Authlib sees it."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = FormPayload(query + form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True, slots=True, kw_only=True)
class EndUser:
    """The signed-in user an authorization is for."""

    account: Account
    session_id: str
    auth_time: int

    def get_user_id(self) -> int:
        return self.account.user_id


class Client(ClientMixin):  # type: ignore[misc]
    """A registered relying party, as Authlib sees it."""

    def __init__(self, record: OidcClient) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str:
        return self.record.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        asked = (scope or "").split()
        return " ".join(s for s in asked if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris  # exact match (RFC 9700 §2.1)

    def check_client_secret(self, client_secret: str) -> bool:
        expected = self.record.secret_hash
        return bool(expected) and hmac.compare_digest(secret_hash(client_secret), expected)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    """A stored authorization code."""

    def __init__(self, record: OidcCode) -> None:
        self.record = record

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce or None

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass(slots=True, kw_only=True)
class Context:
    """What the hooks need, fetched by the async side before the thread starts."""

    call: Call[Any]
    store: Any
    accounts: Any
    issuer: str
    pairwise_secret: bytes
    signing_kid: str
    signing_key: RSAKey
    id_token_lifetime: int
    access_token_lifetime: int
    code_lifetime: int = 60

    def subject(self, client_id: str, user_id: int) -> str:
        """The user's pairwise ``sub`` for one relying party."""
        return pairwise_subject(self.pairwise_secret, "oidc:" + client_id, user_id)

    def user_info(self, client_id: str, account: Account, scope: str) -> UserInfo:
        """Claims by scope (OIDC Core §5.4)."""
        info = UserInfo(sub=self.subject(client_id, account.user_id))
        scopes = scope.split()
        if "profile" in scopes:
            info["name"] = account.display_name
            info["preferred_username"] = account.sid
        if "phone" in scopes and account.number:
            info["phone_number"] = account.number
            info["phone_number_verified"] = False
        return info


class StrictCodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256, required from every client, public or confidential."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str:
        return authorization_code.record.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str:
        return authorization_code.record.code_challenge_method


class ColumbaOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens: RS256 under the current signing key, pairwise ``sub``, ``sid``, nonce once."""

    def __init__(self, context: Context) -> None:
        super().__init__(require_nonce=True)
        self.context = context

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        store = self.context.store
        return bool(self.context.call(store.nonce_seen(request.payload.client_id, nonce)))

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.context.signing_key

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.context.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + self.context.id_token_lifetime,
        }

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.context.signing_kid, "typ": "JWT"}

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = authorization_code.record.session_id  # Back-Channel Logout §2.1
        return claims

    def generate_user_info(self, user: EndUser, scope: str) -> UserInfo:
        client_id = self._client_id
        return self.context.user_info(client_id, user.account, scope)

    def process_token(self, grant: Any, response: Any) -> Any:
        self._client_id = grant.request.client.get_client_id()
        return super().process_token(grant, response)


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant over the store."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012
    context: Context

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        context = self.context
        user: EndUser = request.user
        data = request.payload.data
        record = OidcCode(
            client_id=request.client.get_client_id(),
            user_id=user.account.user_id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope or "",
            nonce=data.get("nonce") or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            session_id=user.session_id,
            auth_time=user.auth_time,
            expires_at=int((time.time() + context.code_lifetime) * 1_000_000),
        )
        context.call(context.store.save_code(secret_hash(code), record))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        context = self.context
        key = secret_hash(code)
        try:
            record = context.call(context.store.code(key))
        except NotFound:
            return None
        if record.client_id != client.get_client_id():
            return None
        if record.expires_at <= int(time.time() * 1_000_000):
            return None
        if not context.call(context.store.use_code(key)):
            return None  # already redeemed: a replay (RFC 6749 §4.1.2)
        return Code(record)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing to do: the code was marked used when it was looked up."""

    def authenticate_user(self, authorization_code: Code) -> EndUser | None:
        context = self.context
        record = authorization_code.record
        account = context.call(context.accounts.account(record.user_id))
        if account.is_disabled:
            return None
        return EndUser(account=account, session_id=record.session_id, auth_time=record.auth_time)


class Server(AuthorizationServer):  # type: ignore[misc]
    """One request's authorization server (cheap to build; bound to a :class:`Context`)."""

    def __init__(self, context: Context) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.context = context
        grant = type("BoundCodeGrant", (CodeGrant,), {"context": context})
        self.openid = ColumbaOpenIDCode(context)
        self.register_grant(grant, [StrictCodeChallenge(required=True), self.openid])
        self.register_token_generator("default", self._generate_token)

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: EndUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": self.context.access_token_lifetime,
            "scope": scope or "",
        }

    def query_client(self, client_id: str) -> Client | None:
        try:
            return Client(self.context.call(self.context.store.client(client_id)))
        except NotFound:
            return None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        user: EndUser = request.user
        record = OidcToken(
            client_id=request.client.get_client_id(),
            user_id=user.account.user_id,
            scope=token.get("scope", ""),
            session_id=user.session_id,
            expires_at=int((time.time() + self.context.access_token_lifetime) * 1_000_000),
        )
        self.context.call(self.context.store.save_token(secret_hash(token["access_token"]), record))

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        assert isinstance(request, OAuth2Request)
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals are used."""
