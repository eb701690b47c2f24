"""The auth-header grammar shared by SIP and SIP-C.

One parser and one formatter serve ``WWW-Authenticate``, ``Proxy-Authenticate``,
``Authorization`` and ``Proxy-Authorization`` (RFC 3261 §25.1 ``challenge`` and
``credentials``; RFC 7616 §3.3 and §3.4) and the SIP-C ``W:`` and ``A:`` headers::

    auth        = auth-scheme [ LWS auth-param *(COMMA auth-param) ]
    auth-param  = token EQUAL ( token / quoted-string )
    EQUAL       = SWS "=" SWS
    COMMA       = SWS "," SWS

Schemes are not interpreted here: ``Digest``, ``NoOneKnowsThisScheme`` (RFC 4475 §3.1.2.13)
and Fetion's ``TICKS``, ``CS`` and ``Verify`` all parse into the same :class:`AuthParams`.
The digest computation itself lives in :mod:`columba.protocol.sip.digest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from columba.protocol.errors import LocalProtocolError, ParseError

__all__ = [
    "CHALLENGE_QUOTED",
    "CREDENTIALS_QUOTED",
    "AuthParams",
    "format_auth",
    "is_token",
    "parse_auth",
]

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII; quoted-pair = "\" (%x00-09 / %x0B-0C
# / %x0E-7F). Non-ASCII after a backslash is tolerated; CR and LF never are.
_QUOTED = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\r\n])*)"')
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# RFC 3261 §7.3.1: a folded line (CRLF followed by whitespace) has the semantics of whitespace.
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# Characters that need a backslash inside a quoted-string; CR and LF cannot be sent at all.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')

# RFC 7616 §3.3 and §3.4: the directives written as quoted-string. ``qop`` is a quoted list in a
# challenge but a bare token in credentials; ``algorithm``, ``nc``, ``stale``, ``userhash`` and
# ``charset`` are always bare tokens.
CREDENTIALS_QUOTED = frozenset(
    {"username", "realm", "nonce", "uri", "response", "cnonce", "opaque", "nextnonce", "rspauth"}
)
CHALLENGE_QUOTED = CREDENTIALS_QUOTED | {"domain", "qop"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthParams:
    """One challenge or one set of credentials: a scheme and its parameters, in wire order.

    Attributes:
        scheme: The auth scheme as written (``Digest``, ``TICKS`` …); compare it with
            :meth:`has_scheme`, since schemes are case-insensitive.
        params: ``(name, value)`` pairs with quoting and escapes removed. Names keep their
            spelling; each name appears at most once, ignoring case.
    """

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the value of parameter ``name`` (case-insensitive), or ``default``."""
        wanted = name.lower()
        for key, value in self.params:
            if key.lower() == wanted:
                return value
        return default

    def has_scheme(self, scheme: str) -> bool:
        """Tell whether this is the given scheme, ignoring case (RFC 3261 §25.1)."""
        return self.scheme.lower() == scheme.lower()


def is_token(text: str) -> bool:
    """Tell whether ``text`` is a non-empty RFC 3261 ``token``."""
    return _TOKEN.fullmatch(text) is not None


