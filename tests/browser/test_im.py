"""In a real browser: contacts, live presence, chat with history and fates, admin console."""

from __future__ import annotations

from pathlib import Path

from tests.browser.driver import run_scenario
from tests.scenarios.harness import Server


def test_two_browser_users_add_each_other_and_chat(browser_server: Server, tmp_path: Path) -> None:
    alice = browser_server.add_user("Alice", "+8613800000001")
    bob = browser_server.add_user("Bob", "+8613800000002")
    output = run_scenario("im", browser_server, [alice, bob], tmp_path / "screenshots")
    for step in (
        "both see each other online",
        "message delivered and shown as delivered",
        "history after signing in again",
        "every control labelled",
        "phone width",
        "password login (SCRAM) in the browser",
        "admin console",
        "presence goes offline live",
    ):
        assert f"ok {step}" in output
