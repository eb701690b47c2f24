"""Single sign-in end to end (patent CN101350717): one password, every trusting application.

Alice signs in to SSI over HTTP, logs into IM over SIP-C with the SSI session instead of her
password, asks SSI (over SIP-C) for a credential for app X, and app X — a separate process
that only has ``columba.sso`` and its key — logs her in. App Y cannot use that credential.
Signing out of SSI ends her session at app X through a back-channel logout notice.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import aiohttp
import pytest

from columba.client import SipcClient
from tests.scenarios.harness import ADMIN_TOKEN, Server

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[2] / "examples" / "thirdparty_app" / "app.py"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class ThirdParty:
    """An example third-party app process."""

    def __init__(self, app_id: str, issuer: str, keys_file: Path) -> None:
        self.app_id = app_id
        self.keys_file = keys_file
        keys_file.write_text("{}")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(APP),
                "--issuer",
                issuer,
                "--app-id",
                app_id,
                "--keys-file",
                str(keys_file),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line.startswith("listening "), line
        self.url = line.removeprefix("listening ")

    def set_keys(self, keys: list[dict[str, str]]) -> None:
        self.keys_file.write_text(json.dumps({k["kid"]: k["key"] for k in keys}))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def apps(server: Server, tmp_path: Path) -> Iterator[dict[str, ThirdParty]]:
    issuer = server.addresses["http"]
    started = {name: ThirdParty(name, issuer, tmp_path / f"{name}.json") for name in ("x", "y")}
    try:
        yield started
    finally:
        for app in started.values():
            app.stop()


def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1


async def register(http: aiohttp.ClientSession, base: str, app: ThirdParty) -> None:
    body = {
        "id": app.app_id,
        "name": f"App {app.app_id.upper()}",
        "login_urls": [f"{app.url}/login"],
        "logout_url": f"{app.url}/backchannel-logout",
        "initiate_url": f"{app.url}/login/start",
    }
    async with http.post(f"{base}/api/admin/ssi/apps", json=body, headers=ADMIN) as response:
        assert response.status == 201, await response.text()
        app.set_keys((await response.json())["keys"])


async def sipc_login_with_session(ws_url: str, sid: str, token: str) -> SipcClient:
    client = await SipcClient.connect_websocket(ws_url)
    client.sid = sid
    body = b'<args><device machine-code="00000000000000000000000000000001"/></args>'
    answer = await client.ask(client._request("R", ("A", f'SSI ssic="{token}"'), body=body))
    assert answer.status == 200, answer.status
    assert ET.fromstring(answer.body).find("user-info/personal") is not None
    return client


async def sipc_credential(client: SipcClient, app_id: str, nonce: str) -> tuple[int, str]:
    args = f'<args><credential app="{app_id}" nonce="{nonce}"/></args>'
    response = await client.service("SSIGetCredential", args)
    if response.status != 200:
        return response.status, ""
    node = ET.fromstring(response.body).find("credential")
    assert node is not None
    return 200, node.get("c", "")


def test_patent_flow_client_logs_in_through_ssi_then_into_app_x(
    server: Server, apps: dict[str, ThirdParty]
) -> None:
    alice = server.add_user("Alice", "+8613800000701")
    base = server.addresses["http"]
    x, y = apps["x"], apps["y"]

    async def dialog() -> None:
        async with aiohttp.ClientSession() as http:
            await register(http, base, x)
            await register(http, base, y)
            # 1. Alice signs in to SSI, and logs into IM with the SSI session, not the password.
            signin = {"id": alice.number, "password": alice.password}
            async with http.post(f"{base}/ssi/signin", json=signin) as response:
                assert response.status == 200
                token = (await response.json())["session"]
            async with http.post(
                f"{base}/ssi/signin", json={**signin, "password": "wrong!!"}
            ) as response:
                assert response.status == 401
            client = await sipc_login_with_session(
                base.replace("http", "ws") + "/sip", alice.sid, token
            )
            bad = await SipcClient.connect_websocket(base.replace("http", "ws") + "/sip")
            bad.sid = alice.sid
            refused = await bad.ask(bad._request("R", ("A", 'SSI ssic="not-a-session"')))
            assert refused.status == 401
            await bad.close()

            # 2. App X starts a login (nonce); the client asks SSI for a credential for X.
            async with aiohttp.ClientSession(cookie_jar=jar()) as at_x:
                async with at_x.get(f"{x.url}/login/nonce") as response:
                    nonce = (await response.json())["nonce"]
                status, credential = await sipc_credential(client, "x", nonce)
                assert status == 200
                # 3. App X decrypts it, establishes who Alice is, and logs her in.
                async with at_x.post(f"{x.url}/login", data={"credential": credential}) as response:
                    assert response.status == 200, await response.text()
                    who = await response.json()
                assert who["name"] == "Alice"
                async with at_x.get(f"{x.url}/me") as response:
                    assert response.status == 200
                # The same credential again is refused.
                async with at_x.post(f"{x.url}/login", data={"credential": credential}) as response:
                    assert response.status == 401

                # 4. App Y cannot use a credential made for X.
                async with aiohttp.ClientSession(cookie_jar=jar()) as at_y:
                    async with at_y.get(f"{y.url}/login/nonce") as response:
                        nonce_y = (await response.json())["nonce"]
                    _, for_x = await sipc_credential(client, "x", nonce_y)
                    async with at_y.post(f"{y.url}/login", data={"credential": for_x}) as response:
                        assert response.status == 401
                        assert (await response.json())["error"] in (
                            "unknown_kid",
                            "decryption_failed",
                        )
                    _, for_y = await sipc_credential(client, "y", nonce_y)
                    async with at_y.post(f"{y.url}/login", data={"credential": for_y}) as response:
                        assert response.status == 200
                        assert (await response.json())["sub"] != who["sub"]  # pairwise

                # 5. Signing out of SSI: X is told at once and ends Alice's session there.
                bearer = {"Authorization": f"Bearer {token}"}
                async with http.post(f"{base}/ssi/signout", headers=bearer) as response:
                    assert response.status == 200
                    assert (await response.json())["apps_notified"] == {"x": True, "y": True}
                async with at_x.get(f"{x.url}/me") as response:
                    assert response.status == 401
                # The IM login made with the session ends too: the device is told, and
                # asks in vain for more credentials.
                notice = await asyncio.wait_for(client.events.get(), 10)
                while notice.event != "registration":
                    notice = await asyncio.wait_for(client.events.get(), 10)
                assert b"deregistered" in notice.body
                status, _ = await sipc_credential(client, "x", "n")
                assert status == 401
            await client.close()

    asyncio.run(dialog())


def test_browser_opens_app_through_authorize_and_lists_apps(
    server: Server, apps: dict[str, ThirdParty]
) -> None:
    alice = server.add_user("Alice", "+8613800000702")
    base = server.addresses["http"]
    x = apps["x"]

    async def dialog() -> None:
        async with aiohttp.ClientSession(cookie_jar=jar()) as browser:
            await register(browser, base, x)
            signin = {"id": alice.sid, "password": alice.password}
            async with browser.post(f"{base}/ssi/signin", json=signin) as response:
                assert response.status == 200
            async with browser.get(f"{base}/ssi/apps") as response:
                listed = (await response.json())["apps"]
            assert [a["id"] for a in listed] == ["x"]
            # App X sends the browser to SSI, which auto-POSTs a credential back to X.
            async with browser.get(f"{x.url}/login/start", allow_redirects=False) as response:
                assert response.status == 303
                location = response.headers["Location"]
            async with browser.get(location) as response:
                assert response.status == 200
                page = await response.text()
            action = unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]+)"', page))
            assert action == f"{x.url}/login"
            async with browser.post(action, data=fields) as response:
                assert response.status == 200
                assert (await response.json())["name"] == "Alice"
            # The "open app" button: SSI sends the browser to the app, which starts its own
            # login (nonce) and comes back through /ssi/authorize.
            async with aiohttp.ClientSession(cookie_jar=jar()) as other_browser:
                async with other_browser.post(f"{base}/ssi/signin", json=signin) as response:
                    assert response.status == 200
                async with other_browser.post(f"{base}/ssi/apps/x/open") as response:
                    assert response.status == 200
                    page = await response.text()
                fields = dict(re.findall(r'name="([^"]+)" value="([^"]+)"', page))
                assert "nonce" in fields
                async with other_browser.post(f"{x.url}/login", data=fields) as response:
                    assert response.status == 200
                    assert (await response.json())["name"] == "Alice"
            # A login URL the app did not register is refused (no open redirect).
            query = {"app": "x", "login_url": "https://evil.test/login"}
            async with browser.get(f"{base}/ssi/authorize", params=query) as response:
                assert response.status == 400
            async with browser.post(f"{base}/ssi/credential", json={"app": "nope"}) as response:
                assert response.status == 404
            # Bad input gets clear errors, never a crash.
            async with browser.post(f"{base}/ssi/credential", data="app=x") as response:
                assert response.status == 415
            async with browser.post(f"{base}/ssi/credential", json=["x"]) as response:
                assert response.status == 400
            async with browser.post(
                f"{base}/ssi/credential", json={"app": "x", "nonce": "n" * 300}
            ) as response:
                assert response.status == 400
            bad_apps: list[dict[str, object]] = [
                {"id": "Bad Id", "name": "n", "login_urls": ["https://a/login"]},
                {"id": "ok", "name": "n", "login_urls": ["javascript:alert(1)"]},
                {"id": "ok", "name": "n", "login_urls": ["https://a/login"], "alg": "A128KW"},
                {"id": "x", "name": "again", "login_urls": ["https://a/login"]},
            ]
            for body, status in zip(bad_apps, (400, 400, 400, 409), strict=True):
                async with browser.post(
                    f"{base}/api/admin/ssi/apps", json=body, headers=ADMIN
                ) as response:
                    assert response.status == status, body
            async with browser.post(f"{base}/api/admin/ssi/apps", json=bad_apps[0]) as response:
                assert response.status == 403
            # Rotation: a new key issues from now on; the app without it refuses, with it accepts.
            async with browser.post(f"{base}/api/admin/ssi/apps/x/keys", headers=ADMIN) as response:
                assert response.status == 201
                new_key = await response.json()
            async with browser.get(f"{x.url}/login/nonce") as response:
                nonce = (await response.json())["nonce"]
            async with browser.post(
                f"{base}/ssi/credential", json={"app": "x", "nonce": nonce}
            ) as response:
                rotated = (await response.json())["credential"]
            async with browser.post(f"{x.url}/login", data={"credential": rotated}) as response:
                assert (await response.json())["error"] == "unknown_kid"
            old_keys = json.loads(x.keys_file.read_text())
            x.set_keys(
                [{"kid": k, "key": v} for k, v in old_keys.items()]
                + [{"kid": new_key["kid"], "key": new_key["key"]}]
            )
            async with browser.post(f"{x.url}/login", data={"credential": rotated}) as response:
                assert response.status == 200, await response.text()

            async with browser.post(f"{base}/ssi/signout") as response:
                assert response.status == 200
            async with browser.get(f"{base}/ssi/session") as response:
                assert response.status == 401

    asyncio.run(dialog())
