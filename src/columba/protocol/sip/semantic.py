"""Application-layer checks: what a server answers to a well-formed request it will not process.

:func:`~.validate.validate` gives the syntax verdict ("can this message be read?"). This module
gives the server's verdict on a message that passed it ("will it be processed?"): the checks of
RFC 3261 §16.3 (a proxy's request validation) and §8.2 (a UAS's), in that order, returning the
response to send. RFC 4475 §3.2–§3.4 names the answer for each of its torture messages; with
the default :class:`ServerPolicy` this module gives:

=============  =====================================================================
``insuf``      400 (no To, From or Call-ID; RFC 3261 §8.1.1)
``multi01``    400 (several Call-ID, CSeq, From, To, Max-Forwards values)
``mcl01``      400 (two Content-Length values; the parser already refuses it)
``unkscm``     416 Unsupported URI Scheme (``nobodyKnowsThisScheme:``)
``novelsc``    416 (``soap.beep:`` is registered but never a Request-URI here)
``zeromf``     483 Too Many Hops (a proxy's check; an endpoint would process it)
``bext01``     420 Bad Extension with ``Unsupported:`` listing the unknown tags
``regaut01``   401 (unknown ``Authorization`` scheme; the caller adds a challenge)
``invut``      415 Unsupported Media Type with ``Accept:``
``sdp01``      406 Not Acceptable (Accept without application/sdp on an INVITE)
``unksm2``     400 (a REGISTER's To must be a SIP or SIPS URI, RFC 3261 §10.2)
``bcast``      a response: :func:`check_response` discards it (broadcast Via)
=============  =====================================================================

and accepts ``badbranch`` (RFC 2543 transaction matching takes over), ``inv2543`` (no
Max-Forwards, no branch, no From tag: RFC 2543 syntax), ``cparam01``, ``cparam02`` and
``regescrt``. Checks that need state (loop detection, merged requests, authentication itself)
belong to the transaction layer and the core, not here.

SIP-C requests (``SIP-C/2.0``, ``SIP-C/4.0``) carry no Via or Max-Forwards: they need ``F``,
``I`` and ``Q`` (``../shared/reference/fetion-sipc.md`` §1.5), except ``BN``, the server's own
notification, which names no sender (corpus ``009``–``012``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
from columba.protocol.sip.auth import parse_auth
from columba.protocol.sip.message import Header, Message, Request, Response
from columba.protocol.sip.uri import BareId, SipUri, TelUri

__all__ = [
    "DEFAULT_POLICY",
    "Discard",
    "ServerPolicy",
    "Verdict",
    "check_message",
    "check_request",
    "check_response",
    "make_response",
    "reason_phrase",
]

# Reason phrases --------------------------------------------------------------------------------

#: Default reason phrases: RFC 3261 §21 and the codes later RFCs registered.
REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",  # RFC 6228
    200: "OK",
    202: "Accepted",  # RFC 3265 §3.1.6.1
    204: "No Notification",  # RFC 5839
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",  # RFC 3903
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    430: "Flow Failed",  # RFC 5626
    439: "First Hop Lacks Outbound Support",  # RFC 5626
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",  # RFC 6665
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",  # RFC 3329
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",  # RFC 3312
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

#: SIP-C's own codes and spellings (fetion-sipc.md §1.2, §1.6). Fetion's phrases for 521 and
#: 522 are not public; these name what the codes mean there.
SIPC_REASON_PHRASES: dict[int, str] = {
    201: "Successful",  # the answer to NEG
    280: "Send SMS OK",
    521: "Already Exists",
    522: "No Subscription",
}


def reason_phrase(status: int, *, version: str = "SIP/2.0") -> str:
    """The default reason phrase for ``status`` in the given protocol version.

    SIP-C/4.0 spells 401 ``Unauthoried`` (sic) while SIP-C/2.0 and SIP spell it
    ``Unauthorized`` (fetion-sipc.md §1.2). An unknown code gets its class's x00 phrase, as
    RFC 3261 §21 tells a receiver to treat it.
    """
    if version[:5].upper() == "SIP-C":
        if status == 401 and version.upper() == "SIP-C/4.0":
            return "Unauthoried"
        phrase = SIPC_REASON_PHRASES.get(status)
        if phrase is not None:
            return phrase
    return REASON_PHRASES.get(status) or REASON_PHRASES.get(status // 100 * 100, "")


# Policy and verdicts ---------------------------------------------------------------------------

#: Body types Columba reads: SDP offers, RFC 3428 IM bodies, CPIM and IMDN (RFC 3862, 5438),
#: PIDF presence (RFC 3863), composing indications (RFC 3994), multipart (RFC 5621) and SIP-C's
#: ``text/html-fragment`` (fetion-sipc.md §1.7).
DEFAULT_ACCEPTED_TYPES = frozenset(
    {
        "application/sdp",
        "application/pidf+xml",
        "application/im-iscomposing+xml",
        "message/cpim",
        "message/imdn+xml",
        "multipart/alternative",
        "multipart/mixed",
        "multipart/related",
        "text/html",
        "text/html-fragment",
        "text/plain",
    }
)

#: Every method in the IANA SIP method registry. One of these that a server does not serve gets
#: 405; anything else is unrecognized and gets 501 (RFC 3261 §8.2.1, §21.5.2).
KNOWN_METHODS = frozenset(
    {
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
        "REGISTER",
        "SUBSCRIBE",
        "UPDATE",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPolicy:
    """What a server supports: the inputs of the checks in :func:`check_request`.

    Attributes:
        supported: Option tags the server supports (RFC 3261 §19.2); compared ignoring case,
            since tokens are case-insensitive (§7.3.1).
        accepted_types: Body media types (``type/subtype``, lower case) the server reads.
        accepted_encodings: Content codings the server reads (``identity`` is implicit).
        session_types: Body types the server can answer an INVITE with; an INVITE whose
            Accept allows none of them gets 406 (RFC 4475 §3.3.15).
        methods: SIP methods the server serves (case-sensitive, RFC 3261 §7.1).
        sipc_methods: SIP-C methods the server serves (fetion-sipc.md §1.3).
        schemes: Request-URI schemes the server routes (lower case); SIP-C's bare ids are
            always accepted in SIP-C requests.
        auth_schemes: Authorization schemes understood in SIP (lower case).
        sipc_auth_schemes: ``A:`` schemes understood in SIP-C: ``Digest``, ``Verify`` (after a
            captcha), ``TICKS`` (chat-server tickets) and ``CS`` (fetion-sipc.md §1.4).
        is_proxy: The server also routes requests onward, so it makes a proxy's checks of
            RFC 3261 §16.3 (Max-Forwards → 483, Proxy-Require → 420) as well as the checks of
            §8.2 a UAS makes. Columba's servers terminate every request (they store, then
            deliver), so they check Require in both roles; set False for an element that
            only ever answers requests itself.
        warn_agent: The ``warn-agent`` pseudonym written in Warning headers (§20.43).
    """

    supported: frozenset[str] = frozenset()
    accepted_types: frozenset[str] = DEFAULT_ACCEPTED_TYPES
    accepted_encodings: frozenset[str] = frozenset({"identity"})
    session_types: frozenset[str] = frozenset({"application/sdp"})
    methods: frozenset[str] = frozenset(
        {
            "ACK",
            "BYE",
            "CANCEL",
            "INFO",
            "INVITE",
            "MESSAGE",
            "NOTIFY",
            "OPTIONS",
            "PUBLISH",
            "REGISTER",
            "SUBSCRIBE",
        }
    )
    sipc_methods: frozenset[str] = frozenset(
        {"R", "S", "SUB", "BN", "M", "I", "A", "O", "IN", "B", "NEG"}
    )
    schemes: frozenset[str] = frozenset({"sip", "sips", "tel"})
    auth_schemes: frozenset[str] = frozenset({"digest"})
    sipc_auth_schemes: frozenset[str] = frozenset({"digest", "verify", "ticks", "cs"})
    is_proxy: bool = True
    warn_agent: str = "columba"


DEFAULT_POLICY = ServerPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The response a server gives to a request it refuses.

    Attributes:
        status: The status code to answer with.
        reason: The reason phrase; a 400 says what is wrong.
        headers: Headers the response must carry (``Unsupported`` with 420, ``Accept`` with
            415, ``Allow`` with 405/501 …), as ``(name, value)`` pairs. A 401/407 verdict
            carries no challenge: the caller adds one, since nonces are the core's business.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def is_challenge(self) -> bool:
        """True for 401/407: the response needs a WWW-/Proxy-Authenticate challenge added."""
        return self.status in (401, 407)

    def response_to(self, request: Request, *, to_tag: str | None = None) -> Response:
        """The response to send, built by :func:`make_response`."""
        return make_response(request, self.status, self.reason, to_tag=to_tag, extra=self.headers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Discard:
    """A response that must be dropped without being passed on (responses are never answered).

    Attributes:
        reason: Why, for the log.
    """

    reason: str


# Request checks --------------------------------------------------------------------------------

_Check = Callable[[Request, ServerPolicy], Verdict | None]

#: Headers every SIP request needs (RFC 3261 §8.1.1), in that section's order. Max-Forwards is
#: also on §8.1.1's list, but a proxy passes a request without one (§16.3 step 3) and RFC 2543
#: elements never sent it (RFC 4475 §3.4.1 ``inv2543``), so its absence is tolerated.
_SIP_REQUIRED = ("To", "From", "CSeq", "Call-ID", "Via")
_SIP_RESPONSE_REQUIRED = ("Via", "From", "To", "CSeq", "Call-ID")
#: SIP-C's clients send F, I and Q first on every request (fetion-sipc.md §1.5).
_SIPC_REQUIRED = ("F", "I", "Q")
_SIPC_RESPONSE_REQUIRED = ("I", "Q")

_DISPLAY_NAMES = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "x-message-id": "X-Message-ID",
}

_ZERO_Q = re.compile(r"0(?:\.0{0,3})?\Z")


def _display(key: str, *, sipc: bool) -> str:
    """A canonical header key as a person reads it: ``Call-ID``, or ``I`` in SIP-C."""
    if sipc:
        letter = h.SIP_TO_SIPC.get(key)
        if letter is not None:
            return letter
    return _DISPLAY_NAMES.get(key) or "-".join(part.capitalize() for part in key.split("-"))


def _bad_request(reason: str) -> Verdict:
    return Verdict(status=400, reason=reason)


def _required_headers(request: Request, policy: ServerPolicy) -> Verdict | None:
    """RFC 3261 §8.1.1 and §16.3 step 1; fetion-sipc.md §1.5 for SIP-C; RFC 4475 ``insuf``."""
    names: tuple[str, ...]
    if request.is_sipc:
        names = _SIPC_REQUIRED[1:] if request.method == "BN" else _SIPC_REQUIRED
    else:
        names = _SIP_REQUIRED
    missing = [name for name in names if not request.has(name)]
    if missing:
        return _bad_request("Missing " + ", ".join(missing))
    return None


def _duplicates(message: Message) -> list[str]:
    sipc = message.is_sipc
    seen: list[str] = []
    for header in message.headers:
        key = h.canonical_name(header.name, sipc=sipc)
        if key in h.SINGLE_VALUED and key not in seen and message.count(key) > 1:
            seen.append(key)
    return [_display(key, sipc=sipc) for key in seen]


def _single_values(request: Request, policy: ServerPolicy) -> Verdict | None:
    """One value for single-valued headers (RFC 3261 §7.3.1; RFC 4475 ``multi01``, ``mcl01``)."""
    names = _duplicates(request)
    if names:
        return _bad_request("Multiple values for " + ", ".join(names))
    return None


def _uri_scheme(request: Request, policy: ServerPolicy) -> Verdict | None:
    """The Request-URI scheme (RFC 3261 §16.3 step 2, §8.2.2.1; RFC 4475 ``unkscm``, ``novelsc``).

    A scheme the server never routes is answered 416 even when it is registered (``soap.beep``).
    """
    uri = request.request_uri
    if isinstance(uri, BareId):
        return None  # only SIP-C parses bare ids: its domain or a recipient's sid
    scheme = "tel" if isinstance(uri, TelUri) else uri.scheme.lower()
    if scheme not in policy.schemes:
        return Verdict(status=416, reason=reason_phrase(416))
    return None


def _max_forwards(request: Request, policy: ServerPolicy) -> Verdict | None:
    """RFC 3261 §16.3 step 3: a request with no hops left is not forwarded (RFC 4475 ``zeromf``).

    §16.3 lets a proxy answer an OPTIONS itself instead; Columba answers 483 to every method,
    as RFC 4475 §3.3.11 expects of a proxy.
    """
    if request.max_forwards == 0:
        return Verdict(status=483, reason=reason_phrase(483))
    return None


def _unknown_tags(tags: Iterable[str], policy: ServerPolicy) -> list[str]:
    supported = {tag.lower() for tag in policy.supported}
    out: list[str] = []
    for tag in tags:
        if tag.lower() not in supported and tag not in out:
            out.append(tag)
    return out


def _extensions(request: Request, policy: ServerPolicy) -> Verdict | None:
    """Require (RFC 3261 §8.2.2.3) and, for a proxy, Proxy-Require (§16.3 step 5) → 420.

    RFC 4475 §3.3.5 (``bext01``): the Unsupported header lists the tags of Require or of
    Proxy-Require "depending on the role in which the element is responding". A server in both
    roles lists both: Require's first, then Proxy-Require's.
    """
    tags = list(request.require)
    if policy.is_proxy:
        tags += request.proxy_require
    unknown = _unknown_tags(tags, policy)
    if unknown:
        return Verdict(
            status=420, reason=reason_phrase(420), headers=(("Unsupported", ", ".join(unknown)),)
        )
    return None


def _credentials(request: Request, policy: ServerPolicy) -> Verdict | None:
    """Credentials in a scheme the server cannot check get a fresh challenge (RFC 3261 §22.1).

    RFC 4475 §3.3.7 (``regaut01``): a registrar that cares about authentication answers 401
    and challenges with a scheme it understands. Proxy-Authorization gets 407 (§22.3).
    """
    schemes = policy.sipc_auth_schemes if request.is_sipc else policy.auth_schemes
    for name, status in (("authorization", 401), ("proxy-authorization", 407)):
        for raw in request.get_all(name):
            scheme = parse_auth(grammar.normalize(raw)).scheme
            if scheme.lower() not in schemes:
                return Verdict(status=status, reason=reason_phrase(status, version=request.version))
    return None


def _method(request: Request, policy: ServerPolicy) -> Verdict | None:
    """RFC 3261 §8.2.1: 405 for a known method the server does not serve, 501 for one it does
    not recognize (§21.5.2); both list what it serves in Allow (§20.5)."""
    if request.is_sipc:
        served, known = policy.sipc_methods, policy.sipc_methods
    else:
        served, known = policy.methods, KNOWN_METHODS | policy.methods
    if request.method in served:
        return None
    status = 405 if request.method in known else 501
    return Verdict(
        status=status, reason=reason_phrase(status), headers=(("Allow", ", ".join(sorted(served))),)
    )


def _content(request: Request, policy: ServerPolicy) -> Verdict | None:
    """RFC 3261 §8.2.3: a body the server cannot read gets 415 with Accept or Accept-Encoding.

    A SIP body needs a Content-Type (§20.15); SIP-C sends its ``<args>`` XML without ``C``, so
    there a missing type is accepted (RFC 4475 ``invut`` for the 415).
    """
    if not request.body:
        return None
    content_type = request.content_type
    if content_type is None:
        if request.is_sipc:
            return None
        return _bad_request("Missing Content-Type for a message body")
    if content_type.mime not in policy.accepted_types:
        accept = ", ".join(sorted(policy.accepted_types))
        return Verdict(status=415, reason=reason_phrase(415), headers=(("Accept", accept),))
    codings = [
        coding.strip(" \t").lower()
        for raw in request.get_all("content-encoding")
        for coding in grammar.normalize(raw).split(",")
    ]
    if any(coding not in policy.accepted_encodings | {"identity"} for coding in codings):
        accept = ", ".join(sorted(policy.accepted_encodings | {"identity"}))
        return Verdict(
            status=415, reason=reason_phrase(415), headers=(("Accept-Encoding", accept),)
        )
    return None


def _is_acceptable(media_range: h.MediaType, mime: str) -> bool:
    q = media_range.param("q")
    if q is not None and _ZERO_Q.match(q):
        return False  # q=0 means "not acceptable" (RFC 3261 §20.1, RFC 2616 §14.1)
    kind, _, subtype = media_range.mime.partition("/")
    want_kind, _, want_subtype = mime.partition("/")
    return kind == "*" or (kind == want_kind and subtype in ("*", want_subtype))


def _accept(request: Request, policy: ServerPolicy) -> Verdict | None:
    """An INVITE whose Accept allows no session description gets 406 (RFC 4475 ``sdp01``).

    §3.3.15 suggests a 399 Warning saying why; an empty Accept means nothing is acceptable
    (RFC 3261 §20.1). SIP-C has no Accept header.
    """
    if request.method != "INVITE" or request.is_sipc or not request.has("accept"):
        return None
    ranges = [mt for raw in request.get_all("accept") for mt in h.parse_accept(raw)]
    if any(_is_acceptable(mt, mime) for mt in ranges for mime in policy.session_types):
        return None
    offered = ", ".join(sorted(policy.session_types))
    warning = f'399 {policy.warn_agent} "An answer can only be sent as {offered}"'
    return Verdict(
        status=406,
        reason=reason_phrase(406),
        headers=(("Accept", offered), ("Warning", warning)),
    )


def _registrar_to(request: Request, policy: ServerPolicy) -> Verdict | None:
    """A REGISTER's To is an address of record, which must be a SIP or SIPS URI (RFC 3261
    §10.2); RFC 4475 §3.3.4 (``unksm2``) has a registrar answer 400 otherwise."""
    if request.method != "REGISTER" or request.is_sipc:
        return None
    to = request.to
    if to is not None and not isinstance(to.uri, SipUri):
        return _bad_request("To of a REGISTER must be a SIP or SIPS URI")
    return None


#: RFC 3261 §16.3 (steps 1, 2, 3, 5) then §8.2 (authentication, 8.2.1, 8.2.3, response).
_PROXY_CHECKS: tuple[_Check, ...] = (
    _required_headers,
    _single_values,
    _uri_scheme,
    _max_forwards,
    _extensions,
    _credentials,
    _method,
    _content,
    _accept,
    _registrar_to,
)
#: §8.2 alone: authentication, method (8.2.1), Request-URI (8.2.2.1), Require (8.2.2.3) …
_UAS_CHECKS: tuple[_Check, ...] = (
    _required_headers,
    _single_values,
    _credentials,
    _method,
    _uri_scheme,
    _extensions,
    _content,
    _accept,
    _registrar_to,
)


def check_request(request: Request, *, policy: ServerPolicy = DEFAULT_POLICY) -> Verdict | None:
    """The response a server gives to a syntactically valid request it will not process.

    Run it after :func:`~.validate.validate`. The checks follow RFC 3261 §16.3 then §8.2 when
    ``policy.is_proxy`` (the default), §8.2 alone otherwise; the first failing check decides.

    Args:
        request: A SIP or SIP-C request that passed ``validate``.
        policy: What the server supports.

    Returns:
        The verdict (status, reason phrase, headers the response must carry), or ``None`` when
        the request may be processed.

    Raises:
        ParseError: a header that ``validate`` would have refused (the request was not
            validated first).
    """
    checks = _PROXY_CHECKS if policy.is_proxy else _UAS_CHECKS
    for check in checks:
        verdict = check(request, policy)
        if verdict is not None:
            return verdict
    return None


# Response checks -------------------------------------------------------------------------------


def _is_broadcast(host: str) -> bool:
    """True for an address a response must never be sent to: broadcast, multicast, 0.0.0.0."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a host name
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address(
        "255.255.255.255"
    ):
        return True
    return address.is_multicast or address.is_unspecified


