"""Operations on accounts, their Digest credentials and registration invites.

Each function returns an operation (see ``columba.storage.sql``) for a driver to run in one
transaction. The store allocates the Columba id ("sid"): nine random digits, not sequential, so
that ids do not reveal how many users there are or invite enumeration.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from columba.storage import contacts
from columba.storage.errors import Conflict, NotFound, StorageError
from columba.storage.records import (
    E164,
    Account,
    DigestAlgorithm,
    DigestHA1,
    Invite,
    to_datetime,
)
from columba.storage.sql import Op, Row, execute, execute_many, fetch, fetch_one, next_counter

SID_ATTEMPTS = 20
"""Random sids tried before giving up (a collision is unlikely until ~10⁸ accounts)."""

_ACCOUNT = (
    "SELECT user_id, sid, number, display_name, password_hash, impresa, created_at, is_disabled"
    " FROM accounts"
)
_INVITE = "SELECT code, created_by, uses_left, expires_at, created_at FROM invites"
_UPDATABLE = frozenset({"display_name", "number", "password_hash", "impresa", "is_disabled"})
_LOOKUP_COLUMNS = frozenset({"user_id", "sid", "number"})


def new_sid() -> str:
    """A random nine-digit Columba id with no leading zero."""
    return str(100_000_000 + secrets.randbelow(900_000_000))


def check_number(number: str) -> None:
    """Refuses a number that is not in E.164 form (``+8613800138000``)."""
    if not E164.fullmatch(number):
        raise ValueError(f"not an E.164 number: {number!r}")


def account_from_row(row: Row) -> Account:
    """Makes an :class:`Account` from a row selected with the columns of ``_ACCOUNT``."""
    return Account(
        user_id=row[0],
        sid=row[1],
        number=row[2],
        display_name=row[3],
        password_hash=row[4],
        impresa=row[5],
        created_at=to_datetime(row[6]),
        is_disabled=bool(row[7]),
    )


def _invite(row: Row) -> Invite:
    return Invite(
        code=row[0],
        created_by=row[1],
        uses_left=row[2],
        expires_at=None if row[3] is None else to_datetime(row[3]),
        created_at=to_datetime(row[4]),
    )


def create_account(
    *,
    display_name: str,
    password_hash: str,
    number: str | None,
    invite_code: str | None,
    now: int,
) -> Op[Account]:
    """Creates an account, redeeming an invite first when one is given.

    Raises:
        Conflict: The number belongs to another account.
        NotFound: The invite code is unknown, used up or expired.
    """
    if number is not None:
        check_number(number)
    if invite_code is not None:
        redeemed = yield from execute(
            "UPDATE invites SET uses_left = uses_left - 1"
            " WHERE code = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?)",
            invite_code,
            now,
        )
        if not redeemed:
            raise NotFound("the invite code is unknown, used up or expired")
    if number is not None:
        taken = yield from fetch_one("SELECT 1 FROM accounts WHERE number = ?", number)
        if taken is not None:
            raise Conflict(f"the number {number} belongs to another account")
    user_id = yield from next_counter("user_id")
    for _ in range(SID_ATTEMPTS):
        sid = new_sid()
        inserted = yield from execute(
            "INSERT INTO accounts (user_id, sid, number, display_name, password_hash, impresa,"
            " created_at, is_disabled) VALUES (?, ?, ?, ?, ?, '', ?, FALSE)"
            " ON CONFLICT (sid) DO NOTHING",
            user_id,
            sid,
            number,
            display_name,
            password_hash,
            now,
        )
        if inserted:
            return Account(
                user_id=user_id,
                sid=sid,
                number=number,
                display_name=display_name,
                password_hash=password_hash,
                impresa="",
                created_at=to_datetime(now),
                is_disabled=False,
            )
    raise StorageError(f"no free sid after {SID_ATTEMPTS} attempts")


def find_account(column: str, value: int | str) -> Op[Account]:
    """Finds the account whose ``user_id``, ``sid`` or ``number`` is ``value``.

    Raises:
        NotFound: No such account.
    """
    if column not in _LOOKUP_COLUMNS:  # pragma: no cover - the store passes constants
        raise ValueError(f"cannot look accounts up by {column!r}")
    row = yield from fetch_one(f"{_ACCOUNT} WHERE {column} = ?", value)
    if row is None:
        raise NotFound(f"no account with {column} {value}")
    return account_from_row(row)


def list_accounts(*, after: int, limit: int) -> Op[list[Account]]:
    """Accounts in ``user_id`` order, from the first id above ``after`` (keyset paging)."""
    rows = yield from fetch(f"{_ACCOUNT} WHERE user_id > ? ORDER BY user_id LIMIT ?", after, limit)
    return [account_from_row(row) for row in rows]


def update_account(user_id: int, changes: Mapping[str, object]) -> Op[Account]:
    """Changes the given columns of an account and returns it as it is now.

    Raises:
        NotFound: No such account.
        Conflict: The new number belongs to another account.
    """
    unknown = set(changes) - _UPDATABLE
    if unknown:  # pragma: no cover - the store passes known names
        raise ValueError(f"cannot update {sorted(unknown)}")
    number = changes.get("number")
    if isinstance(number, str):
        check_number(number)
        taken = yield from fetch_one(
            "SELECT 1 FROM accounts WHERE number = ? AND user_id <> ?", number, user_id
        )
        if taken is not None:
            raise Conflict(f"the number {number} belongs to another account")
    if changes:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        count = yield from execute(
            f"UPDATE accounts SET {assignments} WHERE user_id = ?", *changes.values(), user_id
        )
        if not count:
            raise NotFound(f"no account with user_id {user_id}")
    return (yield from find_account("user_id", user_id))


def set_password(user_id: int, password_hash: str, ha1s: Sequence[DigestHA1]) -> Op[None]:
    """Replaces the password hash and every Digest HA1 of an account at once.

    Raises:
        NotFound: No such account.
    """
    count = yield from execute(
        "UPDATE accounts SET password_hash = ? WHERE user_id = ?", password_hash, user_id
    )
    if not count:
        raise NotFound(f"no account with user_id {user_id}")
    yield from execute("DELETE FROM digest_credentials WHERE user_id = ?", user_id)
    yield from execute_many(
        "INSERT INTO digest_credentials (user_id, realm, algorithm, ha1) VALUES (?, ?, ?, ?)",
        [(user_id, item.realm, item.algorithm.value, item.ha1) for item in ha1s],
    )


def digest_ha1s(user_id: int) -> Op[list[DigestHA1]]:
    """Every HA1 stored for an account, by realm and algorithm."""
    rows = yield from fetch(
        "SELECT realm, algorithm, ha1 FROM digest_credentials WHERE user_id = ?"
        " ORDER BY realm, algorithm",
        user_id,
    )
    return [DigestHA1(realm=r[0], algorithm=DigestAlgorithm(r[1]), ha1=r[2]) for r in rows]


def digest_ha1(user_id: int, realm: str, algorithm: DigestAlgorithm) -> Op[str]:
    """The HA1 of an account for one realm and algorithm.

    Raises:
        NotFound: None is stored (the account may not exist).
    """
    row = yield from fetch_one(
        "SELECT ha1 FROM digest_credentials WHERE user_id = ? AND realm = ? AND algorithm = ?",
        user_id,
        realm,
        algorithm.value,
    )
    if row is None:
        raise NotFound(f"no {algorithm} HA1 for user {user_id} in realm {realm!r}")
    return str(row[0])


def delete_account(user_id: int, *, now: int) -> Op[None]:
    """Deletes an account with its credentials, contacts, devices and queued deliveries.

    The other users' entries for this account become tombstones in their contact lists, so
    their clients learn of the removal through the next delta. Stored messages stay: they are
    the other participants' history too.

    Raises:
        NotFound: No such account.
    """
    yield from find_account("user_id", user_id)
    yield from contacts.forget_user(user_id, now=now)
    yield from execute("DELETE FROM deliveries WHERE user_id = ?", user_id)
    yield from execute("DELETE FROM devices WHERE user_id = ?", user_id)
    yield from execute("DELETE FROM accounts WHERE user_id = ?", user_id)


def create_invite(
    *, created_by: int | None, uses: int, expires_at: int | None, now: int
) -> Op[Invite]:
    """Creates an invite with a fresh random code.

    Raises:
        NotFound: ``created_by`` names no account.
    """
    if uses < 1:
        raise ValueError("an invite needs at least one use")
    code = secrets.token_urlsafe(12)
    yield from execute(
        "INSERT INTO invites (code, created_by, uses_left, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        code,
        created_by,
        uses,
        expires_at,
        now,
    )
    return (yield from find_invite(code))


def find_invite(code: str) -> Op[Invite]:
    """The invite with this code, used up or not.

    Raises:
        NotFound: No such invite.
    """
    row = yield from fetch_one(f"{_INVITE} WHERE code = ?", code)
    if row is None:
        raise NotFound("no such invite")
    return _invite(row)


def list_invites(created_by: int | None) -> Op[list[Invite]]:
    """The invites one user made, or every invite when ``created_by`` is None."""
    if created_by is None:
        rows = yield from fetch(f"{_INVITE} ORDER BY created_at, code")
    else:
        rows = yield from fetch(
            f"{_INVITE} WHERE created_by = ? ORDER BY created_at, code", created_by
        )
    return [_invite(row) for row in rows]


def delete_invite(code: str) -> Op[None]:
    """Withdraws an invite.

    Raises:
        NotFound: No such invite.
    """
    count = yield from execute("DELETE FROM invites WHERE code = ?", code)
    if not count:
        raise NotFound("no such invite")
