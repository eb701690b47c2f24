"""A plain SIP client (RFC 3261/3428/3856) over UDP or TCP, with Digest authentication."""

from __future__ import annotations

import re
import secrets
import ssl
from collections.abc import Callable

from columba.client.base import (
    BaseClient,
    ClientError,
    PresenceUpdate,
    TcpTransport,
    Transport,
    UdpTransport,
    header_list,
)
from columba.protocol.sip import digest
from columba.protocol.sip.auth import format_auth, parse_auth
from columba.protocol.sip.message import Request, Response

_BASIC = re.compile(rb"<basic>\s*(open|closed)\s*</basic>")
_NOTE = re.compile(rb"<note>(-?\d+|offline)</note></presence>")


class SipClient(BaseClient):
    """One SIP user agent."""

    def __init__(self, transport: Transport, *, domain: str, transport_name: str) -> None:
        super().__init__(transport)
        self.retransmit = transport_name == "UDP"
        self.domain = domain
        self.transport_name = transport_name
        self.user = ""
        self.password = ""
        self.tag = secrets.token_hex(4)
        self.instance = f'"<urn:uuid:{secrets.token_hex(16)}>"'

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        domain: str = "columba.local",
        transport: str = "udp",
        tls: ssl.SSLContext | None = None,
    ) -> SipClient:
        """Connect over ``udp``, ``tcp`` or ``tls`` (with ``tls`` as the client context)."""
        if transport == "udp":
            return cls(await UdpTransport.open(host, port), domain=domain, transport_name="UDP")
        if transport == "tls":
            context = tls or ssl.create_default_context()
            tcp = await TcpTransport.open(host, port, tls=context)
            return cls(tcp, domain=domain, transport_name="TLS")
        return cls(await TcpTransport.open(host, port), domain=domain, transport_name="TCP")

    def _request(
        self,
        method: str,
        uri: str,
        *headers: tuple[str, str],
        body: bytes = b"",
        call_id: str | None = None,
        to: str | None = None,
    ) -> Request:
        aor = f"sip:{self.user}@{self.domain}"
        base = (
            (
                "Via",
                f"SIP/2.0/{self.transport_name} {self.transport.local}"
                f";branch=z9hG4bK{secrets.token_hex(8)};rport",
            ),
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={self.tag}"),
            ("To", f"<{to or uri}>"),
            ("Call-ID", call_id or self.new_call_id()),
            ("CSeq", f"{next(self._cseq)} {method}"),
            (
                "Contact",
                f"<sip:{self.user}@{self.transport.local};transport={self.transport_name.lower()}>;+sip.instance={self.instance}",
            ),
            *headers,
            ("Content-Length", str(len(body))),
        )
        return Request(method=method, uri=uri, headers=header_list(*base), body=body)

    async def _ask_authenticated(
        self, make: Callable[[tuple[tuple[str, str], ...]], Request]
    ) -> Response:
        response = await self.ask(make(()))
        if response.status not in (401, 407):
            return response
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges = [parse_auth(v) for v in response.get_all(name)]
        chosen = digest.choose_challenge(challenges)
        if chosen is None:
            raise ClientError("no usable challenge")
        request = make(())
        credentials = digest.make_credentials(
            challenge=chosen,
            username=self.user,
            password=self.password,
            method=request.method,
            uri=request.uri,
        )
        header = "Authorization" if response.status == 401 else "Proxy-Authorization"
        return await self.ask(make(((header, format_auth(credentials)),)))

    async def register(self, user: str, password: str, *, expires: int = 600) -> Response:
        self.user, self.password = user, password
        call_id = self.new_call_id()
        registrar = f"sip:{self.domain}"
        response = await self._ask_authenticated(
            lambda extra: self._request(
                "REGISTER",
                registrar,
                ("Expires", str(expires)),
                *extra,
                call_id=call_id,
                to=f"sip:{user}@{self.domain}",
            )
        )
        if response.status != 200:
            raise ClientError(
                f"register: {response.status} {response.reason}", status=response.status
            )
        return response

    async def send_message(self, to: str, text: str, *, content_type: str = "text/plain") -> str:
        uri = to if ":" in to else f"sip:{to}@{self.domain}"
        call_id = self.new_call_id()
        response = await self._ask_authenticated(
            lambda extra: self._request(
                "MESSAGE",
                uri,
                ("Content-Type", content_type),
                *extra,
                body=text.encode(),
                call_id=call_id,
            )
        )
        if response.status not in (200, 202):  # 202: accepted, went on as SMS (RFC 3428 §7)
            raise ClientError(
                f"message refused: {response.status} {response.reason}", status=response.status
            )
        return response.get("X-Message-ID") or ""

    async def subscribe(self, to: str, *, expires: int = 3600) -> Response:
        uri = to if ":" in to else f"sip:{to}@{self.domain}"
        call_id = self.new_call_id()
        response = await self._ask_authenticated(
            lambda extra: self._request(
                "SUBSCRIBE",
                uri,
                ("Event", "presence"),
                ("Accept", "application/pidf+xml"),
                ("Expires", str(expires)),
                *extra,
                call_id=call_id,
            )
        )
        if response.status not in (200, 202):
            raise ClientError(f"subscribe: {response.status}", status=response.status)
        return response

    async def service(self, event: str, body: str) -> Response:
        """The SIP twin of SIP-C's ``S``: ``SERVICE`` with ``Event:``."""
        return await self.ask(
            self._request(
                "SERVICE",
                f"sip:{self.domain}",
                ("Event", event),
                ("Content-Type", "application/xml"),
                body=body.encode(),
            )
        )

    async def unregister(self) -> None:
        """Remove this device's registration (``Expires: 0``)."""
        call_id = self.new_call_id()
        response = await self._ask_authenticated(
            lambda extra: self._request(
                "REGISTER",
                f"sip:{self.domain}",
                ("Expires", "0"),
                *extra,
                call_id=call_id,
                to=f"sip:{self.user}@{self.domain}",
            )
        )
        if response.status != 200:
            raise ClientError(f"unregister: {response.status}", status=response.status)

    async def on_request(self, request: Request) -> None:
        if request.method == "MESSAGE":
            self.answer(request, 200)
            from_ = request.from_
            sender = getattr(from_.uri, "user", "") if from_ is not None else ""
            ctype = request.content_type
            mime = ctype.mime if ctype is not None else "text/plain"
            if mime != "application/im-iscomposing+xml":
                self.accept_message(
                    request.get("X-Message-ID") or "", sender or "", mime, request.body
                )
        elif request.method == "NOTIFY":
            self.answer(request, 200)
            self.events.put_nowait(request)
            from_ = request.from_
            sender = getattr(from_.uri, "user", "") if from_ is not None else ""
            if request.body:
                basic = _BASIC.search(request.body)
                note = _NOTE.search(request.body)
                value = 0
                if basic and basic.group(1) == b"open":
                    value = int(note.group(1)) if note and note.group(1) != b"offline" else 400
                self.presence.put_nowait(PresenceUpdate(sid=sender or "", value=value))
        else:
            self.answer(request, 200)
