"""HTTP routes of the SSI role for users: sign-in, sessions, apps, credentials.

Browser and script clients (see ``docs/single-sign-in.md``):

- ``POST /ssi/signin`` ``{"id", "password"}`` → session token, also as the ``ssic`` cookie
  (HttpOnly, SameSite=Lax); every other route takes the cookie or ``Authorization: Bearer``.
- ``GET /ssi/session``, ``POST /ssi/signout`` (revokes; back-channel logout to apps).
- ``GET /ssi/apps``; ``POST /ssi/credential`` ``{"app", "nonce"?}`` → a credential as JSON;
  ``POST /ssi/apps/{id}/open`` and ``GET /ssi/authorize?app=&nonce=`` → a page that POSTs the
  credential to the app's login URL (credentials never travel in URLs).
- Admin: apps and keys, in ``columba.servers.ssi_admin``.

Cookie-authenticated state changes are POSTs; the SameSite=Lax cookie is not sent on
cross-site POSTs, which is the CSRF defence. Errors are JSON ``{"error": …}``.
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from columba.servers.im import ssi as im_ssi
from columba.ssi.service import NotSignedIn, SignInRefused, SsiPolicy, SsiService
from columba.storage import Account, NotFound
from columba.storage.ssi import SsiApp, SsiSession

if TYPE_CHECKING:
    from columba.config import Config
    from columba.servers.node import Node

COOKIE = "ssic"


def ssi_policy(config: Config) -> SsiPolicy:
    """The SSI service's part of the configuration."""
    ssi = config.ssi
    return SsiPolicy(
        issuer=ssi.issuer,
        session_lifetime=ssi.session_lifetime,
        credential_lifetime=ssi.credential_lifetime,
        signins_per_minute=ssi.signins_per_minute,
        backchannel_timeout=ssi.backchannel_timeout,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SsiContext:
    """What the routes need: the service, the admin token and the SIP domain."""

    service: SsiService
    admin_token: str
    domain: str


CONTEXT = web.AppKey("ssi", SsiContext)


def _error(status: int, message: str, *, retry_after: int = 0) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return web.json_response({"error": message}, status=status, headers=headers)


def _context(request: web.Request) -> SsiContext:
    return request.app[CONTEXT]


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body; 415 unless sent as JSON (no cross-site form can), 400 if bad."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text='{"error": "send application/json"}', content_type="application/json"
        )
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


def read_token(request: web.Request) -> str:
    """The session token: ``Authorization: Bearer`` first, else the ``ssic`` cookie."""
    given = request.headers.get("Authorization", "")
    if given.startswith("Bearer "):
        return given[7:].strip()
    return request.cookies.get(COOKIE, "")


async def _signed_in(request: web.Request) -> tuple[SsiSession, Account]:
    try:
        return await _context(request).service.session(read_token(request))
    except NotSignedIn:
        raise web.HTTPUnauthorized(
            text='{"error": "not signed in"}', content_type="application/json"
        ) from None


def _user_json(account: Account, domain: str) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "number": account.number,
        "display_name": account.display_name,
        "uri": f"sip:{account.sid}@{domain}",
    }


def _session_json(session: SsiSession, account: Account, domain: str) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "expires_at": session.expires_at // 1_000_000,
        "user": _user_json(account, domain),
    }


