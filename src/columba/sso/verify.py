"""Verifying Columba SSI credentials and back-channel logout notices, for third-party apps.

A credential is a JWT encrypted as a compact JWE (``dir`` or ``A256KW`` with ``A256GCM``)
under a random 256-bit key the Columba admin shared with the app. The checks follow the order
sso-bots.md §A.4 recommends: size and header first (algorithm allow-list taken from *our*
configuration, never from the token; ``typ``; known ``kid``), then decryption (AES-GCM's tag
proves both secrecy and origin, since only SSI and this app hold the key), then ``iss``/``aud``
exactly, ``exp``/``nbf``/``iat`` with leeway, a cap on ``exp − iat``, the login nonce, and last
the ``jti`` replay store, so that a refused credential does not use up its id.

Typical use in an app::

    verifier = CredentialVerifier(
        issuer="https://columba.example", audience="weather",
        keys={"k1": bytes.fromhex(...)},
    )
    identity = verifier.verify(request_form["credential"], nonce=session["login_nonce"])
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError, UnsupportedAlgorithmError
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey

from columba.sso import errors
from columba.sso.replay import MemoryReplayStore, ReplayStore

#: The JOSE ``typ`` of a credential, and of a back-channel logout notice.
CREDENTIAL_TYP = "ssi-cred+jwt"
LOGOUT_TYP = "logout+jwt"
#: OpenID Connect Back-Channel Logout 1.0 §2.4 event name.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Key management algorithms a credential may use, and its only content encryption.
KEY_ALGORITHMS = ("dir", "A256KW")
CONTENT_ENCRYPTION = "A256GCM"
#: The lifetime SSI issues with and the most a verifier accepts.
MAX_LIFETIME = 120
MAX_CREDENTIAL_BYTES = 8192
_TIMES = ("exp", "nbf", "iat", "auth_time")
_STRINGS = ("sub", "sid", "jti")


def _is_time(value: object) -> bool:
    """A JSON NumericDate: a finite number, not a boolean (NaN would never expire)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who a verified credential says the user is.

    Attributes:
        subject: ``sub``: the user's id *for this app* (pairwise: another app sees another id).
        session_id: ``sid``: the SSI session; a back-channel logout names it.
        name: The user's display name, when SSI sent it.
        auth_time: When the user signed in to SSI (seconds since the epoch).
        expires_at: ``exp``.
        claims: Every claim, as decrypted.
    """

    subject: str
    session_id: str
    name: str
    auth_time: int
    expires_at: float
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogoutNotice:
    """A verified back-channel logout: end the app's sessions made under ``session_id``."""

    session_id: str
    subject: str


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 5:
        raise errors.MalformedCredential("not a compact JWE (5 parts)")
    try:
        header = json.loads(_b64url(parts[0]))
    except (ValueError, binascii.Error):
        raise errors.MalformedCredential("unreadable protected header") from None
    if not isinstance(header, dict):
        raise errors.MalformedCredential("protected header is not an object")
    return header


