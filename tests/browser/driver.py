"""Run a browser scenario (``tests/browser/<name>.mjs``) against a running server.

The scenario drives Debian's ``chromium`` headless through npm ``playwright-core`` (pinned by
``package-lock.json``, installed by ``tests/browser/install.sh``). It gets the server's URL,
the admin token and the users in its environment, prints ``ok <step>`` lines, and exits 0 on
success. A scenario that prints ``restart-server`` gets the server restarted on the same ports
and data, then ``restarted`` on its standard input. Screenshots go to a temporary directory,
or to ``$COLUMBA_SCREENSHOTS`` when set (``COLUMBA_SCREENSHOTS=docs/screenshots`` refreshes
the ones the README shows).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.harness import ADMIN_TOKEN, Server, User

HERE = Path(__file__).resolve().parent
PLAYWRIGHT_VERSION = "1.65.1"


def chromium() -> str:
    """The chromium executable; skips (fails in CI) when chromium or playwright-core is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    package = HERE / "node_modules" / "playwright-core" / "package.json"
    reason = None
    if shutil.which("node") is None:
        reason = "node is not installed (Debian: nodejs)"
    elif path is None:
        reason = "chromium is not installed (Debian: chromium; scripts/install-test-deps)"
    elif not package.is_file():
        reason = "playwright-core is not installed: run tests/browser/install.sh"
    elif json.loads(package.read_text(encoding="utf-8"))["version"] != PLAYWRIGHT_VERSION:
        reason = f"playwright-core {PLAYWRIGHT_VERSION} expected: run tests/browser/install.sh"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)
    assert path is not None
    return path


def run_scenario(
    name: str,
    server: Server,
    users: list[User],
    screenshots: Path,
    *,
    extra: dict[str, Any] | None = None,
    timeout: float = 120.0,
) -> str:
    """Run ``<name>.mjs``; returns its output, fails the test with it on a non-zero exit."""
    target = Path(os.environ.get("COLUMBA_SCREENSHOTS", "") or screenshots)
    target.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "COLUMBA_URL": server.addresses["http"],
        "COLUMBA_ADMIN_TOKEN": ADMIN_TOKEN,
        "COLUMBA_USERS": json.dumps([asdict(u) for u in users]),
        "COLUMBA_EXTRA": json.dumps(extra or {}),
        "CHROMIUM": chromium(),
        "SCREENSHOTS": str(target),
    }
    process = subprocess.Popen(
        ["node", str(HERE / f"{name}.mjs")],
        cwd=HERE,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
    reader.start()
    output = _follow(process, lines, server, time.monotonic() + timeout)
    reader.join(5)  # ends at the end of the output (the process has exited)
    if process.stdout is not None:
        process.stdout.close()
    if process.returncode != 0:
        log = server.log_path.read_text()[-4000:] if server.log_path else ""
        pytest.fail(f"{name}.mjs failed:\n{output}\n--- server log (tail) ---\n{log}")
    return output


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _follow(
    process: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    server: Server,
    deadline: float,
) -> str:
    """Collect the scenario's output; a ``restart-server`` line restarts the server (same ports
    and data) and answers ``restarted`` on the scenario's standard input."""
    assert process.stdin is not None
    output: list[str] = []
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                process.wait(10)
                return "".join(output)
            output.append(line)
            if line.strip() == "restart-server":
                server.restart()
                process.stdin.write("restarted\n")
                process.stdin.flush()
        process.kill()
        process.wait(10)
        output.append("TIMEOUT: the scenario did not finish in time\n")
        return "".join(output)
    finally:
        process.stdin.close()