async def signin(request: web.Request) -> web.Response:
    """``POST /ssi/signin``."""
    context = _context(request)
    body = await read_json(request)
    identity, password = body.get("id"), body.get("password")
    if not isinstance(identity, str) or not isinstance(password, str) or len(password) > 1024:
        return _error(400, "id and password (strings) are required")
    try:
        signed = await context.service.sign_in(identity, password, address=request.remote or "?")
    except SignInRefused as exc:
        return _error(exc.status, str(exc), retry_after=exc.retry_after)
    answer = _session_json(signed.session, signed.account, context.domain)
    response = web.json_response({"session": signed.token, **answer})
    set_session_cookie(request, response, signed.token, context.service.policy.session_lifetime)
    return response


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, token: str, lifetime: int
) -> None:
    """``ssic``: HttpOnly, SameSite=Lax (the CSRF defence of cookie-authenticated POSTs)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=lifetime,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


async def session_info(request: web.Request) -> web.Response:
    """``GET /ssi/session``."""
    session, account = await _signed_in(request)
    return web.json_response(_session_json(session, account, _context(request).domain))


async def signout(request: web.Request) -> web.Response:
    """``POST /ssi/signout``: revoke the session, tell the apps, drop the cookie."""
    session, _ = await _signed_in(request)
    delivered = await _context(request).service.sign_out(session)
    response = web.json_response({"signed_out": True, "apps_notified": delivered})
    response.del_cookie(COOKIE, path="/")
    return response


def _app_json(app: SsiApp) -> dict[str, Any]:
    return {"id": app.app_id, "name": app.name, "login_url": app.login_urls[0]}


async def apps(request: web.Request) -> web.Response:
    """``GET /ssi/apps``: the apps a signed-in user can open."""
    await _signed_in(request)
    listed = await _context(request).service.apps()
    return web.json_response({"apps": [_app_json(a) for a in listed]})


def _nonce(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise web.HTTPBadRequest(
            text='{"error": "nonce must be a string of at most 256 characters"}',
            content_type="application/json",
        )
    return value


async def _issue(request: web.Request, app_id: str, nonce: str | None) -> tuple[str, SsiApp]:
    session, account = await _signed_in(request)
    try:
        issued = await _context(request).service.credential(session, account, app_id, nonce=nonce)
    except NotFound:
        raise web.HTTPNotFound(
            text='{"error": "no such app"}', content_type="application/json"
        ) from None
    except NotSignedIn:
        raise web.HTTPUnauthorized(
            text='{"error": "not signed in"}', content_type="application/json"
        ) from None
    return issued.credential, issued.app


async def credential(request: web.Request) -> web.Response:
    """``POST /ssi/credential`` ``{"app", "nonce"?}``."""
    body = await read_json(request)
    app_id = body.get("app")
    if not isinstance(app_id, str):
        return _error(400, "app is required")
    token, app = await _issue(request, app_id, _nonce(body.get("nonce")))
    expires = _context(request).service.policy.credential_lifetime
    return web.json_response(
        {
            "credential": token,
            "app": app.app_id,
            "expires_in": expires,
            "login_url": app.login_urls[0],
        }
    )


def _autopost(url: str, fields: dict[str, str]) -> web.Response:
    """A page that POSTs ``fields`` to ``url`` at once (the OAuth form_post pattern)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>Signing in…</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(url)}">'
        f"{inputs}<noscript><button>Continue</button></noscript></form></body></html>"
    )
    return web.Response(
        text=page,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'unsafe-inline'; form-action *"
            ),
        },
    )


async def open_app(request: web.Request) -> web.Response:
    """``POST /ssi/apps/{id}/open`` (form): hand a fresh credential to the app.

    An app that registered an ``initiate_url`` is sent the browser there instead (OpenID
    Connect Core §4, third-party-initiated login): it starts its own login with a nonce and
    comes back through ``/ssi/authorize``, so it never has to accept an unsolicited credential.
    """
    form = await request.post()
    nonce = _nonce(form.get("nonce"))
    await _signed_in(request)
    try:
        target = await _context(request).service.app(request.match_info["app_id"])
    except NotFound:
        return _error(404, "no such app")
    if target.initiate_url and nonce is None:
        raise web.HTTPSeeOther(target.initiate_url)
    token, app = await _issue(request, target.app_id, nonce)
    fields = {"credential": token} | ({"nonce": nonce} if nonce else {})
    return _autopost(app.login_urls[0], fields)


async def authorize(request: web.Request) -> web.Response:
    """``GET /ssi/authorize?app=&nonce=&login_url=``: an app sends the browser here to log in.

    The login URL must be one the app registered (exact match, no open redirect).
    """
    app_id = request.query.get("app", "")
    nonce = _nonce(request.query.get("nonce"))
    try:
        session, account = await _context(request).service.session(read_token(request))
    except NotSignedIn:
        return web.Response(
            status=401,
            text="<!doctype html><p>Sign in to Columba first, then try again.</p>",
            content_type="text/html",
        )
    service = _context(request).service
    try:
        app = await service.app(app_id)
    except NotFound:
        return _error(404, "no such app")
    login_url = request.query.get("login_url") or app.login_urls[0]
    if login_url not in app.login_urls:
        return _error(400, "login_url is not registered for this app")
    issued = await service.credential(session, account, app.app_id, nonce=nonce)
    fields = {"credential": issued.credential} | ({"nonce": nonce} if nonce else {})
    return _autopost(login_url, fields)


def setup(app: web.Application, node: Node) -> None:
    """Add the SSI routes to a node's HTTP application."""
    app[CONTEXT] = SsiContext(
        service=node.im.login.ssi,
        admin_token=node.config.admin.token,
        domain=node.config.server.domain,
    )
    service = node.im.login.ssi
    service.sign_out_hooks.append(functools.partial(im_ssi.end_logins, node.im))
    router = app.router
    router.add_post("/ssi/signin", signin)
    router.add_get("/ssi/session", session_info)
    router.add_post("/ssi/signout", signout)
    router.add_get("/ssi/apps", apps)
    router.add_post("/ssi/apps/{app_id}/open", open_app)
    router.add_post("/ssi/credential", credential)
    router.add_get("/ssi/authorize", authorize)

    from columba.servers import oidc_web, ssi_admin  # both import this module

    ssi_admin.add_routes(app)
    oidc_web.setup(app, node)
