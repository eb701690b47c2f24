"""``columba group create`` makes the demo group, registering the built-in robots."""

from __future__ import annotations

import asyncio
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from columba.cli import main
from columba.storage import open_store


def test_group_create_with_members_and_robots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sids = []
    for name, number in (("Alice", "+8613800000001"), ("Bob", "+8613800000002")):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
        with redirect_stdout(out):
            assert (
                main(
                    [
                        "user",
                        "add",
                        "--data-dir",
                        str(tmp_path),
                        "--name",
                        name,
                        "--number",
                        number,
                        "--password-stdin",
                    ]
                )
                == 0
            )
        sids.append(out.getvalue().split("sid=")[1].split()[0])
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(
            [
                "group",
                "create",
                "--data-dir",
                str(tmp_path),
                "--name",
                "Demo",
                "--owner",
                sids[0],
                "--member",
                sids[1],
                "--robot",
                "faq",
                "--robot",
                "welcome:all",
            ]
        )
    assert code == 0
    assert "group=sip:PG" in out.getvalue()
    assert (
        main(
            [
                "group",
                "create",
                "--data-dir",
                str(tmp_path),
                "--name",
                "X",
                "--owner",
                sids[0],
                "--robot",
                "nobody",
            ]
        )
        == 1
    )

    async def check() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/columba.db")
        async with store:
            (group,) = await store.groups.list_groups()
            assert group.member_count == 2
            scopes = {
                r.robot.name: r.read_scope for r in await store.groups.group_robots(group.group_id)
            }
            assert scopes == {"faq": "mentions", "welcome": "all"}
            assert {r.name for r in await store.groups.robots()} == {"faq", "remind", "welcome"}

    asyncio.run(check())
