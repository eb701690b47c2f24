"""HTTP routes of the OpenID Connect provider (``columba.oidc``).

- ``GET /.well-known/openid-configuration``, ``GET /oidc/jwks.json``;
- ``GET|POST /oidc/authorize``: for a browser signed in to SSI (``ssic`` cookie), a redirect
  with a code; otherwise a small sign-in form that posts to ``POST /oidc/signin``;
- ``POST /oidc/token``; ``GET|POST /oidc/userinfo`` with ``Authorization: Bearer``;
- admin: ``GET|POST /api/admin/oidc/clients``, ``POST /api/admin/oidc/keys`` (rotate now).
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from columba.oidc.provider import OidcPolicy, OidcProvider
from columba.oidc.server import EndUser, PreparedRequest
from columba.servers import ssi_admin, ssi_web
from columba.ssi.service import NotSignedIn, SignInRefused

if TYPE_CHECKING:
    from columba.servers.node import Node

PROVIDER = web.AppKey("oidc", OidcProvider)
MAX_REDIRECT_URIS = 10


def _provider(request: web.Request) -> OidcProvider:
    return request.app[PROVIDER]


def _respond(status: int, body: Any, headers: list[tuple[str, str]]) -> web.Response:
    out = {k: v for k, v in headers if k.lower() != "content-type"}
    out.setdefault("Cache-Control", "no-store")
    if isinstance(body, dict):
        return web.Response(
            status=status, text=json.dumps(body), content_type="application/json", headers=out
        )
    return web.Response(status=status, text=body or "", headers=out)


async def discovery(request: web.Request) -> web.Response:
    """OpenID Provider metadata."""
    return web.json_response(_provider(request).discovery())


async def jwks(request: web.Request) -> web.Response:
    """The ID-token verification keys."""
    return web.json_response(await _provider(request).jwks())


def _signin_page(next_url: str, message: str = "") -> web.Response:
    note = f"<p>{html.escape(message)}</p>" if message else ""
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>Sign in with Columba</title></head>"
        f"<body><h1>Sign in with Columba</h1>{note}"
        '<form method="post" action="/oidc/signin">'
        f'<input type="hidden" name="next" value="{html.escape(next_url)}">'
        '<label>Columba id or number <input name="id" autocomplete="username"></label>'
        '<label>Password <input name="password" type="password"'
        ' autocomplete="current-password"></label>'
        "<button>Sign in</button></form></body></html>"
    )
    return web.Response(
        text=page,
        content_type="text/html",
        status=401 if message else 200,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


async def authorize(request: web.Request) -> web.Response:
    """The authorization endpoint (OIDC Core §3.1.2)."""
    provider = _provider(request)
    form = list((await request.post()).items()) if request.method == "POST" else []
    try:
        session, account = await provider.ssi.session(ssi_web.read_token(request))
    except NotSignedIn:
        return _signin_page(request.path_qs if request.method == "GET" else "/")
    prepared = PreparedRequest(
        request.method,
        str(request.url),
        request.headers,
        list(request.query.items()),
        [(k, str(v)) for k, v in form],
    )
    user = EndUser(
        account=account, session_id=session.session_id, auth_time=session.auth_time // 1_000_000
    )
    return _respond(*await provider.authorize(prepared, user))


async def signin(request: web.Request) -> web.Response:
    """The sign-in form's target: SSI sign-in, then back to the authorization request."""
    form = await request.post()
    next_url = str(form.get("next", "/"))
    if not next_url.startswith("/oidc/authorize?"):
        next_url = "/"
    try:
        signed = await _provider(request).ssi.sign_in(
            str(form.get("id", "")), str(form.get("password", "")), address=request.remote or "?"
        )
    except SignInRefused as exc:
        return _signin_page(next_url, str(exc))
    response = web.Response(status=303, headers={"Location": next_url})
    ssi_web.set_session_cookie(
        request, response, signed.token, _provider(request).ssi.policy.session_lifetime
    )
    return response


async def token(request: web.Request) -> web.Response:
    """The token endpoint (RFC 6749 §3.2)."""
    form = await request.post()
    prepared = PreparedRequest(
        "POST", str(request.url), request.headers, [], [(k, str(v)) for k, v in form.items()]
    )
    return _respond(*await _provider(request).token(prepared))


async def userinfo(request: web.Request) -> web.Response:
    """The UserInfo endpoint (OIDC Core §5.3)."""
    given = request.headers.get("Authorization", "")
    claims = (
        await _provider(request).userinfo(given[7:].strip())
        if given.startswith("Bearer ")
        else None
    )
    if claims is None:
        return web.json_response(
            {"error": "invalid_token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return web.json_response(claims)


def _client_json(client: Any, secret: str | None = None) -> dict[str, Any]:
    answer = {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "public": client.is_public,
        "backchannel_logout_uri": client.backchannel_logout_uri,
    }
    if secret:
        answer["client_secret"] = secret
    return answer


async def admin_clients(request: web.Request) -> web.Response:
    """GET lists clients; POST registers one and shows its secret (once)."""
    ssi_admin.require_admin(request)
    provider = _provider(request)
    if request.method not in ("GET", "POST"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
    if request.method == "GET":
        return web.json_response({"clients": [_client_json(c) for c in await provider.clients()]})
    body = await ssi_web.read_json(request)
    name, uris = body.get("name"), body.get("redirect_uris")
    logout = body.get("backchannel_logout_uri", "")
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return web.json_response({"error": "name must be 1-64 characters"}, status=400)
    if (
        not isinstance(uris, list)
        or not 0 < len(uris) <= MAX_REDIRECT_URIS
        or not all(ssi_admin.is_http_url(u) for u in uris)
    ):
        return web.json_response({"error": "redirect_uris must be 1-10 http(s) URLs"}, status=400)
    if logout and not ssi_admin.is_http_url(logout):
        return web.json_response(
            {"error": "backchannel_logout_uri must be an http(s) URL"}, status=400
        )
    client, secret = await provider.register_client(
        name=name,
        redirect_uris=uris,
        is_public=bool(body.get("public", False)),
        backchannel_logout_uri=logout or "",
    )
    return web.json_response(_client_json(client, secret), status=201)


async def admin_keys(request: web.Request) -> web.Response:
    """POST: rotate the ID-token signing key now."""
    ssi_admin.require_admin(request)
    record = await _provider(request).rotate()
    return web.json_response({"kid": record.kid}, status=201)


def setup(app: web.Application, node: Node) -> None:
    """Add the OpenID Connect routes to a node's HTTP application."""
    config = node.config.ssi
    app[PROVIDER] = OidcProvider(
        store=node.store,
        ssi=node.im.login.ssi,
        policy=OidcPolicy(
            id_token_lifetime=config.id_token_lifetime,
            access_token_lifetime=config.access_token_lifetime,
            signing_key_days=config.signing_key_days,
        ),
    )
    router = app.router
    router.add_get("/.well-known/openid-configuration", discovery)
    router.add_get("/oidc/jwks.json", jwks)
    router.add_route("GET", "/oidc/authorize", authorize)
    router.add_route("POST", "/oidc/authorize", authorize)
    router.add_post("/oidc/signin", signin)
    router.add_post("/oidc/token", token)
    router.add_route("GET", "/oidc/userinfo", userinfo)
    router.add_route("POST", "/oidc/userinfo", userinfo)
    router.add_route("*", "/api/admin/oidc/clients", admin_clients)
    router.add_post("/api/admin/oidc/keys", admin_keys)
