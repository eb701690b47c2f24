"""Making credentials: per-app keys, pairwise subjects, and the JWE itself. No I/O.

A credential is the patent's "authorization credential for a third-party server, encrypted
with that server's key" (CN101350717), in standard form: a JWT (RFC 7519) encrypted as a
compact JWE (RFC 7516) with ``dir`` or ``A256KW`` and ``A256GCM`` under the app's random
256-bit key, named by ``kid``. A symmetric key gives secrecy *and* origin at once: a key
derived from public material would let anyone mint credentials (sso-bots.md §A.5).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey

from columba.sso.verify import (
    BACKCHANNEL_LOGOUT_EVENT,
    CONTENT_ENCRYPTION,
    CREDENTIAL_TYP,
    KEY_ALGORITHMS,
    LOGOUT_TYP,
    MAX_LIFETIME,
)

REGISTRY = JWERegistry(algorithms=[*KEY_ALGORITHMS, CONTENT_ENCRYPTION])


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_app_key() -> tuple[str, bytes]:
    """A fresh key id and random 256-bit key (never password-derived: no offline cracking)."""
    return "k-" + secrets.token_hex(6), secrets.token_bytes(32)


def pairwise_subject(secret: bytes, app_id: str, user_id: int) -> str:
    """The user's ``sub`` for one app: stable for that app, unlinkable across apps."""
    mac = hmac.new(secret, f"{app_id}\x00{user_id}".encode(), hashlib.sha256).digest()
    return b64url(mac[:24])


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialRequest:
    """What goes into one credential besides the key."""

    issuer: str
    app_id: str
    subject: str
    session_id: str
    auth_time: int
    name: str = ""
    nonce: str | None = None
    lifetime: int = MAX_LIFETIME


@functools.lru_cache(maxsize=1024)
def _key(kid: str, secret: bytes) -> OctKey:
    # Importing a JWK costs about as much as the AES itself; apps have few keys.
    return OctKey.import_key(secret, {"kid": kid})


def _encrypt(header: dict[str, Any], claims: Mapping[str, Any], kid: str, secret: bytes) -> str:
    return jwt.encode(header, dict(claims), _key(kid, secret), registry=REGISTRY)


def issue_credential(
    request: CredentialRequest, *, alg: str, kid: str, secret: bytes, now: float
) -> tuple[str, str]:
    """Encrypt a credential; returns it and its ``jti``.

    Raises:
        ValueError: An algorithm outside ``dir``/``A256KW`` or a lifetime over 120 s.
    """
    if alg not in KEY_ALGORITHMS:
        raise ValueError(f"unsupported algorithm {alg!r}")
    if not 0 < request.lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1..{MAX_LIFETIME} s")
    issued = int(now)
    jti = b64url(secrets.token_bytes(16))
    claims: dict[str, Any] = {
        "iss": request.issuer,
        "sub": request.subject,
        "aud": request.app_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + request.lifetime,
        "jti": jti,
        "sid": request.session_id,
        "auth_time": request.auth_time,
        "amr": ["pwd"],
    }
    if request.name:
        claims["name"] = request.name
    if request.nonce is not None:
        claims["nonce"] = request.nonce
    header = {"typ": CREDENTIAL_TYP, "alg": alg, "enc": CONTENT_ENCRYPTION, "kid": kid}
    return _encrypt(header, claims, kid, secret), jti


def issue_logout_notice(
    *,
    issuer: str,
    app_id: str,
    session_id: str,
    alg: str,
    kid: str,
    secret: bytes,
    now: float,
    lifetime: int = MAX_LIFETIME,
) -> str:
    """A back-channel logout token (OpenID Back-Channel Logout 1.0 §2.4 claims) as a JWE."""
    issued = int(now)
    claims = {
        "iss": issuer,
        "aud": app_id,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": b64url(secrets.token_bytes(16)),
        "sid": session_id,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    header = {"typ": LOGOUT_TYP, "alg": alg, "enc": CONTENT_ENCRYPTION, "kid": kid}
    return _encrypt(header, claims, kid, secret)
