"""Single sign-in storage: SSI sessions, third-party apps, their keys, and who got credentials.

Operations are sans-I/O generators (see ``columba.storage.sql``); :class:`SsiStore` runs them
on an engine. Session tokens are kept only as SHA-256 hashes, so a copy of the database does
not let anyone sign in; app keys are kept as they are, since SSI must encrypt with them.
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
class SsiSession:
    """A signed-in SSI session. Times are microseconds since the epoch."""

    session_id: str
    user_id: int
    auth_time: int
    expires_at: int
    revoked_at: int | None = None

    def is_live(self, now: int) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True, kw_only=True)
class AppKey:
    """One key of an app: ``secret`` is the raw 32 bytes."""

    kid: str
    secret: bytes
    created_at: int
    retired_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SsiApp:
    """A registered third-party application."""

    app_id: str
    name: str
    login_urls: tuple[str, ...]
    logout_url: str
    alg: str
    created_at: int
    initiate_url: str = ""


_SESSION = "SELECT session_id, user_id, auth_time, expires_at, revoked_at FROM ssi_sessions"
_APP = "SELECT app_id, name, login_urls, logout_url, alg, created_at, initiate_url FROM ssi_apps"


def _session(row: Row) -> SsiSession:
    return SsiSession(
        session_id=row[0],
        user_id=int(row[1]),
        auth_time=int(row[2]),
        expires_at=int(row[3]),
        revoked_at=None if row[4] is None else int(row[4]),
    )


def _app(row: Row) -> SsiApp:
    return SsiApp(
        app_id=row[0],
        name=row[1],
        login_urls=tuple(json.loads(row[2])),
        logout_url=row[3],
        alg=row[4],
        created_at=int(row[5]),
        initiate_url=row[6],
    )


def create_session(
    token_hash: str, session_id: str, user_id: int, *, auth_time: int, expires_at: int
) -> Op[SsiSession]:
    """Records a new session."""
    yield from execute(
        "INSERT INTO ssi_sessions (token_hash, session_id, user_id, auth_time, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        token_hash,
        session_id,
        user_id,
        auth_time,
        expires_at,
    )
    return SsiSession(
        session_id=session_id, user_id=user_id, auth_time=auth_time, expires_at=expires_at
    )


def session_by_token(token_hash: str) -> Op[SsiSession]:
    """The session a token (hash) names. Raises ``NotFound``."""
    row = yield from fetch_one(f"{_SESSION} WHERE token_hash = ?", token_hash)
    if row is None:
        raise NotFound("no such session")
    return _session(row)


def session_by_id(session_id: str) -> Op[SsiSession]:
    """The session with a public id. Raises ``NotFound``."""
    row = yield from fetch_one(f"{_SESSION} WHERE session_id = ?", session_id)
    if row is None:
        raise NotFound("no such session")
    return _session(row)


def revoke_session(session_id: str, *, now: int) -> Op[list[str]]:
    """Revokes a session; returns the apps that received credentials in it."""
    yield from execute(
        "UPDATE ssi_sessions SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL",
        now,
        session_id,
    )
    rows = yield from fetch(
        "SELECT app_id FROM ssi_grants WHERE session_id = ? ORDER BY app_id", session_id
    )
    return [row[0] for row in rows]


def purge_sessions(*, now: int) -> Op[int]:
    """Deletes expired sessions and their grants; returns how many went."""
    yield from execute(
        "DELETE FROM ssi_grants WHERE session_id IN"
        " (SELECT session_id FROM ssi_sessions WHERE expires_at <= ?)",
        now,
    )
    return (yield from execute("DELETE FROM ssi_sessions WHERE expires_at <= ?", now))


def record_grant(session_id: str, app_id: str, *, now: int) -> Op[None]:
    """Notes that ``app_id`` received a credential in ``session_id``."""
    yield from execute(
        "INSERT INTO ssi_grants (session_id, app_id, granted_at) VALUES (?, ?, ?)"
        " ON CONFLICT (session_id, app_id) DO NOTHING",
        session_id,
        app_id,
        now,
    )


def create_app(
    app_id: str,
    *,
    name: str,
    login_urls: Sequence[str],
    logout_url: str,
    alg: str,
    kid: str,
    secret: bytes,
    now: int,
    initiate_url: str = "",
) -> Op[SsiApp]:
    """Registers an app with its first key. Raises ``Conflict`` when the id is taken."""
    row = yield from fetch_one("SELECT 1 FROM ssi_apps WHERE app_id = ?", app_id)
    if row is not None:
        raise Conflict(f"app {app_id!r} exists")
    yield from execute(
        "INSERT INTO ssi_apps (app_id, name, login_urls, logout_url, alg, created_at,"
        " initiate_url) VALUES (?, ?, ?, ?, ?, ?, ?)",
        app_id,
        name,
        json.dumps(list(login_urls)),
        logout_url,
        alg,
        now,
        initiate_url,
    )
    yield from add_key(app_id, kid, secret, now=now)
    return SsiApp(
        app_id=app_id,
        name=name,
        login_urls=tuple(login_urls),
        logout_url=logout_url,
        alg=alg,
        created_at=now,
        initiate_url=initiate_url,
    )


def get_app(app_id: str) -> Op[SsiApp]:
    """An app by id. Raises ``NotFound``."""
    row = yield from fetch_one(f"{_APP} WHERE app_id = ?", app_id)
    if row is None:
        raise NotFound(f"no app {app_id!r}")
    return _app(row)


def list_apps() -> Op[list[SsiApp]]:
    """Every app, by id."""
    rows = yield from fetch(f"{_APP} ORDER BY app_id")
    return [_app(row) for row in rows]


def delete_app(app_id: str) -> Op[None]:
    """Removes an app, its keys and its grants. Raises ``NotFound``."""
    count = yield from execute("DELETE FROM ssi_apps WHERE app_id = ?", app_id)
    if count == 0:
        raise NotFound(f"no app {app_id!r}")
    yield from execute("DELETE FROM ssi_app_keys WHERE app_id = ?", app_id)
    yield from execute("DELETE FROM ssi_grants WHERE app_id = ?", app_id)


def add_key(app_id: str, kid: str, secret: bytes, *, now: int) -> Op[AppKey]:
    """Adds a key to an app. Raises ``NotFound`` (no app) or ``Conflict`` (kid taken)."""
    row = yield from fetch_one("SELECT 1 FROM ssi_apps WHERE app_id = ?", app_id)
    if row is None:
        raise NotFound(f"no app {app_id!r}")
    taken = yield from fetch_one(
        "SELECT 1 FROM ssi_app_keys WHERE app_id = ? AND kid = ?", app_id, kid
    )
    if taken is not None:
        raise Conflict(f"app {app_id!r} already has a key {kid!r}")
    yield from execute(
        "INSERT INTO ssi_app_keys (app_id, kid, secret, created_at) VALUES (?, ?, ?, ?)",
        app_id,
        kid,
        secret.hex(),
        now,
    )
    return AppKey(kid=kid, secret=secret, created_at=now)


def list_keys(app_id: str) -> Op[list[AppKey]]:
    """An app's keys, oldest first (retired ones included)."""
    rows = yield from fetch(
        "SELECT kid, secret, created_at, retired_at FROM ssi_app_keys WHERE app_id = ?"
        " ORDER BY created_at, kid",
        app_id,
    )
    return [
        AppKey(
            kid=row[0],
            secret=bytes.fromhex(row[1]),
            created_at=int(row[2]),
            retired_at=None if row[3] is None else int(row[3]),
        )
        for row in rows
    ]


