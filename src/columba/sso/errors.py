"""Why a credential was refused.

::

    CredentialError            every refusal; ``reason`` is a short code for logs and replies
    ├── MalformedCredential    not a JWE compact credential of ours (size, header, ``typ``)
    ├── AlgorithmRefused       ``alg``/``enc`` outside the allow-list (downgrade attempts)
    ├── UnknownKeyId           no key with that ``kid`` (retired, or never ours)
    ├── DecryptionFailed       tag check failed: tampered, or encrypted under another key
    ├── WrongIssuer / WrongAudience
    ├── Expired / NotYetValid / LifetimeTooLong / MissingClaim
    ├── Replayed               this ``jti`` was already accepted
    └── NonceMismatch          the app's login nonce is absent or different
"""

from __future__ import annotations


class CredentialError(Exception):
    """A credential was refused; the message never contains key material."""

    reason = "invalid_credential"


class MalformedCredential(CredentialError):
    """Not a compact JWE credential of the expected type."""

    reason = "malformed"


class AlgorithmRefused(CredentialError):
    """The header names an algorithm outside the allow-list."""

    reason = "algorithm_refused"


class UnknownKeyId(CredentialError):
    """No key with the header's ``kid``."""

    reason = "unknown_kid"


class DecryptionFailed(CredentialError):
    """The authentication tag did not verify (tampered, or another key)."""

    reason = "decryption_failed"


class WrongIssuer(CredentialError):
    """``iss`` is not the expected SSI issuer."""

    reason = "wrong_issuer"


class WrongAudience(CredentialError):
    """``aud`` is not this app."""

    reason = "wrong_audience"


class Expired(CredentialError):
    """``exp`` is past, beyond the leeway."""

    reason = "expired"


class NotYetValid(CredentialError):
    """``nbf`` or ``iat`` is in the future, beyond the leeway."""

    reason = "not_yet_valid"


class LifetimeTooLong(CredentialError):
    """``exp − iat`` exceeds the lifetime cap."""

    reason = "lifetime_too_long"


class MissingClaim(CredentialError):
    """A required claim is absent or of the wrong type."""

    reason = "missing_claim"


class Replayed(CredentialError):
    """The ``jti`` was seen before."""

    reason = "replayed"


class NonceMismatch(CredentialError):
    """The login nonce does not match."""

    reason = "nonce_mismatch"
