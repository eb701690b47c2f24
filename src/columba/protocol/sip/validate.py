"""Syntax validation: parse every header the codec knows, and check the start line against them.

``validate`` is what ``columba sip check`` runs for its syntax verdict, and what a server runs
on every request it accepts. The application-layer checks of RFC 4475 §3.3 (which response a
server should give to a well-formed but unacceptable request) live in :mod:`.semantic`.
"""

from __future__ import annotations

from collections.abc import Callable

from columba.protocol.errors import ParseError
from columba.protocol.sip import grammar
from columba.protocol.sip import headers as h
from columba.protocol.sip.auth import parse_auth
from columba.protocol.sip.message import Message, Request
from columba.protocol.sip.uri import SipUri


def _name_address(where: str, sipc: bool) -> Callable[[str], object]:
    def parse(value: str) -> object:
        return [
            h.parse_name_address(part, where=where, sipc=sipc)
            for part in grammar.split_list(grammar.normalize(value))
        ]

    return parse


def _single_name_address(where: str, sipc: bool) -> Callable[[str], object]:
    return lambda value: h.parse_name_address(value, where=where, sipc=sipc)


def _auth(value: str) -> object:
    return parse_auth(grammar.normalize(value))


def _checks(sipc: bool) -> dict[str, Callable[[str], object]]:
    checks: dict[str, Callable[[str], object]] = {
        "via": h.parse_vias,
        "from": _single_name_address("From", sipc),
        "to": _single_name_address("To", sipc),
        "reply-to": _single_name_address("Reply-To", sipc),
        "call-id": h.parse_call_id,
        "cseq": h.parse_cseq,
        "max-forwards": h.parse_max_forwards,
        "contact": lambda v: h.parse_contacts(v, sipc=sipc),
        "content-length": lambda v: h.parse_uint32(v, "Content-Length"),
        "content-type": h.parse_media_type,
        "expires": lambda v: h.parse_uint32(v, "Expires"),
        "min-expires": lambda v: h.parse_uint32(v, "Min-Expires"),
        "date": h.parse_date,
        "route": h.parse_routes,
        "record-route": h.parse_routes,
        "require": lambda v: h.parse_tokens(v, "Require"),
        "proxy-require": lambda v: h.parse_tokens(v, "Proxy-Require"),
        "unsupported": lambda v: h.parse_tokens(v, "Unsupported"),
        "retry-after": h.parse_retry_after,
        "warning": h.parse_warnings,
        "event": h.parse_event,
        "accept": h.parse_accept,
        "authorization": _auth,
        "proxy-authorization": _auth,
        "www-authenticate": _auth,
        "proxy-authenticate": _auth,
        "p-asserted-identity": _name_address("P-Asserted-Identity", sipc),
    }
    if not sipc:
        checks["supported"] = lambda v: h.parse_tokens(v, "Supported")
    return checks


_CHECKS = {False: _checks(False), True: _checks(True)}


def validate(message: Message) -> None:
    """Parse every known header of ``message`` and check the start line against them.

    Checks (each a 400 unless said): every known header's grammar, including the scalar
    ranges of RFC 4475 ``scalar02``/``scalarlg``; the Request-URI's syntax, and no headers
    component in it (``escruri``); the CSeq method equals the request method
    (``mismatch01``/``mismatch02``).

    Raises:
        ParseError: the first problem found, with the status to answer.
    """
    keys, values, sipc, names, _, _ = message._head
    checks = _CHECKS[sipc]
    for i, key in enumerate(keys):
        check = checks.get(key)
        if check is None:
            continue
        try:
            check(values[i])
        except ParseError as exc:
            raise ParseError(f"{names[i]}: {exc.reason}", status=exc.status) from None
        except ValueError as exc:  # e.g. int() of a malformed parameter value
            raise ParseError(f"{names[i]}: {exc}") from None
    if isinstance(message, Request):
        _validate_request_line(message)


def _validate_request_line(request: Request) -> None:
    uri = request.request_uri  # parse_uri(request.uri), kept for the request's own use
    if isinstance(uri, SipUri) and uri.headers:
        raise ParseError("Request-URI must not contain headers (escaped or not)")
    cseq = request.cseq
    if cseq is not None and cseq.method != request.method:
        raise ParseError(f"CSeq method {cseq.method} does not match request method")
