"""Tests for the auth-header grammar (RFC 3261 §25.1, RFC 7616 §3.3-3.4, SIP-C ``A:``/``W:``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from columba.protocol.errors import LocalProtocolError, ParseError
from columba.protocol.sip.auth import (
    CHALLENGE_QUOTED,
    CREDENTIALS_QUOTED,
    AuthParams,
    format_auth,
    is_token,
    parse_auth,
)
from tests.conftest import corpus_dir

CORPUS = corpus_dir()
SIP_AUTH_HEADERS = {
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
}


def header_fields(path: Path, names: set[str]) -> list[str]:
    """The values of the named header fields in a corpus message, folds kept as on the wire."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    lines = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    fields: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += "\r\n" + line
        else:
            fields.append(line)
    values = []
    for field in fields:
        name, _, value = field.partition(":")
        if name.strip().lower() in names:
            values.append(value.strip(" \t"))
    return values


def all_quoted(auth: AuthParams) -> frozenset[str]:
    return frozenset(name.lower() for name, _ in auth.params)


# --- Parsing ------------------------------------------------------------------------------------


def test_parses_a_digest_challenge() -> None:
    auth = parse_auth(
        'Digest realm="im.example.com",nonce="2dCflfVvlL3NkbulLaU7NkIneImZOZYrz059q8Xq",'
        'opaque="30b18dea65130578",algorithm=MD5,qop="auth"'
    )
    assert auth == AuthParams(
        scheme="Digest",
        params=(
            ("realm", "im.example.com"),
            ("nonce", "2dCflfVvlL3NkbulLaU7NkIneImZOZYrz059q8Xq"),
            ("opaque", "30b18dea65130578"),
            ("algorithm", "MD5"),
            ("qop", "auth"),
        ),
    )


def test_get_ignores_case_and_has_default() -> None:
    auth = parse_auth('digest Realm="r",NONCE=n')
    assert auth.get("realm") == "r"
    assert auth.get("Nonce") == "n"
    assert auth.get("opaque") is None
    assert auth.get("opaque", "") == ""
    assert auth.has_scheme("DIGEST")
    assert not auth.has_scheme("Basic")


def test_unknown_scheme_rfc4475_regaut01() -> None:
    auth = parse_auth("NoOneKnowsThisScheme opaque-data=here")
    assert auth.scheme == "NoOneKnowsThisScheme"
    assert auth.params == (("opaque-data", "here"),)


@pytest.mark.parametrize("value", ["Digest", "  Digest  ", "TICKS\t"])
def test_scheme_alone_is_valid(value: str) -> None:
    assert parse_auth(value) == AuthParams(scheme=value.strip())


def test_linear_white_space_around_equals_and_commas() -> None:
    auth = parse_auth('Digest  realm =  "a" ,\tnonce\t=\tb  ,  qop="auth"  ')
    assert auth.params == (("realm", "a"), ("nonce", "b"), ("qop", "auth"))


def test_folded_lines_are_whitespace() -> None:
    # RFC 3665 §2.1 F2 writes the challenge over three lines.
    auth = parse_auth(
        'Digest realm="atlanta.example.com", qop="auth",\r\n'
        ' nonce="ea9c8e88df84f1cec4341ae6cbe5a359",\r\n'
        ' opaque="", stale=FALSE, algorithm=MD5'
    )
    assert auth.get("nonce") == "ea9c8e88df84f1cec4341ae6cbe5a359"
    assert auth.get("opaque") == ""
    assert auth.get("stale") == "FALSE"


def test_quoted_pairs_are_unescaped() -> None:
    auth = parse_auth(r'Digest realm="a \"quoted\" \\ realm",username="x\y"')
    assert auth.get("realm") == 'a "quoted" \\ realm'
    assert auth.get("username") == "xy"


def test_quoted_values_keep_commas_equals_and_utf8() -> None:
    auth = parse_auth('Digest realm="IP Camera(C1234), main=1",username="张三"')
    assert auth.get("realm") == "IP Camera(C1234), main=1"
    assert auth.get("username") == "张三"


