"""Typed header values and the header-name tables of both spellings.

Each ``parse_*`` function takes a raw header value as stored in :class:`~.message.Header`
(possibly folded) and returns an immutable typed value, or raises :class:`ParseError`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip.uri import (
    Params,
    SipUri,
    Uri,
    parse_uri,
    parse_uri_params,
)

# Header names ---------------------------------------------------------------------------------

#: RFC 3261 §7.3.3 compact forms and later registrations (IANA "Header Fields" registry).
SIP_COMPACT: dict[str, str] = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

#: SIP-C header letters and their SIP spelling (fetion-sipc.md §1.4). SIP-C names are
#: case-sensitive upper case on the wire; headers with no SIP equivalent get an ``X-`` name.
SIPC_TO_SIP: dict[str, str] = {
    "F": "From",
    "T": "To",
    "I": "Call-ID",
    "Q": "CSeq",
    "L": "Content-Length",
    "N": "Event",
    "C": "Content-Type",
    "K": "Supported",
    "A": "Authorization",
    "W": "WWW-Authenticate",
    "X": "Expires",
    "D": "Date",
    "XI": "X-Message-ID",
    "CN": "X-Client-Nonce",
    "CL": "X-Client",
    "AK": "X-Auth-Key",
    "SV": "X-Service",
    "SO": "X-Source",
    "RQ": "X-Request-Kind",
    "AL": "X-Alert",
}
SIP_TO_SIPC: dict[str, str] = {v.lower(): k for k, v in SIPC_TO_SIP.items()}
SIPC_KEYS: dict[str, str] = {k: v.lower() for k, v in SIPC_TO_SIP.items()}

#: Canonical (lower-case, long) names of the headers that may appear at most once.
SINGLE_VALUED = frozenset(
    {
        "call-id",
        "cseq",
        "from",
        "to",
        "max-forwards",
        "content-length",
        "content-type",
        "expires",
        "date",
        "event",
        "x-message-id",
    }
)


def _spellings(name: str) -> set[str]:
    lower = name.lower()
    title = "-".join(part.capitalize() for part in lower.split("-"))
    return {name, lower, name.upper(), title}


#: Header names as registered (IANA "Header Fields"), in their usual spelling; with their lower,
#: upper and title-case variants they make the name tables below.
_LONG_NAMES = (
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    *(name for name in SIPC_TO_SIP.values() if name.startswith("X-")),
)
_LONG_SPELLINGS = {spelling: name.lower() for name in _LONG_NAMES for spelling in _spellings(name)}

#: Wire spelling → canonical name for SIP: every one-letter name (compact form or not) and the
#: usual spellings of the registered names. ``canonical_name`` handles the rest.
SIP_CANONICAL: dict[str, str] = {
    **_LONG_SPELLINGS,
    **{
        letter: SIP_COMPACT.get(letter.lower(), letter.lower())
        for letter in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    },
}
#: The same for SIP-C, whose letters are case-sensitive (``F`` is From, ``f`` is not).
SIPC_CANONICAL: dict[str, str] = {
    **{k: v for k, v in _LONG_SPELLINGS.items() if len(k) > 2},
    **SIPC_KEYS,
}


def canonical_name(name: str, *, sipc: bool) -> str:
    """The canonical lower-case long name of a header name as spelled on the wire."""
    key = (SIPC_CANONICAL if sipc else SIP_CANONICAL).get(name)
    if key is not None:
        return key
    if sipc:
        return name.lower()
    if len(name) == 1:
        return SIP_COMPACT.get(name.lower(), name.lower())
    return name.lower()


# Typed values ---------------------------------------------------------------------------------


def _param(params: Params, name: str) -> str | None:
    lname = name.lower()
    for key, value in params:
        if key.lower() == lname:
            return value if value is not None else ""
    return None


_groups = re.Match.groups
_plain_params_full = grammar.plain_params_full.match
_plain_param_iter = grammar.plain_param_re.finditer


def _plain_params(text: str) -> Params:
    """The parameters of ``text``, which ``grammar.plain_params_full`` has matched."""
    if '"' in text:  # a quoted value may hold ";" and "="
        return cast(Params, tuple(map(_groups, _plain_param_iter(text))))
    name, eq, value = text[1:].partition("=")
    if ";" not in value and ";" not in name:  # one parameter
        return ((name, value if eq else None),)
    out: list[tuple[str, str | None]] = []
    for part in text[1:].split(";"):
        name, eq, value = part.partition("=")
        out.append((name, value if eq else None))
    return tuple(out)


_spaced_params_full = grammar.spaced_params_full.match
_spaced_param_iter = grammar.spaced_param_re.finditer


def parse_params(text: str, where: str) -> Params:
    """Parse ``*( SEMI generic-param )`` (RFC 3261 §25.1), the whole of ``text``.

    Raises:
        ParseError: an empty or malformed parameter (RFC 4475 ``badinv01``).
    """
    if not text:
        return ()
    if _plain_params_full(text):
        return _plain_params(text)
    if _spaced_params_full(text):
        return cast(Params, tuple(map(_groups, _spaced_param_iter(text))))
    out: list[tuple[str, str | None]] = []
    pos = 0
    n = len(text)
    match = grammar.param_re.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            if not text[pos:].strip(" \t"):
                break
            raise ParseError(f"malformed parameter in {where}: {text[pos:]!r}")
        out.append((m[1], m[2]))
        pos = m.end()
    return tuple(out)


class NameAddress(NamedTuple):
    """From, To, Contact, Route and Record-Route values: ``"Name" <uri>;param=value``.

    A tuple for speed, as every typed value here: a parse makes several per message.
    """

    uri: Uri
    display_name: str | None = None
    params: Params = ()
    #: True when the URI was written inside ``< >`` (name-addr form).
    is_bracketed: bool = True

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (From/To dialog identifiers)."""
        return _param(self.params, "tag")

    def param(self, name: str) -> str | None:
        """The value of header parameter ``name`` ("" for a flag), or ``None``."""
        return _param(self.params, name)

    def __str__(self) -> str:
        head = f"{grammar.quote(self.display_name)} " if self.display_name else ""
        uri = f"<{self.uri}>" if self.is_bracketed or self.params else str(self.uri)
        tail = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"{head}{uri}{tail}"


