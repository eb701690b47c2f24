"""A SIP-C client over TCP: Columba's two-step SCRAM login, messages, contacts, presence."""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
import secrets
import xml.etree.ElementTree as ET

from columba.client.base import (
    BaseClient,
    ClientError,
    PresenceUpdate,
    TcpTransport,
    Transport,
    header_list,
)
from columba.protocol.sip.auth import parse_auth
from columba.protocol.sip.message import Request, Response
from columba.protocol.sipc import scram

DOMAIN = "fetion.com.cn"


class SipcClient(BaseClient):
    """One SIP-C device."""

    def __init__(self, transport: Transport, *, machine_code: str | None = None) -> None:
        super().__init__(transport)
        self.sid = ""
        self.user_id = 0
        self.machine_code = machine_code or secrets.token_hex(16).upper()
        self.contacts: dict[str, int] = {}
        self.requests: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.login_results: ET.Element | None = None

    @classmethod
    async def connect_mcp(
        cls, host: str, port: int, *, stateful: bool = True, machine_code: str | None = None
    ) -> SipcClient:
        """Connect as a mobile client: MCP to the access gateway."""
        from columba.client.base import McpTransport

        transport = await McpTransport.open(host, port, stateful=stateful)
        return cls(transport, machine_code=machine_code)

    @classmethod
    async def connect_websocket(cls, url: str, *, machine_code: str | None = None) -> SipcClient:
        """Connect over WebSocket (``ws://host:port/sip``)."""
        from columba.client.base import WebSocketTransport

        return cls(await WebSocketTransport.open(url), machine_code=machine_code)

    @classmethod
    async def connect(cls, host: str, port: int, *, machine_code: str | None = None) -> SipcClient:
        """Open a TCP connection to the server's SIP-C listener."""
        return cls(await TcpTransport.open(host, port), machine_code=machine_code)

    def _request(
        self,
        method: str,
        *headers: tuple[str, str],
        body: bytes = b"",
        call_id: str | None = None,
    ) -> Request:
        base = [
            ("F", self.sid),
            ("I", call_id or self.new_call_id()),
            ("Q", f"{next(self._cseq)} {method}"),
        ]
        if body:
            base.append(("L", str(len(body))))
        return Request(
            method=method,
            uri=DOMAIN,
            version="SIP-C/4.0",
            headers=header_list(*base[:3], *headers, *base[3:]),
            body=body,
        )

    async def login(self, identity: str, password: str, *, presence: int = 400) -> Response:
        """Log in (two steps); raises ``ClientError`` on a refusal."""
        self.sid = identity
        cnonce = secrets.token_hex(16).upper()
        call_id = self.new_call_id()
        first = await self.ask(
            self._request(
                "R", ("CN", cnonce), ("CL", 'type="pc" ,version="columba"'), call_id=call_id
            )
        )
        if first.status != 401:
            raise ClientError(f"login step 1: {first.status} {first.reason}", status=first.status)
        challenge = parse_auth(first.get("W") or "")
        nonce = challenge.get("nonce") or ""
        salt = base64.b64decode(challenge.get("salt") or "")
        iterations = int(challenge.get("iterations") or "4096")
        message = scram.auth_message(
            sid=identity, cnonce=cnonce, nonce=nonce, salt=salt, iterations=iterations
        )
        proof = scram.client_proof(password, salt=salt, iterations=iterations, message=message)
        credentials = (
            f'Digest algorithm="{scram.ALGORITHM}",nonce="{nonce}",'
            f'response="{base64.b64encode(proof).decode()}"'
        )
        body = (
            f'<args><device machine-code="{self.machine_code}"/><caps value="1ff"/>'
            f'<presence><basic value="{presence}" desc=""/></presence></args>'
        ).encode()
        second = await self.ask(
            self._request("R", ("A", credentials), ("AK", "ak-value"), body=body, call_id=call_id)
        )
        if second.status != 200:
            raise ClientError(
                f"login refused: {second.status} {second.reason}", status=second.status
            )
        rspauth = parse_auth(second.get("A") or "Digest").get("rspauth") or ""
        expected = scram.expected_server_signature(
            password, salt=salt, iterations=iterations, message=message
        )
        if not hmac.compare_digest(base64.b64decode(rspauth or ""), expected):
            raise ClientError("the server did not prove it knows our verifier")
        self.login_results = ET.fromstring(second.body)
        personal = self.login_results.find("user-info/personal")
        if personal is not None:
            self.sid = personal.get("sid", identity)
            self.user_id = int(personal.get("user-id", "0"))
        return second

    async def subscribe_presence(self) -> None:
        """``SUB PresenceV4``: be told about every contact's presence."""
        body = b'<args><subscription self="v4default" buddy="v4default" version="0"/></args>'
        response = await self.ask(self._request("SUB", ("N", "PresenceV4"), body=body))
        if response.status != 200:
            raise ClientError(f"subscribe: {response.status}", status=response.status)

    async def send_message(self, to: str, text: str, *, content_type: str = "text/plain") -> str:
        """Send an IM; returns the server's message id (``XI``)."""
        uri = to if ":" in to else f"sip:{to}@{DOMAIN}"
        request = self._request(
            "M",
            ("T", uri),
            ("C", content_type),
            ("K", "SaveHistory"),
            ("N", "CatMsg"),
            body=text.encode(),
        )
        response = await self.ask(request)
        if response.status not in (200, 280):  # 280 Send SMS OK: it went on as SMS
            raise ClientError(
                f"message refused: {response.status} {response.reason}", status=response.status
            )
        return response.get("XI") or ""

    async def service(self, event: str, body: str) -> Response:
        """An ``S`` request with ``N: event``."""
        response = await self.ask(self._request("S", ("N", event), body=body.encode()))
        return response

    async def add_contact(self, identity: str) -> Response:
        uri = identity if ":" in identity else f"sip:{identity}@{DOMAIN}"
        body = (
            f'<args><contacts><buddies><buddy uri="{uri}" buddy-lists="" desc=""/>'
            "</buddies></contacts></args>"
        )
        return await self.service("AddBuddyV4", body)

    async def answer_contact(self, user_id: int | str, *, accept: bool = True) -> Response:
        body = (
            f'<args><contacts><buddies><buddy user-id="{user_id}" result="{int(accept)}"/>'
            "</buddies></contacts></args>"
        )
        return await self.service("HandleContactRequestV4", body)

    async def set_presence(self, value: int) -> Response:
        return await self.service(
            "SetPresenceV4", f'<args><presence><basic value="{value}"/></presence></args>'
        )

    async def keep_alive(self) -> int:
        """Refresh the login (``R`` with ``N: KeepAlive``); returns the granted lifetime."""
        response = await self.ask(self._request("R", ("N", "KeepAlive")))
        if response.status != 200:
            raise ClientError(f"keep-alive: {response.status}", status=response.status)
        return response.expires or 600

    async def logout(self) -> None:
        """Log out (``R`` with ``X: 0``) and close, even if the server does not answer."""
        try:
            await self.ask(self._request("R", ("X", "0")), within=5.0)
        except ClientError:
            pass
        finally:
            await self.close()

    async def on_request(self, request: Request) -> None:
        if request.method == "M":
            sender = (request.get("F") or "").split(":")[-1].split("@")[0]
            self.answer(request, 200)
            self.accept_message(
                request.get("XI") or "", sender, request.get("C") or "text/plain", request.body
            )
        elif request.method == "BN":
            self._notification(request)
        elif request.method in ("I", "O", "IN", "B"):
            self.answer(request, 200)

    def _notification(self, request: Request) -> None:
        self.events.put_nowait(request)
        try:
            root = ET.fromstring(request.body)
        except ET.ParseError:
            return
        event = root.find("event")
        kind = event.get("type") if event is not None else ""
        if request.event == "PresenceV4" and event is not None:
            for contact in event.iter("c"):
                p = contact.find("p")
                pr = contact.find("pr")
                sid = p.get("sid", "") if p is not None else ""
                if not sid:
                    sid = next(
                        (s for s, i in self.contacts.items() if str(i) == contact.get("id")), ""
                    )
                if p is not None:
                    self.contacts[sid] = int(contact.get("id", "0"))
                value = int(pr.get("b", "0")) if pr is not None else 0
                self.presence.put_nowait(PresenceUpdate(sid=sid, value=value))
        elif request.event == "contact" and kind == "AddBuddyApplication" and event is not None:
            application = event.find("application")
            if application is not None:
                uri = application.get("uri", "")
                self.requests.put_nowait(
                    {
                        "user_id": application.get("user-id", ""),
                        "uri": uri,
                        "sid": re.sub(r"^sip:([^@]+)@.*$", r"\1", uri),
                        "name": application.get("desc", ""),
                    }
                )

    async def next_contact_request(self, within: float = 10.0) -> dict[str, str]:
        return await asyncio.wait_for(self.requests.get(), within)
