"""In a real browser: a user opens the example third-party app and is signed in there."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.driver import run_scenario
from tests.scenarios.harness import ADMIN_TOKEN, Server

APP = Path(__file__).resolve().parents[2] / "examples" / "thirdparty_app" / "app.py"


@pytest.fixture
def weather_app(browser_server: Server, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The example app, as its own process, registered at the server with its key."""
    keys = tmp_path / "weather-keys.json"
    keys.write_text("{}")
    issuer = browser_server.addresses["http"]
    args = ["--issuer", issuer, "--app-id", "weather", "--keys-file", str(keys), "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, str(APP), *args, "--allow-unsolicited"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("listening ")
        body = {"id": "weather", "name": "Weather", "login_urls": [f"{url}/login"]}
        request = urllib.request.Request(
            f"{issuer}/api/admin/ssi/apps",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            registered = json.loads(response.read())
        keys.write_text(json.dumps({k["kid"]: k["key"] for k in registered["keys"]}))
        yield {"app_id": "weather", "app_name": "Weather", "app_url": url}
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def test_user_opens_the_example_app_and_is_signed_in(
    browser_server: Server, weather_app: dict[str, str], tmp_path: Path
) -> None:
    alice = browser_server.add_user("Alice", "+8613800000021")
    output = run_scenario(
        "apps", browser_server, [alice], tmp_path / "screenshots", extra=weather_app
    )
    for step in ("apps listed", "signed in to the app", "admin apps", "admin sms"):
        assert f"ok {step}" in output
