"""Login rules: SIP Digest, SIP-C SCRAM and SSI-session logins, and slowing down password guessing.

Both methods are stateless between the challenge and the answer: nonces are MAC'd and
timestamped (``digest.NonceManager``), and each SCRAM nonce is accepted once. Every failed
attempt for an account adds a growing delay before the answer (0.5 s, 1 s, 2 s … up to a cap),
and after a number of failures in a row the account refuses logins for a while; a success
resets the count.

A SIP-C client that signed in to SSI (``columba.ssi``) logs in with its session token instead
of the password, as Fetion's clients presented ``ssic`` (fetion-sipc.md §2.4):
``A: SSI ssic="<token>"``; :meth:`LoginService.verify_ssi` checks it. The SSI service shares
this module's failure counter, so guesses over HTTP and over SIP add up.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field

from columba.core.passwords import ScramVerifier
from columba.protocol.sip import digest
from columba.protocol.sip.auth import AuthParams
from columba.protocol.sipc import scram
from columba.ssi.service import NotSignedIn, SsiPolicy, SsiService
from columba.storage import Account, DigestAlgorithm, NotFound, Store
from columba.storage.ssi import SsiSession


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginPolicy:
    """See ``[login]`` in the configuration."""

    failure_delay_base: float = 0.5
    failure_delay_max: float = 30.0
    failures_before_lockout: int = 10
    lockout_seconds: float = 300.0
    nonce_lifetime: float = 300.0
    #: Digest challenges offered, most preferred first (RFC 8760 §2.4).
    digest_algorithms: tuple[str, ...] = ("MD5", "SHA-256")
    #: Single sign-in (``[ssi]``).
    ssi: SsiPolicy = field(default_factory=SsiPolicy)


class FailureTracker:
    """Counts consecutive failures per account; time is a parameter."""

    def __init__(self, policy: LoginPolicy) -> None:
        self._policy = policy
        self._failures: dict[int, tuple[int, float]] = {}

    @property
    def base_delay(self) -> float:
        """The delay before answering a first failure (also used for unknown accounts)."""
        return self._policy.failure_delay_base

    def is_locked(self, user_id: int, now: float) -> float:
        """Seconds until the account may try again, or 0."""
        count, last = self._failures.get(user_id, (0, 0.0))
        if count < self._policy.failures_before_lockout:
            return 0.0
        remaining = last + self._policy.lockout_seconds - now
        if remaining <= 0:
            del self._failures[user_id]
            return 0.0
        return remaining

    def failed(self, user_id: int, now: float) -> float:
        """Record a failure; returns how long to wait before answering."""
        count, _ = self._failures.get(user_id, (0, 0.0))
        count += 1
        self._failures[user_id] = (count, now)
        delay: float = self._policy.failure_delay_base * 2.0 ** (count - 1)
        return min(delay, self._policy.failure_delay_max)

    def succeeded(self, user_id: int) -> None:
        """Forget the failures of an account."""
        self._failures.pop(user_id, None)


class LoginService:
    """Challenges and verifies SIP Digest and SIP-C SCRAM logins."""

    def __init__(self, *, store: Store, realm: str, policy: LoginPolicy = LoginPolicy()) -> None:
        self._store = store
        self.realm = realm
        self.policy = policy
        self.failures = FailureTracker(policy)
        self._nonces = digest.NonceManager(
            secret=secrets.token_bytes(32), realm=realm, lifetime=policy.nonce_lifetime
        )
        self.ssi = SsiService(store=store, policy=policy.ssi, failures=self.failures)

    # -- SSI session (columba.ssi) -------------------------------------------------------------

    async def verify_ssi(
        self, credentials: AuthParams, *, identity: str
    ) -> tuple[SsiSession, Account] | None:
        """Check ``A: SSI ssic="…"``: a live session of the account named ``identity``."""
        token = credentials.get("ssic") or ""
        try:
            session, account = await self.ssi.session(token)
        except NotSignedIn:
            return None
        if identity not in (account.sid, account.number):
            return None
        return session, account

    # -- SIP Digest (RFC 7616, RFC 8760) ---------------------------------------------------------

    def digest_challenges(self, now: float, *, stale: bool = False) -> tuple[AuthParams, ...]:
        """``WWW-Authenticate`` values, in the configured order of preference."""
        return digest.make_challenges(
            realm=self.realm,
            nonce=self._nonces.issue(now),
            stale=stale,
            algorithms=tuple(digest.Algorithm(a) for a in self.policy.digest_algorithms),
        )

    async def verify_digest(
        self,
        account: Account,
        credentials: AuthParams,
        *,
        method: str,
        now: float,
        request_uri: str | None = None,
    ) -> digest.NonceStatus | bool:
        """Check Digest credentials: True, False, or ``NonceStatus.STALE`` (re-challenge)."""
        nonce = credentials.get("nonce") or ""
        status = self._nonces.check(nonce, now)
        if status is digest.NonceStatus.INVALID:
            return False
        try:
            algorithm = digest.Algorithm.parse(credentials.get("algorithm"))
            stored = DigestAlgorithm(algorithm.hash_name)
            ha1 = await self._store.digest_ha1(account.user_id, self.realm, stored)
        except (NotFound, ValueError, Exception):
            return False
        if credentials.get("realm") != self.realm or credentials.get("username") != account.sid:
            return False
        if request_uri is not None and credentials.get("uri") != request_uri:
            return False  # RFC 7616 §3.4.6: the digest must be for this request's URI
        if not digest.verify(credentials, method=method, ha1=ha1, realm=self.realm):
            return False
        if status is digest.NonceStatus.STALE:
            return digest.NonceStatus.STALE
        nc = credentials.get("nc")
        return not (nc is not None and not self._nonces.accept_nc(nonce, nc))

    # -- SIP-C SCRAM-SHA-256 (columba.protocol.sipc.scram) ------------------------------------

    async def scram_challenge(self, account: Account, cnonce: str, now: float) -> AuthParams:
        """The ``W:`` of the 401 answering step 1."""
        verifier = await self._scram(account)
        nonce = cnonce + self._nonces.issue(now)
        return AuthParams(
            scheme="Digest",
            params=(
                ("algorithm", scram.ALGORITHM),
                ("nonce", nonce),
                ("salt", base64.b64encode(verifier.salt).decode()),
                ("iterations", str(verifier.iterations)),
            ),
        )

    async def verify_scram(
        self, account: Account, credentials: AuthParams, *, sid: str, now: float
    ) -> str | None:
        """Check step 3's proof; returns the base64 server signature, or None."""
        nonce = credentials.get("nonce") or ""
        cnonce, server_nonce = nonce[:32], nonce[32:]
        if self._nonces.check(server_nonce, now) is not digest.NonceStatus.VALID:
            return None
        try:
            proof = base64.b64decode(credentials.get("response") or "", validate=True)
            verifier = await self._scram(account)
        except (binascii.Error, ValueError, NotFound):
            return None
        message = scram.auth_message(
            sid=sid, cnonce=cnonce, nonce=nonce, salt=verifier.salt, iterations=verifier.iterations
        )
        if not scram.verify_proof(proof, stored=verifier.stored_key, message=message):
            return None
        if not self._nonces.accept_nc(server_nonce, 1):  # each nonce logs in once
            return None
        return base64.b64encode(scram.server_signature(verifier.server_key, message)).decode()

    async def _scram(self, account: Account) -> ScramVerifier:
        text = await self._store.digest_ha1(
            account.user_id, self.realm, DigestAlgorithm.SCRAM_SHA256
        )
        return ScramVerifier.decode(text)