class CredentialVerifier:
    """Checks credentials for one app.

    Args:
        issuer: The SSI issuer (``iss``) the app trusts, exactly.
        audience: The app's id (``aud``), exactly.
        keys: Key id → 32-byte key; several during a rotation's overlap.
        algorithms: Key-management algorithms accepted (default: ``dir`` and ``A256KW``).
        leeway: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
        max_lifetime: The most ``exp − iat`` may be.
        replay: Where accepted ``jti`` values are remembered (default: in memory).
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: Mapping[str, bytes],
        algorithms: Collection[str] = KEY_ALGORITHMS,
        leeway: int = 30,
        max_lifetime: int = MAX_LIFETIME,
        replay: ReplayStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(algorithms) - set(KEY_ALGORITHMS)
        if unknown:
            raise ValueError(f"unsupported algorithms {sorted(unknown)}")
        for kid, secret in keys.items():
            if len(secret) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes")
        self.issuer = issuer
        self.audience = audience
        self._keys = {kid: OctKey.import_key(secret, {"kid": kid}) for kid, secret in keys.items()}
        self._algorithms = frozenset(algorithms)
        self._registry = JWERegistry(algorithms=[*sorted(algorithms), CONTENT_ENCRYPTION])
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.replay: ReplayStore = replay if replay is not None else MemoryReplayStore()
        self._clock = clock

    def _decrypt(self, token: str, typ: str) -> tuple[dict[str, Any], float]:
        if len(token) > MAX_CREDENTIAL_BYTES:
            raise errors.MalformedCredential("credential too large")
        header = _header(token)
        if header.get("typ") != typ:
            raise errors.MalformedCredential(f"typ must be {typ}")
        if header.get("alg") not in self._algorithms or header.get("enc") != CONTENT_ENCRYPTION:
            raise errors.AlgorithmRefused(f"alg/enc {header.get('alg')}/{header.get('enc')}")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise errors.UnknownKeyId("unknown key id")
        try:
            token_obj = jwt.decode(token, key, registry=self._registry)
        except UnsupportedAlgorithmError:
            raise errors.AlgorithmRefused("algorithm refused") from None
        except InvalidKeyIdError:
            raise errors.UnknownKeyId("unknown key id") from None
        except (JoseError, ValueError):
            raise errors.DecryptionFailed("could not decrypt") from None
        now = self._clock()
        return token_obj.claims, now

    def _check_claims(
        self, claims: dict[str, Any], now: float, *, essential: tuple[str, ...]
    ) -> None:
        # Written out rather than through joserfc's JWTClaimsRegistry: the same rules (exp,
        # iss and aud essential, NumericDate types, leeway), without the registry's cost (a
        # seventh of a whole issue + verify), and one error class per reason (decision 0015).
        # A registry checks an "exp" only if present unless it is essential; here it always is.
        for name in ("iss", "aud", "exp", *essential):
            if claims.get(name) is None:
                raise errors.MissingClaim(f"missing {name}")
        for name in _TIMES:
            if name in claims and not _is_time(claims[name]):
                raise errors.MissingClaim(f"{name} is not a NumericDate")
        for name in _STRINGS:
            if name in claims and (not isinstance(claims[name], str) or not claims[name]):
                raise errors.MissingClaim(f"{name} is not a string")
        if claims["iss"] != self.issuer:
            raise errors.WrongIssuer("credential is from another issuer")
        audience = claims["aud"]
        if audience != self.audience and audience != [self.audience]:
            raise errors.WrongAudience("credential is for another app")
        if claims["exp"] <= now - self.leeway:
            raise errors.Expired("credential expired")
        for name in ("nbf", "iat"):
            if name in claims and claims[name] > now + self.leeway:
                raise errors.NotYetValid(f"{name} in the future")

    def _remember(self, jti: object, expires_at: float, now: float) -> None:
        if not isinstance(jti, str) or not jti:
            raise errors.MissingClaim("bad jti")
        if not self.replay.add(jti, expires_at + self.leeway, now=now):
            raise errors.Replayed("credential already used")

    def verify(self, credential: str, *, nonce: str | None = None) -> Identity:
        """Checks a credential and returns the identity it carries.

        Args:
            credential: The compact JWE the user agent presented.
            nonce: The login nonce this app issued for this login attempt, if it issued one;
                the credential must then carry exactly it.

        Raises:
            CredentialError: A subclass naming why it was refused.
        """
        claims, now = self._decrypt(credential, CREDENTIAL_TYP)
        self._check_claims(
            claims, now, essential=("sub", "sid", "exp", "iat", "nbf", "jti", "auth_time")
        )
        exp, iat = claims["exp"], claims["iat"]
        if exp - iat > self.max_lifetime:
            raise errors.LifetimeTooLong("credential lives too long")
        if nonce is not None:
            given = claims.get("nonce")
            # As bytes: compare_digest refuses str with non-ASCII characters.
            if not isinstance(given, str) or not hmac.compare_digest(
                given.encode(), nonce.encode()
            ):
                raise errors.NonceMismatch("nonce does not match")
        self._remember(claims["jti"], float(exp), now)
        return Identity(
            subject=str(claims["sub"]),
            session_id=str(claims["sid"]),
            name=str(claims.get("name", "")),
            auth_time=int(claims["auth_time"]),
            expires_at=float(exp),
            claims=claims,
        )

    def verify_logout(self, token: str) -> LogoutNotice:
        """Checks a back-channel logout notice (``logout_token`` of the POST).

        Raises:
            CredentialError: As for :meth:`verify`; a notice without the logout event, or with
                a ``nonce`` (OpenID Back-Channel Logout §2.6), is malformed.
        """
        claims, now = self._decrypt(token, LOGOUT_TYP)
        self._check_claims(claims, now, essential=("sid", "iat", "exp", "jti"))
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
            raise errors.MalformedCredential("not a logout notice")
        if "nonce" in claims:
            raise errors.MalformedCredential("a logout notice carries no nonce")
        if claims["exp"] - claims["iat"] > self.max_lifetime:
            raise errors.LifetimeTooLong("notice lives too long")
        self._remember(claims["jti"], float(claims["exp"]), now)
        return LogoutNotice(session_id=str(claims["sid"]), subject=str(claims.get("sub", "")))
