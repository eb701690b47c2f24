"""The shortcut for the request the IM server sees most: a Fetion client's plain ``M``.

``ImServer.handle`` runs ``validate`` (every known header's grammar, the request line) and
``semantic.check_request`` (RFC 3261 §8.2) on every request. For a SIP-C ``M`` that carries
only the headers a Fetion client sends with a message, each header at most once, those checks
come down to parsing those headers, which the handler does anyway through the message's typed
accessors (same parse functions as ``validate``, cached on the message), plus a few facts
about the request line and the body's type. :func:`is_plain_sipc_message` checks exactly that
and says True only when both general checks would pass. Anything else (another header, a
repeated one, a parse error, a URI in the request line) returns False, and the general path
then gives its usual answer. ``tests/servers/test_hotpath.py`` holds the two to each other.

:func:`sipc_answer` writes the bytes of a SIP-C answer directly, as
``serialize(make_response(…))`` would write them.
"""

from __future__ import annotations

from collections.abc import Iterable

from columba.protocol.errors import ParseError
from columba.protocol.sip import headers as h
from columba.protocol.sip.message import Request
from columba.protocol.sip.semantic import ServerPolicy, reason_phrase
from columba.protocol.sip.uri import BareId

#: Header names, as a Fetion client spells them on an ``M``: From, To, Call-ID, CSeq,
#: Content-Length, Content-Type, Event and Supported (``K``, not checked for SIP-C).
PLAIN_HEADERS = frozenset({"F", "T", "I", "Q", "L", "C", "N", "K"})
#: What an answer copies from the request (canonical names).
_COPIED = frozenset({"to", "from", "call-id", "cseq"})
#: Headers SIP-C requires on every request (fetion-sipc.md §1.5).
_REQUIRED = frozenset({"F", "I", "Q"})


def is_plain_sipc_message(request: Request, policy: ServerPolicy) -> bool:
    """True when ``request`` is a SIP-C ``M`` that ``validate`` and ``check_request`` pass.

    False means "not sure": run the general checks.
    """
    if request.method != "M" or not request.is_sipc or "M" not in policy.sipc_methods:
        return False
    names = request.header_names
    present = set(names)
    if len(present) != len(names) or not present <= PLAIN_HEADERS or not present >= _REQUIRED:
        return False
    try:
        # Each accessor parses its header as validate does (ParseError if malformed); the
        # handler reads most of them anyway and they stay cached on the message.
        request.from_  # noqa: B018
        request.to  # noqa: B018
        request.call_id  # noqa: B018
        request.content_length  # noqa: B018
        request.event  # noqa: B018
        cseq = request.cseq
        content_type = request.content_type
        uri = request.request_uri
    except (ParseError, ValueError):
        return False
    if cseq is None or cseq.method != "M" or not isinstance(uri, BareId):
        return False
    # §8.2.3: a body's type must be one the server reads (SIP-C may leave it out).
    return not (
        request.body and content_type is not None and content_type.mime not in policy.accepted_types
    )


def sipc_answer(
    request: Request,
    status: int,
    reason: str | None,
    extra: Iterable[tuple[str, str]],
    body: bytes = b"",
) -> bytes | None:
    """``serialize(ensure_content_length(make_response(request, status, reason,
    extra=extra).with_body(body)))`` for a SIP-C request: T (or F), I and Q copied as written,
    then the extra headers by their SIP-C names, then ``L`` when there is a body.

    None when a copied value is folded over lines, or an extra header is a length (the
    general path writes those).
    """
    version = request.version
    if reason is None:
        reason = reason_phrase(status, version=version)
    copied: dict[str, str] = {}
    for key, name, sep, value in request.header_fields():
        if key in _COPIED and key not in copied:
            copied[key] = f"{name}{sep}{value}\r\n"
    address = copied.get("to") or copied.get("from") or ""
    lines = [f"{version} {status} {reason}\r\n", address]
    lines += [copied.get("call-id", ""), copied.get("cseq", "")]
    for name, value in extra:
        spelled = h.SIP_TO_SIPC.get(name.lower(), name)
        if spelled == "L" or spelled.lower() == "content-length":
            return None
        lines.append(f"{spelled}: {value}\r\n")
    if body:
        lines.append(f"L: {len(body)}\r\n")
    text = "".join(lines)
    if text.count("\n") != len(lines) - lines.count("") or "\r" in text.replace("\r\n", ""):
        return None
    return (text + "\r\n").encode("utf-8", "surrogateescape") + body
