"""A real ``columba serve`` process on loopback, started as an operator would start it.

Every listener on port 0 and a temporary data directory; the addresses come from the
``listening`` lines the server prints before ``columba ready``. Accounts are made with
``columba user add`` while the server runs. Child processes inherit the environment, so a
``PYTHONPATH`` naming another source tree is honoured.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DOMAIN = "columba.local"

#: How long the server may take to print ``columba ready``.
START_SECONDS = 30.0

#: How long the server may take to stop after SIGTERM before it is killed.
STOP_SECONDS = 10.0

CONFIG = """\
[listen]
sip_udp = "127.0.0.1:0"
sip_tcp = "127.0.0.1:0"
sipc_tcp = "127.0.0.1:0"
http = "127.0.0.1:0"
smsc = "off"
mcp = "127.0.0.1:0"

[log]
level = "debug"
"""

_LISTENING = re.compile(r"^listening (\S+) (\S+)$", re.M)
_CREATED = re.compile(r"^created sid=(\d+) ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A host and port the server listens on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """An account: its sid is both the SIP user part and the Digest username."""

    sid: str
    password: str
    name: str

    @property
    def uri(self) -> str:
        return f"sip:{self.sid}@{DOMAIN}"


class ColumbaServer:
    """A running ``columba serve`` process and the addresses it printed."""

    def __init__(self, *, workdir: Path, process: subprocess.Popen[bytes]) -> None:
        self.workdir = workdir
        self.config = workdir / "columba.toml"
        self.data_dir = workdir / "data"
        self.stdout = workdir / "serve.out"
        self.stderr = workdir / "serve.err"
        self.process = process
        self.addresses: dict[str, Address] = {}
        self._numbers = itertools.count(1)

    @property
    def sip_udp(self) -> Address:
        return self.addresses["sip-udp"]

    @property
    def sip_tcp(self) -> Address:
        return self.addresses["sip-tcp"]

    @property
    def sipc_tcp(self) -> Address:
        return self.addresses["sipc-tcp"]

    def sip(self, transport: str) -> Address:
        """The SIP listener of ``transport`` ("udp" or "tcp")."""
        return self.addresses[f"sip-{transport}"]

    @classmethod
    def start(cls, workdir: Path) -> ColumbaServer:
        """Write the configuration, start ``columba serve`` and wait until it is ready."""
        (workdir / "columba.toml").write_text(CONFIG)
        with (workdir / "serve.out").open("wb") as out, (workdir / "serve.err").open("wb") as err:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "columba",
                    "serve",
                    "--config",
                    str(workdir / "columba.toml"),
                    "--data-dir",
                    str(workdir / "data"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=workdir,
            )
        server = cls(workdir=workdir, process=process)
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self) -> None:
        """Wait for ``columba ready`` and read the ``listening`` lines."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            text = self.stdout.read_text()
            if "columba ready" in text:
                for name, value in _LISTENING.findall(text):
                    host, _, port = value.removeprefix("http://").rpartition(":")
                    self.addresses[name] = Address(host=host.strip("[]"), port=int(port))
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"columba serve exited with {self.process.returncode}\n{self.log_tail()}"
                )
            time.sleep(0.05)
        raise RuntimeError(f"columba serve not ready after {START_SECONDS} s\n{self.log_tail()}")

    def add_user(self, name: str) -> User:
        """Create an account with ``columba user add`` (the server keeps running)."""
        number = f"+86139{os.getpid() % 10000:04d}{next(self._numbers):04d}"
        password = f"pw-{name.lower()}-{number[-6:]}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "columba",
                "user",
                "add",
                "--config",
                str(self.config),
                "--data-dir",
                str(self.data_dir),
                "--name",
                name,
                "--number",
                number,
                "--password-stdin",
            ],
            input=f"{password}\n".encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        match = _CREATED.match(done.stdout.decode())
        if done.returncode != 0 or match is None:
            raise RuntimeError(
                f"columba user add failed ({done.returncode}): "
                f"{done.stdout.decode()}{done.stderr.decode()}"
            )
        return User(sid=match.group(1), password=password, name=name)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        try:
            text = self.stderr.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, wait, then kill."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
