"""In a real browser: a group with a robot; the robot answers a member in the group."""

from __future__ import annotations

from pathlib import Path

from tests.browser.driver import run_scenario
from tests.scenarios.harness import Server


def test_robot_answers_in_a_group(browser_server: Server, tmp_path: Path) -> None:
    alice = browser_server.add_user("Alice", "+8613800000031")
    bob = browser_server.add_user("Bob", "+8613800000032")
    output = run_scenario("groups", browser_server, [alice, bob], tmp_path / "screenshots")
    for step in (
        "bob joined",
        "robot added with its read scope shown",
        "robot answered in the group",
        "admin groups",
    ):
        assert f"ok {step}" in output
