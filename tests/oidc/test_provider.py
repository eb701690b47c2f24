"""The OpenID Connect provider against a real server: a relying party signs a user in.

The relying party is played by this test with aiohttp (no redirects followed, so each step is
visible) and checks the ID token the way an RP library does: signature by the JWKS, ``iss``,
``aud``, ``exp``, ``nonce``. The attacks the issue names are refused: code replay, a redirect
URI that was not registered, missing PKCE (and ``plain``), a replayed nonce.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tests.scenarios.harness import ADMIN_TOKEN, Server

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REDIRECT = "http://127.0.0.1:9/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class RelyingParty:
    """Just enough of an OIDC client to drive the provider step by step."""

    def __init__(self, base: str, http: aiohttp.ClientSession, client: dict[str, Any]) -> None:
        self.base = base
        self.http = http
        self.client = client

    async def metadata(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/.well-known/openid-configuration") as response:
            assert response.status == 200
            return dict(await response.json())

    def authorize_url(self, **params: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client["client_id"],
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": secrets.token_urlsafe(8),
        } | params
        return f"{self.base}/oidc/authorize?{urlencode(query)}"

    async def authorize(self, url: str) -> tuple[int, dict[str, list[str]]]:
        async with self.http.get(url, allow_redirects=False) as response:
            if response.status != 302:
                return response.status, {}
            location = response.headers["Location"]
        assert location.startswith(REDIRECT + "?")
        return 302, parse_qs(urlsplit(location).query)

    async def token(self, code: str, verifier: str | None) -> tuple[int, dict[str, Any]]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        if verifier:
            form["code_verifier"] = verifier
        headers = {}
        if self.client.get("client_secret"):
            pair = f"{self.client['client_id']}:{self.client['client_secret']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            form["client_id"] = self.client["client_id"]
        async with self.http.post(
            f"{self.base}/oidc/token", data=form, headers=headers
        ) as response:
            return response.status, dict(await response.json())

    async def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/oidc/jwks.json") as response:
            keys = KeySet.import_key_set(await response.json())
        token = jwt.decode(id_token, keys, algorithms=["RS256"])
        JWTClaimsRegistry(
            iss={"essential": True, "value": self.base},
            aud={"essential": True, "value": self.client["client_id"]},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
        ).validate(token.claims)
        return dict(token.claims)


async def register_client(
    http: aiohttp.ClientSession, base: str, *, public: bool, logout_uri: str = ""
) -> dict[str, Any]:
    body = {
        "name": "Forum",
        "redirect_uris": [REDIRECT],
        "public": public,
        "backchannel_logout_uri": logout_uri,
    }
    async with http.post(f"{base}/api/admin/oidc/clients", json=body, headers=ADMIN) as response:
        assert response.status == 201
        return dict(await response.json())


async def logout_receiver() -> tuple[web.AppRunner, str, asyncio.Queue[str]]:
    """A relying party's back-channel logout endpoint: queues each ``logout_token``."""
    received: asyncio.Queue[str] = asyncio.Queue()

    async def endpoint(request: web.Request) -> web.Response:
        received.put_nowait(str((await request.post())["logout_token"]))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/logout", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/logout", received


