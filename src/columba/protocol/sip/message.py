"""One message model for SIP and SIP-C: requests and responses with ordered, repeatable headers.

A message keeps every header exactly as spelled on the wire (name, separator, value with its
folds) so that parse → serialize gives back the same bytes. Typed accessors parse a header on
first use and cache the result; :mod:`.validate` parses them all.

Folded values keep their fold as a bare ``"\\n"`` followed by the original white space; only
the serializer turns it into the message's line ending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Self, TypeVar

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
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


def _is_sipc(version: str) -> bool:
    return version[:5].upper() == "SIP-C"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Message:
    headers: tuple[Header, ...] = ()
    body: bytes = b""
    #: The line ending used on the wire: ``"\r\n"`` (standard) or ``"\n"`` (lenient input).
    eol: str = "\r\n"
    #: False for a header block that ended without its empty line (a truncated archive file
    #: read in datagram mode); kept so that such input also round-trips byte for byte.
    is_terminated: bool = True
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    version: str

    # -- raw access -----------------------------------------------------------------------------

    @property
    def is_sipc(self) -> bool:
        """True when the message is spelled in SIP-C (``SIP-C/2.0``, ``SIP-C/4.0``)."""
        return _is_sipc(self.version)

    def _index(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] | None = self._cache.get("")
        if index is None:
            index = {}
            sipc = self.is_sipc
            for i, header in enumerate(self.headers):
                key = h.canonical_name(header.name, sipc=sipc)
                slot = index.get(key)
                if slot is None:
                    index[key] = [i]
                else:
                    slot.append(i)
            self._cache[""] = index
        return index

    def get_all(self, name: str) -> list[str]:
        """Every raw value of a header, by any spelling of its name (``Via``, ``v``, ``F``)."""
        key = h.canonical_name(name, sipc=self.is_sipc)
        return [self.headers[i].value for i in self._index().get(key, ())]

    def get(self, name: str) -> str | None:
        """The first raw value of a header, unfolded and stripped, or ``None``."""
        key = h.canonical_name(name, sipc=self.is_sipc)
        slots = self._index().get(key)
        if not slots:
            return None
        return grammar.normalize(self.headers[slots[0]].value)

    def has(self, name: str) -> bool:
        """True when the header is present."""
        return bool(self._index().get(h.canonical_name(name, sipc=self.is_sipc)))

    def count(self, name: str) -> int:
        """How many header lines carry this header."""
        return len(self._index().get(h.canonical_name(name, sipc=self.is_sipc), ()))

    def __iter__(self) -> Iterator[Header]:
        return iter(self.headers)

    # -- typed access ---------------------------------------------------------------------------

    def _typed(self, key: str, parse: Callable[[str], T]) -> T | None:
        cache = self._cache
        if key in cache:
            value: T | None = cache[key]
            return value
        slots = self._index().get(key)
        result = parse(self.headers[slots[0]].value) if slots else None
        cache[key] = result
        return result

    def _typed_list(self, key: str, parse: Callable[[str], list[T]]) -> tuple[T, ...]:
        cache = self._cache
        if key in cache:
            value: tuple[T, ...] = cache[key]
            return value
        out: list[T] = []
        headers = self.headers
        for i in self._index().get(key, ()):
            out.extend(parse(headers[i].value))
        result = tuple(out)
        cache[key] = result
        return result

    @property
    def via(self) -> tuple[h.Via, ...]:
        """Every Via value, top first."""
        return self._typed_list("via", h.parse_vias)

    @property
    def from_(self) -> h.NameAddress | None:
        """From (SIP-C ``F``)."""
        sipc = self.is_sipc
        return self._typed("from", lambda v: h.parse_name_address(v, where="From", sipc=sipc))

    @property
    def to(self) -> h.NameAddress | None:
        """To (SIP-C ``T``)."""
        sipc = self.is_sipc
        return self._typed("to", lambda v: h.parse_name_address(v, where="To", sipc=sipc))

    @property
    def call_id(self) -> str | None:
        """Call-ID (SIP-C ``I``)."""
        return self._typed("call-id", h.parse_call_id)

    @property
    def cseq(self) -> h.CSeq | None:
        """CSeq (SIP-C ``Q``)."""
        return self._typed("cseq", h.parse_cseq)

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards."""
        return self._typed("max-forwards", h.parse_max_forwards)

    @property
    def contact(self) -> tuple[h.Contact, ...]:
        """Every Contact value."""
        sipc = self.is_sipc
        return self._typed_list("contact", lambda v: h.parse_contacts(v, sipc=sipc))

    @property
    def content_length(self) -> int | None:
        """Content-Length (SIP-C ``L``) as written; the serializer rewrites it from the body."""
        return self._typed("content-length", lambda v: h.parse_uint32(v, "Content-Length"))

    @property
    def content_type(self) -> h.MediaType | None:
        """Content-Type (SIP-C ``C``)."""
        return self._typed("content-type", h.parse_media_type)

    @property
    def expires(self) -> int | None:
        """Expires (SIP-C ``X``)."""
        return self._typed("expires", lambda v: h.parse_uint32(v, "Expires"))

    @property
    def event(self) -> str | None:
        """Event (SIP ``o``, SIP-C ``N``): ``CatMsg``, ``PresenceV4``, ``presence`` …"""
        return self._typed("event", h.parse_event)

    @property
    def date(self) -> dt.datetime | None:
        """Date (SIP-C ``D``)."""
        return self._typed("date", h.parse_date)

    @property
    def message_id(self) -> str | None:
        """SIP-C ``XI`` (``X-Message-ID`` in SIP): the server's id of a stored message."""
        return self._typed("x-message-id", grammar.normalize)

    @property
    def route(self) -> tuple[h.NameAddress, ...]:
        """Every Route value."""
        return self._typed_list("route", h.parse_routes)

    @property
    def record_route(self) -> tuple[h.NameAddress, ...]:
        """Every Record-Route value."""
        return self._typed_list("record-route", h.parse_routes)

    @property
    def require(self) -> tuple[str, ...]:
        """Require option tags."""
        return self._typed_list("require", lambda v: h.parse_tokens(v, "Require"))

    @property
    def proxy_require(self) -> tuple[str, ...]:
        """Proxy-Require option tags."""
        return self._typed_list("proxy-require", lambda v: h.parse_tokens(v, "Proxy-Require"))

    @property
    def supported(self) -> tuple[str, ...]:
        """Supported option tags; SIP-C's ``K`` values (``text/plain``, ``SaveHistory``)."""
        if self.is_sipc:
            return tuple(grammar.normalize(v) for v in self.get_all("supported"))
        return self._typed_list("supported", lambda v: h.parse_tokens(v, "Supported"))

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


def require_header(message: Message, name: str) -> str:
    """The first value of a header that must be present.

    Raises:
        ParseError: the header is missing (answer 400).
    """
    value = message.get(name)
    if value is None:
        raise ParseError(f"missing {name} header")
    return value
