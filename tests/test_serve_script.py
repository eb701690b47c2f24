"""``scripts/serve``, the README's one command, runs on a fresh data directory.

The first run creates the demo accounts and the demo group, then must start the server with
the arguments it was given (a regression: the loop that made the accounts once clobbered
them). Every listener is on port 0 so the test never collides with a running server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[listen]
sip_udp = "127.0.0.1:0"
sip_tcp = "127.0.0.1:0"
sipc_tcp = "127.0.0.1:0"
http = "127.0.0.1:0"
mcp = "127.0.0.1:0"
smsc = "127.0.0.1:0"
"""


def test_serve_creates_the_demo_and_starts(tmp_path: Path) -> None:
    if os.environ.get("UV_OFFLINE") == "1":
        pytest.skip("scripts/serve bootstraps with uv, which UV_OFFLINE forbids")
    config = tmp_path / "columba.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    log = (tmp_path / "serve.log").open("w+")
    env = dict(os.environ, COLUMBA_DATA_DIR=str(data))
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "serve"), "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        output = ""
        while time.monotonic() < deadline and process.poll() is None:
            log.seek(0)
            output = log.read()
            if "columba ready" in output:
                break
            time.sleep(0.2)
        log.seek(0)
        output = log.read()
        assert "columba ready" in output, output[-3000:]
        demo = (data / ".demo-users").read_text()
        assert demo.count("created sid=") == 2
        assert "name=Alice" in demo
        assert "name=Bob" in demo
        assert "created group=" in demo
        assert "127.0.0.1:5060" not in output  # the --config given was used
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