@pytest.mark.parametrize(
    ("value", "params"),
    [
        # Fetion SIP-C/4.0 and 2.0 spellings (reference/fetion-sipc.md, headers A and W).
        ('Digest response="17B3B8",algorithm="SHA1-sess-v4"', {"algorithm": "SHA1-sess-v4"}),
        (
            'Verify response="k7wm",algorithm="picc-ChangeMachine",type="GeneralPic",'
            'chid="9eb32f1b-c23c-860c-a337-008167d4e762"',
            {"type": "GeneralPic", "chid": "9eb32f1b-c23c-860c-a337-008167d4e762"},
        ),
        ('TICKS auth="512340987.1189023456"', {"auth": "512340987.1189023456"}),
        (
            'CS address="198.51.100.1:8080;198.51.100.1:443",credential="123.456"',
            {"address": "198.51.100.1:8080;198.51.100.1:443", "credential": "123.456"},
        ),
        (
            'Digest algorithm="SHA1-sess-v4",nonce="31E5",key="0D3A010001",signature="E507"',
            {"key": "0D3A010001", "signature": "E507"},
        ),
        (
            'Digest algorithm="MD5-sess;SHA1-sess",nonce="7AB6905CCF61818369101A31998F1BE8"',
            {"algorithm": "MD5-sess;SHA1-sess"},
        ),
        ('CL type="pc" ,version="4.3.0980"', {"type": "pc", "version": "4.3.0980"}),
    ],
)
def test_sipc_spellings(value: str, params: dict[str, str]) -> None:
    auth = parse_auth(value)
    for name, expected in params.items():
        assert auth.get(name) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('Digest realm="im.example.com', "unterminated quoted value for auth parameter 'realm'"),
        ('Digest realm="a\\"', "unterminated"),
        ("Digest realm", "missing '=' after auth parameter 'realm'"),
        ("Digest realm nonce=x", "missing '='"),
        ("Digest realm=", "missing value for auth parameter 'realm'"),
        ("Digest realm=,nonce=x", "invalid value for auth parameter 'realm'"),
        ("Digest realm=a,", "trailing ','"),
        ("Digest realm=a,,nonce=b", "expected an auth parameter name"),
        ("Digest realm=a nonce=b", "expected ',' after auth parameter 'realm'"),
        ("Digest realm=a;nonce=b", "expected ','"),
        ("Digest,realm=a", "expected whitespace after auth scheme"),
        ('"Digest" realm=a', "must start with a scheme token"),
        ("Basic dXNlcjpwYXNz", "missing '='"),
        ("Digest realm=a,REALM=b", "'REALM' is repeated"),
        ('Digest realm="a\x01b"', "control character"),
        ("Digest realm=a\r\nnonce=b", "bare CR or LF"),
        ('Digest realm="a\r\n"', "bare CR or LF"),
    ],
)
def test_malformed_input_raises_parse_error(value: str, reason: str) -> None:
    with pytest.raises(ParseError, match="auth") as caught:
        parse_auth(value)
    assert reason in caught.value.reason
    assert caught.value.status == 400


# --- Formatting ---------------------------------------------------------------------------------


def test_challenge_quoting_follows_rfc7616() -> None:
    challenge = AuthParams(
        scheme="Digest",
        params=(
            ("realm", "im.example.com"),
            ("nonce", "abc"),
            ("opaque", "30b1"),
            ("algorithm", "SHA-256"),
            ("qop", "auth"),
            ("stale", "true"),
        ),
    )
    assert format_auth(challenge) == (
        'Digest realm="im.example.com",nonce="abc",opaque="30b1",algorithm=SHA-256,'
        'qop="auth",stale=true'
    )


def test_credentials_quoting_follows_rfc7616() -> None:
    credentials = AuthParams(
        scheme="Digest",
        params=(
            ("username", "alice"),
            ("realm", "r"),
            ("nonce", "n"),
            ("uri", "sip:im.example.com"),
            ("response", "c849"),
            ("algorithm", "MD5"),
            ("cnonce", "cn"),
            ("qop", "auth"),
            ("nc", "00000001"),
            ("opaque", "op"),
        ),
    )
    assert format_auth(credentials) == (
        'Digest username="alice",realm="r",nonce="n",uri="sip:im.example.com",response="c849",'
        'algorithm=MD5,cnonce="cn",qop=auth,nc=00000001,opaque="op"'
    )


def test_unknown_params_quoted_only_when_not_a_token() -> None:
    auth = AuthParams(
        scheme="X", params=(("a", "tok.en"), ("b", "two words"), ("c", ""), ("d", "a=b"))
    )
    assert format_auth(auth) == 'X a=tok.en,b="two words",c="",d="a=b"'


def test_non_token_value_is_quoted_even_for_bare_directives() -> None:
    auth = AuthParams(scheme="Digest", params=(("response", "r"), ("qop", "auth,auth-int")))
    assert format_auth(auth) == 'Digest response="r",qop="auth,auth-int"'


