"""One message model for SIP and SIP-C: requests and responses with ordered, repeatable headers.

A message keeps every header exactly as spelled on the wire (name, separator, value with its
folds) so that parse → serialize gives back the same bytes. Typed accessors parse a header on
first use and cache the result; :mod:`.validate` parses them all.

For speed (decision 0007) the parser hands a message its header block taken apart (``Head``:
canonical names, raw values, each name's first value) and leaves the tuple of
:class:`Header` to be made on first use of ``headers``; a message built by code makes its
``Head`` from ``headers`` on first use. Either way the message reads the same from outside.

Folded values keep their fold as a bare ``"\\n"`` followed by the original white space; only
the serializer turns it into the message's line ending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import compress
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeVar

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
from columba.protocol.sip.uri import Uri, parse_uri
from columba.slots import slot_setters

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

#: A header block taken apart: the canonical names, the raw values, whether the message is
#: SIP-C (which decides the names), the names and separators as spelled (lists, in order),
#: and each canonical name's first value.
Head = tuple[list[str], list[str], bool, list[str], list[str], dict[str, str]]


def make_head(
    keys: list[str], values: list[str], sipc: bool, names: list[str], seps: list[str]
) -> Head:
    """The :data:`Head` of a header block (its first-value map made here)."""
    # Reversed, so that the first line of a name is the one the dict keeps.
    return keys, values, sipc, names, seps, dict(zip(reversed(keys), reversed(values), strict=True))


def header_keys(names: Iterable[str], *, sipc: bool) -> list[str]:
    """The canonical names of header names as spelled, in order.

    Args:
        names: The header names as spelled.
        sipc: Read the names as SIP-C spells them.
    """
    known = h.SIPC_CANONICAL if sipc else h.SIP_CANONICAL
    keys: list[str | None] = list(map(known.get, names))
    if None in keys:
        return [
            key or h.canonical_name(name, sipc=sipc) for key, name in zip(keys, names, strict=True)
        ]
    return keys  # type: ignore[return-value]  # no None left


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
    # The header lines taken apart, what the typed accessors read (see ``Head``). The parser
    # sets it and leaves ``headers`` unset: that tuple of ``Header`` is made only when asked
    # for. On a message built by code it is made from ``headers`` on first use. Both through
    # ``__getattr__``, which Python calls only for an attribute (a slot) not set yet.
    _head: Head = field(init=False, compare=False, repr=False)

    version: str

    if not TYPE_CHECKING:  # mypy would take any attribute name for a lazy one

        def __getattr__(self, name: str) -> Any:
            # Called only for a slot that is not set yet: fill it and return its value.
            if name == "headers":
                return _lazy_headers(self)
            if name == "_head":
                return _lazy_head(self)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- raw access -----------------------------------------------------------------------------

    @property
    def is_sipc(self) -> bool:
        """True when the message is spelled in SIP-C (``SIP-C/2.0``, ``SIP-C/4.0``)."""
        return self._head[2]

    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] | None = self._cache.get("")
        if index is None:
            index = self._cache[""] = {}
            head = self._head
            for key, value in zip(head[0], head[1], strict=True):
                slot = index.get(key)
                if slot is None:
                    index[key] = [value]
                else:
                    slot.append(value)
        return index

    def get_all(self, name: str) -> list[str]:
        """Every raw value of a header, by any spelling of its name (``Via``, ``v``, ``F``)."""
        key = h.canonical_name(name, sipc=self._head[2])
        return list(self._index().get(key, ()))

    def get(self, name: str) -> str | None:
        """The first raw value of a header, unfolded and stripped, or ``None``."""
        head = self._head
        value = head[5].get(h.canonical_name(name, sipc=head[2]))
        return None if value is None else grammar.normalize(value)

    def has(self, name: str) -> bool:
        """True when the header is present."""
        head = self._head
        return h.canonical_name(name, sipc=head[2]) in head[5]

    def count(self, name: str) -> int:
        """How many header lines carry this header."""
        head = self._head
        return head[0].count(h.canonical_name(name, sipc=head[2]))

    def __iter__(self) -> Iterator[Header]:
        return iter(self.headers)

    @property
    def header_names(self) -> list[str]:
        """The header names as spelled, in order (a new list; no :class:`Header` is made)."""
        return list(self._head[3])

    def header_fields(self) -> Iterator[tuple[str, str, str, str]]:
        """``(canonical name, name as spelled, separator, raw value)`` of every header line,
        in order: what ``headers`` holds, without making the :class:`Header` tuples."""
        keys, values, _, names, seps, _ = self._head
        return zip(keys, names, seps, values, strict=True)

    # -- typed access ---------------------------------------------------------------------------
    #
    # A typed read is mostly bookkeeping, so the accessors of the everyday headers do theirs
    # inline: the cache, then the header's first value (``_head[5]``), then the parse. The
    # others share ``_first``/``_all``.

    def _first(self, key: str, parse: Callable[[str], T]) -> T | None:
        """Parse the first value of header ``key`` (``None`` if absent) and cache it."""
        value = self._head[5].get(key)
        result = self._cache[key] = None if value is None else parse(value)
        return result

    def _all(self, key: str, parse: Callable[[str], Iterable[T]]) -> tuple[T, ...]:
        """Parse every value of header ``key``, each a list, into one tuple, and cache it."""
        out: list[T] = []
        head = self._head
        if key in head[5]:
            for value in compress(head[1], map(key.__eq__, head[0])):
                out += parse(value)
        result = self._cache[key] = tuple(out)
        return result

    @property
    def via(self) -> tuple[h.Via, ...]:
        """Every Via value, top first."""
        cache = self._cache
        if "via" in cache:
            vias: tuple[h.Via, ...] = cache["via"]
            return vias
        keys, _, _, _, _, first = self._head
        if "via" not in first:
            vias = cache["via"] = ()
        elif len(first) == len(keys) or keys.count("via") == 1:
            vias = cache["via"] = h.parse_via_tuple(first["via"])
        else:
            vias = self._all("via", h.parse_via_tuple)
        return vias

    @property
    def from_(self) -> h.NameAddress | None:
        """From (SIP-C ``F``)."""
        cache = self._cache
        if "from" in cache:
            address: h.NameAddress | None = cache["from"]
            return address
        head = self._head
        first = head[5]
        address = cache["from"] = (
            h.parse_name_address(first["from"], "From", head[2]) if "from" in first else None
        )
        return address

    @property
    def to(self) -> h.NameAddress | None:
        """To (SIP-C ``T``)."""
        cache = self._cache
        if "to" in cache:
            address: h.NameAddress | None = cache["to"]
            return address
        head = self._head
        first = head[5]
        address = cache["to"] = (
            h.parse_name_address(first["to"], "To", head[2]) if "to" in first else None
        )
        return address

    @property
    def call_id(self) -> str | None:
        """Call-ID (SIP-C ``I``)."""
        cache = self._cache
        if "call-id" in cache:
            call_id: str | None = cache["call-id"]
            return call_id
        first = self._head[5]
        call_id = cache["call-id"] = (
            h.parse_call_id(first["call-id"]) if "call-id" in first else None
        )
        return call_id

    @property
    def cseq(self) -> h.CSeq | None:
        """CSeq (SIP-C ``Q``)."""
        cache = self._cache
        if "cseq" in cache:
            cseq: h.CSeq | None = cache["cseq"]
            return cseq
        first = self._head[5]
        cseq = cache["cseq"] = h.parse_cseq(first["cseq"]) if "cseq" in first else None
        return cseq

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards."""
        cache = self._cache
        if "max-forwards" in cache:
            hops: int | None = cache["max-forwards"]
            return hops
        first = self._head[5]
        hops = cache["max-forwards"] = (
            h.parse_max_forwards(first["max-forwards"]) if "max-forwards" in first else None
        )
        return hops

    @property
    def contact(self) -> tuple[h.Contact, ...]:
        """Every Contact value."""
        cache = self._cache
        if "contact" in cache:
            contacts: tuple[h.Contact, ...] = cache["contact"]
            return contacts
        keys, _, sipc, _, _, first = self._head
        if "contact" not in first:
            contacts = cache["contact"] = ()
        elif len(first) == len(keys) or keys.count("contact") == 1:
            contacts = cache["contact"] = h.parse_contact_tuple(first["contact"], sipc)
        else:
            contacts = self._all("contact", lambda v: h.parse_contact_tuple(v, sipc))
        return contacts

    @property
    def content_length(self) -> int | None:
        """Content-Length (SIP-C ``L``) as written; the serializer rewrites it from the body."""
        cache = self._cache
        if "content-length" in cache:
            length: int | None = cache["content-length"]
            return length
        first = self._head[5]
        length = cache["content-length"] = (
            h.parse_uint32(first["content-length"], "Content-Length")
            if "content-length" in first
            else None
        )
        return length

    @property
    def content_type(self) -> h.MediaType | None:
        """Content-Type (SIP-C ``C``)."""
        cache = self._cache
        if "content-type" in cache:
            media_type: h.MediaType | None = cache["content-type"]
            return media_type
        first = self._head[5]
        media_type = cache["content-type"] = (
            h.parse_media_type(first["content-type"]) if "content-type" in first else None
        )
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
        if "date" in cache:
            date: dt.datetime | None = cache["date"]
            return date
        first = self._head[5]
        date = cache["date"] = h.parse_date(first["date"]) if "date" in first else None
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
        if self._head[2]:
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

