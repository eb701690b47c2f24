"""OpenID Connect provider storage: clients, single-use codes, access tokens, signing keys.

Codes and access tokens are stored as SHA-256 hashes; a code is marked used rather than deleted
so that a replayed code is recognised (RFC 6749 §4.1.2: the tokens it produced should then be
revoked). Signing keys are private JWKs as JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from columba.storage import wire
from columba.storage.errors import Conflict, NotFound
from columba.storage.sql import Engine, Op, Row, execute, fetch, fetch_one


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcClient:
    """A registered relying party."""

    client_id: str
    secret_hash: str
    name: str
    redirect_uris: tuple[str, ...]
    is_public: bool
    backchannel_logout_uri: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcCode:
    """An authorization code's grant (times in microseconds)."""

    client_id: str
    user_id: int
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    session_id: str
    auth_time: int
    expires_at: int
    used_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcToken:
    """An access token's grant."""

    client_id: str
    user_id: int
    scope: str
    session_id: str
    expires_at: int
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningKey:
    """An ID-token signing key."""

    kid: str
    private_jwk: dict[str, object]
    created_at: int
    retired_at: int | None = None


_CLIENT = (
    "SELECT client_id, secret_hash, name, redirect_uris, is_public, backchannel_logout_uri"
    " FROM oidc_clients"
)
_CODE = (
    "SELECT client_id, user_id, redirect_uri, scope, nonce, code_challenge,"
    " code_challenge_method, session_id, auth_time, expires_at, used_at FROM oidc_codes"
)


def _client(row: Row) -> OidcClient:
    return OidcClient(
        client_id=row[0],
        secret_hash=row[1],
        name=row[2],
        redirect_uris=tuple(json.loads(row[3])),
        is_public=bool(row[4]),
        backchannel_logout_uri=row[5],
    )


def _code(row: Row) -> OidcCode:
    return OidcCode(
        client_id=row[0],
        user_id=int(row[1]),
        redirect_uri=row[2],
        scope=row[3],
        nonce=row[4],
        code_challenge=row[5],
        code_challenge_method=row[6],
        session_id=row[7],
        auth_time=int(row[8]),
        expires_at=int(row[9]),
        used_at=None if row[10] is None else int(row[10]),
    )


def create_client(client: OidcClient, *, now: int) -> Op[OidcClient]:
    """Registers a client. Raises ``Conflict`` when the id is taken."""
    row = yield from fetch_one("SELECT 1 FROM oidc_clients WHERE client_id = ?", client.client_id)
    if row is not None:
        raise Conflict(f"client {client.client_id!r} exists")
    yield from execute(
        "INSERT INTO oidc_clients (client_id, secret_hash, name, redirect_uris, is_public,"
        " backchannel_logout_uri, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        client.client_id,
        client.secret_hash,
        client.name,
        json.dumps(list(client.redirect_uris)),
        client.is_public,
        client.backchannel_logout_uri,
        now,
    )
    return client


def get_client(client_id: str) -> Op[OidcClient]:
    """A client by id. Raises ``NotFound``."""
    row = yield from fetch_one(f"{_CLIENT} WHERE client_id = ?", client_id)
    if row is None:
        raise NotFound(f"no client {client_id!r}")
    return _client(row)


def list_clients() -> Op[list[OidcClient]]:
    """Every client, by id."""
    rows = yield from fetch(f"{_CLIENT} ORDER BY client_id")
    return [_client(row) for row in rows]


def save_code(code_hash: str, code: OidcCode) -> Op[None]:
    """Stores a fresh code."""
    yield from execute(
        "INSERT INTO oidc_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce,"
        " code_challenge, code_challenge_method, session_id, auth_time, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        code_hash,
        code.client_id,
        code.user_id,
        code.redirect_uri,
        code.scope,
        code.nonce,
        code.code_challenge,
        code.code_challenge_method,
        code.session_id,
        code.auth_time,
        code.expires_at,
    )


def get_code(code_hash: str) -> Op[OidcCode]:
    """A code's grant, used or not. Raises ``NotFound``."""
    row = yield from fetch_one(f"{_CODE} WHERE code_hash = ?", code_hash)
    if row is None:
        raise NotFound("no such code")
    return _code(row)


def use_code(code_hash: str, *, now: int) -> Op[bool]:
    """Marks a code used; False when it already was (a replay)."""
    count = yield from execute(
        "UPDATE oidc_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
        now,
        code_hash,
    )
    return count == 1


def nonce_seen(client_id: str, nonce: str) -> Op[bool]:
    """True when a code was already issued to ``client_id`` with ``nonce``."""
    row = yield from fetch_one(
        "SELECT 1 FROM oidc_codes WHERE client_id = ? AND nonce = ?", client_id, nonce
    )
    return row is not None


def save_token(token_hash: str, token: OidcToken, *, now: int) -> Op[None]:
    """Stores an access token."""
    yield from execute(
        "INSERT INTO oidc_tokens (token_hash, client_id, user_id, scope, session_id, issued_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        token_hash,
        token.client_id,
        token.user_id,
        token.scope,
        token.session_id,
        now,
        token.expires_at,
    )


