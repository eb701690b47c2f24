"""One message model for SIP and SIP-C: requests and responses with ordered, repeatable headers.

A message keeps every header exactly as spelled on the wire (name, separator, value with its
folds) so that parse → serialize gives back the same bytes. Typed accessors parse a header on
first use and cache the result; :mod:`.validate` parses them all.

Folded values keep their fold as a bare ``"\\n"`` followed by the original white space; only
the serializer turns it into the message's line ending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Self, TypeVar

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
from columba.protocol.sip._build import slot_setters
from columba.protocol.sip.uri import Uri, parse_uri

T = TypeVar("T")


class Header(NamedTuple):
    """One header line as spelled on the wire.

    A tuple rather than a dataclass: parsing creates thousands per second, and a NamedTuple is
    immutable, slotted and several times cheaper to build.

    Attributes:
        name: The name exactly as written (``Via``, ``v``, ``F``, ``MaX-fOrWaRdS``).
        value: The raw value after the separator, folds kept as ``"\\n"`` + white space.
        sep: The separator as written, ``": "`` by default (``" : "``, ``":"`` …).
    """

    name: str
    value: str
    sep: str = ": "


#: "Not in the typed cache yet" (``None`` is a cached "header absent").
_MISSING: Any = object()


def index_headers(
    names: Iterable[str], values: Iterable[str], *, sipc: bool
) -> dict[str, list[str]]:
    """Map canonical header names to their raw values, in order.

    Args:
        names: The header names as spelled.
        values: Their raw values.
        sipc: Read the names as SIP-C spells them.
    """
    known = h.SIPC_CANONICAL if sipc else h.SIP_CANONICAL
    index: dict[str, list[str]] = {}
    for name, value in zip(names, values, strict=True):
        key = known.get(name) or h.canonical_name(name, sipc=sipc)
        slot = index.get(key)
        if slot is None:
            index[key] = [value]
        else:
            slot.append(value)
    return index


# The typed accessors' parsers, as plain functions of the raw value (a ``partial`` with
# keywords costs several times the call it wraps).


def _parse_expires(value: str) -> int:
    return h.parse_uint32(value, "Expires")


def _parse_require(value: str) -> list[str]:
    return h.parse_tokens(value, "Require")


def _parse_proxy_require(value: str) -> list[str]:
    return h.parse_tokens(value, "Proxy-Require")


def _parse_supported(value: str) -> list[str]:
    return h.parse_tokens(value, "Supported")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Message:
    headers: tuple[Header, ...] = ()
    body: bytes = b""
    #: The line ending used on the wire: ``"\r\n"`` (standard) or ``"\n"`` (lenient input).
    eol: str = "\r\n"
    #: False for a header block that ended without its empty line (a truncated archive file
    #: read in datagram mode); kept so that such input also round-trips byte for byte.
    is_terminated: bool = True
    #: Per-message memo: ``""`` → the header index (canonical name → raw values), and each
    #: typed accessor's result under the header's canonical name.
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    version: str

    # -- raw access -----------------------------------------------------------------------------

    @property
    def is_sipc(self) -> bool:
        """True when the message is spelled in SIP-C (``SIP-C/2.0``, ``SIP-C/4.0``)."""
        return self.version[:5].upper() == "SIP-C"

    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] | None = self._cache.get("")
        if index is None:
            headers = self.headers
            index = self._cache[""] = index_headers(
                [header.name for header in headers],
                [header.value for header in headers],
                sipc=self.is_sipc,
            )
        return index

    def get_all(self, name: str) -> list[str]:
        """Every raw value of a header, by any spelling of its name (``Via``, ``v``, ``F``)."""
        key = h.canonical_name(name, sipc=self.is_sipc)
        return list(self._index().get(key, ()))

    def get(self, name: str) -> str | None:
        """The first raw value of a header, unfolded and stripped, or ``None``."""
        values = self._index().get(h.canonical_name(name, sipc=self.is_sipc))
        if not values:
            return None
        return grammar.normalize(values[0])

    def has(self, name: str) -> bool:
        """True when the header is present."""
        return bool(self._index().get(h.canonical_name(name, sipc=self.is_sipc)))

    def count(self, name: str) -> int:
        """How many header lines carry this header."""
        return len(self._index().get(h.canonical_name(name, sipc=self.is_sipc), ()))

    def __iter__(self) -> Iterator[Header]:
        return iter(self.headers)

    # -- typed access ---------------------------------------------------------------------------
    #
    # A typed read is mostly bookkeeping, so the accessors of the everyday headers do theirs
    # inline: the cache, then the header index (which the parser leaves in the cache), then the
    # parse. The others share ``_first``/``_all``.

    def _first(self, key: str, parse: Callable[[str], T]) -> T | None:
        """Parse the first value of header ``key`` (``None`` if absent) and cache it."""
        values = (self._cache.get("") or self._index()).get(key)
        result = parse(values[0]) if values else None
        self._cache[key] = result
        return result

    def _all(self, key: str, parse: Callable[[str], list[T]]) -> tuple[T, ...]:
        """Parse every value of header ``key``, each a list, into one tuple, and cache it."""
        values = (self._cache.get("") or self._index()).get(key)
        if not values:
            result: tuple[T, ...] = ()
        elif len(values) == 1:
            result = tuple(parse(values[0]))
        else:
            out: list[T] = []
            for value in values:
                out += parse(value)
            result = tuple(out)
        self._cache[key] = result
        return result

    @property
    def via(self) -> tuple[h.Via, ...]:
        """Every Via value, top first."""
        cache = self._cache
        vias: tuple[h.Via, ...] = cache.get("via", _MISSING)
        if vias is _MISSING:
            values = (cache.get("") or self._index()).get("via")
            if not values:
                vias = ()
            elif len(values) == 1:
                vias = tuple(h.parse_vias(values[0]))
            else:
                vias = tuple([via for value in values for via in h.parse_vias(value)])
            cache["via"] = vias
        return vias

    @property
    def from_(self) -> h.NameAddress | None:
        """From (SIP-C ``F``)."""
        cache = self._cache
        address: h.NameAddress | None = cache.get("from", _MISSING)
        if address is _MISSING:
            values = (cache.get("") or self._index()).get("from")
            sipc = self.version[:5].upper() == "SIP-C"
            address = cache["from"] = (
                h.parse_name_address(values[0], where="From", sipc=sipc) if values else None
            )
        return address

    @property
    def to(self) -> h.NameAddress | None:
        """To (SIP-C ``T``)."""
        cache = self._cache
        address: h.NameAddress | None = cache.get("to", _MISSING)
        if address is _MISSING:
            values = (cache.get("") or self._index()).get("to")
            sipc = self.version[:5].upper() == "SIP-C"
            address = cache["to"] = (
                h.parse_name_address(values[0], where="To", sipc=sipc) if values else None
            )
        return address

    @property
    def call_id(self) -> str | None:
        """Call-ID (SIP-C ``I``)."""
        cache = self._cache
        call_id: str | None = cache.get("call-id", _MISSING)
        if call_id is _MISSING:
            values = (cache.get("") or self._index()).get("call-id")
            call_id = cache["call-id"] = h.parse_call_id(values[0]) if values else None
        return call_id

    @property
    def cseq(self) -> h.CSeq | None:
        """CSeq (SIP-C ``Q``)."""
        cache = self._cache
        cseq: h.CSeq | None = cache.get("cseq", _MISSING)
        if cseq is _MISSING:
            values = (cache.get("") or self._index()).get("cseq")
            cseq = cache["cseq"] = h.parse_cseq(values[0]) if values else None
        return cseq

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards."""
        cache = self._cache
        hops: int | None = cache.get("max-forwards", _MISSING)
        if hops is _MISSING:
            values = (cache.get("") or self._index()).get("max-forwards")
            hops = cache["max-forwards"] = h.parse_max_forwards(values[0]) if values else None
        return hops

    @property
    def contact(self) -> tuple[h.Contact, ...]:
        """Every Contact value."""
        cache = self._cache
        contacts: tuple[h.Contact, ...] = cache.get("contact", _MISSING)
        if contacts is _MISSING:
            values = (cache.get("") or self._index()).get("contact")
            if values:
                sipc = self.version[:5].upper() == "SIP-C"
                contacts = tuple(
                    [c for value in values for c in h.parse_contacts(value, sipc=sipc)]
                )
            else:
                contacts = ()
            cache["contact"] = contacts
        return contacts

    @property
    def content_length(self) -> int | None:
        """Content-Length (SIP-C ``L``) as written; the serializer rewrites it from the body."""
        cache = self._cache
        length: int | None = cache.get("content-length", _MISSING)
        if length is _MISSING:
            values = (cache.get("") or self._index()).get("content-length")
            length = cache["content-length"] = (
                h.parse_uint32(values[0], "Content-Length") if values else None
            )
        return length

    @property
    def content_type(self) -> h.MediaType | None:
        """Content-Type (SIP-C ``C``)."""
        cache = self._cache
        media_type: h.MediaType | None = cache.get("content-type", _MISSING)
        if media_type is _MISSING:
            values = (cache.get("") or self._index()).get("content-type")
            media_type = cache["content-type"] = h.parse_media_type(values[0]) if values else None
        return media_type

    @property
    def expires(self) -> int | None:
        """Expires (SIP-C ``X``)."""
        value: int | None = self._cache.get("expires", _MISSING)
        return self._first("expires", _parse_expires) if value is _MISSING else value

    @property
    def event(self) -> str | None:
        """Event (SIP ``o``, SIP-C ``N``): ``CatMsg``, ``PresenceV4``, ``presence`` …"""
        value: str | None = self._cache.get("event", _MISSING)
        return self._first("event", h.parse_event) if value is _MISSING else value

    @property
    def date(self) -> dt.datetime | None:
        """Date (SIP-C ``D``)."""
        cache = self._cache
        date: dt.datetime | None = cache.get("date", _MISSING)
        if date is _MISSING:
            values = (cache.get("") or self._index()).get("date")
            date = cache["date"] = h.parse_date(values[0]) if values else None
        return date

    @property
    def message_id(self) -> str | None:
        """SIP-C ``XI`` (``X-Message-ID`` in SIP): the server's id of a stored message."""
        value: str | None = self._cache.get("x-message-id", _MISSING)
        return self._first("x-message-id", grammar.normalize) if value is _MISSING else value

    @property
    def route(self) -> tuple[h.NameAddress, ...]:
        """Every Route value."""
        value: tuple[h.NameAddress, ...] = self._cache.get("route", _MISSING)
        return self._all("route", h.parse_routes) if value is _MISSING else value

    @property
    def record_route(self) -> tuple[h.NameAddress, ...]:
        """Every Record-Route value."""
        value: tuple[h.NameAddress, ...] = self._cache.get("record-route", _MISSING)
        return self._all("record-route", h.parse_routes) if value is _MISSING else value

    @property
    def require(self) -> tuple[str, ...]:
        """Require option tags."""
        value: tuple[str, ...] = self._cache.get("require", _MISSING)
        return self._all("require", _parse_require) if value is _MISSING else value

    @property
    def proxy_require(self) -> tuple[str, ...]:
        """Proxy-Require option tags."""
        value: tuple[str, ...] = self._cache.get("proxy-require", _MISSING)
        return self._all("proxy-require", _parse_proxy_require) if value is _MISSING else value

    @property
    def supported(self) -> tuple[str, ...]:
        """Supported option tags; SIP-C's ``K`` values (``text/plain``, ``SaveHistory``)."""
        if self.is_sipc:
            return tuple(grammar.normalize(v) for v in self.get_all("supported"))
        value: tuple[str, ...] = self._cache.get("supported", _MISSING)
        return self._all("supported", _parse_supported) if value is _MISSING else value

    def authorization(self) -> list[str]:
        """Raw Authorization values (SIP-C ``A``, may repeat); parse with ``sip.auth``."""
        return [grammar.normalize(v) for v in self.get_all("authorization")]

    def www_authenticate(self) -> list[str]:
        """Raw WWW-Authenticate values (SIP-C ``W``); parse with ``sip.auth``."""
        return [grammar.normalize(v) for v in self.get_all("www-authenticate")]

    # -- derived --------------------------------------------------------------------------------

    def with_headers(self, headers: tuple[Header, ...]) -> Self:
        """A copy with another header list (the typed cache is not carried over)."""
        return replace(self, headers=headers, _cache={})

    def with_body(self, body: bytes) -> Self:
        """A copy with another body; the serializer will write the matching length."""
        return replace(self, body=body, _cache=self._cache)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(_Message):
    """A request: ``METHOD SP Request-URI SP version``.

    Attributes:
        method: The method as written (``MESSAGE``, SIP-C ``M``).
        uri: The Request-URI text as written; :attr:`request_uri` parses it.
        version: ``SIP/2.0``, ``SIP-C/2.0`` or ``SIP-C/4.0``.
    """

    method: str
    uri: str
    version: str = "SIP/2.0"

    @property
    def request_uri(self) -> Uri:
        """The parsed Request-URI (a :class:`~.uri.BareId` for SIP-C ``fetion.com.cn``)."""
        cached: Uri | None = self._cache.get("request-uri")
        if cached is None:
            cached = parse_uri(self.uri, allow_bare=self.is_sipc)
            self._cache["request-uri"] = cached
        return cached

    @property
    def start_line(self) -> str:
        """The request line without its line ending."""
        return f"{self.method} {self.uri} {self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(_Message):
    """A response: ``version SP status SP reason``."""

    status: int
    reason: str = ""
    version: str = "SIP/2.0"

    @property
    def start_line(self) -> str:
        """The status line without its line ending."""
        return f"{self.version} {self.status} {self.reason}"

    @property
    def is_final(self) -> bool:
        """True for 2xx–6xx."""
        return self.status >= 200


