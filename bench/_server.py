"""What the server benchmarks share: a ``columba serve`` process, accounts, /proc readings.

``bench/relay.py`` and ``bench/connections.py`` import this module as a sibling (running a
script puts ``bench/`` first on ``sys.path``). The server always runs as its own process with
the interpreter and ``PYTHONPATH`` of the benchmark, so ``PYTHONPATH=/tmp/snap/src python
bench/relay.py`` benchmarks that tree and ``uv run python bench/relay.py`` the working tree.

Figures come from the kernel, not from the server: CPU time is ``utime + stime`` from
``/proc/<pid>/stat`` (every thread, the SQLite thread included), memory is ``VmRSS`` from
``/proc/<pid>/status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from columba import affinity

ADMIN_TOKEN = "bench-admin-token-" + secrets.token_hex(8)
#: Where ``scripts/test`` finds PostgreSQL; ``--postgres-url`` or the variable override it.
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- resources -----------------------------------------------------------------------------------


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit.

    Children inherit it, so call it before starting the server and the load generators. An
    unprivileged process cannot go past the hard limit (``ulimit -Hn``).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (all its threads)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of a process's main thread (``main``) and of all its other threads."""
    split = {"main": 0.0, "other threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            seconds = cpu_seconds_of(task / "stat")
            split["main" if task.name == str(pid) else "other threads"] += seconds
    return split


def children_cpu_seconds(pid: int) -> float:
    """CPU seconds of the live child processes of ``pid`` (the SQLite worker processes)."""
    total = 0.0
    for child in affinity.child_pids(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(child)
    return total


def cpu_seconds_of(stat: Path) -> float:
    # After the ")" ending the command name: state is field 3, utime 14, stime 15 (proc(5)).
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def rss_bytes(pid: int) -> int:
    """The resident set size (``VmRSS``) of a process, in bytes."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return int(match[1]) * 1024


class CpuMeter:
    """CPU use of a set of processes between ``start()`` and ``stop()``, as cores busy.

    ``threads`` names one process whose main thread and other threads (the SQLite thread, the
    executor) are also reported apart, as ``<name> main`` and ``<name> other threads``, and
    whose child processes (the SQLite worker) as ``<name> children``.
    """

    def __init__(self, pids: dict[str, int], *, threads: str | None = None) -> None:
        self.pids = pids
        self.threads = threads
        self._start: dict[str, float] = {}
        self._wall = 0.0
        self.cores: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        seconds = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        if self.threads is not None:
            for part, value in thread_cpu_seconds(self.pids[self.threads]).items():
                seconds[f"{self.threads} {part}"] = value
            seconds[f"{self.threads} children"] = children_cpu_seconds(self.pids[self.threads])
        return seconds

    def start(self) -> None:
        self._start = self._read()
        self._wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        now = self._read()
        self.cores = {name: (now[name] - self._start.get(name, 0.0)) / wall for name in now}
        return self.cores


def machine() -> str:
    """One line about the machine the figures come from."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}, {sys.platform}"


# -- storage -------------------------------------------------------------------------------------


@dataclass
class Storage:
    """A storage URL for one run, and how to throw it away."""

    url: str
    label: str
    cleanup: Callable[[], None] = lambda: None


def sqlite_storage(
    data_dir: Path, *, synchronous: str = "full", worker: str = "process", reader: bool = True
) -> Storage:
    """A fresh SQLite file in ``data_dir`` (``synchronous=full`` and the worker process are the
    server's defaults; ``worker="thread"`` runs the connection in a thread of the server)."""
    path = data_dir / f"bench-{worker}.db"
    options = [] if synchronous == "full" else [f"synchronous={synchronous}"]
    if worker != "process":
        options.append(f"worker={worker}")
    elif not reader:
        options.append("reader=off")
    query = "?" + "&".join(options) if options else ""
    return Storage(
        url=f"sqlite:///{path}{query}",
        label=f"sqlite (synchronous={synchronous}, {worker}{'' if reader else ', no reader'})",
    )


def memory_storage() -> Storage:
    """``sqlite:///:memory:``: the store's code without any disk I/O."""
    return Storage(url="sqlite:///:memory:", label="sqlite :memory:")


def postgres_storage(url: str | None) -> Storage:
    """A throw-away schema on a PostgreSQL server, dropped by ``cleanup``."""
    import asyncpg

    base = url or os.environ.get("COLUMBA_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    schema = "bench_" + secrets.token_hex(6)

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(base)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    return Storage(
        url=f"{base}{separator}search_path={schema}",
        label=f"postgresql ({base.rsplit('@', 1)[-1]}, schema {schema})",
        cleanup=lambda: asyncio.run(admin(f"DROP SCHEMA {schema} CASCADE")),
    )


def open_storage(kind: str, data_dir: Path, *, postgres_url: str | None = None) -> Storage:
    """``sqlite``, ``sqlite-thread``, ``sqlite-no-reader``, ``sqlite-normal``, ``memory`` or
    ``postgresql``."""
    if kind == "sqlite":
        return sqlite_storage(data_dir)
    if kind == "sqlite-thread":
        return sqlite_storage(data_dir, worker="thread")
    if kind == "sqlite-no-reader":
        return sqlite_storage(data_dir, reader=False)
    if kind == "sqlite-normal":
        return sqlite_storage(data_dir, synchronous="normal")
    if kind == "memory":
        return memory_storage()
    if kind == "postgresql":
        return postgres_storage(postgres_url)
    raise ValueError(f"unknown storage {kind!r}")


# -- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """An account made through the admin API."""

    sid: str
    password: str


@dataclass
class Server:
    """One ``columba serve`` process on loopback, every listener on port 0.

    Use as a context manager: the process is stopped (SIGTERM, then SIGKILL) and the data
    directory removed on exit.
    """

    storage: Storage
    max_connections: int = 100_000
    #: ``[server] event_loop_cpus`` ("" lets the kernel place everything).
    event_loop_cpus: str = ""
    #: Collapsed stacks of the server's CPU time go here (``bench/cpuprofile``); None: off.
    cpu_profile: Path | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="columba-bench-")))

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _server_settings(self) -> str:
        """More ``[server]`` lines (a subclass's; TOML allows one ``[server]`` table)."""
        return ""

    def _config(self) -> Path:
        text = f"""
[server]
event_loop_cpus = "{self.event_loop_cpus}"
{self._server_settings()}
[listen]
sip_udp = "off"
sip_tcp = "127.0.0.1:0"
sipc_tcp = "127.0.0.1:0"
http = "127.0.0.1:0"
smsc = "off"
mcp = "127.0.0.1:0"
[storage]
url = "{self.storage.url}"
[admin]
token = "{ADMIN_TOKEN}"
[limits]
requests_per_second = 1000000
max_connections = {self.max_connections}
[login]
max_expires = 7200
[log]
level = "warning"
"""
        path = self.data_dir / "columba.toml"
        path.write_text(text)
        return path

    def start(self) -> None:
        """Start the process and wait for ``columba ready`` (30 s at most)."""
        config = self._config()
        log = (self.data_dir / "server.log").open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "columba", "serve"),
                *("--config", str(config), "--data-dir", str(self.data_dir)),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=self._environment(),
        )
        log.close()
        assert self.process.stdout is not None
        found = threading.Event()

        def read_announcements() -> None:
            assert self.process is not None
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = re.match(r"listening (\S+) (\S+)", line)
                if match:
                    self.addresses[match[1]] = match[2]
                if line.strip() == "columba ready":
                    found.set()
            found.set()  # stdout closed: the process is gone

        threading.Thread(target=read_announcements, daemon=True).start()
        if not found.wait(30) or self.process.poll() is not None:
            raise RuntimeError(f"the server did not start; its log:\n{self.log_tail()}")

    def _environment(self) -> dict[str, str]:
        env = os.environ.copy()
        if self.cpu_profile is not None:
            profiler = str(Path(__file__).resolve().parent / "cpuprofile")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (profiler, env.get("PYTHONPATH")) if p)
            env["COLUMBA_CPU_PROFILE"] = str(self.cpu_profile.resolve())
        return env

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return (self.data_dir / "server.log").read_text()[-chars:]
        return ""

    def stop(self) -> None:
        """Stop the server and remove the data directory."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def hostport(self, name: str) -> tuple[str, int]:
        """``(host, port)`` of a listener (``sip-tcp``, ``sipc-tcp``, ``http``)."""
        host, port = self.addresses[name].removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def create_account(self, index: int, *, tag: str) -> Account:
        """One account through ``POST /api/admin/users`` (the server hashes the password)."""
        password = "bench-pw-" + secrets.token_hex(6)
        body = json.dumps(
            {
                "display_name": f"bench {index}",
                "number": f"+86139{tag}{index:05d}",
                "password": password,
            }
        ).encode()
        request = urllib.request.Request(
            self.addresses["http"] + "/api/admin/users",
            data=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return Account(sid=json.loads(response.read())["sid"], password=password)
            except (urllib.error.URLError, ConnectionError):
                if attempt == 4:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def create_accounts(
        self, count: int, *, threads: int = 8, progress: Callable[[int], None] | None = None
    ) -> tuple[list[Account], float]:
        """``count`` accounts made by parallel HTTP requests; returns them and the seconds."""
        tag = f"{secrets.randbelow(1000):03d}"
        started = time.monotonic()
        done = 0
        with ThreadPoolExecutor(threads) as pool:
            accounts = []
            for account in pool.map(lambda i: self.create_account(i, tag=tag), range(count)):
                accounts.append(account)
                done += 1
                if progress is not None:
                    progress(done)
        return accounts, time.monotonic() - started


# -- profiling -----------------------------------------------------------------------------------


def _py_spy() -> list[str]:
    found = shutil.which("py-spy")
    if found:
        return [found]
    if shutil.which("uv"):
        return ["uv", "run", "--no-project", "--with", "py-spy", "py-spy"]
    raise RuntimeError("py-spy not found (pip install py-spy, or install uv)")


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` with py-spy until ``stop_profiler``: an SVG flame graph, or with a
    ``.txt`` suffix the raw collapsed stacks (which ``summarize_profile`` reads)."""
    fmt = "raw" if output.suffix == ".txt" else "flamegraph"
    return subprocess.Popen(
        [
            *_py_spy(),
            *("record", "--pid", str(pid), "--rate", "200", "--format", fmt),
            *("--output", str(output), "--nonblocking", "--threads"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """Let py-spy write its output (SIGINT) and wait for it."""
    if profiler.poll() is None:
        profiler.send_signal(signal.SIGINT)
        try:
            profiler.wait(60)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait()
    if profiler.stderr is not None:
        profiler.stderr.close()


def summarize_profile(collapsed: Path, *, top: int = 15, idle_leaves: tuple[str, ...] = ()) -> str:
    """Per thread, the functions with the most samples (self and inclusive), from py-spy's
    raw output or ``bench/cpuprofile``'s. Samples are taken only while a thread is running
    (py-spy leaves out idle threads), so the shares say where the CPU goes; samples whose
    innermost frame starts with one of ``idle_leaves`` are left out (the CPU profiler's
    signal can land in the selector's wait)."""
    threads: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    totals: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = "?"
        if frames[0].startswith("thread ("):
            thread = frames[0].partition(": ")[2] or frames[0]
            frames = frames[1:]
        frames = [_short(frame) for frame in frames]
        if not frames or frames[-1].startswith(idle_leaves or ("\0",)):
            continue
        total += count
        totals[thread] = totals.get(thread, 0) + count
        own, inclusive = threads.setdefault(thread, ({}, {}))
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return "no samples"
    lines = [f"{total} samples (% of all samples, every thread)"]
    for thread, count in sorted(totals.items(), key=lambda kv: -kv[1]):
        if count < total / 100:
            continue
        own, inclusive = threads[thread]
        lines.append(f"thread {thread}: {100 * count / total:.1f}%")
        lines.append("  self:")
        for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"    {100 * n / total:5.1f}%  {name}")
        lines.append("  inclusive:")
        ranked = [
            (name, n)
            for name, n in sorted(inclusive.items(), key=lambda kv: -kv[1])
            if not _ENTRY_FRAMES.match(name)
        ]
        for name, n in ranked[:top]:
            lines.append(f"    {100 * n / total:5.1f}%  {name}")
    return "\n".join(lines)


#: Frames every sample of a thread passes through (program and thread entry points).
_ENTRY_FRAMES = re.compile(
    r"(_run_module_as_main|_run_code|<module>|main|run_serve|run|Runner\.run|"
    r"BaseEventLoop\.(run_until_complete|run_forever|_run_once)|Thread\.(run|_bootstrap|"
    r"_bootstrap_inner)|_worker|_WorkItem\.run) \("
)


def _short(frame: str) -> str:
    """``handle (columba/servers/im/server.py:118)`` → ``handle (servers/im/server.py)``."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if match is None:
        return frame
    name, path = match[1], match[2]
    for marker in ("/columba/", "/python3.11/", "/site-packages/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


@contextlib.contextmanager
def progress_line(stream: TextIO = sys.stderr) -> Iterator[Callable[[str], None]]:
    """A status line rewritten in place on a terminal; one line every 2 s otherwise."""
    is_tty = stream.isatty()
    last = [0.0]

    def show(text: str) -> None:
        now = time.monotonic()
        if is_tty:
            stream.write("\r\033[K" + text)
            stream.flush()
        elif now - last[0] >= 2.0:
            stream.write(text + "\n")
            stream.flush()
            last[0] = now

    try:
        yield show
    finally:
        if is_tty:
            stream.write("\n")