def parse_auth(value: str) -> AuthParams:
    """Parse a challenge or credentials header value.

    Args:
        value: The header value, without the header name; folded lines are accepted.

    Returns:
        The scheme and its parameters in wire order, values unquoted and unescaped.

    Raises:
        ParseError: The value is empty, a quoted string is unterminated, a parameter has no
            ``=`` or no value, a name is repeated, or anything else breaks the grammar.
    """
    text = _FOLD.sub("", value)
    if "\r" in text or "\n" in text:
        raise ParseError("auth header contains a bare CR or LF")
    end = len(text.rstrip(" \t"))
    pos = _skip_ws(text, 0)
    if pos >= end:
        raise ParseError("empty auth header")
    scheme_match = _TOKEN.match(text, pos)
    if scheme_match is None:
        raise ParseError(f"auth header must start with a scheme token, found {text[pos]!r}")
    scheme = scheme_match.group()
    pos = scheme_match.end()
    if pos == end:
        return AuthParams(scheme=scheme)
    after_scheme = _skip_ws(text, pos)
    if after_scheme == pos:
        raise ParseError(f"expected whitespace after auth scheme {scheme!r}")
    pos = after_scheme

    params: list[tuple[str, str]] = []
    seen: set[str] = set()
    while True:
        name_match = _TOKEN.match(text, pos)
        if name_match is None:
            what = "trailing ','" if pos >= end else repr(text[pos])
            raise ParseError(f"expected an auth parameter name at offset {pos}, found {what}")
        name = name_match.group()
        pos = _skip_ws(text, name_match.end())
        if pos >= end or text[pos] != "=":
            raise ParseError(f"missing '=' after auth parameter {name!r}")
        pos = _skip_ws(text, pos + 1)
        param_value, pos = _pull_value(text, pos, end, name)
        if name.lower() in seen:
            # RFC 7235 §2.1: a parameter name occurs once per challenge; two ``response`` values
            # would let a checker and a logger disagree about what was sent.
            raise ParseError(f"auth parameter {name!r} is repeated")
        seen.add(name.lower())
        params.append((name, param_value))
        pos = _skip_ws(text, pos)
        if pos >= end:
            return AuthParams(scheme=scheme, params=tuple(params))
        if text[pos] != ",":
            raise ParseError(f"expected ',' after auth parameter {name!r}, found {text[pos]!r}")
        pos = _skip_ws(text, pos + 1)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _pull_value(text: str, pos: int, end: int, name: str) -> tuple[str, int]:
    """Read a token or quoted-string value at ``pos``; return it and the position after it."""
    if pos >= end:
        raise ParseError(f"missing value for auth parameter {name!r}")
    if text[pos] == '"':
        quoted = _QUOTED.match(text, pos)
        if quoted is None:
            raise ParseError(_diagnose_quoted(text, pos, name))
        return _QUOTED_PAIR.sub(r"\1", quoted.group(1)), quoted.end()
    token = _TOKEN.match(text, pos)
    if token is None:
        raise ParseError(f"invalid value for auth parameter {name!r}: {text[pos]!r}")
    return token.group(), token.end()


def _diagnose_quoted(text: str, pos: int, name: str) -> str:
    """Explain why the quoted-string starting at ``pos`` did not match."""
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            break
        if char == "\\":
            i += 2
            continue
        if char != "\t" and (ord(char) < 0x20 or ord(char) == 0x7F):
            return f"control character {char!r} in quoted value of auth parameter {name!r}"
        i += 1
    else:
        return f"unterminated quoted value for auth parameter {name!r}"
    return f"malformed quoted value for auth parameter {name!r}"


def format_auth(auth: AuthParams, quote: frozenset[str] | None = None) -> str:
    """Write a challenge or credentials header value.

    Values are quoted when their name is in ``quote`` (compared in lower case) and whenever they
    are not a bare token, so the result always parses back to ``auth``.

    Args:
        auth: The scheme and parameters to write, in order.
        quote: Lower-case names whose values are always quoted. ``None`` picks RFC 7616's
            choice: :data:`CREDENTIALS_QUOTED` when a ``response`` parameter is present,
            :data:`CHALLENGE_QUOTED` otherwise. SIP-C peers quote every value, which a caller
            gets with ``frozenset(name.lower() for name, _ in auth.params)``.

    Returns:
        For example ``Digest realm="im.example.com",nonce="…",algorithm=MD5,qop="auth"``.

    Raises:
        LocalProtocolError: The scheme or a name is not a token, or a value holds CR or LF,
            which no quoted-string can carry.
    """
    if not is_token(auth.scheme):
        raise LocalProtocolError(f"auth scheme {auth.scheme!r} is not a token")
    if quote is None:
        has_response = auth.get("response") is not None
        quote = CREDENTIALS_QUOTED if has_response else CHALLENGE_QUOTED
    parts: list[str] = []
    for name, value in auth.params:
        if not is_token(name):
            raise LocalProtocolError(f"auth parameter name {name!r} is not a token")
        if name.lower() in quote or not is_token(value):
            parts.append(f"{name}={_quote(name, value)}")
        else:
            parts.append(f"{name}={value}")
    if not parts:
        return auth.scheme
    return f"{auth.scheme} {','.join(parts)}"


def _quote(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise LocalProtocolError(f"auth parameter {name!r} value contains CR or LF")
    return '"' + _NEEDS_ESCAPE.sub(lambda m: "\\" + m.group(), value) + '"'