Message = Request | Response

# Construction for the parser's hot path (see ``_build``): the same objects the generated
# ``__init__`` makes, with every field given.
_new = object.__new__
(
    _set_method,
    _set_uri,
    _set_request_version,
    _set_request_headers,
    _set_request_body,
    _set_request_eol,
    _set_request_terminated,
    _set_request_cache,
) = slot_setters(
    Request, "method", "uri", "version", "headers", "body", "eol", "is_terminated", "_cache"
)
(
    _set_status,
    _set_reason,
    _set_response_version,
    _set_response_headers,
    _set_response_body,
    _set_response_eol,
    _set_response_terminated,
    _set_response_cache,
) = slot_setters(
    Response, "status", "reason", "version", "headers", "body", "eol", "is_terminated", "_cache"
)


def build_request(
    method: str,
    uri: str,
    version: str,
    headers: tuple[Header, ...],
    body: bytes,
    eol: str,
    is_terminated: bool,
    cache: dict[str, Any],
) -> Request:
    """``Request(...)`` for the parser: positional, and without the keyword machinery."""
    request: Request = _new(Request)
    _set_method(request, method)
    _set_uri(request, uri)
    _set_request_version(request, version)
    _set_request_headers(request, headers)
    _set_request_body(request, body)
    _set_request_eol(request, eol)
    _set_request_terminated(request, is_terminated)
    _set_request_cache(request, cache)
    return request


def build_response(
    status: int,
    reason: str,
    version: str,
    headers: tuple[Header, ...],
    body: bytes,
    eol: str,
    is_terminated: bool,
    cache: dict[str, Any],
) -> Response:
    """``Response(...)`` for the parser: positional, and without the keyword machinery."""
    response: Response = _new(Response)
    _set_status(response, status)
    _set_reason(response, reason)
    _set_response_version(response, version)
    _set_response_headers(response, headers)
    _set_response_body(response, body)
    _set_response_eol(response, eol)
    _set_response_terminated(response, is_terminated)
    _set_response_cache(response, cache)
    return response


def require_header(message: Message, name: str) -> str:
    """The first value of a header that must be present.

    Raises:
        ParseError: the header is missing (answer 400).
    """
    value = message.get(name)
    if value is None:
        raise ParseError(f"missing {name} header")
    return value