class Contact(NamedTuple):
    """A Contact value: a name-addr with parameters, or the wildcard ``*``."""

    address: NameAddress | None
    is_wildcard: bool = False

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter, or ``None``."""
        if self.address is None:
            return None
        value = self.address.param("expires")
        return None if value is None else int(value)

    @property
    def q(self) -> float | None:
        """The ``q`` preference parameter, or ``None``."""
        if self.address is None:
            return None
        value = self.address.param("q")
        return None if value is None else float(value)

    def __str__(self) -> str:
        return "*" if self.is_wildcard else str(self.address)


class Via(NamedTuple):
    """One Via value (RFC 3261 §20.42). A tuple for speed: a message may carry many."""

    protocol: str
    version: str
    transport: str
    host: str
    port: int | None
    params: Params

    @property
    def branch(self) -> str | None:
        """The ``branch`` parameter, the transaction id (RFC 3261 §17.2.3)."""
        return _param(self.params, "branch")

    @property
    def sent_by(self) -> str:
        """``host[:port]`` as used for transaction matching."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def param(self, name: str) -> str | None:
        """The value of Via parameter ``name`` ("" for a flag), or ``None``."""
        return _param(self.params, name)

    def __str__(self) -> str:
        tail = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"{self.protocol}/{self.version}/{self.transport} {self.sent_by}{tail}"


class CSeq(NamedTuple):
    """A CSeq value: sequence number and method (SIP-C's ``Q: 2 R``)."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


class MediaType(NamedTuple):
    """A Content-Type value: ``type/subtype;param=value``."""

    type: str
    subtype: str
    params: Params = ()

    @property
    def mime(self) -> str:
        """``type/subtype`` in lower case, for comparisons."""
        return f"{self.type}/{self.subtype}".lower()

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` ("" for a flag), or ``None``."""
        return _param(self.params, name)

    def __str__(self) -> str:
        tail = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"{self.type}/{self.subtype}{tail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Warning_:
    """One Warning value (RFC 3261 §20.43)."""

    code: int
    agent: str
    text: str


# Construction without the keyword machinery: the tuples' plain ``__new__``.
_new_tuple: Any = tuple.__new__


