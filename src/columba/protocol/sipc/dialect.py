"""Table-driven conversion between a message's SIP-C and SIP spellings.

A SIP-C message and its SIP twin differ only in spelling (``../shared/DESIGN.md``): method
abbreviations (``M`` ⇄ ``MESSAGE``), header letters (``F`` ⇄ ``From``), the version
(``SIP-C/4.0`` ⇄ ``SIP/2.0``) and bare identifiers (``fetion.com.cn`` ⇄ ``sip:fetion.com.cn``).
Header order, separators, folds and bodies are carried over unchanged, so converting there and
back gives the original bytes. The one ambiguity: a SIP-C value that already was
``sip:<no @>`` comes back bare.
"""

from __future__ import annotations

from collections.abc import Callable

from columba.protocol.errors import LocalProtocolError
from columba.protocol.sip import grammar
from columba.protocol.sip.headers import SIP_TO_SIPC, SIPC_TO_SIP, canonical_name
from columba.protocol.sip.message import Header, Message, Request, Response

#: SIP-C method abbreviations (fetion-sipc.md §1.3) and their SIP spelling. ``BN`` (Fetion's
#: server notification) and ``S`` (its RPC) have no RFC method, so they keep descriptive names;
#: ``NEG`` is used only as a traffic signature.
SIPC_TO_SIP_METHOD: dict[str, str] = {
    "R": "REGISTER",
    "S": "SERVICE",
    "SUB": "SUBSCRIBE",
    "BN": "BENOTIFY",
    "N": "NOTIFY",
    "M": "MESSAGE",
    "I": "INVITE",
    "A": "ACK",
    "O": "OPTIONS",
    "IN": "INFO",
    "B": "BYE",
    "C": "CANCEL",
    "NEG": "NEGOTIATE",
}
SIP_TO_SIPC_METHOD: dict[str, str] = {v: k for k, v in SIPC_TO_SIP_METHOD.items()}

#: Headers whose values hold a URI or identifier that SIP-C may write bare.
_ADDRESS_HEADERS = frozenset({"from", "to"})


def _sip_uri(value: str) -> str:
    stripped = value.strip(" \t")
    if stripped and grammar.scheme_re.match(stripped) is None and "<" not in stripped:
        return value.replace(stripped, "sip:" + stripped, 1)
    return value


def _bare(value: str) -> str:
    stripped = value.strip(" \t")
    if stripped.startswith("sip:") and "@" not in stripped and "<" not in stripped:
        rest = stripped[4:]
        if rest and grammar.token_full.match(rest):
            return value.replace(stripped, rest, 1)
    return value


def _cseq(value: str, table: dict[str, str]) -> str:
    number, sep, method = value.rpartition(" ")
    if not sep:
        return value
    core = method.rstrip(" \t")
    return f"{number} {table.get(core, core)}{method[len(core) :]}"


def to_sip(message: Message, *, domain: str = "fetion.com.cn") -> Message:
    """Spell a SIP-C message as SIP.

    Args:
        message: A message whose version is ``SIP-C/…``.
        domain: Unused for the spelling itself; kept so callers can later map sids to AORs.

    Raises:
        LocalProtocolError: the message is not SIP-C.
    """
    del domain
    if not message.is_sipc:
        raise LocalProtocolError("to_sip() needs a SIP-C message")
    headers = []
    for header in message.headers:
        key = canonical_name(header.name, sipc=True)
        name = SIPC_TO_SIP.get(header.name, header.name)
        value = header.value
        if key in _ADDRESS_HEADERS:
            value = _sip_uri(value)
        elif key == "cseq":
            value = _cseq(value, SIPC_TO_SIP_METHOD)
        headers.append(Header(name, value, header.sep))
    return _rebuild(message, tuple(headers), "SIP/2.0", SIPC_TO_SIP_METHOD, _sip_uri)


def to_sipc(message: Message, *, version: str = "SIP-C/4.0") -> Message:
    """Spell a SIP message as SIP-C.

    Args:
        message: A message whose version is ``SIP/2.0``.
        version: ``SIP-C/4.0`` (default) or ``SIP-C/2.0``.

    Raises:
        LocalProtocolError: the message is already SIP-C, or the version is not SIP-C.
    """
    if message.is_sipc or not version.startswith("SIP-C/"):
        raise LocalProtocolError("to_sipc() needs a SIP message and a SIP-C version")
    headers = []
    for header in message.headers:
        key = canonical_name(header.name, sipc=False)
        name = SIP_TO_SIPC.get(key, header.name)
        value = header.value
        if key in _ADDRESS_HEADERS:
            value = _bare(value)
        elif key == "cseq":
            value = _cseq(value, SIP_TO_SIPC_METHOD)
        headers.append(Header(name, value, header.sep))
    return _rebuild(message, tuple(headers), version, SIP_TO_SIPC_METHOD, _bare)


def _rebuild(
    message: Message,
    headers: tuple[Header, ...],
    version: str,
    methods: dict[str, str],
    convert_uri: Callable[[str], str],
) -> Message:
    if isinstance(message, Response):
        return Response(
            status=message.status,
            reason=message.reason,
            version=version,
            headers=headers,
            body=message.body,
            eol=message.eol,
            is_terminated=message.is_terminated,
        )
    return Request(
        method=methods.get(message.method, message.method),
        uri=convert_uri(message.uri),
        version=version,
        headers=headers,
        body=message.body,
        eol=message.eol,
        is_terminated=message.is_terminated,
    )