def get_token(token_hash: str) -> Op[OidcToken]:
    """An access token's grant. Raises ``NotFound``."""
    row = yield from fetch_one(
        "SELECT client_id, user_id, scope, session_id, expires_at, revoked_at FROM oidc_tokens"
        " WHERE token_hash = ?",
        token_hash,
    )
    if row is None:
        raise NotFound("no such token")
    return OidcToken(
        client_id=row[0],
        user_id=int(row[1]),
        scope=row[2],
        session_id=row[3],
        expires_at=int(row[4]),
        revoked_at=None if row[5] is None else int(row[5]),
    )


def revoke_tokens(session_id: str, *, now: int) -> Op[list[str]]:
    """Revokes the tokens of an SSI session; returns the clients that held them."""
    rows = yield from fetch(
        "SELECT DISTINCT client_id FROM oidc_tokens WHERE session_id = ? AND revoked_at IS NULL",
        session_id,
    )
    yield from execute(
        "UPDATE oidc_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL",
        now,
        session_id,
    )
    return sorted(row[0] for row in rows)


def purge(*, before: int) -> Op[int]:
    """Deletes codes and access tokens that expired before ``before``; returns how many."""
    codes = yield from execute("DELETE FROM oidc_codes WHERE expires_at < ?", before)
    tokens = yield from execute("DELETE FROM oidc_tokens WHERE expires_at < ?", before)
    return codes + tokens


def add_signing_key(key: SigningKey) -> Op[None]:
    """Stores a new signing key."""
    yield from execute(
        "INSERT INTO oidc_signing_keys (kid, private_jwk, created_at) VALUES (?, ?, ?)",
        key.kid,
        json.dumps(key.private_jwk),
        key.created_at,
    )


def list_signing_keys() -> Op[list[SigningKey]]:
    """Every signing key, oldest first."""
    rows = yield from fetch(
        "SELECT kid, private_jwk, created_at, retired_at FROM oidc_signing_keys"
        " ORDER BY created_at, kid"
    )
    return [
        SigningKey(
            kid=row[0],
            private_jwk=json.loads(row[1]),
            created_at=int(row[2]),
            retired_at=None if row[3] is None else int(row[3]),
        )
        for row in rows
    ]


def retire_signing_keys(kids: Sequence[str], *, now: int) -> Op[None]:
    """Marks signing keys retired (they stop signing; the JWKS keeps them for a while)."""
    for kid in kids:
        yield from execute(
            "UPDATE oidc_signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL",
            now,
            kid,
        )


class OidcStore:
    """The OIDC operations on an engine; time from ``clock`` (seconds, as ``time.time``)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock() * 1_000_000)

    async def create_client(self, client: OidcClient) -> OidcClient:
        """See :func:`create_client`."""
        now = self._now()
        return await self._engine.run(partial(create_client, client, now=now))

    async def client(self, client_id: str) -> OidcClient:
        """See :func:`get_client`."""
        return await self._engine.run(partial(get_client, client_id), write=False)

    async def clients(self) -> list[OidcClient]:
        """See :func:`list_clients`."""
        return await self._engine.run(list_clients, write=False)

    async def save_code(self, code_hash: str, code: OidcCode) -> None:
        """See :func:`save_code`."""
        await self._engine.run(partial(save_code, code_hash, code))

    async def code(self, code_hash: str) -> OidcCode:
        """See :func:`get_code`."""
        return await self._engine.run(partial(get_code, code_hash), write=False)

    async def use_code(self, code_hash: str) -> bool:
        """See :func:`use_code`."""
        now = self._now()
        return await self._engine.run(partial(use_code, code_hash, now=now))

    async def nonce_seen(self, client_id: str, nonce: str) -> bool:
        """See :func:`nonce_seen`."""
        return await self._engine.run(partial(nonce_seen, client_id, nonce), write=False)

    async def save_token(self, token_hash: str, token: OidcToken) -> None:
        """See :func:`save_token`."""
        now = self._now()
        await self._engine.run(partial(save_token, token_hash, token, now=now))

    async def token(self, token_hash: str) -> OidcToken:
        """See :func:`get_token`."""
        return await self._engine.run(partial(get_token, token_hash), write=False)

    async def revoke_tokens(self, session_id: str) -> list[str]:
        """See :func:`revoke_tokens`."""
        now = self._now()
        return await self._engine.run(partial(revoke_tokens, session_id, now=now))

    async def purge(self, *, keep_seconds: float = 86400.0) -> int:
        """Drop codes and tokens expired more than ``keep_seconds`` ago (a code's nonce stays
        refused that long after the code expired)."""
        before = self._now() - int(keep_seconds * 1_000_000)
        return await self._engine.run(partial(purge, before=before))

    async def add_signing_key(self, key: SigningKey) -> None:
        """See :func:`add_signing_key`."""
        await self._engine.run(partial(add_signing_key, key))

    async def signing_keys(self) -> list[SigningKey]:
        """See :func:`list_signing_keys`."""
        return await self._engine.run(list_signing_keys, write=False)

    async def retire_signing_keys(self, kids: Sequence[str]) -> None:
        """See :func:`retire_signing_keys`."""
        now = self._now()
        await self._engine.run(partial(retire_signing_keys, kids, now=now))


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    OidcClient,
    OidcCode,
    OidcToken,
    SigningKey,
)
