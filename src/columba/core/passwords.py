"""Password storage and the verifiers each login method needs.

- ``hash_password``/``verify_password``: scrypt (RFC 7914, ``hashlib.scrypt``) in a PHC-style
  string ``$scrypt$ln=15,r=8,p=1$<salt>$<hash>``; used by HTTP sign-in and account tools.
- ``scram_verifier``: SCRAM-SHA-256 (RFC 5802, RFC 7677) ``StoredKey``/``ServerKey`` for the
  SIP-C two-step login: the server never sees the password, and a stolen verifier does not
  let anyone log in (it is not password-equivalent).
- ``digest_ha1s``: HA1 values for SIP Digest (RFC 7616). These ARE password-equivalent for
  Digest itself, which is inherent to the protocol; they are stored apart from the other
  verifiers and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from columba.protocol.sip import digest
from columba.protocol.sipc import scram

#: Default scrypt cost: N = 2**15, r = 8, p = 1 (32 MiB, ~0.1 s on this class of machine).
DEFAULT_SCRYPT_LOG_N = 15
#: PBKDF2 iterations for SCRAM-SHA-256 (RFC 7677 §4 asks for at least 4096).
DEFAULT_SCRAM_ITERATIONS = 4096


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def hash_password(password: str, *, log_n: int = DEFAULT_SCRYPT_LOG_N) -> str:
    """Hash a password with a fresh salt; returns a self-describing string."""
    salt = secrets.token_bytes(16)
    n, r, p = 1 << log_n, 8, 1
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=32
    )
    return f"$scrypt$ln={log_n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for a wrong password or bad string."""
    try:
        _, scheme, params, salt_b64, key_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        fields = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = 1 << int(fields["ln"]), int(fields["r"]), int(fields["p"])
        salt, expected = _unb64(salt_b64), _unb64(key_b64)
    except (ValueError, KeyError):
        return False
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r,
        dklen=len(expected),
    )
    return hmac.compare_digest(key, expected)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScramVerifier:
    """What the server keeps for SCRAM-SHA-256: salt, iterations, StoredKey, ServerKey."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    def encode(self) -> str:
        """``<salt>:<iterations>:<stored key>:<server key>``, base64 parts."""
        return ":".join(
            (_b64(self.salt), str(self.iterations), _b64(self.stored_key), _b64(self.server_key))
        )

    @classmethod
    def decode(cls, text: str) -> ScramVerifier:
        """Parse :meth:`encode`'s output (``ValueError`` if malformed)."""
        salt, iterations, stored, server = text.split(":")
        return cls(
            salt=_unb64(salt),
            iterations=int(iterations),
            stored_key=_unb64(stored),
            server_key=_unb64(server),
        )


def scram_verifier(
    password: str, *, iterations: int = DEFAULT_SCRAM_ITERATIONS, salt: bytes | None = None
) -> ScramVerifier:
    """Derive the SCRAM-SHA-256 verifier the server stores for a password."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = scram.salted_password(password, salt, iterations)
    return ScramVerifier(
        salt=salt,
        iterations=iterations,
        stored_key=scram.stored_key(scram.client_key(salted)),
        server_key=scram.server_key(salted),
    )


def digest_ha1s(username: str, realm: str, password: str) -> dict[str, str]:
    """HA1 for each Digest algorithm Columba offers (SHA-256 first, then MD5; RFC 8760)."""
    return {
        str(algorithm): digest.compute_ha1(
            algorithm=algorithm, username=username, realm=realm, password=password
        )
        for algorithm in (digest.Algorithm.SHA_256, digest.Algorithm.MD5)
    }