def check_response(response: Response, *, policy: ServerPolicy = DEFAULT_POLICY) -> Discard | None:
    """Whether a syntactically valid response must be dropped instead of processed.

    Responses are never answered. One is dropped when it lacks the headers that identify its
    transaction (RFC 3261 §8.1.3.3, §18.1.2), repeats a single-valued header, or would be
    passed on to a broadcast or multicast address: RFC 4475 §3.3.10 (``bcast``) has proxies
    drop a response whose next Via is ``255.255.255.255``. An element that is not a proxy also
    drops any response with more than one Via (§8.1.3.3).

    Args:
        response: A SIP or SIP-C response that passed ``validate``.
        policy: Only ``is_proxy`` matters here.

    Returns:
        A :class:`Discard` saying why, or ``None`` when the response may be processed.
    """
    sipc = response.is_sipc
    names: tuple[str, ...] = _SIPC_RESPONSE_REQUIRED if sipc else _SIP_RESPONSE_REQUIRED
    missing = [name for name in names if not response.has(name)]
    if missing:
        return Discard(reason="missing " + ", ".join(missing))
    duplicates = _duplicates(response)
    if duplicates:
        return Discard(reason="multiple values for " + ", ".join(duplicates))
    if sipc:
        return None
    vias = response.via
    # The top Via is the receiver's own; the rest are the hops the response travels back along.
    for via in vias[1:]:
        for host in (via.host, via.param("received")):
            if host and _is_broadcast(host):
                return Discard(reason=f"Via sent-by {host} is a broadcast or multicast address")
    if not policy.is_proxy and len(vias) > 1:
        return Discard(reason="more than one Via in a response to an endpoint")
    return None