# Construction for the parser's hot path (see ``columba.slots``): the same objects the generated
# ``__init__`` makes, every field set but ``headers``, which ``_lazy_headers`` makes on demand.
_new = object.__new__
_header_new: Any = partial(tuple.__new__, Header)
_FIELDS = ("headers", "body", "eol", "is_terminated", "_cache", "_head", "version")
(
    _set_headers,
    _set_body,
    _set_eol,
    _set_terminated,
    _set_cache,
    _set_head,
    _set_version,
) = slot_setters(_Message, *_FIELDS)
_set_method, _set_uri = slot_setters(Request, *_FIELDS, "method", "uri")[-2:]
_set_status, _set_reason = slot_setters(Response, *_FIELDS, "status", "reason")[-2:]


def build_request(
    method: str,
    uri: str,
    version: str,
    head: Head,
    body: bytes,
    eol: str,
    is_terminated: bool,
    cache: dict[str, Any],
) -> Request:
    """``Request(...)`` for the parser: positional, and without the keyword machinery."""
    request: Request = _new(Request)
    _set_method(request, method)
    _set_uri(request, uri)
    _set_version(request, version)
    _set_body(request, body)
    _set_eol(request, eol)
    _set_terminated(request, is_terminated)
    _set_cache(request, cache)
    _set_head(request, head)
    return request


