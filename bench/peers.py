"""How ``bench/parse.py`` drives each contender's parser.

Every contender is reduced to the same shape: a few *modes*, each a function that takes the raw
bytes of one message and either returns (accepted) or raises (rejected). The harness times
those functions with one loop for everybody, so a contender's figures depend only on what its
mode function does:

``parse``
    Turn the bytes into the library's message object and nothing more (a lazy library pays
    its costs later, in ``typed``).
``typed``
    ``parse`` plus reading the ten header fields of ``sip-compression.md`` §4 through the
    library's typed API: Via, From, To, CSeq, Call-ID, Max-Forwards, Contact, Content-Length,
    Content-Type, Date. The adapter adds no checks of its own; whatever the library raises
    is a rejection.
``typed-all`` (Columba only)
    ``parse`` plus ``validate(msg)``: the typed parse of every header our codec knows.

Peers are imported only when asked for, so the benchmark runs without the ``bench``
dependency group and before our own parser exists; a contender that cannot be loaded is
reported with the reason instead.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ModeFn = Callable[[bytes], object]

#: The names ``load()`` understands, in the order the reports list them.
CONTENDERS = ("columba", "sippy", "sipmessage")


@dataclass(frozen=True, slots=True, kw_only=True)
class Contender:
    """One parser under test.

    Attributes:
        name: Short name used in reports (``columba``, ``sippy``, ``sipmessage``).
        version: Installed version of the library.
        modes: Mode name → function of one message's bytes; raising means "rejected".
        rejection: The exception types that are the library's documented way of rejecting a
            message. Anything else still counts as a rejection (that is what a server using the
            library would see) but the report lists it, because for our own codec it is a bug:
            no ``KeyError`` may cross the package line.
        notes: Caveats about how the adapter had to reach a field, printed with the results.
    """

    name: str
    version: str
    modes: Mapping[str, ModeFn]
    rejection: tuple[type[BaseException], ...] = (Exception,)
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class Unavailable:
    """A contender that could not be loaded, and why."""

    name: str
    reason: str


class _NotAvailable(Exception):
    """Raised by a loader when its library cannot be imported."""


def load(names: tuple[str, ...] = CONTENDERS) -> tuple[list[Contender], list[Unavailable]]:
    """Import the requested contenders.

    Args:
        names: Contender names, a subset of ``CONTENDERS``.

    Returns:
        The contenders that loaded, and the ones that did not with the reason.
    """
    loaders: dict[str, Callable[[], Contender]] = {
        "columba": _load_columba,
        "sippy": _load_sippy,
        "sipmessage": _load_sipmessage,
    }
    loaded: list[Contender] = []
    missing: list[Unavailable] = []
    for name in names:
        try:
            loaded.append(loaders[name]())
        except _NotAvailable as exc:
            missing.append(Unavailable(name=name, reason=str(exc)))
    return loaded, missing


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# --- Columba -----------------------------------------------------------------------------------


def _load_columba() -> Contender:
    try:
        from columba.protocol.errors import ParseError
        from columba.protocol.sip import parse_message
    except ImportError as exc:
        raise _NotAvailable(f"not available yet ({exc})") from exc
    except Exception as exc:
        # The codec is being written in the same tree: a half-saved module must not stop the
        # peers from being measured, but the failure has to be visible.
        raise _NotAvailable(f"import failed: {type(exc).__name__}: {exc}") from exc

    def parse(data: bytes) -> object:
        return parse_message(data, datagram=True)

    def typed(data: bytes) -> object:
        msg = parse_message(data, datagram=True)
        return (
            msg.via,
            msg.from_,
            msg.to,
            msg.cseq,
            msg.call_id,
            msg.max_forwards,
            msg.contact,
            msg.content_length,
            msg.content_type,
            msg.date,
        )

    modes: dict[str, ModeFn] = {"parse": parse, "typed": typed}
    notes: tuple[str, ...] = ()
    try:
        from columba.protocol.sip import validate
    except ImportError:
        notes = ("validate() not available yet: typed-all skipped",)
    else:

        def typed_all(data: bytes) -> object:
            msg = parse_message(data, datagram=True)
            validate(msg)
            return msg

        modes["typed-all"] = typed_all

    return Contender(
        name="columba",
        version=_version("columba"),
        modes=modes,
        rejection=(ParseError,),
        notes=notes,
    )


# --- sippy ---------------------------------------------------------------------------------------


def _load_sippy() -> Contender:
    try:
        from sippy.SipRequest import SipRequest
        from sippy.SipResponse import SipResponse
    except ImportError as exc:
        raise _NotAvailable(
            f"not installed ({exc}); run with `uv run --frozen --group bench`"
        ) from exc

    def parse(data: bytes) -> Any:
        # sippy parses str. Its own receive path (SipTransactionManager.handleIncoming) decodes
        # strict UTF-8 and then compares Content-Length with len(body) in *characters*, so it
        # drops every message with a non-ASCII or binary body ("Truncated SIP body"). ISO-8859-1
        # maps bytes to characters one to one, which keeps those checks right and matches the
        # figures of sip-compression.md §4 (sippy parses the whole IM corpus and mpart01).
        text = data.decode("latin-1")
        # Also as handleIncoming: whatever does not start with "SIP/2.0 " is a request. SIP-C
        # start lines ("R fetion.com.cn SIP-C/4.0", "SIP-C/4.0 200 OK") therefore go to
        # SipRequest, which rejects them; that is sippy's answer and is counted as such.
        if text.startswith("SIP/2.0 "):
            return SipResponse(text)
        return SipRequest(text)

    def typed(data: bytes) -> object:
        msg = parse(data)
        # getHFBody() runs the header class's lazy parse(); getHFBody (singular) raises
        # IndexError when the header is absent, so it is used only for the fields sippy itself
        # insists on (SipMsg.__init__ rejects messages without Via/From/To/CSeq, getTIds()
        # needs Call-ID). Optional fields go through getHFBodys, which tolerates absence.
        via = msg.getHFBodys("via")
        from_ = msg.getHFBody("from")
        to = msg.getHFBody("to")
        cseq = msg.getHFBody("cseq").getCSeq()
        call_id = str(msg.getHFBody("call-id"))
        max_forwards = [hf.getNum() for hf in msg.getHFBodys("max-forwards")]
        contact = msg.getHFBodys("contact")
        # SipMsg keeps Content-Length and Content-Type out of msg.headers, in name-mangled
        # private attributes; they are the only place the values live once parsed.
        length_hf = msg._SipMsg__content_length
        content_length = None if length_hf is None else length_hf.getBody().getNum()
        type_hf = msg._SipMsg__content_type
        content_type = None if type_hf is None else type_hf.getBody()
        # sippy has no Date class: the header is a SipGenericHF holding the raw text.
        date = [str(hf) for hf in msg.getHFBodys("date")]
        return (
            via,
            from_,
            to,
            cseq,
            call_id,
            max_forwards,
            contact,
            content_length,
            content_type,
            date,
        )

    return Contender(
        name="sippy",
        version=_version("sippy"),
        modes={"parse": parse, "typed": typed},
        notes=(
            "given the bytes as ISO-8859-1 text; decoded strict UTF-8, as its own transaction "
            "manager does, it would reject every message with a non-ASCII or binary body "
            "(Content-Length compared with a length in characters)",
            "no typed Date header: typed mode reads it as raw text",
            "typed mode reads Content-Length/Content-Type from SipMsg's private attributes",
        ),
    )


# --- sipmessage ----------------------------------------------------------------------------------


def _load_sipmessage() -> Contender:
    try:
        from sipmessage import Message
    except ImportError as exc:
        raise _NotAvailable(
            f"not installed ({exc}); run with `uv run --frozen --group bench`"
        ) from exc

    def parse(data: bytes) -> object:
        # Message.parse only splits the header lines; every typed property parses on access.
        return Message.parse(data)

    def typed(data: bytes) -> object:
        msg = Message.parse(data)
        return (
            msg.via,
            msg.from_address,
            msg.to_address,
            msg.cseq,
            msg.call_id,
            msg.max_forwards,
            msg.contact,
            msg.content_length,
            msg.content_type,
            msg.date,
        )

    return Contender(
        name="sipmessage",
        version=_version("sipmessage"),
        modes={"parse": parse, "typed": typed},
    )
