"""The web client's pages and the admin console's own API: sessions and SMS overview."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from columba.client import SipcClient
from tests.scenarios.harness import ADMIN_TOKEN, Server

pytestmark = pytest.mark.slow


def _get(url: str, *, token: str | None = None, method: str = "GET") -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            is_json = response.headers.get_content_type() == "application/json"
            return response.status, response.headers, json.loads(body) if is_json else body
    except urllib.error.HTTPError as error:
        with error:  # closes the connection it holds
            body = error.read()
        is_json = error.headers.get_content_type() == "application/json"
        return error.code, error.headers, json.loads(body) if is_json else body


def test_pages_are_served_with_a_strict_policy(server: Server) -> None:
    base = server.addresses["http"]
    for path in ("/", "/admin"):
        status, headers, body = _get(base + path)
        assert status == 200
        assert headers.get_content_type() == "text/html"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module"' in body
    status, headers, body = _get(base + "/static/sipc.js")
    assert status == 200
    assert "javascript" in headers.get_content_type()
    assert b"export class SipcClient" in body
    assert _get(base + "/static/../../config.py")[0] == 404


def test_admin_lists_and_ends_sessions_and_shows_sms(server: Server) -> None:
    base = server.addresses["http"]
    a = server.add_user("Alice", "+8613800000501")

    async def dialog() -> None:
        alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await alice.login(a.sid, a.password)
        assert (await asyncio.to_thread(_get, base + "/api/admin/sessions"))[0] == 403
        status, _, body = await asyncio.to_thread(
            _get, base + "/api/admin/sessions", token=ADMIN_TOKEN
        )
        assert status == 200
        (session,) = [s for s in body["sessions"] if s["sid"] == a.sid]
        assert (session["dialect"], session["transport"], session["presence"]) == (
            "sipc",
            "tcp",
            400,
        )
        status, _, body = await asyncio.to_thread(
            _get, base + f"/api/admin/sessions/{a.sid}", token=ADMIN_TOKEN, method="DELETE"
        )
        assert (status, body["ended"]) == (200, 1)
        # The device is told, as after a login elsewhere, and is no longer listed.
        while True:
            event = await asyncio.wait_for(alice.events.get(), 10)
            if event.event == "registration":
                break
        status, _, body = await asyncio.to_thread(
            _get, base + "/api/admin/sessions", token=ADMIN_TOKEN
        )
        assert a.sid not in [s["sid"] for s in body["sessions"]]
        missing = base + "/api/admin/sessions/999999999"
        status, _, _ = await asyncio.to_thread(_get, missing, token=ADMIN_TOKEN, method="DELETE")
        assert status == 404
        await alice.close()

    asyncio.run(dialog())
    assert _get(base + "/api/admin/sms")[0] == 403
    status, _, body = _get(base + "/api/admin/sms", token=ADMIN_TOKEN)
    assert status == 200
    assert body["day_limit"] > 0
    assert isinstance(body["queue"], dict)
    assert {"sid": a.sid, "number": a.number, "day": 0, "month": 0} in body["users"]
    assert _get(base + "/api/admin/sms?limit=x", token=ADMIN_TOKEN)[0] == 400
