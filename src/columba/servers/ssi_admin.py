"""Admin HTTP routes of the SSI role: third-party apps and their keys.

``Authorization: Bearer <[admin] token>`` (403 otherwise, or while no token is configured):

- ``GET|POST /api/admin/ssi/apps``: list; register (the first key is shown once);
- ``GET|DELETE /api/admin/ssi/apps/{id}``;
- ``POST /api/admin/ssi/apps/{id}/keys``: a new key that issues from now on (rotation);
- ``DELETE /api/admin/ssi/apps/{id}/keys/{kid}``: retire a key.
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import Any

from aiohttp import web

from columba.servers.ssi_web import CONTEXT, read_json
from columba.sso.verify import KEY_ALGORITHMS
from columba.storage import Conflict, NotFound
from columba.storage.ssi import AppKey, SsiApp

APP_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
MAX_URLS = 10


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _is_admin(request: web.Request) -> bool:
    token = request.app[CONTEXT].admin_token
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def require_admin(request: web.Request) -> None:
    """403 unless the admin bearer token is given."""
    if not _is_admin(request):
        raise web.HTTPForbidden(
            text='{"error": "admin API disabled or bad token"}', content_type="application/json"
        )


def _key_json(key: AppKey, *, with_secret: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "kid": key.kid,
        "created_at": key.created_at // 1_000_000,
        "retired": key.retired_at is not None,
    }
    if with_secret:
        answer["key"] = base64.urlsafe_b64encode(key.secret).rstrip(b"=").decode()
    return answer


def _admin_app_json(
    app: SsiApp, keys: list[AppKey], *, with_secret: bool = False
) -> dict[str, Any]:
    return {
        "id": app.app_id,
        "name": app.name,
        "login_urls": list(app.login_urls),
        "logout_url": app.logout_url,
        "initiate_url": app.initiate_url,
        "alg": app.alg,
        "keys": [_key_json(k, with_secret=with_secret) for k in keys],
    }


def is_http_url(value: object) -> bool:
    """An http(s) URL of sane length."""
    return (
        isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2048
    )


async def admin_apps(request: web.Request) -> web.Response:
    """GET lists apps; POST registers one and shows its first key (once)."""
    require_admin(request)
    service = request.app[CONTEXT].service
    if request.method not in ("GET", "POST"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
    if request.method == "GET":
        listed = [_admin_app_json(a, await service.keys(a.app_id)) for a in await service.apps()]
        return web.json_response({"apps": listed})
    body = await read_json(request)
    app_id, name = body.get("id"), body.get("name")
    urls, logout = body.get("login_urls"), body.get("logout_url", "")
    initiate = body.get("initiate_url", "")
    alg = body.get("alg", "dir")
    if not isinstance(app_id, str) or not APP_ID.match(app_id):
        return _error(400, "id must be 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return _error(400, "name must be 1-64 characters")
    if (
        not isinstance(urls, list)
        or not 0 < len(urls) <= MAX_URLS
        or not all(map(is_http_url, urls))
    ):
        return _error(400, f"login_urls must be 1-{MAX_URLS} http(s) URLs")
    if logout and not is_http_url(logout):
        return _error(400, "logout_url must be an http(s) URL")
    if initiate and not is_http_url(initiate):
        return _error(400, "initiate_url must be an http(s) URL")
    if alg not in KEY_ALGORITHMS:
        return _error(400, f"alg must be one of {', '.join(KEY_ALGORITHMS)}")
    try:
        app, key = await service.register_app(
            app_id,
            name=name,
            login_urls=urls,
            logout_url=logout or "",
            alg=alg,
            initiate_url=initiate or "",
        )
    except Conflict:
        return _error(409, "an app with that id exists")
    return web.json_response(_admin_app_json(app, [key], with_secret=True), status=201)


async def admin_app(request: web.Request) -> web.Response:
    """GET one app (no key material); DELETE removes it."""
    require_admin(request)
    service = request.app[CONTEXT].service
    app_id = request.match_info["app_id"]
    if request.method not in ("GET", "DELETE"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "DELETE"])
    try:
        app = await service.app(app_id)
        if request.method == "DELETE":
            await service.delete_app(app_id)
            return web.json_response({"deleted": app_id})
        return web.json_response(_admin_app_json(app, await service.keys(app_id)))
    except NotFound:
        return _error(404, "no such app")


async def admin_keys(request: web.Request) -> web.Response:
    """POST adds a key that issues from now on (rotation); the new key is shown once."""
    require_admin(request)
    try:
        key = await request.app[CONTEXT].service.rotate_key(request.match_info["app_id"])
    except NotFound:
        return _error(404, "no such app")
    return web.json_response(_key_json(key, with_secret=True), status=201)


async def admin_key(request: web.Request) -> web.Response:
    """DELETE retires a key: credentials under it are no longer issued."""
    require_admin(request)
    app_id, kid = request.match_info["app_id"], request.match_info["kid"]
    try:
        await request.app[CONTEXT].service.retire_key(app_id, kid)
    except NotFound:
        return _error(404, "no such live key")
    return web.json_response({"retired": kid})


def add_routes(app: web.Application) -> None:
    """Add the admin routes (``ssi_web.setup`` has put the context in ``app``)."""
    router = app.router
    router.add_route("*", "/api/admin/ssi/apps", admin_apps)
    router.add_route("*", "/api/admin/ssi/apps/{app_id}", admin_app)
    router.add_post("/api/admin/ssi/apps/{app_id}/keys", admin_keys)
    router.add_delete("/api/admin/ssi/apps/{app_id}/keys/{kid}", admin_key)