async def sign_in_via_form(
    http: aiohttp.ClientSession, base: str, url: str, sid: str, password: str
) -> None:
    async with http.get(url, allow_redirects=False) as response:
        assert response.status == 200
        assert "Sign in with Columba" in await response.text()
    next_url = url.removeprefix(base)
    form = {"id": sid, "password": password, "next": next_url}
    async with http.post(f"{base}/oidc/signin", data=form, allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == next_url


def test_code_flow_with_pkce_nonce_and_the_attacks(server: Server) -> None:
    alice = server.add_user("Alice", "+8613800000801")
    base = server.addresses["http"]

    async def dialog() -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            runner, logout_uri, logouts = await logout_receiver()
            client = await register_client(http, base, public=False, logout_uri=logout_uri)
            rp = RelyingParty(base, http, client)
            meta = await rp.metadata()
            assert meta["issuer"] == base
            assert meta["code_challenge_methods_supported"] == ["S256"]

            verifier, challenge = pkce()
            nonce = secrets.token_urlsafe(12)
            url = rp.authorize_url(
                nonce=nonce, code_challenge=challenge, code_challenge_method="S256"
            )
            await sign_in_via_form(http, base, url, alice.sid, alice.password)
            status, params = await rp.authorize(url)
            assert status == 302, params
            assert "code" in params, params
            code = params["code"][0]

            status, tokens = await rp.token(code, verifier)
            assert status == 200, tokens
            claims = await rp.check_id_token(tokens["id_token"], nonce)
            assert claims["name"] == "Alice"
            assert claims["sid"]
            async with http.get(
                f"{base}/oidc/userinfo",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            ) as response:
                assert response.status == 200
                assert (await response.json())["sub"] == claims["sub"]

            # Code replay: refused.
            status, error = await rp.token(code, verifier)
            assert (status, error["error"]) == (400, "invalid_grant")

            # A redirect URI that was not registered: 400 here, never a redirect there.
            evil = rp.authorize_url(
                nonce="n2",
                code_challenge=challenge,
                code_challenge_method="S256",
                redirect_uri="https://evil.test/cb",
            )
            status, _ = await rp.authorize(evil)
            assert status == 400

            # Missing PKCE, and plain PKCE: refused, for this confidential client too.
            status, params = await rp.authorize(rp.authorize_url(nonce="n3"))
            assert params.get("error") == ["invalid_request"]
            plain = rp.authorize_url(
                nonce="n4", code_challenge=verifier, code_challenge_method="plain"
            )
            status, params = await rp.authorize(plain)
            assert params.get("error") == ["invalid_request"]
            # A code obtained with PKCE cannot be redeemed without the verifier.
            status, params = await rp.authorize(
                rp.authorize_url(nonce="n5", code_challenge=challenge, code_challenge_method="S256")
            )
            status, error = await rp.token(params["code"][0], None)
            assert error["error"] in ("invalid_request", "invalid_grant")
            # ... nor with a wrong one.
            status, params = await rp.authorize(
                rp.authorize_url(nonce="n6", code_challenge=challenge, code_challenge_method="S256")
            )
            status, error = await rp.token(params["code"][0], pkce()[0])
            assert error["error"] == "invalid_grant"

            # Nonce replay: a nonce already used by this client is refused.
            status, params = await rp.authorize(
                rp.authorize_url(
                    nonce=nonce, code_challenge=challenge, code_challenge_method="S256"
                )
            )
            assert params.get("error") == ["invalid_request"]
            # No nonce at all: refused too (nonce is required).
            status, params = await rp.authorize(
                rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
            )
            assert params.get("error") == ["invalid_request"]

            # Signing out of SSI revokes the access token and tells the client (back-channel
            # logout token, signed with the provider's key, naming the session).
            async with http.post(f"{base}/ssi/signout") as response:
                assert response.status == 200
            async with http.get(
                f"{base}/oidc/userinfo",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            ) as response:
                assert response.status == 401
            logout_token = await asyncio.wait_for(logouts.get(), 10)
            async with http.get(f"{base}/oidc/jwks.json") as response:
                keys = KeySet.import_key_set(await response.json())
            notice = jwt.decode(logout_token, keys, algorithms=["RS256"])
            assert notice.header["typ"] == "logout+jwt"
            assert notice.claims["sid"] == claims["sid"]
            assert notice.claims["aud"] == client["client_id"]
            assert "http://schemas.openid.net/event/backchannel-logout" in notice.claims["events"]
            await runner.cleanup()

    asyncio.run(dialog())


def test_public_client_and_signing_key_rotation(server: Server) -> None:
    bob = server.add_user("Bob", "+8613800000802")
    base = server.addresses["http"]

    async def dialog() -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            rp = RelyingParty(base, http, await register_client(http, base, public=True))
            assert "client_secret" not in rp.client
            signin = {"id": bob.number, "password": bob.password}
            async with http.post(f"{base}/ssi/signin", json=signin) as response:
                assert response.status == 200

            async def login() -> dict[str, Any]:
                verifier, challenge = pkce()
                nonce = secrets.token_urlsafe(12)
                status, params = await rp.authorize(
                    rp.authorize_url(
                        nonce=nonce, code_challenge=challenge, code_challenge_method="S256"
                    )
                )
                assert status == 302, params
                status, tokens = await rp.token(params["code"][0], verifier)
                assert status == 200, tokens
                return await rp.check_id_token(tokens["id_token"], nonce) | {
                    "raw": tokens["id_token"]
                }

            before = await login()
            async with http.post(f"{base}/api/admin/oidc/keys", headers=ADMIN) as response:
                assert response.status == 201
                new_kid = (await response.json())["kid"]
            async with http.get(f"{base}/oidc/jwks.json") as response:
                kids = [k["kid"] for k in (await response.json())["keys"]]
            assert new_kid in kids
            assert len(kids) == 2
            after = await login()
            assert after["sub"] == before["sub"]
            # The token signed before the rotation still verifies against the published JWKS.
            async with http.get(f"{base}/oidc/jwks.json") as response:
                keys = KeySet.import_key_set(await response.json())
            assert jwt.decode(before["raw"], keys, algorithms=["RS256"]).header["kid"] != new_kid
            assert jwt.decode(after["raw"], keys, algorithms=["RS256"]).header["kid"] == new_kid

    asyncio.run(dialog())
