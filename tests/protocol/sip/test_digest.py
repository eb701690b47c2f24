"""Tests for SIP Digest authentication (RFC 2617, RFC 7616, RFC 8760) and the nonce manager."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.protocol.errors import LocalProtocolError, ParseError
from columba.protocol.sip.auth import AuthParams, format_auth, parse_auth
from columba.protocol.sip.digest import (
    DEFAULT_ALGORITHMS,
    Algorithm,
    NonceManager,
    NonceStatus,
    choose_challenge,
    compute_ha1,
    compute_response,
    make_challenge,
    make_challenges,
    make_credentials,
    verify,
)
from tests.conftest import corpus_dir

CORPUS_IM = corpus_dir() / "sip" / "im"
SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "im.example.com"

# RFC 7616 §3.9.1.
RFC7616: dict[str, Any] = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "nc": "00000001",
    "qop": "auth",
}
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_MD5 = "8ca523f5e9506fed4657c9700eebdbec"
RFC7616_SHA256 = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def credentials_for(response: str, algorithm: str, /, **overrides: str) -> AuthParams:
    fields = {
        "username": RFC7616["username"],
        "realm": RFC7616["realm"],
        "nonce": RFC7616["nonce"],
        "uri": RFC7616["uri"],
        "response": response,
        "algorithm": algorithm,
        "cnonce": RFC7616["cnonce"],
        "qop": "auth",
        "nc": "00000001",
        "opaque": RFC7616_OPAQUE,
    } | overrides
    return AuthParams(
        scheme="Digest", params=tuple((k, v) for k, v in fields.items() if v != "<absent>")
    )


# --- Test vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [(Algorithm.MD5, RFC7616_MD5), (Algorithm.SHA_256, RFC7616_SHA256)],
)
def test_rfc7616_section_3_9_1(algorithm: Algorithm, expected: str) -> None:
    assert compute_response(algorithm=algorithm, **RFC7616) == expected
    ha1 = compute_ha1(
        algorithm=algorithm, username="Mufasa", realm=RFC7616["realm"], password="Circle of Life"
    )
    with_ha1 = {k: v for k, v in RFC7616.items() if k != "password"}
    assert compute_response(algorithm=algorithm, ha1=ha1, **with_ha1) == expected
    assert compute_response(algorithm=algorithm, ha1=ha1.upper(), **with_ha1) == expected
    assert verify(
        credentials_for(expected, algorithm.value), method="GET", password="Circle of Life"
    )
    assert verify(credentials_for(expected, algorithm.value), method="GET", ha1=ha1)


def test_rfc7616_section_3_9_1_through_the_challenge() -> None:
    challenge = parse_auth(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        f'nonce="{RFC7616["nonce"]}", opaque="{RFC7616_OPAQUE}"'
    )
    credentials = make_credentials(
        challenge=challenge,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce=RFC7616["cnonce"],
    )
    assert credentials == credentials_for(RFC7616_SHA256, "SHA-256")


def test_rfc7616_section_3_9_2_sha_512_256() -> None:
    # The response printed in RFC 7616 §3.9.2 (ae66e67d…) is wrong; this is the value from its
    # erratum, which other implementations agree on. Username hashing is not implemented.
    response = compute_response(
        algorithm=Algorithm.SHA_512_256,
        username="J\u00e4s\u00f8n Doe",
        realm="api@example.org",
        password="Secret, or not?",
        method="GET",
        uri="/doe.json",
        nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
        cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        nc=1,
        qop="auth",
    )
    assert response == "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"


def test_rfc2617_section_3_5() -> None:
    response = compute_response(
        algorithm=Algorithm.MD5,
        username="Mufasa",
        realm="testrealm@host.com",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        cnonce="0a4f113b",
        nc="00000001",
        qop="auth",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_rfc2069_without_qop() -> None:
    # RFC 2069 §2.4 as corrected by its erratum (the printed e966c932… is wrong).
    challenge = parse_auth(
        'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    credentials = make_credentials(
        challenge=challenge,
        username="Mufasa",
        password="CircleOfLife",
        method="GET",
        uri="/dir/index.html",
    )
    assert credentials.get("response") == "1949323746fe6a43ef61f9606e7febea"
    assert credentials.get("qop") is None
    assert credentials.get("cnonce") is None
    assert credentials.get("nc") is None
    assert verify(credentials, method="GET", password="CircleOfLife")


# --- The generated SIP IM corpus ----------------------------------------------------------------

# Recovered by trying a handful of obvious candidates against the corpus responses.
CORPUS_PASSWORDS = {"alice": "wonderland", "bob": "builder", "carol": "xmas"}
AUTH_LINE = re.compile(r"^(Authorization|Proxy-Authorization): (.*)$", re.MULTILINE)
CHALLENGE_LINE = re.compile(r"^(?:WWW|Proxy)-Authenticate: (.*)$", re.MULTILINE)


def read_message(name: str) -> str:
    path = CORPUS_IM / name
    if not path.exists():
        pytest.skip(f"{name} not in the shared corpus")
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("challenge_file", "request_file", "user", "nc"),
    [
        ("gen_002_reg-alice_401.sip", "gen_003_reg-alice_REGISTER-auth.sip", "alice", 1),
        ("gen_010_reg-carol_401.sip", "gen_011_reg-carol_REGISTER-auth.sip", "carol", 1),
        ("gen_020_im-bob-alice_407.sip", "gen_021_im-bob-alice_MESSAGE-auth.sip", "bob", 2),
    ],
)
def test_corpus_exchange_is_reproduced(
    challenge_file: str, request_file: str, user: str, nc: int
) -> None:
    challenge_match = CHALLENGE_LINE.search(read_message(challenge_file))
    request = read_message(request_file)
    auth_match = AUTH_LINE.search(request)
    assert challenge_match is not None
    assert auth_match is not None
    challenge = parse_auth(challenge_match.group(1))
    sent = parse_auth(auth_match.group(2))
    method, uri, _ = request.split("\n", 1)[0].split(" ")

    ours = make_credentials(
        challenge=challenge,
        username=user,
        password=CORPUS_PASSWORDS[user],
        method=method,
        uri=uri,
        cnonce=sent.get("cnonce"),
        nc=nc,
    )
    assert format_auth(ours) == auth_match.group(2)


def corpus_requests() -> list[Path]:
    return sorted(CORPUS_IM.glob("gen_*.sip")) if CORPUS_IM.is_dir() else []


@pytest.mark.parametrize("path", corpus_requests(), ids=lambda path: path.name)
def test_corpus_credentials_verify(path: Path) -> None:
    message = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    method = message.split(" ", 1)[0]
    for _, value in AUTH_LINE.findall(message):
        credentials = parse_auth(value)
        user = credentials.get("username")
        assert user is not None
        password = CORPUS_PASSWORDS[user]
        ha1 = compute_ha1(algorithm=Algorithm.MD5, username=user, realm=REALM, password=password)
        assert verify(credentials, method=method, password=password, realm=REALM)
        assert verify(credentials, method=method, ha1=ha1, algorithms=DEFAULT_ALGORITHMS)
        assert not verify(credentials, method=method, password=password + "!")
        assert not verify(credentials, method="INVITE", password=password)


def test_challenge_matches_corpus_spelling() -> None:
    challenge = make_challenge(
        realm=REALM,
        nonce="2dCflfVvlL3NkbulLaU7NkIneImZOZYrz059q8Xq",
        algorithm=Algorithm.MD5,
        opaque="30b18dea65130578",
    )
    match = CHALLENGE_LINE.search(read_message("gen_002_reg-alice_401.sip"))
    assert match is not None
    assert format_auth(challenge) == match.group(1)


# --- Algorithms and argument checks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        (None, Algorithm.MD5),
        ("MD5", Algorithm.MD5),
        ("md5-SESS", Algorithm.MD5_SESS),
        ("SHA-256", Algorithm.SHA_256),
        ("sha-256-sess", Algorithm.SHA_256_SESS),
        ("SHA-512-256", Algorithm.SHA_512_256),
        ("SHA-512-256-sess", Algorithm.SHA_512_256_SESS),
    ],
)
def test_algorithm_parse(text: str | None, algorithm: Algorithm) -> None:
    assert Algorithm.parse(text) is algorithm


@pytest.mark.parametrize("text", ["SHA1-sess-v4", "MD5-sess;SHA1-sess", "SHA-1", ""])
def test_algorithm_parse_rejects_unknown(text: str) -> None:
    with pytest.raises(ParseError, match="unsupported digest algorithm"):
        Algorithm.parse(text)


def test_algorithm_properties() -> None:
    assert Algorithm.SHA_256_SESS.is_session
    assert not Algorithm.SHA_256.is_session
    assert Algorithm.SHA_256_SESS.hash_name == "SHA-256"
    assert Algorithm.MD5.hexdigest("a") == hashlib.md5(b"a").hexdigest()
    assert Algorithm.SHA_512_256.hexdigest(b"") == hashlib.new("sha512_256", b"").hexdigest()


def test_ha1_is_shared_by_plain_and_session_variants() -> None:
    kwargs: dict[str, Any] = {"username": "u", "realm": "r", "password": "p"}
    assert compute_ha1(algorithm=Algorithm.MD5, **kwargs) == hashlib.md5(b"u:r:p").hexdigest()
    assert compute_ha1(algorithm=Algorithm.MD5_SESS, **kwargs) == compute_ha1(
        algorithm=Algorithm.MD5, **kwargs
    )


@pytest.mark.parametrize("algorithm", [Algorithm.MD5_SESS, Algorithm.SHA_256_SESS])
def test_session_algorithms_rekey_per_cnonce(algorithm: Algorithm) -> None:
    plain = Algorithm.parse(algorithm.hash_name)
    base = {k: v for k, v in RFC7616.items() if k != "cnonce"}
    one = compute_response(algorithm=algorithm, cnonce="a", **base)
    assert one != compute_response(algorithm=algorithm, cnonce="b", **base)
    assert one != compute_response(algorithm=plain, cnonce="a", **base)
    # RFC 7616 §3.4.2: HA1 = H(H(user:realm:password):nonce:cnonce).
    ha1 = compute_ha1(
        algorithm=algorithm, username="Mufasa", realm=RFC7616["realm"], password="Circle of Life"
    )
    session_ha1 = algorithm.hexdigest(f"{ha1}:{RFC7616['nonce']}:a")
    ha2 = algorithm.hexdigest(f"GET:{RFC7616['uri']}")
    assert one == algorithm.hexdigest(f"{session_ha1}:{RFC7616['nonce']}:00000001:a:auth:{ha2}")


def test_auth_int_hashes_the_body() -> None:
    base = RFC7616 | {"qop": "auth-int"}
    empty = compute_response(algorithm=Algorithm.SHA_256, **base)
    assert empty == compute_response(algorithm=Algorithm.SHA_256, body=b"", **base)
    with_body = compute_response(algorithm=Algorithm.SHA_256, body=b"hello", **base)
    assert with_body != empty
    creds = credentials_for(with_body, "SHA-256", qop="auth-int")
    assert verify(creds, method="GET", password="Circle of Life", body=b"hello")
    assert not verify(creds, method="GET", password="Circle of Life", body=b"hellO")


def test_nc_may_be_given_as_a_number() -> None:
    assert compute_response(algorithm=Algorithm.MD5, **(RFC7616 | {"nc": 1})) == RFC7616_MD5


@pytest.mark.parametrize(
    "changes",
    [
        {"password": None},
        {"ha1": "00"},
        {"algorithm": Algorithm.SHA_256, "qop": None},
        {"algorithm": Algorithm.MD5_SESS, "cnonce": None},
        {"cnonce": None},
        {"nc": None},
        {"nc": 0},
        {"nc": 1 << 32},
        {"qop": "auth-conf"},
    ],
)
def test_compute_response_rejects_bad_arguments(changes: dict[str, object]) -> None:
    kwargs: dict[str, Any] = {"algorithm": Algorithm.MD5, **RFC7616, **changes}
    with pytest.raises(LocalProtocolError):
        compute_response(**kwargs)


def test_verify_requires_exactly_one_secret() -> None:
    creds = credentials_for(RFC7616_MD5, "MD5")
    with pytest.raises(LocalProtocolError):
        verify(creds, method="GET")
    with pytest.raises(LocalProtocolError):
        verify(creds, method="GET", password="Circle of Life", ha1="00")


# --- verify() rejects whatever is wrong -------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "<absent>"},
        {"realm": "<absent>"},
        {"nonce": "<absent>"},
        {"uri": "<absent>"},
        {"response": "<absent>"},
        {"nc": "<absent>"},
        {"cnonce": "<absent>"},
        {"nc": "1"},
        {"nc": "0000000g"},
        {"qop": "auth-conf"},
        {"qop": "<absent>"},
        {"algorithm": "SHA1-sess-v4"},
        {"response": "8ca523f5e9506fed4657c9700eebdbed"},
        {"response": "8ca523f5e9506fed4657c9700eebdbe"},
        {"response": "8ca523f5e9506fed4657c9700eebdbé"},
        {"response": "8ca523f5e9506fed4657c9700eebdb" + chr(0xDCFF)},  # surrogate-escaped byte
        {"response": "8ca523f5e9506fed4657c9700eebdb" + chr(0xD800)},  # not even that
        {"uri": "/dir/index.htm"},
        {"nonce": RFC7616["nonce"] + "x"},
    ],
)
def test_verify_rejects_broken_credentials(overrides: dict[str, str]) -> None:
    creds = credentials_for(RFC7616_MD5, "MD5", **overrides)
    assert verify(creds, method="GET", password="Circle of Life") is False


def test_verify_accepts_upper_case_hex() -> None:
    creds = credentials_for(RFC7616_MD5.upper(), "MD5")
    assert verify(creds, method="GET", password="Circle of Life")


def test_verify_checks_scheme_realm_uri_and_algorithm_when_asked() -> None:
    creds = credentials_for(RFC7616_MD5, "MD5")
    password = "Circle of Life"
    assert verify(
        creds, method="GET", password=password, realm=RFC7616["realm"], uri="/dir/index.html"
    )
    assert not verify(creds, method="GET", password=password, realm="other")
    assert not verify(creds, method="GET", password=password, uri="/other")
    assert not verify(creds, method="GET", password=password, algorithms=(Algorithm.SHA_256,))
    other_scheme = AuthParams(scheme="Verify", params=creds.params)
    assert not verify(other_scheme, method="GET", password=password)


def test_verify_rejects_rfc2069_style_for_sha256_and_stray_cnonce() -> None:
    base = {k: v for k, v in RFC7616.items() if k not in {"cnonce", "nc", "qop"}}
    md5 = compute_response(algorithm=Algorithm.MD5, **base)
    no_qop = {"qop": "<absent>", "nc": "<absent>", "cnonce": "<absent>"}
    assert verify(credentials_for(md5, "MD5", **no_qop), method="GET", password="Circle of Life")
    stray = no_qop | {"cnonce": "x"}
    assert not verify(credentials_for(md5, "MD5", **stray), method="GET", password="Circle of Life")
    sha = credentials_for(md5, "SHA-256", **no_qop)
    assert not verify(sha, method="GET", password="Circle of Life")


# --- Challenges, and a client choosing among them ---------------------------------------------


def test_make_challenges_offers_sha256_then_md5() -> None:
    challenges = make_challenges(realm=REALM, nonce="n", opaque="o")
    assert [format_auth(c) for c in challenges] == [
        'Digest realm="im.example.com",nonce="n",opaque="o",algorithm=SHA-256,qop="auth"',
        'Digest realm="im.example.com",nonce="n",opaque="o",algorithm=MD5,qop="auth"',
    ]


def test_stale_and_qop_options() -> None:
    challenge = make_challenge(realm=REALM, nonce="n", stale=True, qop=("auth", "auth-int"))
    assert format_auth(challenge) == (
        'Digest realm="im.example.com",nonce="n",algorithm=SHA-256,qop="auth,auth-int",stale=true'
    )
    rfc2069 = make_challenge(realm=REALM, nonce="n", algorithm=Algorithm.MD5, qop=None)
    assert rfc2069.get("qop") is None


def test_choose_challenge_takes_the_first_supported() -> None:
    offered = [
        parse_auth('Digest algorithm="SHA1-sess-v4",nonce="31E5",key="0D",signature="E5"'),
        parse_auth("NoOneKnowsThisScheme opaque-data=here"),
        parse_auth('Digest realm="r",algorithm=SHA-256'),  # no nonce
        parse_auth('Digest realm="r",nonce="n",algorithm=SHA-256'),  # no qop: not allowed
        parse_auth('Digest realm="r",nonce="n",algorithm=SHA-256,qop="auth-conf"'),
        *make_challenges(realm="r", nonce="n"),
    ]
    assert choose_challenge(offered) == offered[5]
    assert choose_challenge(offered, algorithms=(Algorithm.MD5,)) == offered[6]
    assert choose_challenge(offered[:5]) is None
    assert choose_challenge([]) is None


@pytest.mark.parametrize(
    "challenge",
    [
        'TICKS auth="1.2"',
        'Digest nonce="n"',
        'Digest realm="r"',
        'Digest realm="r",nonce="n",algorithm="SHA1-sess-v4"',
        'Digest realm="r",nonce="n",algorithm=SHA-256',
        'Digest realm="r",nonce="n",qop="auth-conf"',
    ],
)
def test_make_credentials_rejects_unanswerable_challenges(challenge: str) -> None:
    with pytest.raises(ParseError):
        make_credentials(
            challenge=parse_auth(challenge), username="u", password="p", method="M", uri="u"
        )


def test_make_credentials_answers_auth_int_only_with_the_body() -> None:
    challenge = make_challenge(realm=REALM, nonce="n", qop=("auth-int",))
    creds = make_credentials(
        challenge=challenge, username="u", password="p", method="MESSAGE", uri="sip:b@x", body=b"hi"
    )
    assert creds.get("qop") == "auth-int"
    assert verify(creds, method="MESSAGE", password="p", body=b"hi")
    assert not verify(creds, method="MESSAGE", password="p", body=b"ho")


def test_make_credentials_draws_a_random_cnonce() -> None:
    challenge = make_challenge(realm=REALM, nonce="n")
    kwargs: dict[str, Any] = {"username": "u", "password": "p", "method": "REGISTER", "uri": "x"}
    first = make_credentials(challenge=challenge, **kwargs)
    second = make_credentials(challenge=challenge, **kwargs)
    assert re.fullmatch(r"[0-9a-f]{32}", first.get("cnonce") or "")
    assert first.get("cnonce") != second.get("cnonce")
    assert first.get("nc") == "00000001"


# --- NonceManager ---------------------------------------------------------------------------------

T0 = 1_700_000_000.0


def test_nonce_lifecycle() -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM, lifetime=300)
    nonce = nonces.issue(T0)
    assert len(nonce) == 48
    assert "=" not in nonce
    assert nonces.check(nonce, T0) is NonceStatus.VALID
    assert nonces.check(nonce, T0 + 300) is NonceStatus.VALID
    assert nonces.check(nonce, T0 + 300.01) is NonceStatus.STALE
    assert nonces.check(nonce, T0 + 86_400 * 365) is NonceStatus.STALE
    assert nonces.check(nonce, T0 - 300) is NonceStatus.VALID  # a peer node's clock is behind
    assert nonces.check(nonce, T0 - 301) is NonceStatus.INVALID


def test_nonces_are_unique() -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    assert len({nonces.issue(T0) for _ in range(100)}) == 100


def test_another_node_with_the_same_secret_accepts_the_nonce() -> None:
    nonce = NonceManager(secret=SECRET, realm=REALM).issue(T0)
    assert NonceManager(secret=SECRET, realm=REALM).check(nonce, T0 + 1) is NonceStatus.VALID
    other_realm = NonceManager(secret=SECRET, realm="other.example.com")
    assert other_realm.check(nonce, T0 + 1) is NonceStatus.INVALID
    other_secret = NonceManager(secret=SECRET[::-1], realm=REALM)
    assert other_secret.check(nonce, T0 + 1) is NonceStatus.INVALID


def test_tampered_nonces_are_invalid() -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    nonce = nonces.issue(T0)
    for i in range(len(nonce)):
        flipped = nonce[:i] + ("A" if nonce[i] != "A" else "B") + nonce[i + 1 :]
        assert nonces.check(flipped, T0) is NonceStatus.INVALID, i


@pytest.mark.parametrize(
    "nonce",
    ["", "x", "2dCflfVvlL3NkbulLaU7NkIneImZOZYrz059q8Xq", "!" * 48, "é" * 48, "\udcff" * 48],
)
def test_foreign_nonces_are_invalid(nonce: str) -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    assert nonces.check(nonce, T0) is NonceStatus.INVALID
    assert nonces.accept_nc(nonce, 1) is False


@given(st.text(max_size=60), st.floats(allow_nan=False))
def test_check_never_raises(text: str, now: float) -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    assert nonces.check(text, now) is NonceStatus.INVALID


def test_nonce_count_must_grow() -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    nonce = nonces.issue(T0)
    assert nonces.accept_nc(nonce, "00000001")
    assert not nonces.accept_nc(nonce, "00000001")  # replay
    assert nonces.accept_nc(nonce, 2)
    assert nonces.accept_nc(nonce, "0000000A")  # gaps are fine: requests may be lost
    assert not nonces.accept_nc(nonce, "00000009")
    assert nonces.accept_nc(nonce, "0000000b")
    other = nonces.issue(T0)
    assert nonces.accept_nc(other, 1)  # counts are per nonce


@pytest.mark.parametrize("nc", [None, "", "1", "00000000", "000000001", "0000000g", 0, -1, 1 << 32])
def test_malformed_nonce_counts_are_refused(nc: str | int | None) -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM)
    assert nonces.accept_nc(nonces.issue(T0), nc) is False


def test_tracking_is_bounded_and_forgetting_never_reopens_a_replay() -> None:
    nonces = NonceManager(secret=SECRET, realm=REALM, max_tracked=2)
    early = nonces.issue(T0)
    first, second, third = (nonces.issue(T0 + i) for i in (1, 2, 3))
    assert nonces.accept_nc(first, 1)
    assert nonces.accept_nc(second, 1)
    assert nonces.accept_nc(third, 1)  # evicts ``first``
    assert not nonces.accept_nc(first, 2)  # forgotten, so refused (the client re-registers)
    assert not nonces.accept_nc(early, 1)  # issued before a forgotten one: cannot tell
    assert nonces.accept_nc(second, 2)
    assert nonces.accept_nc(nonces.issue(T0 + 4), 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"secret": b"short"}, {"lifetime": 0}, {"max_tracked": 0}],
)
def test_nonce_manager_rejects_bad_configuration(kwargs: dict[str, object]) -> None:
    arguments: dict[str, Any] = {"secret": SECRET, "realm": REALM, **kwargs}
    with pytest.raises(LocalProtocolError):
        NonceManager(**arguments)


@pytest.mark.parametrize("now", [-1.0, float(1 << 60), float("nan"), float("inf")])
def test_issue_rejects_unstampable_times(now: float) -> None:
    with pytest.raises(LocalProtocolError):
        NonceManager(secret=SECRET, realm=REALM).issue(now)


# --- A whole exchange, server and client in memory ----------------------------------------------


def test_register_dialog_with_stale_nonce_and_replay() -> None:
    server = NonceManager(secret=SECRET, realm=REALM, lifetime=60)
    stored_ha1 = {
        a.hash_name: compute_ha1(algorithm=a, username="alice", realm=REALM, password="wonderland")
        for a in DEFAULT_ALGORITHMS
    }

    def authorize(header: str, now: float) -> str:
        creds = parse_auth(header)
        nonce = creds.get("nonce") or ""
        status = server.check(nonce, now)
        ha1 = stored_ha1[Algorithm.parse(creds.get("algorithm")).hash_name]
        ok = verify(creds, method="REGISTER", ha1=ha1, realm=REALM, algorithms=DEFAULT_ALGORITHMS)
        if ok and status is NonceStatus.VALID:
            return "200" if server.accept_nc(nonce, creds.get("nc")) else "401 replay"
        return "401 stale" if ok and status is NonceStatus.STALE else "401"

    def client(challenge_headers: list[str], nc: int = 1) -> str:
        chosen = choose_challenge(parse_auth(h) for h in challenge_headers)
        assert chosen is not None
        creds = make_credentials(
            challenge=chosen,
            username="alice",
            password="wonderland",
            method="REGISTER",
            uri="sip:im.example.com",
            nc=nc,
        )
        return format_auth(creds)

    # Alice REGISTERs, is challenged with SHA-256 and MD5, and answers the SHA-256 one.
    offered = [format_auth(c) for c in make_challenges(realm=REALM, nonce=server.issue(T0))]
    answer = client(offered)
    assert "algorithm=SHA-256" in answer
    assert authorize(answer, T0 + 1) == "200"
    assert authorize(answer, T0 + 2) == "401 replay"
    # A refresh reuses the nonce with the next count.
    assert authorize(client(offered, nc=2), T0 + 30) == "200"
    # Later the nonce has gone stale: the right password earns a stale=true challenge.
    assert authorize(client(offered, nc=3), T0 + 120) == "401 stale"
    # A forged response gets a plain challenge.
    forged = answer.replace('response="', 'response="0')
    assert authorize(forged, T0 + 1) == "401"


# --- Properties ---------------------------------------------------------------------------------


@given(
    algorithm=st.sampled_from(list(Algorithm)),
    username=st.text(min_size=1, max_size=10).filter(lambda s: "\r" not in s and "\n" not in s),
    password=st.text(max_size=10),
    nc=st.integers(min_value=1, max_value=0xFFFFFFFF),
)
def test_credentials_made_by_the_client_verify(
    algorithm: Algorithm, username: str, password: str, nc: int
) -> None:
    challenge = make_challenge(realm=REALM, nonce="n0nce", algorithm=algorithm)
    creds = make_credentials(
        challenge=challenge,
        username=username,
        password=password,
        method="MESSAGE",
        uri="sip:bob@im.example.com",
        nc=nc,
    )
    wire = parse_auth(format_auth(creds))
    assert wire == creds
    assert verify(wire, method="MESSAGE", password=password, realm=REALM)
    assert not verify(wire, method="MESSAGE", password=password + "x")


@given(
    st.builds(
        AuthParams,
        scheme=st.sampled_from(["Digest", "digest", "X"]),
        params=st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "username",
                        "realm",
                        "nonce",
                        "uri",
                        "response",
                        "algorithm",
                        "cnonce",
                        "qop",
                        "nc",
                        "opaque",
                    ]
                ),
                st.text(max_size=12),
            ),
            unique_by=lambda pair: pair[0],
        ).map(tuple),
    )
)
def test_verify_never_raises_on_peer_input(creds: AuthParams) -> None:
    assert verify(creds, method="REGISTER", password="p") in (True, False)
