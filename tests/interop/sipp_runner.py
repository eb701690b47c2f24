"""Run SIPp scenarios (``scenarios/*.xml``) against a Columba server and read what happened.

Every run is bounded (``-m 1``, ``-timeout``, ``-timeout_error``), writes its message trace,
its error log and the scenario's ``<log>`` lines to files in its own directory, and is killed
if it outlives the bound. SIPp's exit status: 0 every call succeeded, 1 a call failed, 255 the
global timeout fired (``-timeout_error``), other values fatal errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from tests.interop.columba_process import DOMAIN, Address, User

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

#: SIPp's own bound on one run (``-timeout``), in seconds.
SIPP_TIMEOUT = 20

#: SIPp 3.6.1 answers only the first challenge of a 401/407 and knows only MD5 (and
#: AKAv1-MD5); RFC 8760 §2.4 lets a server list SHA-256 first. See the SIPp issue
#: "Check other WWW-Authenticate headers ... for algorithm=MD5 (RFC8760)", SIPp/sipp#488.

_runs = itertools.count(1)


def free_port() -> int:
    """A loopback port free for both UDP and TCP (SIPp binds both for -p)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port")


@dataclass(frozen=True, slots=True, kw_only=True)
class SippResult:
    """A finished SIPp run: its exit status and its three logs."""

    returncode: int
    command: tuple[str, ...]
    log: str
    messages: str
    errors: str

    def explain(self) -> str:
        """Everything needed to see why a run failed, for an assertion message."""
        return (
            f"sipp exited {self.returncode}\n$ {' '.join(self.command)}\n"
            f"--- scenario log ---\n{self.log}\n"
            f"--- errors ---\n{self.errors[-4000:]}\n"
            f"--- messages (end) ---\n{self.messages[-6000:]}"
        )

    def responses(self, method: str) -> list[int]:
        """Status codes SIPp received for ``method``, in order (retransmissions included)."""
        # -trace_msg blocks: a dashed line with the time, "UDP message received [n] bytes :",
        # a blank line, then the message as received.
        codes = []
        for block in self.messages.split("-----------------------------------------------"):
            lines = [line for line in block.splitlines() if line.strip()]
            if len(lines) < 3 or "message received" not in lines[1]:
                continue
            start = lines[2].split()
            if start[0] != "SIP/2.0":
                continue
            if any(line.startswith("CSeq:") and line.split()[-1] == method for line in lines):
                codes.append(int(start[1]))
        return codes


class Sipp:
    """One SIPp process running one scenario as one user."""

    def __init__(
        self,
        executable: str,
        workdir: Path,
        scenario: str,
        *,
        server: Address,
        transport: str,
        user: User,
        password: str | None = None,
        keys: dict[str, str] | None = None,
        auth_uri: str = DOMAIN,
        ooc_scenario: str | None = None,
        local_port: int | None = None,
    ) -> None:
        run = workdir / f"sipp-{next(_runs)}-{Path(scenario).stem}-{transport}"
        run.mkdir(parents=True)
        self.dir = run
        self.local_port = local_port or free_port()
        self._log = run / "scenario.log"
        self._messages = run / "messages.log"
        self._errors = run / "errors.log"
        command = [
            executable,
            str(server),
            "-sf",
            str(SCENARIOS / scenario),
            "-t",
            {"udp": "u1", "tcp": "t1"}[transport],
            "-i",
            "127.0.0.1",
            "-p",
            str(self.local_port),
            "-m",
            "1",
            "-s",
            user.sid,
            "-au",
            user.sid,
            "-ap",
            password if password is not None else user.password,
            "-auth_uri",
            auth_uri,
            "-key",
            "domain",
            DOMAIN,
        ]
        for name, value in (keys or {}).items():
            command += ["-key", name, value]
        if ooc_scenario is not None:
            command += ["-oocsf", str(SCENARIOS / ooc_scenario)]
        command += [
            "-timeout",
            f"{SIPP_TIMEOUT}s",
            "-timeout_error",
            # An unexpected message fails the call at once, without SIPp's default BYE.
            "-default_behaviors",
            "abortunexp",
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(self._messages),
            "-trace_err",
            "-error_file",
            str(self._errors),
            "-trace_logs",
            "-log_file",
            str(self._log),
        ]
        self.command = tuple(command)
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start SIPp; its screen output goes to a file in the run's directory."""
        with (self.dir / "screen.txt").open("wb") as screen:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=screen,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.dir,
            )

    def log(self) -> str:
        """The scenario's ``<log>`` lines so far."""
        with contextlib.suppress(FileNotFoundError):
            return self._log.read_text(errors="replace")
        return ""

    async def wait_log(self, text: str, *, within: float = SIPP_TIMEOUT) -> bool:
        """Wait until the scenario logged ``text``; False if SIPp ended or time ran out first."""
        assert self._process is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self._process.returncode is not None:
                return text in self.log()
            await asyncio.sleep(0.05)
        return False

    async def finish(self, *, within: float = SIPP_TIMEOUT + 5) -> SippResult:
        """Wait for SIPp to end (killing it past ``within``) and collect its logs."""
        assert self._process is not None
        try:
            returncode = await asyncio.wait_for(self._process.wait(), within)
        except TimeoutError:
            self._process.kill()
            returncode = await self._process.wait()
        return SippResult(
            returncode=returncode,
            command=self.command,
            log=self.log(),
            messages=_read(self._messages),
            errors=_read(self._errors),
        )

    async def run(self) -> SippResult:
        """Start and wait for the end."""
        await self.start()
        return await self.finish()


def _read(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(errors="replace")
    return ""
