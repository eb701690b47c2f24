"""In a real browser: the server restarts, the web client reconnects by itself."""

from __future__ import annotations

from pathlib import Path

from tests.browser.driver import run_scenario
from tests.scenarios.harness import Server


def test_web_client_reconnects_after_a_server_restart(
    browser_server: Server, tmp_path: Path
) -> None:
    alice = browser_server.add_user("Alice", "+8613800000041")
    bob = browser_server.add_user("Bob", "+8613800000042")
    output = run_scenario("reconnect", browser_server, [alice, bob], tmp_path / "screenshots")
    for step in ("chatting", "both reconnected", "messages flow again"):
        assert f"ok {step}" in output