def _name_address(
    display_name: str | None, uri: Uri, params: Params, is_bracketed: bool
) -> NameAddress:
    address: NameAddress = _new_tuple(NameAddress, (uri, display_name, params, is_bracketed))
    return address


def _contact(address: NameAddress | None, is_wildcard: bool) -> Contact:
    contact: Contact = _new_tuple(Contact, (address, is_wildcard))
    return contact


def _media_type(type_: str, subtype: str, params: Params) -> MediaType:
    media_type: MediaType = _new_tuple(MediaType, (type_, subtype, params))
    return media_type


# Parsers --------------------------------------------------------------------------------------
#
# Each parser first tries one anchored expression for the shape nearly every message uses
# (``grammar.*_plain_full``); on text it accepts, the general path below it would take exactly
# the same steps, so it gives the same value. Anything else, and every error, goes the general
# way, which keeps the RFC 4475 verdicts and the error messages.

_name_addr_plain = grammar.name_addr_plain_full.match
_via_plain = grammar.via_plain_full.match
_media_type_plain = grammar.media_type_plain_full.match


def parse_name_address(value: str, where: str, sipc: bool = False) -> NameAddress:
    """Parse a From/To/Contact/Route value (one list element).

    Follows RFC 3261 §20.10: an addr-spec outside ``< >`` may not contain ``,``, ``?`` or
    ``;`` (its parameters belong to the header), an unquoted display name is tokens only, and
    no white space is allowed inside the brackets (RFC 4475 ``badaspec``, ``baddn``,
    ``regbadct``, ``quotbal``).
    """
    m = _name_addr_plain(value)
    if m is not None:
        quoted, name, scheme, user, password, host, port, uri_params, params = m.groups()
        number = None if port is None else int(port)
        # An IPv6 reference or a port out of range goes the general way, for its error.
        if host[0] != "[" and (number is None or number <= 65535):
            address: NameAddress = _new_tuple(
                NameAddress,
                (
                    _new_tuple(
                        SipUri,
                        (
                            host,
                            scheme,
                            user,
                            password,
                            number,
                            parse_uri_params(uri_params) if uri_params else (),
                            (),
                        ),
                    ),
                    name if quoted is None else quoted,
                    _plain_params(params) if params else (),
                    True,
                ),
            )
            return address
    text = grammar.normalize(value)
    display: str | None = None
    if text.startswith('"'):
        m = grammar.quoted_string_re.match(text)
        if m is None:
            raise ParseError(f"unterminated quoted display name in {where}")
        display = grammar.unquote(m.group())
        rest = text[m.end() :].lstrip(" \t")
        if not rest.startswith("<"):
            raise ParseError(f"display name without <uri> in {where}")
    else:
        lt = text.find("<")
        if lt >= 0:
            name = text[:lt].strip(" \t")
            if name:
                for word in name.split():
                    if not grammar.token_full.match(word):
                        raise ParseError(f"display name {name!r} must be quoted in {where}")
                display = name
            rest = text[lt:]
        else:
            rest = ""
    if rest:
        gt = rest.find(">")
        if gt < 0:
            raise ParseError(f"missing '>' in {where}")
        inner = rest[1:gt]
        if inner != inner.strip(" \t") or not inner:
            raise ParseError(f"white space inside <...> in {where}")
        uri = parse_uri(inner, allow_bare=sipc)
        params = parse_params(rest[gt + 1 :], where)
        return _name_address(display, uri, params, True)
    if sipc:
        # SIP-C writes user URIs bare with their routing parameter (``sip:…@fetion.com.cn;p=3421``):
        # the parameters belong to the URI (fetion-sipc.md §2.2).
        return _name_address(None, parse_uri(text, allow_bare=True), (), False)
    semi = text.find(";")
    spec = text if semi < 0 else text[:semi].rstrip(" \t")
    if "?" in spec or "," in spec or " " in spec or "\t" in spec:
        raise ParseError(f"URI with '?', ',' or spaces must be enclosed in <> in {where}")
    uri = parse_uri(spec, allow_bare=sipc)
    params = parse_params(text[semi:], where) if semi >= 0 else ()
    return _name_address(None, uri, params, False)


def parse_contacts(value: str, *, sipc: bool = False) -> list[Contact]:
    """Parse a Contact header value: ``*`` or a comma-separated list."""
    return list(parse_contact_tuple(value, sipc))