def build_response(
    status: int,
    reason: str,
    version: str,
    head: Head,
    body: bytes,
    eol: str,
    is_terminated: bool,
    cache: dict[str, Any],
) -> Response:
    """``Response(...)`` for the parser: positional, and without the keyword machinery."""
    response: Response = _new(Response)
    _set_status(response, status)
    _set_reason(response, reason)
    _set_version(response, version)
    _set_body(response, body)
    _set_eol(response, eol)
    _set_terminated(response, is_terminated)
    _set_cache(response, cache)
    _set_head(response, head)
    return response


def _lazy_headers(message: _Message) -> tuple[Header, ...]:
    # Only a parsed message lacks ``headers``, and the parser always sets ``_head``.
    _, values, _, names, seps, _ = message._head
    headers = tuple(map(_header_new, zip(names, values, seps, strict=True)))
    _set_headers(message, headers)
    return headers


def _lazy_head(message: _Message) -> Head:
    headers = message.headers
    sipc = message.version[:5].upper() == "SIP-C"
    names = [header.name for header in headers]
    head = make_head(
        header_keys(names, sipc=sipc),
        [header.value for header in headers],
        sipc,
        names,
        [header.sep for header in headers],
    )
    _set_head(message, head)
    return head


def require_header(message: Message, name: str) -> str:
    """The first value of a header that must be present.

    Raises:
        ParseError: the header is missing (answer 400).
    """
    value = message.get(name)
    if value is None:
        raise ParseError(f"missing {name} header")
    return value
