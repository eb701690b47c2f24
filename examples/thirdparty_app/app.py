"""A third-party web app that logs users in with Columba single sign-in credentials.

It trusts one Columba SSI issuer and holds the keys the Columba admin gave it (a JSON file
``{"<kid>": "<base64url key>", …}``, re-read when it changes, so a key rotation needs no
restart). It uses only ``columba.sso``::

    python examples/thirdparty_app/app.py --issuer http://127.0.0.1:8088 --app-id weather \
        --keys-file weather-keys.json --port 8300

Routes:

- ``GET /``: who is logged in, or a "Sign in with Columba" link.
- ``GET /login/start``: makes a login nonce (kept in an HttpOnly cookie) and sends the browser
  to Columba's ``/ssi/authorize``, which POSTs a credential back to ``/login``. Register it as
  the app's ``initiate_url``, so that "open" buttons in Columba's web client start here.
- ``GET /login/nonce``: the same nonce as JSON, for native clients that ask SSI themselves.
- ``POST /login`` (form ``credential``): verifies it with ``columba.sso`` and opens a session.
- ``GET /me``: the session's user as JSON (401 when logged out).
- ``POST /backchannel-logout`` (form ``logout_token``): ends the sessions of that SSI session.

Prints ``listening http://host:port`` once it serves (port 0 picks a free one).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import json
import secrets
import signal
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from columba.sso import CredentialError, CredentialVerifier, Identity

NONCE_COOKIE = "login_nonce"
SESSION_COOKIE = "app_session"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ThirdPartyApp:
    """The app's state: its verifier (rebuilt when the key file changes) and its sessions."""

    def __init__(self, *, issuer: str, app_id: str, keys_file: Path, require_nonce: bool) -> None:
        self.issuer = issuer.rstrip("/")
        self.app_id = app_id
        self.keys_file = keys_file
        self.require_nonce = require_nonce
        self._mtime = -1.0
        self._verifier: CredentialVerifier | None = None
        self.sessions: dict[str, Identity] = {}

    def verifier(self) -> CredentialVerifier:
        """The verifier for the current key file (the replay store survives a reload)."""
        mtime = self.keys_file.stat().st_mtime if self.keys_file.exists() else 0.0
        if self._verifier is None or mtime != self._mtime:
            raw = json.loads(self.keys_file.read_text()) if mtime else {}
            keys = {kid: _unb64(value) for kid, value in raw.items()}
            replay = self._verifier.replay if self._verifier is not None else None
            self._verifier = CredentialVerifier(
                issuer=self.issuer, audience=self.app_id, keys=keys, replay=replay
            )
            self._mtime = mtime
        return self._verifier

    async def index(self, request: web.Request) -> web.Response:
        identity = self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if identity is None:
            body = '<p>Not signed in. <a href="/login/start">Sign in with Columba</a></p>'
        else:
            body = f"<p>Hello, {html.escape(identity.name or identity.subject)}.</p>"
        return web.Response(
            text=f"<!doctype html><title>{self.app_id}</title>{body}", content_type="text/html"
        )

    def _with_nonce(self, request: web.Request, response: web.StreamResponse) -> str:
        # SSI POSTs the credential back from its own origin: over https the nonce cookie must
        # be SameSite=None (and so Secure) to come along; on http (a local demo, where SSI and
        # the app are the same site on two ports) Lax suffices and browsers accept it.
        nonce = secrets.token_urlsafe(16)
        same_site = "None" if request.secure else "Lax"
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            httponly=True,
            samesite=same_site,
            secure=request.secure,
            max_age=300,
        )
        return nonce

    async def login_start(self, request: web.Request) -> web.Response:
        response = web.Response(status=303)
        nonce = self._with_nonce(request, response)
        query = urlencode({"app": self.app_id, "nonce": nonce})
        response.headers["Location"] = f"{self.issuer}/ssi/authorize?{query}"
        return response

    async def login_nonce(self, request: web.Request) -> web.Response:
        response = web.json_response({})
        nonce = self._with_nonce(request, response)
        response.text = json.dumps({"nonce": nonce})
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        credential = form.get("credential")
        nonce = request.cookies.get(NONCE_COOKIE)
        if not isinstance(credential, str):
            return web.json_response({"error": "credential required"}, status=400)
        if self.require_nonce and not nonce:
            return web.json_response({"error": "no login in progress"}, status=401)
        try:
            identity = self.verifier().verify(credential, nonce=nonce)
        except CredentialError as exc:
            return web.json_response({"error": exc.reason}, status=401)
        token = secrets.token_urlsafe(24)
        self.sessions[token] = identity
        answer = {"sub": identity.subject, "name": identity.name, "sid": identity.session_id}
        wants_page = "text/html" in request.headers.get("Accept", "")
        response = (
            web.Response(status=303, headers={"Location": "/"})
            if wants_page
            else web.json_response(answer)
        )
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax")
        response.del_cookie(NONCE_COOKIE)
        return response

    async def me(self, request: web.Request) -> web.Response:
        identity = self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if identity is None:
            return web.json_response({"error": "not signed in"}, status=401)
        return web.json_response({"sub": identity.subject, "name": identity.name})

    async def backchannel_logout(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = form.get("logout_token")
        if not isinstance(token, str):
            return web.json_response({"error": "logout_token required"}, status=400)
        try:
            notice = self.verifier().verify_logout(token)
        except CredentialError as exc:
            return web.json_response({"error": exc.reason}, status=400)
        ended = [t for t, i in self.sessions.items() if i.session_id == notice.session_id]
        for t in ended:
            del self.sessions[t]
        return web.json_response({"ended": len(ended)})

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024)
        app.router.add_get("/", self.index)
        app.router.add_get("/login/start", self.login_start)
        app.router.add_get("/login/nonce", self.login_nonce)
        app.router.add_post("/login", self.login)
        app.router.add_get("/me", self.me)
        app.router.add_post("/backchannel-logout", self.backchannel_logout)
        return app


async def main(args: argparse.Namespace) -> None:
    tp = ThirdPartyApp(
        issuer=args.issuer,
        app_id=args.app_id,
        keys_file=Path(args.keys_file),
        require_nonce=not args.allow_unsolicited,
    )
    runner = web.AppRunner(tp.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"listening http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True, help="Columba's SSI base URL (iss)")
    parser.add_argument("--app-id", required=True, help="this app's id at Columba (aud)")
    parser.add_argument("--keys-file", required=True, help='JSON {"kid": "base64url key"}')
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument(
        "--allow-unsolicited", action="store_true", help="accept credentials without a login nonce"
    )
    asyncio.run(main(parser.parse_args()))
