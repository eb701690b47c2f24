"""Creating accounts and setting passwords: every verifier derived at once.

A password yields three verifiers: scrypt for HTTP sign-in, SCRAM-SHA-256 for SIP-C login, and
Digest HA1 (SHA-256, MD5) for standard SIP clients. The Digest username is the Columba id
(sid); the realm is the configured SIP realm.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from columba.core import passwords
from columba.storage import Account, DigestAlgorithm, DigestHA1, Store

E164 = re.compile(r"\+[1-9][0-9]{1,14}\Z")


class AccountError(ValueError):
    """A user-facing problem with account data (bad number, short password …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordPolicy:
    """Password rules and hashing costs (lower costs only in tests)."""

    min_length: int = 8
    scrypt_log_n: int = passwords.DEFAULT_SCRYPT_LOG_N
    scram_iterations: int = passwords.DEFAULT_SCRAM_ITERATIONS


def normalize_number(number: str) -> str:
    """An MSISDN in E.164 form: ``+8613800138000``; spaces and dashes are dropped.

    Raises:
        AccountError: not a number E.164 allows.
    """
    cleaned = re.sub(r"[\s\-()]", "", number)
    if not cleaned.startswith("+"):
        raise AccountError(f"number {number!r} must be in E.164 form, starting with +")
    if not E164.match(cleaned):
        raise AccountError(f"number {number!r} is not a valid E.164 number")
    return cleaned


def verifiers(
    account_sid: str, password: str, *, realm: str, policy: PasswordPolicy
) -> tuple[str, list[DigestHA1]]:
    """The password hash and the per-protocol verifiers to store for a password."""
    if len(password) < policy.min_length:
        raise AccountError(f"password must be at least {policy.min_length} characters")
    phc = passwords.hash_password(password, log_n=policy.scrypt_log_n)
    items = [
        DigestHA1(realm=realm, algorithm=DigestAlgorithm(name), ha1=value)
        for name, value in passwords.digest_ha1s(account_sid, realm, password).items()
    ]
    scram = passwords.scram_verifier(password, iterations=policy.scram_iterations)
    items.append(DigestHA1(realm=realm, algorithm=DigestAlgorithm.SCRAM_SHA256, ha1=scram.encode()))
    return phc, items


async def create_account(
    store: Store,
    *,
    display_name: str,
    password: str,
    realm: str,
    number: str | None = None,
    invite_code: str | None = None,
    policy: PasswordPolicy = PasswordPolicy(),
) -> Account:
    """Create an account with every verifier for ``password``.

    Raises:
        AccountError: bad number, name or password.
        Conflict: the number is taken.
        NotFound: the invite is unknown or used up.
    """
    display_name = display_name.strip()
    if not display_name or len(display_name) > 64:
        raise AccountError("display name must be 1-64 characters")
    if len(password) < policy.min_length:
        raise AccountError(f"password must be at least {policy.min_length} characters")
    normalized = normalize_number(number) if number else None
    account = await store.create_account(
        display_name=display_name,
        password_hash="!",  # replaced below, once the sid (the Digest username) is known
        number=normalized,
        invite_code=invite_code,
    )
    await set_password(store, account, password, realm=realm, policy=policy)
    return await store.account(account.user_id)


async def set_password(
    store: Store, account: Account, password: str, *, realm: str, policy: PasswordPolicy
) -> None:
    """Replace every verifier of an account."""
    # scrypt and PBKDF2 take ~0.1 s and release the GIL: keep them off the event loop.
    phc, items = await asyncio.to_thread(
        verifiers, account.sid, password, realm=realm, policy=policy
    )
    await store.set_password(account.user_id, password_hash=phc, ha1s=items)
