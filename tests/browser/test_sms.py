"""In a real browser: IM to an offline user goes out as SMS to a virtual phone, and back."""

from __future__ import annotations

from pathlib import Path

from tests.browser.driver import run_scenario
from tests.scenarios.harness import Server


def test_offline_message_goes_by_sms_and_the_phone_replies(
    browser_server: Server, tmp_path: Path
) -> None:
    alice = browser_server.add_user("Alice", "+8613800000011")
    bob = browser_server.add_user("Bob", "+8613800000012")
    output = run_scenario("sms", browser_server, [alice, bob], tmp_path / "screenshots")
    for step in (
        "shown as sent by SMS",
        "sms on bob's virtual phone",
        "phone reply in the chat",
        "sms delivered",
        "sms settings",
    ):
        assert f"ok {step}" in output
