"""``columba.sso``: every attack on a credential is refused, and a good one passes once."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwe, jws, jwt
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey

from columba.ssi.credentials import CredentialRequest, issue_credential, issue_logout_notice
from columba.sso import (
    AlgorithmRefused,
    CredentialError,
    CredentialVerifier,
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

ISSUER = "https://columba.test"
NOW = 1_800_000_000.0
KEY_X = secrets.token_bytes(32)
KEY_Y = secrets.token_bytes(32)


def verifier(
    app: str = "x", keys: dict[str, bytes] | None = None, now: float = NOW, **kw: Any
) -> CredentialVerifier:
    return CredentialVerifier(
        issuer=ISSUER, audience=app, keys=keys or {"kx1": KEY_X}, clock=lambda: now, **kw
    )


def credential(
    *,
    app: str = "x",
    kid: str = "kx1",
    key: bytes = KEY_X,
    alg: str = "dir",
    now: float = NOW,
    nonce: str | None = None,
    issuer: str = ISSUER,
) -> str:
    request = CredentialRequest(
        issuer=issuer,
        app_id=app,
        subject="sub-123",
        session_id="sess-1",
        auth_time=int(now) - 5,
        name="Alice",
        nonce=nonce,
    )
    token, _ = issue_credential(request, alg=alg, kid=kid, secret=key, now=now)
    return token


def raw_jwe(claims: dict[str, Any], header: dict[str, Any], key: bytes, algs: list[str]) -> str:
    """A credential built by hand (what an attacker or a buggy issuer could send)."""
    registry = JWERegistry(algorithms=algs)
    return jwt.encode(
        header, claims, OctKey.import_key(key, {"kid": header.get("kid")}), registry=registry
    )


def good_claims(now: float = NOW, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": "s",
        "aud": "x",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 60,
        "jti": secrets.token_hex(8),
        "sid": "sess",
        "auth_time": int(now),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


HEADER = {"typ": "ssi-cred+jwt", "alg": "dir", "enc": "A256GCM", "kid": "kx1"}


def test_a_good_credential_passes_and_says_who() -> None:
    identity = verifier().verify(credential())
    assert identity.subject == "sub-123"
    assert identity.name == "Alice"
    assert identity.session_id == "sess-1"
    assert identity.expires_at == NOW + 120


def test_a256kw_passes_too() -> None:
    assert verifier().verify(credential(alg="A256KW")).subject == "sub-123"


def test_replay_is_refused() -> None:
    v = verifier()
    token = credential()
    v.verify(token)
    with pytest.raises(Replayed):
        v.verify(token)


def test_a_refused_credential_does_not_use_up_its_id() -> None:
    v = verifier()
    token = credential(nonce="n1")
    with pytest.raises(NonceMismatch):
        v.verify(token, nonce="other")
    assert v.verify(token, nonce="n1").subject == "sub-123"


def test_wrong_audience_is_refused_even_with_the_same_key() -> None:
    # App y shares nothing with x; even a verifier for y holding x's key refuses x's credential.
    with pytest.raises(WrongAudience):
        verifier(app="y").verify(credential(app="x"))


def test_another_apps_key_cannot_decrypt() -> None:
    token = credential(app="x")
    with pytest.raises((DecryptionFailed, UnknownKeyId)):
        verifier(app="y", keys={"ky1": KEY_Y}).verify(token)
    with pytest.raises(DecryptionFailed):
        verifier(app="y", keys={"kx1": KEY_Y}).verify(token)


def test_expired_beyond_leeway_is_refused_within_leeway_accepted() -> None:
    token = credential(now=NOW)
    assert verifier(now=NOW + 120 + 20).verify(token)
    with pytest.raises(Expired):
        verifier(now=NOW + 120 + 31).verify(credential(now=NOW))


def test_not_yet_valid_is_refused() -> None:
    with pytest.raises(NotYetValid):
        verifier(now=NOW - 90).verify(credential(now=NOW))
    assert verifier(now=NOW - 20).verify(credential(now=NOW))


def test_tampered_ciphertext_tag_or_header_is_refused() -> None:
    token = credential()
    parts = token.split(".")
    for index in (3, 4):
        mangled = list(parts)
        raw = bytearray(base64.urlsafe_b64decode(mangled[index] + "=" * (-len(mangled[index]) % 4)))
        raw[0] ^= 1
        mangled[index] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
        with pytest.raises(DecryptionFailed):
            verifier().verify(".".join(mangled))
    # The protected header is the AAD: changing it (here: the kid to another known key) fails.
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=="))
    header["kid"] = "kx2"
    parts[0] = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    with pytest.raises(DecryptionFailed):
        verifier(keys={"kx1": KEY_X, "kx2": KEY_X}).verify(".".join(parts))


def test_unknown_key_id_is_refused() -> None:
    with pytest.raises(UnknownKeyId):
        verifier().verify(credential(kid="retired"))


def test_algorithm_downgrade_is_refused() -> None:
    weak = raw_jwe(
        good_claims(),
        {**HEADER, "alg": "A128KW", "enc": "A128GCM"},
        KEY_X[:16],
        ["A128KW", "A128GCM"],
    )
    with pytest.raises(AlgorithmRefused):
        verifier().verify(weak)
    # A verifier pinned to dir refuses A256KW even under the right key.
    with pytest.raises(AlgorithmRefused):
        verifier(algorithms=("dir",)).verify(credential(alg="A256KW"))
    # alg "none" and a signed (not encrypted) token are not credentials at all.
    unsigned = ".".join(
        base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
        for p in ({"alg": "none", "typ": "ssi-cred+jwt", "kid": "kx1"}, good_claims())
    )
    with pytest.raises(MalformedCredential):
        verifier().verify(unsigned + ".")
    signed = jws.serialize_compact(
        {"alg": "HS256", "typ": "ssi-cred+jwt", "kid": "kx1"},
        json.dumps(good_claims()).encode(),
        OctKey.import_key(KEY_X),
    )
    with pytest.raises(MalformedCredential):
        verifier().verify(signed)


def test_forgery_from_public_material_only_is_refused() -> None:
    # Everything public: issuer, app id, kid, the claim layout, a user's display name. Keys an
    # attacker could derive from it, or a fresh one, fail the GCM tag check.
    public = f"{ISSUER}|x|kx1".encode()
    for key in (hashlib.sha256(public).digest(), secrets.token_bytes(32), bytes(32)):
        for alg in ("dir", "A256KW"):
            forged = raw_jwe(good_claims(), {**HEADER, "alg": alg}, key, [alg, "A256GCM"])
            with pytest.raises(DecryptionFailed):
                verifier().verify(forged)
    # Public-key encryption to the app would let anyone mint credentials; we never accept it.
    from joserfc.jwk import ECKey

    public_key = ECKey.generate_key("P-256")
    ecdh = jwe.encrypt_compact(
        {**HEADER, "alg": "ECDH-ES+A256KW"},
        json.dumps(good_claims()).encode(),
        public_key,
        registry=JWERegistry(algorithms=["ECDH-ES+A256KW", "A256GCM"]),
    )
    with pytest.raises(AlgorithmRefused):
        verifier().verify(ecdh)


def test_wrong_issuer_missing_claims_and_long_lifetime_are_refused() -> None:
    with pytest.raises(WrongIssuer):
        verifier().verify(credential(issuer="https://evil.test"))
    for missing in ("exp", "jti", "sub", "sid", "nbf", "iat"):
        token = raw_jwe(good_claims(**{missing: None}), HEADER, KEY_X, ["dir", "A256GCM"])
        with pytest.raises(MissingClaim):
            verifier().verify(token)
    long = raw_jwe(good_claims(exp=int(NOW) + 3600), HEADER, KEY_X, ["dir", "A256GCM"])
    with pytest.raises(LifetimeTooLong):
        verifier().verify(long)
    several = raw_jwe(good_claims(aud=["x", "y"]), HEADER, KEY_X, ["dir", "A256GCM"])
    with pytest.raises(WrongAudience):
        verifier().verify(several)


def test_nonce_must_match_when_the_app_sent_one() -> None:
    with pytest.raises(NonceMismatch):
        verifier().verify(credential(), nonce="n")
    with pytest.raises(NonceMismatch):
        verifier().verify(credential(nonce="m"), nonce="n")
    assert verifier().verify(credential(nonce="n"), nonce="n")


def test_key_rotation_overlap_then_retirement() -> None:
    old, new = credential(kid="kx1"), credential(kid="kx2", key=KEY_Y)
    both = verifier(keys={"kx1": KEY_X, "kx2": KEY_Y})
    assert both.verify(old)
    assert both.verify(new)
    only_new = verifier(keys={"kx2": KEY_Y})
    with pytest.raises(UnknownKeyId):
        only_new.verify(credential(kid="kx1"))


def test_logout_notices_are_not_credentials_and_vice_versa() -> None:
    notice = issue_logout_notice(
        issuer=ISSUER, app_id="x", session_id="sess-1", alg="dir", kid="kx1", secret=KEY_X, now=NOW
    )
    assert verifier().verify_logout(notice).session_id == "sess-1"
    with pytest.raises(MalformedCredential):
        verifier().verify(notice)
    with pytest.raises(MalformedCredential):
        verifier().verify_logout(credential())


def test_replay_store_forgets_after_expiry() -> None:
    from columba.sso import MemoryReplayStore

    store = MemoryReplayStore(max_entries=2)
    assert store.add("a", 10.0, now=0.0)
    assert not store.add("a", 10.0, now=5.0)
    assert store.add("b", 10.0, now=5.0)
    assert not store.add("c", 10.0, now=5.0)  # full: fail closed
    assert store.add("c", 20.0, now=11.0)
    assert len(store) == 1


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_random_input_only_raises_credential_errors(text: str) -> None:
    with pytest.raises(CredentialError):
        verifier().verify(text)


@given(
    st.lists(
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40
        ),
        min_size=5,
        max_size=5,
    )
)
def test_random_five_part_tokens_only_raise_credential_errors(parts: list[str]) -> None:
    parts[0] = base64.urlsafe_b64encode(json.dumps(HEADER).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialError):
        verifier().verify(".".join(parts))