def test_explicit_quote_set_replaces_the_default() -> None:
    auth = AuthParams(scheme="TICKS", params=(("auth", "512340987.1189023456"),))
    assert format_auth(auth) == "TICKS auth=512340987.1189023456"
    assert format_auth(auth, quote=frozenset({"auth"})) == 'TICKS auth="512340987.1189023456"'
    assert format_auth(parse_auth("Digest realm=r"), quote=frozenset()) == "Digest realm=r"


def test_escapes_quotes_backslashes_and_controls() -> None:
    auth = AuthParams(scheme="Digest", params=(("realm", 'a"b\\c\x00d\te'),))
    assert format_auth(auth) == 'Digest realm="a\\"b\\\\c\\\x00d\te"'
    assert parse_auth(format_auth(auth)) == auth


def test_scheme_alone_formats_bare() -> None:
    assert format_auth(AuthParams(scheme="Digest")) == "Digest"


@pytest.mark.parametrize(
    "auth",
    [
        AuthParams(scheme="Dig est"),
        AuthParams(scheme=""),
        AuthParams(scheme="Digest", params=(("re alm", "x"),)),
        AuthParams(scheme="Digest", params=(("realm", "a\r\nb"),)),
        AuthParams(scheme="Digest", params=(("realm", "a\nb"),)),
    ],
)
def test_unwritable_values_raise_local_protocol_error(auth: AuthParams) -> None:
    with pytest.raises(LocalProtocolError):
        format_auth(auth)


def test_quote_sets() -> None:
    assert "qop" in CHALLENGE_QUOTED
    assert "qop" not in CREDENTIALS_QUOTED
    assert {"algorithm", "nc", "stale"}.isdisjoint(CHALLENGE_QUOTED | CREDENTIALS_QUOTED)
    assert is_token("SHA-256")
    assert not is_token("")
    assert not is_token("a b")


# --- Golden files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((CORPUS / "sip" / "im").glob("*.sip")),
    ids=lambda path: path.name,
)
def test_sip_corpus_auth_headers_parse(path: Path) -> None:
    for value in header_fields(path, SIP_AUTH_HEADERS):
        auth = parse_auth(value)
        assert auth.has_scheme("Digest")
        assert auth.get("realm") is not None
        if "\r\n" not in value:
            # Our quoting matches the generator's byte for byte.
            assert format_auth(auth) == value


@pytest.mark.parametrize(
    "path", sorted((CORPUS / "sipc").glob("*.txt")), ids=lambda path: path.name
)
def test_sipc_corpus_auth_headers_round_trip(path: Path) -> None:
    # SIP-C writes every value quoted, so quoting all names reproduces the header exactly.
    for value in header_fields(path, {"a", "w"}):
        auth = parse_auth(value)
        assert format_auth(auth, quote=all_quoted(auth)) == value


def test_corpus_golden_files_are_found() -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    sip = [
        v for p in (CORPUS / "sip" / "im").glob("*.sip") for v in header_fields(p, SIP_AUTH_HEADERS)
    ]
    sipc = [v for p in (CORPUS / "sipc").glob("*.txt") for v in header_fields(p, {"a", "w"})]
    assert len(sip) >= 20
    assert len(sipc) >= 8


def test_rfc4475_regaut01_authorization() -> None:
    path = CORPUS / "sip" / "torture" / "regaut01.dat"
    if not path.exists():
        pytest.skip("RFC 4475 corpus not present")
    (value,) = header_fields(path, {"authorization"})
    assert parse_auth(value) == AuthParams(
        scheme="NoOneKnowsThisScheme", params=(("opaque-data", "here"),)
    )


# --- Properties ---------------------------------------------------------------------------------

TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~"
tokens = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=12)
values = st.text(
    alphabet=st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=20
)
auth_params = st.builds(
    AuthParams,
    scheme=tokens,
    params=st.lists(
        st.tuples(tokens, values), max_size=6, unique_by=lambda pair: pair[0].lower()
    ).map(tuple),
)
# Characters that matter to the grammar, plus a surrogate-escaped byte as the SIP parser makes.
grammar_soup = st.text(alphabet='Digest ,="\\\t\r\nrealm\x00é\udcff-', max_size=40)


@given(auth_params)
def test_format_then_parse_round_trips(auth: AuthParams) -> None:
    assert parse_auth(format_auth(auth)) == auth
    assert parse_auth(format_auth(auth, quote=all_quoted(auth))) == auth


@given(st.one_of(st.text(max_size=60), grammar_soup))
@example('Digest a="')
@example("Digest a=b,")
@example('X a="\\')
def test_random_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        auth = parse_auth(text)
    except ParseError:
        return
    # Whatever parses is written back to something that parses to the same thing.
    assert parse_auth(format_auth(auth)) == auth
