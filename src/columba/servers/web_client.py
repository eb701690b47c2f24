"""The browser client and the admin console: static files, plus the admin sessions API.

- ``GET /``: the web client (``webclient/static/index.html``); it talks SIP-C over the
  WebSocket at ``/sip`` like every other client, HTTP only for sign-in and administration.
- ``GET /admin``: the admin console; it calls ``/api/admin/…`` with the bearer token the
  administrator types in (kept in the tab's session storage only).
- ``GET /static/…``: the files both pages load (no build step: plain ES modules and CSS).
- ``GET /api/admin/sessions``: every registered device; ``DELETE /api/admin/sessions/{sid}``
  ends a user's logins (the devices are told, as after a login elsewhere).
- ``GET /api/admin/sms``: the SMS outbox by state, the quotas and each user's use of them.

Pages are served with a strict Content-Security-Policy: scripts and styles from this origin
only, connections to this origin (and its WebSocket) only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from columba.core.registry import Binding
from columba.servers import web as web_api

STATIC = Path(__file__).resolve().parent.parent / "webclient" / "static"

#: Same-origin everything; ``ws:``/``wss:`` for the SIP WebSocket (CSP 3 treats 'self' as
#: covering ws: only in newer browsers).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(
        STATIC / name,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


async def client_page(request: web.Request) -> web.FileResponse:
    """The web client."""
    del request
    return _page("index.html")


async def admin_page(request: web.Request) -> web.FileResponse:
    """The admin console."""
    del request
    return _page("admin.html")


def _session_json(binding: Binding, now: float) -> dict[str, Any]:
    link = binding.link
    return {
        "sid": binding.sid,
        "user_id": binding.user_id,
        "device_id": binding.device_id,
        "dialect": binding.dialect.name.lower(),
        "transport": getattr(link, "transport", "?"),
        "peer": getattr(link, "peer", ""),
        "presence": binding.presence,
        "online_seconds": max(0, round(now - binding.registered_at)),
        "expires_in": max(0, round(binding.expires_at - now)),
    }


async def admin_sessions(request: web.Request) -> web.Response:
    """GET: every registered device, newest login first."""
    if not web_api._is_admin(request):
        return web_api._error(403, "admin API disabled or bad token")
    node = web_api._node(request)
    now = time.monotonic()
    bindings = sorted(node.im.registry.all(), key=lambda b: -b.registered_at)
    return web.json_response({"sessions": [_session_json(b, now) for b in bindings]})


async def admin_end_sessions(request: web.Request) -> web.Response:
    """DELETE: end every login of one user (the account stays enabled)."""
    if not web_api._is_admin(request):
        return web_api._error(403, "admin API disabled or bad token")
    node = web_api._node(request)
    account = await node.im.account_for(request.match_info["sid"])
    if account is None:
        return web_api._error(404, "no such user")
    ended = 0
    for binding in list(node.im.registry.bindings(account.user_id)):
        await node.im.push_out(binding)
        ended += 1
    return web.json_response({"sid": account.sid, "ended": ended})


async def admin_sms(request: web.Request) -> web.Response:
    """GET: the SMS outbox by state, the quotas, and each user's SMS sent today and this month.

    Users are listed in account order, at most ``limit`` (default 100, at most 1000) of those
    with a number.
    """
    if not web_api._is_admin(request):
        return web_api._error(403, "admin API disabled or bad token")
    node = web_api._node(request)
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
    except ValueError:
        return web_api._error(400, "limit must be an integer")
    sms = node.store.sms
    users = []
    for account in await node.store.list_accounts(limit=limit):
        if account.number:
            day, month = await sms.usage(account.user_id)
            users.append({"sid": account.sid, "number": account.number, "day": day, "month": month})
    config = node.config.sms
    return web.json_response(
        {
            "enabled": config.enabled,
            "queue": await sms.count_states(),
            "day_limit": config.day_limit,
            "month_limit": config.month_limit,
            "users": users,
        }
    )


def add_routes(app: web.Application) -> None:
    """Add the web client's and the admin console's routes to the node's application."""
    app.router.add_get("/", client_page)
    app.router.add_get("/admin", admin_page)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/api/admin/sessions", admin_sessions)
    app.router.add_delete("/api/admin/sessions/{sid}", admin_end_sessions)
    app.router.add_get("/api/admin/sms", admin_sms)