def check_message(
    message: Message, *, policy: ServerPolicy = DEFAULT_POLICY
) -> Verdict | Discard | None:
    """:func:`check_request` for a request, :func:`check_response` for a response."""
    if isinstance(message, Request):
        return check_request(message, policy=policy)
    return check_response(message, policy=policy)


# Building responses ----------------------------------------------------------------------------


def _with_tag(header: Header, tag: str) -> Header:
    address = h.parse_name_address(header.value, where="To")
    if address.tag is not None:
        return header  # a To inside a dialog keeps its tag (RFC 3261 §8.2.6.2)
    return header._replace(value=header.value.rstrip(" \t") + ";tag=" + tag)


def _copy(request: Request, key: str) -> list[Header]:
    sipc = request.is_sipc
    return [header for header in request.headers if h.canonical_name(header.name, sipc=sipc) == key]


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> Response:
    """Build the response to ``request``, copying the headers that tie it to the request.

    SIP (RFC 3261 §8.2.6.2): every Via in order, From, To, Call-ID and CSeq are copied as
    written, and Timestamp when present (§8.2.6.1). ``to_tag`` is added to a To that has no
    tag; a UAS must add one to every response but 100 (the tag is the caller's: it names the
    dialog). A ``Content-Length: 0`` closes the header block; the serializer rewrites it from
    the body.

    SIP-C: T (or F when the request has no T), I and Q in that order, as Fetion's server
    answers (corpus ``002``, ``028``); no ``L`` while there is no body (fetion-sipc.md §1.1:
    use :func:`~.serializer.ensure_content_length` after attaching one). SIP-C has no tags, so
    ``to_tag`` is ignored there. Extra headers given by their SIP name get their SIP-C letter.

    Args:
        request: The request answered.
        status: The status code.
        reason: The reason phrase; :func:`reason_phrase` in the request's version if ``None``.
        to_tag: The To tag for SIP responses.
        extra: More ``(name, value)`` headers, written after the copied ones.

    Returns:
        The response, in the request's protocol version, with CRLF line endings.
    """
    version = request.version
    if reason is None:
        reason = reason_phrase(status, version=version)
    headers: list[Header] = []
    if request.is_sipc:
        address = _copy(request, "to") or _copy(request, "from")
        headers += address[:1] + _copy(request, "call-id")[:1] + _copy(request, "cseq")[:1]
        for name, value in extra:
            headers.append(Header(h.SIP_TO_SIPC.get(name.lower(), name), value))
    else:
        headers += _copy(request, "via") + _copy(request, "from")
        to = _copy(request, "to")[:1]
        if to and to_tag is not None:
            to = [_with_tag(to[0], to_tag)]
        headers += to + _copy(request, "call-id") + _copy(request, "cseq")
        headers += _copy(request, "timestamp")
        headers += [Header(name, value) for name, value in extra]
        headers.append(Header("Content-Length", "0"))
    return Response(status=status, reason=reason, version=version, headers=tuple(headers))