def retire_key(app_id: str, kid: str, *, now: int) -> Op[None]:
    """Retires a key: credentials under it are no longer issued. Raises ``NotFound``."""
    count = yield from execute(
        "UPDATE ssi_app_keys SET retired_at = ? WHERE app_id = ? AND kid = ?"
        " AND retired_at IS NULL",
        now,
        app_id,
        kid,
    )
    if count == 0:
        raise NotFound(f"app {app_id!r} has no live key {kid!r}")


class SsiStore:
    """The SSI operations on an engine; time from ``clock`` (seconds, as ``time.time``)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock() * 1_000_000)

    async def create_session(
        self, token_hash: str, session_id: str, user_id: int, *, lifetime: float
    ) -> SsiSession:
        """Records a session that expires ``lifetime`` seconds from now."""
        now = self._now()
        expires = now + int(lifetime * 1_000_000)
        return await self._engine.run(
            partial(
                create_session, token_hash, session_id, user_id, auth_time=now, expires_at=expires
            )
        )

    async def session_by_token(self, token_hash: str) -> SsiSession:
        """See :func:`session_by_token`."""
        return await self._engine.run(partial(session_by_token, token_hash), write=False)

    async def session_by_id(self, session_id: str) -> SsiSession:
        """See :func:`session_by_id`."""
        return await self._engine.run(partial(session_by_id, session_id), write=False)

    async def revoke_session(self, session_id: str) -> list[str]:
        """See :func:`revoke_session`."""
        now = self._now()
        return await self._engine.run(partial(revoke_session, session_id, now=now))

    async def purge_sessions(self) -> int:
        """See :func:`purge_sessions`."""
        now = self._now()
        return await self._engine.run(partial(purge_sessions, now=now))

    async def record_grant(self, session_id: str, app_id: str) -> None:
        """See :func:`record_grant`."""
        now = self._now()
        await self._engine.run(partial(record_grant, session_id, app_id, now=now))

    async def create_app(
        self,
        app_id: str,
        *,
        name: str,
        login_urls: Sequence[str],
        logout_url: str,
        alg: str,
        kid: str,
        secret: bytes,
        initiate_url: str = "",
    ) -> SsiApp:
        """See :func:`create_app`."""
        now = self._now()
        return await self._engine.run(
            partial(
                create_app,
                app_id,
                name=name,
                login_urls=login_urls,
                logout_url=logout_url,
                alg=alg,
                kid=kid,
                secret=secret,
                now=now,
                initiate_url=initiate_url,
            )
        )

    async def app(self, app_id: str) -> SsiApp:
        """See :func:`get_app`."""
        return await self._engine.run(partial(get_app, app_id), write=False)

    async def apps(self) -> list[SsiApp]:
        """See :func:`list_apps`."""
        return await self._engine.run(list_apps, write=False)

    async def delete_app(self, app_id: str) -> None:
        """See :func:`delete_app`."""
        await self._engine.run(partial(delete_app, app_id))

    async def add_key(self, app_id: str, kid: str, secret: bytes) -> AppKey:
        """See :func:`add_key`."""
        now = self._now()
        return await self._engine.run(partial(add_key, app_id, kid, secret, now=now))

    async def keys(self, app_id: str) -> list[AppKey]:
        """See :func:`list_keys`."""
        return await self._engine.run(partial(list_keys, app_id), write=False)

    async def retire_key(self, app_id: str, kid: str) -> None:
        """See :func:`retire_key`."""
        now = self._now()
        await self._engine.run(partial(retire_key, app_id, kid, now=now))


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    SsiSession,
    AppKey,
    SsiApp,
)