def parse_contact_tuple(value: str, sipc: bool = False) -> tuple[Contact, ...]:
    """:func:`parse_contacts`, as a tuple."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    if text == "*":
        return (_contact(None, True),)
    out = []
    for part in grammar.split_list(text) if "," in text else (text,):
        address = parse_name_address(part, "Contact", sipc)
        if address.params:
            expires = _param(address.params, "expires")
            if expires is not None:
                _check_uint32(expires, "Contact expires")
        out.append(_new_tuple(Contact, (address, False)))
    return tuple(out)


def parse_vias(value: str) -> list[Via]:
    """Parse a Via header value, which may hold several comma-separated vias."""
    return list(parse_via_tuple(value))


def parse_via_tuple(value: str) -> tuple[Via, ...]:
    """:func:`parse_vias`, as a tuple."""
    m = _via_plain(value)
    if m is not None:
        protocol, version, transport, host, port, params = m.groups()
        number = None if port is None else int(port)
        if number is None or number <= 65535:
            params = _plain_params(params) if params else ()
            return (_new_tuple(Via, (protocol, version, transport, host, number, params)),)
    text = grammar.normalize(value)
    if "," not in text:
        return (_parse_via(text),)
    return tuple([_parse_via(part) for part in grammar.split_list(text)])


_via_spaced = grammar.via_spaced_full.match


def _parse_via(part: str) -> Via:
    m = _via_spaced(part)
    if m is not None:
        protocol, version, transport, host, port, params = m.groups()
        number = None if port is None else int(port)
        if number is None or number <= 65535:
            pairs = cast(Params, tuple(map(_groups, _spaced_param_iter(params))))
            via: Via = _new_tuple(Via, (protocol, version, transport, host, number, pairs))
            return via
    m = grammar.via_re.match(part)
    if m is None:
        raise ParseError(f"malformed Via {part.strip()!r}")
    protocol, version, transport, host, port = m.groups()
    number = None if port is None else int(port)
    if number is not None and number > 65535:
        raise ParseError("Via port out of range")
    params = parse_params(part[m.end() :], "Via")
    via = _new_tuple(Via, (protocol, version, transport, host, number, params))
    return via


_cseq_match = grammar.cseq_re.match


#: Methods of SIP and SIP-C (fetion-sipc.md §1.2), for the CSeq fast path: known tokens.
_METHODS = frozenset(
    (
        *[
            "ACK",
            "BYE",
            "CANCEL",
            "INFO",
            "INVITE",
            "MESSAGE",
            "NOTIFY",
            "OPTIONS",
            "PRACK",
            "PUBLISH",
            "REFER",
        ],
        *["REGISTER", "SUBSCRIBE", "UPDATE", "R", "S", "SUB", "BN", "M", "I", "A", "O", "IN", "B"],
    )
)


def parse_cseq(value: str) -> CSeq:
    """Parse ``CSeq``/``Q``: a 32-bit sequence number and a method (RFC 3261 §20.16)."""
    # ``1 REGISTER``: digits (at most 9, so below 2**32), one SP and a known method, which is
    # a token; the expression below would read the same.
    number, _, method = value.partition(" ")
    if method in _METHODS and len(number) < 10 and number.isdigit() and number.isascii():
        cseq: CSeq = _new_tuple(CSeq, (int(number), method))
        return cseq
    m = _cseq_match(grammar.normalize(value) if "\n" in value else value)
    if m is None:
        raise ParseError(f"malformed CSeq {value!r}")
    number, method = m.groups()
    seq = int(number)
    if seq > grammar.MAX_UINT32:
        raise ParseError("CSeq number exceeds 2**32-1")
    cseq = _new_tuple(CSeq, (seq, method))
    return cseq


def _check_uint32(text: str, what: str) -> int:
    if not grammar.digits_full.match(text):
        raise ParseError(f"{what} is not a number: {text!r}")
    number = int(text)
    if number > grammar.MAX_UINT32:
        raise ParseError(f"{what} exceeds 2**32-1")
    return number


def parse_uint32(value: str, what: str) -> int:
    """Parse a delta-seconds style scalar (Expires, Retry-After, Content-Length)."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    if text.isdigit() and text.isascii() and len(text) < 10:
        return int(text)  # below 10**9, so within 32 bits
    return _check_uint32(text, what)


