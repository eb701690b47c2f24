"""A real ``columba serve`` process on loopback, for end-to-end scenarios.

The server runs as a subprocess with a fresh data directory, every listener on port 0, and
its storage on SQLite or on a throw-away PostgreSQL schema. ``restart`` keeps the ports, the
data and the database, as an operator's restart would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ADMIN_TOKEN = "scenario-admin-token-" + secrets.token_hex(8)
#: Messages the IM server's fast path took (``Server.metric``).
FAST_PATH = "columba_messages_fast_path_total"


@dataclass
class User:
    """An account made for a scenario."""

    sid: str
    number: str
    name: str
    password: str


@dataclass
class Server:
    """One server process and what it announced."""

    data_dir: Path
    storage_url: str
    extra_config: str = ""
    tls_listener: bool = False
    addresses: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    _log: IO[str] | None = None

    def _config(self) -> Path:
        def port(name: str, default: str = "127.0.0.1:0") -> str:
            address = self.addresses.get(name)
            return address.removeprefix("http://") if address else default

        text = f"""
[listen]
sip_udp = "{port("sip-udp")}"
sip_tcp = "{port("sip-tcp")}"
sipc_tcp = "{port("sipc-tcp")}"
http = "{port("http")}"
sip_tls = "{port("sip-tls") if self.tls_listener else "off"}"
mcp = "{port("mcp")}"
smsc = "off"
[storage]
url = "{self.storage_url}"
[admin]
token = "{ADMIN_TOKEN}"
[log]
level = "info"
{self.extra_config}
"""
        path = self.data_dir / "columba.toml"
        path.write_text(text)
        return path

    def start(self) -> None:
        """Start the process and wait for ``columba ready``."""
        config = self._config()
        self.log_path = self.data_dir / "server.log"
        if self._log is not None:
            self._log.close()
        log = self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "columba",
                "serve",
                "--config",
                str(config),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=os.environ.copy(),
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"server exited early; see {self.log_path}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            match = re.match(r"listening (\S+) (\S+)", line)
            if match:
                self.addresses[match[1]] = match[2]
            if line.strip() == "columba ready":
                return
        raise RuntimeError("server did not get ready in 30 s")

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL, as a crash) and wait."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or crash) and start again on the same ports and data."""
        self.stop(kill=kill)
        self.start()

    def hostport(self, name: str) -> tuple[str, int]:
        """``(host, port)`` of a listener."""
        host, port = self.addresses[name].removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def metric(self, name: str) -> float:
        """The value of an unlabelled metric on ``/metrics`` (0 when not exported yet)."""
        with urllib.request.urlopen(self.addresses["http"] + "/metrics", timeout=10) as response:
            text = response.read().decode()
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return 0.0 if match is None else float(match.group(1))

    def add_user(self, name: str, number: str, password: str | None = None) -> User:
        """Create an account through the admin HTTP API."""
        password = password or "pw-" + secrets.token_hex(6)
        body = json.dumps({"display_name": name, "number": number, "password": password})
        request = urllib.request.Request(
            self.addresses["http"] + "/api/admin/users",
            data=body.encode(),
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data = json.loads(response.read())
        return User(sid=data["sid"], number=number, name=name, password=password)
