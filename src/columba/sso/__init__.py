"""``columba.sso``: the library a third-party app uses to accept Columba sign-in credentials.

It depends only on joserfc, so an app can vendor it without the rest of Columba::

    from columba.sso import CredentialVerifier, CredentialError

See ``docs/single-sign-in.md`` for the credential format and ``examples/thirdparty_app`` for a
complete app.
"""

from __future__ import annotations

from columba.sso.errors import (
    AlgorithmRefused,
    CredentialError,
    DecryptionFailed,
    Expired,
    LifetimeTooLong,
    MalformedCredential,
    MissingClaim,
    NonceMismatch,
    NotYetValid,
    Replayed,
    UnknownKeyId,
    WrongAudience,
    WrongIssuer,
)
from columba.sso.replay import MemoryReplayStore, ReplayStore
from columba.sso.verify import (
    BACKCHANNEL_LOGOUT_EVENT,
    CONTENT_ENCRYPTION,
    CREDENTIAL_TYP,
    KEY_ALGORITHMS,
    LOGOUT_TYP,
    MAX_LIFETIME,
    CredentialVerifier,
    Identity,
    LogoutNotice,
)

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "CONTENT_ENCRYPTION",
    "CREDENTIAL_TYP",
    "KEY_ALGORITHMS",
    "LOGOUT_TYP",
    "MAX_LIFETIME",
    "AlgorithmRefused",
    "CredentialError",
    "CredentialVerifier",
    "DecryptionFailed",
    "Expired",
    "Identity",
    "LifetimeTooLong",
    "LogoutNotice",
    "MalformedCredential",
    "MemoryReplayStore",
    "MissingClaim",
    "NonceMismatch",
    "NotYetValid",
    "ReplayStore",
    "Replayed",
    "UnknownKeyId",
    "WrongAudience",
    "WrongIssuer",
]