def parse_max_forwards(value: str) -> int:
    """Parse Max-Forwards: an integer 0–255 (RFC 3261 §20.22, RFC 4475 ``scalar02``)."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    if text.isdigit() and text.isascii():
        number = int(text)
        if number <= 255:
            return number
    raise ParseError(f"Max-Forwards must be 0-255, got {text!r}")


_word_full = grammar.word_full.match


def parse_call_id(value: str) -> str:
    """Parse Call-ID: ``word [ "@" word ]``. SIP-C uses decimal integers, maybe negative."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    if not _word_full(text):
        raise ParseError(f"malformed Call-ID {text!r}")
    return text


def parse_media_type(value: str) -> MediaType:
    """Parse Content-Type."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    m = _media_type_plain(text)
    if m is not None:
        type_, subtype, params = m.groups()
        return _media_type(type_, subtype, _plain_params(params) if params else ())
    m = grammar.media_type_re.match(text)
    if m is None:
        raise ParseError(f"malformed Content-Type {text!r}")
    return _media_type(m[1], m[2], parse_params(text[m.end() :], "media type"))


_MONTHS = {
    name: i
    for i, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


_date_match = grammar.date_re.match
_UTC = dt.UTC


def parse_date(value: str) -> dt.datetime:
    """Parse Date (SIP-C ``D``): an RFC 1123 date that must be in GMT (RFC 4475 ``baddate``)."""
    text = grammar.normalize(value) if "\n" in value else value.strip(" \t")
    m = _date_match(text)
    if m is None:
        raise ParseError(f"malformed Date {text!r} (RFC 1123, GMT)")
    _, day, month, year, hour, minute, second = m.groups()
    try:
        return dt.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), 0, _UTC
        )
    except ValueError:
        raise ParseError(f"impossible Date {text!r}") from None


def parse_tokens(value: str, what: str) -> list[str]:
    """Parse a comma-separated list of option tags (Require, Proxy-Require, Supported)."""
    text = grammar.normalize(value)
    if not text:
        return []
    out = []
    for part in text.split(","):
        tag = part.strip(" \t")
        if not grammar.token_full.match(tag):
            raise ParseError(f"malformed {what} value {tag!r}")
        out.append(tag)
    return out


def parse_event(value: str) -> str:
    """Parse Event (SIP ``o``, SIP-C ``N``): the event type without parameters."""
    text = grammar.normalize(value)
    name, _, params = text.partition(";")
    name = name.strip(" \t")
    if not grammar.token_full.match(name):
        raise ParseError(f"malformed Event {text!r}")
    if params:
        parse_params(";" + params, "Event")
    return name


def parse_retry_after(value: str) -> int:
    """Parse Retry-After: delta-seconds, an optional comment and parameters."""
    text = grammar.normalize(value)
    number = text.split("(", 1)[0].split(";", 1)[0].strip(" \t")
    return _check_uint32(number, "Retry-After")


def parse_warnings(value: str) -> list[Warning_]:
    """Parse Warning: ``warn-code SP warn-agent SP warn-text`` (a 3-digit code)."""
    out = []
    for part in grammar.split_list(grammar.normalize(value)):
        m = grammar.warning_re.match(part)
        if m is None:
            raise ParseError(f"malformed Warning {part.strip()!r}")
        out.append(Warning_(code=int(m[1]), agent=m[2], text=grammar.unquote(m[3])))
    return out


def parse_routes(value: str) -> list[NameAddress]:
    """Parse Route / Record-Route: name-addrs only (the URI must be in ``< >``)."""
    out = []
    for part in grammar.split_list(grammar.normalize(value)):
        address = parse_name_address(part, where="Route")
        if not address.is_bracketed:
            raise ParseError("Route and Record-Route values must be enclosed in <>")
        out.append(address)
    return out


def parse_accept(value: str) -> list[MediaType]:
    """Parse Accept: a possibly empty list of media ranges."""
    text = grammar.normalize(value)
    if not text:
        return []
    return [parse_media_type(part) for part in grammar.split_list(text)]


def is_sip_uri(uri: Uri) -> bool:
    """True for ``sip:``/``sips:`` URIs."""
    return isinstance(uri, SipUri)
