"""URIs as SIP and SIP-C carry them: ``sip:``/``sips:`` (RFC 3261 §19.1), ``tel:`` (RFC 3966),
any other absolute URI kept opaque, and SIP-C's bare identifiers.

SIP-C examples (``../shared/reference/fetion-sipc.md`` §2.2): users are
``sip:700100200@fetion.com.cn;p=3421``, groups ``sip:PG5678@fetion.com.cn;p=3421``, phones
``tel:13800138000``; a client's own ``F:`` header and a request-URI are often a bare sid
(``700100200``) or domain (``fetion.com.cn``), which :class:`BareId` holds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote as pct_decode

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar

Params = tuple[tuple[str, str | None], ...]


def _param(params: Params, name: str) -> str | None:
    lname = name.lower()
    for key, value in params:
        if key.lower() == lname:
            return value if value is not None else ""
    return None


class SipUri(NamedTuple):
    """A ``sip:`` or ``sips:`` URI, taken apart.

    ``user`` and parameter values keep their %-escapes, exactly as on the wire; use
    :meth:`user_decoded` for the decoded form. A tuple for speed (the parser makes one for
    every From, To and Contact), built by keyword: ``SipUri(user="alice", host="example.com")``.
    """

    host: str
    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        """The value of URI parameter ``name`` ("" for a flag), or ``None`` if absent."""
        return _param(self.params, name)

    @property
    def user_decoded(self) -> str | None:
        """The user part with %-escapes decoded."""
        return None if self.user is None else pct_decode(self.user, errors="surrogateescape")

    @property
    def is_group(self) -> bool:
        """True for a SIP-C group URI, ``sip:PG<id>@…``."""
        return self.user is not None and self.user.startswith("PG")

    @property
    def address_of_record(self) -> str:
        """``scheme:user@host`` without port, parameters or headers (a registration key)."""
        user = f"{self.user}@" if self.user is not None else ""
        return f"{self.scheme.lower()}:{user}{self.host.lower()}"

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        for key, value in self.params:
            out += [";", key] if value is None else [";", key, "=", value]
        if self.headers:
            out.append("?" + "&".join(f"{k}={v}" for k, v in self.headers))
        return "".join(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class TelUri:
    """A ``tel:`` URI (RFC 3966), e.g. ``tel:+8613800138000`` or SIP-C's ``tel:13800138000``."""

    number: str
    params: Params = ()

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` ("" for a flag), or ``None`` if absent."""
        return _param(self.params, name)

    @property
    def digits(self) -> str:
        """The number without visual separators."""
        return "".join(ch for ch in self.number if ch not in "-.()")

    def __str__(self) -> str:
        tail = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"tel:{self.number}{tail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AbsoluteUri:
    """Any other absolute URI (``http:``, ``isbn:``, ``soap.beep:`` …), kept opaque."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BareId:
    """A SIP-C bare identifier: a sid (``700100200``) or a domain (``fetion.com.cn``)."""

    value: str

    @property
    def is_sid(self) -> bool:
        """True when the identifier is all digits (a Fetion number)."""
        return self.value.isdigit()

    def __str__(self) -> str:
        return self.value


Uri = SipUri | TelUri | AbsoluteUri | BareId


def parse_uri_params(text: str) -> Params:
    """Take apart ``*( ";" pname [ "=" pvalue ] )`` that the grammar has already matched."""
    if not text:
        return ()
    out: list[tuple[str, str | None]] = []
    for part in text[1:].split(";"):
        key, eq, value = part.partition("=")
        out.append((key, value if eq else None))
    return tuple(out)


def _check_host(host: str) -> None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ParseError(f"bad IPv6 reference {host!r}") from None


def parse_sip_uri(text: str) -> SipUri:
    """Parse a ``sip:``/``sips:`` URI.

    Raises:
        ParseError: the text is not a SIP URI.
    """
    colon = text.find(":")
    if not 2 < colon < 5 or text[:colon] not in _SIP_SCHEMES:
        raise ParseError(f"malformed SIP URI {text!r}")
    return _sip_uri(text, colon)


#: ``sip`` and ``sips`` in every mix of case (the scheme is case-insensitive, RFC 3261 §19.1.4).
_SIP_SCHEMES = frozenset(
    a + b + c + d for a in "sS" for b in "iI" for c in "pP" for d in ("", "s", "S")
)
_sip_uri_rest = grammar.sip_uri_rest_full.match
_new_tuple: Any = tuple.__new__


def build_sip_uri(
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int | None,
    params: Params,
    headers: tuple[tuple[str, str], ...],
) -> SipUri:
    """``SipUri(...)`` for the parsers: positional, and without the keyword machinery."""
    uri: SipUri = _new_tuple(SipUri, (host, scheme, user, password, port, params, headers))
    return uri


def _sip_uri(text: str, colon: int) -> SipUri:
    """Parse the SIP URI ``text`` whose scheme ends at ``colon``."""
    m = _sip_uri_rest(text, colon + 1)
    if m is None:
        raise ParseError(f"malformed SIP URI {text!r}")
    user, password, host, port, params, headers = m.groups()
    if host[0] == "[":
        _check_host(host)
    number: int | None = None
    if port is not None:
        number = int(port)
        if number > 65535:
            raise ParseError(f"port out of range in {text!r}")
    pairs: tuple[tuple[str, str], ...] = ()
    if headers:
        items = []
        for item in headers.split("&"):
            key, _, value = item.partition("=")
            items.append((key, value))
        pairs = tuple(items)
    return build_sip_uri(
        text[:colon], user, password, host, number, parse_uri_params(params), pairs
    )


def parse_uri(text: str, *, allow_bare: bool = False) -> Uri:
    """Parse any URI a SIP or SIP-C message may carry.

    Args:
        text: The URI text, without angle brackets or surrounding white space.
        allow_bare: Accept a SIP-C bare sid or domain (no scheme).

    Raises:
        ParseError: the text is not a URI.
    """
    colon = text.find(":")
    if 2 < colon < 5 and text[:colon] in _SIP_SCHEMES:
        return _sip_uri(text, colon)
    m = grammar.scheme_re.match(text)
    if m is None:
        if allow_bare and text and grammar.token_full.match(text):
            return BareId(value=text)
        raise ParseError(f"malformed URI {text!r}")
    scheme = m[1]
    lower = scheme.lower()
    if lower in ("sip", "sips"):
        return _sip_uri(text, m.end() - 1)
    rest = text[m.end() :]
    if lower == "tel":
        t = grammar.tel_full.match(rest)
        if t is None:
            raise ParseError(f"malformed tel URI {text!r}")
        return TelUri(number=t["number"], params=parse_uri_params(t["params"]))
    if not grammar.absolute_rest_full.match(rest):
        raise ParseError(f"malformed URI {text!r}")
    return AbsoluteUri(scheme=scheme, rest=rest)
