"""The HTTP side of a node: SIP over WebSocket, metrics, the admin API, self-registration.

- ``GET /sip``: WebSocket with the ``sip`` subprotocol (RFC 7118); each WebSocket message is
  one SIP or SIP-C message, text or binary.
- ``GET /metrics``: Prometheus text format.
- ``/api/admin/…``: accounts and invites, with ``Authorization: Bearer <[admin] token>``;
  disabled (403) while no token is configured.
- ``POST /api/register``: self-registration, as ``[accounts] registration`` allows.
- ``GET /healthz``: 200 when the node is up.

Errors are JSON ``{"error": "…"}`` with a fitting status; secrets are never echoed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from columba.core.accounts import AccountError, create_account
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.framing import parse_datagram
from columba.protocol.sip.message import Response
from columba.servers import ssi_web, web_phones
from columba.storage import Account, Conflict, NotFound

if TYPE_CHECKING:
    from columba.servers.node import Node

log = logging.getLogger(__name__)

NODE = web.AppKey("node", object)


class WebSocketLink(Link):
    """A SIP WebSocket connection. Writes go through a queue to keep their order."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, *, secure: bool) -> None:
        peer = request.remote or "?"
        super().__init__(local_host=request.host, peer=peer)
        self.transport = "wss" if secure else "ws"
        self._ws = ws
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def _write(self, data: bytes) -> None:
        self._queue.put_nowait(data)

    def _close_transport(self) -> None:
        self._queue.put_nowait(None)

    async def writer(self) -> None:
        """Send queued messages as text frames (binary when not UTF-8)."""
        while (data := await self._queue.get()) is not None:
            try:
                await self._ws.send_str(data.decode("utf-8"))
            except UnicodeDecodeError:
                await self._ws.send_bytes(data)
            except ConnectionError:
                return
        await self._ws.close()


def _node(request: web.Request) -> Node:
    node = request.app[NODE]
    return node  # type: ignore[return-value]


async def sip_websocket(request: web.Request) -> web.StreamResponse:
    """RFC 7118 SIP over WebSocket."""
    node = _node(request)
    ws = web.WebSocketResponse(
        protocols=("sip",),
        heartbeat=30.0,
        max_msg_size=node.limits.max_header_bytes + node.limits.max_body_bytes,
    )
    await ws.prepare(request)
    if ws.ws_protocol != "sip":
        await ws.close(code=1002, message=b"the sip subprotocol is required")
        return ws
    link = WebSocketLink(ws, request, secure=request.secure)
    im = node.im
    node.metrics.connection_opened(link.transport)
    try:
        async with asyncio.TaskGroup() as group:
            link._group = group
            group.create_task(link.writer())
            async for frame in ws:
                if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                data = frame.data.encode() if frame.type == WSMsgType.TEXT else frame.data
                try:
                    message = parse_datagram(data, node.limits)
                except ParseError as exc:
                    im.bad_message(exc, data, link)
                    continue
                if isinstance(message, Response):
                    link.on_response(message)
                else:
                    await im.handle(message, link)
            link.close()
    finally:
        link.close()
        node.metrics.connection_closed(link.transport)
        await im.link_closed(link)
    return ws


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics."""
    node = _node(request)
    node.metrics.set_registrations(len(node.im.registry))
    body, content_type = node.metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def healthz(request: web.Request) -> web.Response:
    """Liveness."""
    del request
    return web.json_response({"status": "ok"})


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _account_json(account: Account, domain: str) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "number": account.number,
        "display_name": account.display_name,
        "uri": f"sip:{account.sid}@{domain}",
        "disabled": account.is_disabled,
        "created_at": account.created_at.isoformat(),
    }


def _is_admin(request: web.Request) -> bool:
    token = _node(request).config.admin.token
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


async def _create(request: web.Request, body: dict[str, Any], invite: str | None) -> web.Response:
    node = _node(request)
    try:
        account = await create_account(
            node.store,
            display_name=str(body.get("display_name", "")),
            password=str(body.get("password", "")),
            number=body.get("number") or None,
            realm=node.config.server.realm,
            invite_code=invite,
            policy=node.im.config.passwords,
        )
    except AccountError as exc:
        return _error(400, str(exc))
    except Conflict:
        return _error(409, "that number already has an account")
    except NotFound:
        return _error(403, "the invite is unknown, used up or expired")
    return web.json_response(_account_json(account, node.config.server.domain), status=201)


async def admin_users(request: web.Request) -> web.Response:
    """GET lists accounts (``?after=<last sid's user id>&limit=``); POST creates one."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    node = _node(request)
    if request.method == "POST":
        return await _create(request, await _json_body(request), None)
    try:
        after = int(request.query.get("after", "0"))
        limit = min(int(request.query.get("limit", "100")), 1000)
    except ValueError:
        return _error(400, "after and limit must be integers")
    accounts = await node.store.list_accounts(after=after, limit=limit)
    return web.json_response(
        {"users": [_account_json(a, node.config.server.domain) for a in accounts]}
    )


async def admin_user(request: web.Request) -> web.Response:
    """GET one account by sid; DELETE disables it and ends its logins."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    node = _node(request)
    try:
        account = await node.store.account_by_sid(request.match_info["sid"])
    except NotFound:
        return _error(404, "no such user")
    if request.method == "DELETE":
        account = await node.store.update_account(account.user_id, is_disabled=True)
        node.im.forget_account(account.user_id)
        for binding in node.im.registry.bindings(account.user_id):
            await node.im.push_out(binding)
    return web.json_response(_account_json(account, node.config.server.domain))


async def admin_invites(request: web.Request) -> web.Response:
    """POST creates an invite: ``{"uses": 1}``."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    body = await _json_body(request)
    try:
        uses = int(body.get("uses", 1))
    except (TypeError, ValueError):
        return _error(400, "uses must be an integer")
    invite = await _node(request).store.create_invite(created_by=None, uses=max(1, uses))
    return web.json_response({"code": invite.code, "uses": invite.uses_left}, status=201)


async def self_register(request: web.Request) -> web.Response:
    """Self-registration: open, invite-only, or closed (403)."""
    node = _node(request)
    mode = str(node.config.accounts.registration)
    if mode == "closed":
        return _error(403, "registration is closed on this server")
    body = await _json_body(request)
    invite = body.get("invite")
    if mode == "invite" and not invite:
        return _error(403, "an invite code is required")
    return await _create(request, body, str(invite) if invite else None)


def make_app(node: Node) -> web.Application:
    """The aiohttp application of a node."""
    from columba.robots.http import add_routes as robot_routes
    from columba.servers import web_client  # imports this module: import here, not at the top

    app = web.Application(client_max_size=64 * 1024)
    app[NODE] = node
    app.router.add_get("/sip", sip_websocket)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/api/admin/users", admin_users)
    app.router.add_route("*", "/api/admin/users/{sid}", admin_user)
    app.router.add_post("/api/admin/invites", admin_invites)
    app.router.add_post("/api/register", self_register)
    robot_routes(app)  # groups' robots: columba/robots/http.py
    ssi_web.setup(app, node)  # single sign-in and OpenID Connect (servers/ssi_web.py)
    web_client.add_routes(app)  # the browser client and admin console (servers/web_client.py)
    web_phones.add_routes(app)  # the SMSC simulator's virtual phones (servers/web_phones.py)
    return app
