"""Memory per idle registered connection, and whether the server still answers a new login.

Run: ``uv run python bench/connections.py [--connections 10000] [--per-account 50]
[--storage sqlite|postgresql]``, or ``--quick`` (100 connections).

M TCP connections are opened to the SIP listener and each registers one device with SIP
REGISTER and Digest (RFC 3261 §10, RFC 7616): the cheapest login Columba has, two round trips
and an MD5. Devices are spread over ``M / --per-account`` accounts, ``--per-account`` devices
each (``+sip.instance`` tells them apart; the server's multi-device policy keeps them all), so
that the benchmark does not spend most of its time making accounts: each account costs the
server a scrypt hash (about 0.1 s, on its event loop).

Memory is the server process's ``VmRSS`` (``/proc/<pid>/status``): once after the accounts
are made, once after a warm-up of the first connections (code paths loaded, caches filled), and
once with all M registered. Bytes per connection is the growth from the warm-up to the end
divided by the connections added then. What the kernel keeps per socket is not in RSS; its
growth in the socket caches of ``/proc/slabinfo`` and TCP buffers of ``/proc/net/sockstat``,
divided by the sockets of both ends, is shown beside it.

With every connection held, a new SIP-C login (SCRAM, ``columba.client.SipcClient``) and a
new REGISTER are timed a few times each. Then every connection is closed, the server's RSS is
read once more (what it gives back), and the server is stopped.

The load generator runs in worker processes (``--per-worker`` connections each, the open-file
limit permitting), each binding its own source address 127.0.0.<2+i> so that no address
runs out of ephemeral ports. Every process raises ``RLIMIT_NOFILE`` to its hard limit; the
server cannot hold more connections than that limit (``ulimit -Hn``) allows, and a request
for more is cut down to what it can hold, with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import queue
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import _server  # bench/ is sys.path[0] when this file runs as a script

DOMAIN = "columba.local"
#: Files the server needs besides client connections (listeners, database, logs, epoll...).
SERVER_SPARE_FILES = 100
#: Registrations a worker has in progress at once (the listen backlog is 100).
CONCURRENCY = 64


# -- one device: REGISTER with Digest over TCP ----------------------------------------------------


def register_request(
    sid: str, local: str, instance: str, cseq: int, *, expires: int, authorization: str = ""
) -> bytes:
    """A REGISTER as a softphone writes it (cf. ``columba.client.SipClient.register``)."""
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    return (
        f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {local};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{sid}@{DOMAIN}>;tag={instance[:8]}\r\n"
        f"To: <sip:{sid}@{DOMAIN}>\r\n"
        f"Call-ID: {instance}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f'Contact: <sip:{sid}@{local};transport=tcp>;+sip.instance="<urn:uuid:{instance}>"\r\n'
        f"Expires: {expires}\r\n"
        f"{auth}Content-Length: 0\r\n\r\n"
    ).encode()


def digest_answer(challenge: str, sid: str, password: str) -> str:
    """``Authorization`` for an MD5 ``qop=auth`` challenge (RFC 7616 §3.4.1)."""
    params = dict(
        (key, quoted or bare)
        for key, quoted, bare in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', challenge)
    )
    realm, nonce = params["realm"], params["nonce"]
    uri = f"sip:{DOMAIN}"
    cnonce = secrets.token_hex(8)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{sid}:{realm}:{password}")
    ha2 = md5(f"REGISTER:{uri}")
    response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{sid}",realm="{realm}",nonce="{nonce}",uri="{uri}",'
        f'response="{response}",algorithm=MD5,cnonce="{cnonce}",qop=auth,nc=00000001'
    )


class Device(asyncio.Protocol):
    """One connection: waits for whole responses; answers any request with 200 (none come)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
            total = end + 4 + (int(match[1]) if match else 0)
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            if head.startswith(b"SIP/2.0 "):
                self.responses.put_nowait(head)

    async def ask(self, request: bytes, within: float) -> bytes:
        assert self.transport is not None
        self.transport.write(request)
        return await asyncio.wait_for(self.responses.get(), within)


async def register_device(
    host: str, port: int, source: str, sid: str, password: str, *, expires: int
) -> Device:
    """Connect from ``source`` and register one device; raises on any failure."""
    loop = asyncio.get_running_loop()
    transport, device = await loop.create_connection(Device, host, port, local_addr=(source, 0))
    try:
        local_host, local_port = transport.get_extra_info("sockname")[:2]
        local = f"{local_host}:{local_port}"
        instance = secrets.token_hex(16)
        head = await device.ask(
            register_request(sid, local, instance, 1, expires=expires), within=30
        )
        if not head.startswith(b"SIP/2.0 401"):
            raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        challenge = next(
            line.split(b":", 1)[1].decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"www-authenticate:") and b"MD5" in line.upper()
        )
        authorization = digest_answer(challenge, sid, password)
        head = await device.ask(
            register_request(sid, local, instance, 2, expires=expires, authorization=authorization),
            within=30,
        )
        if not head.startswith(b"SIP/2.0 200"):
            raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    except BaseException:
        transport.close()
        raise
    return device


# -- a worker process: some of the connections ----------------------------------------------------


async def run_worker(job: dict[str, Any], commands: TextIO, report: TextIO) -> None:
    """Register the job's devices, report progress, hold them until told to close."""
    _server.raise_nofile()
    host, port, source = job["host"], job["port"], job["source"]
    limit = asyncio.Semaphore(job["concurrency"])
    devices: list[Device] = []
    errors: dict[str, int] = {}
    done = 0

    def say(message: dict[str, Any]) -> None:
        print(json.dumps(message), file=report, flush=True)

    async def one(sid: str, password: str) -> None:
        nonlocal done
        async with limit:
            try:
                devices.append(
                    await register_device(host, port, source, sid, password, expires=job["expires"])
                )
            except Exception as exc:  # counted and reported, never fatal
                reason = f"{type(exc).__name__}: {exc}"[:120]
                errors[reason] = errors.get(reason, 0) + 1
            done += 1

    async def progress() -> None:
        while True:
            await asyncio.sleep(0.5)
            say({"progress": len(devices), "failed": sum(errors.values())})

    reporter = asyncio.create_task(progress())
    started = time.monotonic()
    await asyncio.gather(*(one(sid, password) for sid, password in job["devices"]))
    reporter.cancel()
    say(
        {
            "done": len(devices),
            "failed": sum(errors.values()),
            "errors": errors,
            "seconds": time.monotonic() - started,
        }
    )
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, commands.readline)  # "close", or EOF
    lost = sum(1 for d in devices if d.transport is None or d.transport.is_closing())
    for device in devices:
        if device.transport is not None:
            device.transport.close()
    await asyncio.sleep(0.2)
    say({"closed": len(devices), "lost_before_close": lost})


class Workers:
    """The worker processes, and a thread per worker turning its reports into a queue."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.reports: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        self.latest: dict[int, dict[str, Any]] = {}

    def start(self, job: dict[str, Any]) -> int:
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        index = len(self.processes)
        self.processes.append(process)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.reports.put((index, json.loads(line)))
            self.reports.put((index, None))

        threading.Thread(target=read, daemon=True).start()
        return index

    def wait_done(
        self, indexes: Sequence[int], show: Callable[[int, int], None]
    ) -> list[dict[str, Any]]:
        """Wait until the given workers report ``done``; ``show(connected, failed)``."""
        finished: dict[int, dict[str, Any]] = {}
        while len(finished) < len(indexes):
            index, message = self.reports.get()
            if message is None:
                if index in indexes and index not in finished:
                    raise RuntimeError(f"load generator {index} died")
                continue
            self.latest[index] = message
            if "done" in message:
                finished[index] = message
            connected = sum(m.get("done", m.get("progress", 0)) for m in self.latest.values())
            failed = sum(m.get("failed", 0) for m in self.latest.values())
            show(connected, failed)
        return [finished[i] for i in indexes]

    def close_all(self, within: float = 60.0) -> list[dict[str, Any]]:
        """Tell every worker to close its connections; wait for them to say so and exit."""
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.write("close\n")
                    process.stdin.close()
        closed = []
        deadline = time.monotonic() + within
        alive = {i for i, p in enumerate(self.processes)}
        while alive and time.monotonic() < deadline:
            try:
                index, message = self.reports.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if message is None:
                alive.discard(index)
            elif "closed" in message:
                closed.append(message)
        self.stop()
        return closed

    def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self.processes = []


# -- probes while the connections are held --------------------------------------------------------


async def time_logins(
    server: _server.Server, account: _server.Account, count: int
) -> dict[str, list[float]]:
    """Seconds for fresh SIP-C logins (SCRAM) and fresh REGISTERs, one after another."""
    from columba.client.sipc import SipcClient

    sipc: list[float] = []
    register: list[float] = []
    for _ in range(count):
        started = time.monotonic()
        client = await SipcClient.connect(*server.hostport("sipc-tcp"))
        await client.login(account.sid, account.password)
        sipc.append(time.monotonic() - started)
        await client.logout()
        started = time.monotonic()
        host, port = server.hostport("sip-tcp")
        device = await register_device(
            host, port, "127.0.0.1", account.sid, account.password, expires=600
        )
        register.append(time.monotonic() - started)
        assert device.transport is not None
        device.transport.close()
    return {"sipc_login": sipc, "register": register}


#: Kernel caches that grow with each TCP socket: the socket, its inode, file, dentry, epoll entry.
SOCKET_SLABS = ("TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi")


def kernel_socket_bytes() -> int | None:
    """Bytes in the kernel caches that hold sockets, plus TCP buffers (every process).

    From ``/proc/slabinfo`` (active objects x object size) and ``/proc/net/sockstat``; None when
    they cannot be read.
    """
    try:
        slabs = Path("/proc/slabinfo").read_text().splitlines()
        sockstat = Path("/proc/net/sockstat").read_text()
    except OSError:
        return None
    total = 0
    for line in slabs:
        fields = line.split()
        if fields and fields[0] in SOCKET_SLABS:
            total += int(fields[1]) * int(fields[3])
    match = re.search(r"^TCP:.* mem (\d+)", sockstat, re.M)
    if match:
        total += int(match[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """How many connections, accounts and workers, after the file limit is applied."""

    requested: int
    connections: int
    warmup: int
    accounts: int
    per_worker: int
    workers: int
    file_limit: int
    notes: list[str]


def plan(args: argparse.Namespace, file_limit: int) -> Plan:
    notes = []
    capacity = file_limit - SERVER_SPARE_FILES
    connections = args.connections
    if connections > capacity:
        notes.append(
            f"asked for {connections:,} connections, but the server process may open at most "
            f"{file_limit:,} files (RLIMIT_NOFILE hard limit; raising it needs "
            f"CAP_SYS_RESOURCE): measuring {capacity:,}"
        )
        connections = capacity
    per_worker = max(1, min(args.per_worker, file_limit - SERVER_SPARE_FILES))
    warmup = min(max(1, connections // 20), 500)
    workers = 1 + math.ceil((connections - warmup) / per_worker)
    if workers > 250:
        raise SystemExit("too many workers: raise --per-worker")
    return Plan(
        requested=args.connections,
        connections=connections,
        warmup=warmup,
        accounts=math.ceil(connections / args.per_account),
        per_worker=per_worker,
        workers=workers,
        file_limit=file_limit,
        notes=notes,
    )


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    file_limit = _server.raise_nofile()
    p = plan(args, file_limit)
    report: dict[str, Any] = {
        "machine": _server.machine(),
        "settings": {
            "requested": p.requested,
            "connections": p.connections,
            "per_account": args.per_account,
            "accounts": p.accounts,
            "workers": p.workers,
            "file_limit": file_limit,
            "storage": args.storage,
            "expires": args.expires,
        },
        "notes": list(p.notes),
    }
    for note in p.notes:
        log("note: " + note)
    with tempfile.TemporaryDirectory(prefix="columba-conn-") as scratch:
        storage = _server.open_storage(args.storage, Path(scratch), postgres_url=args.postgres_url)
        try:
            with _server.Server(storage=storage, max_connections=p.connections + 1000) as server:
                report.update(measure(server, p, args, log))
        finally:
            storage.cleanup()
    return report


def measure(
    server: _server.Server, p: Plan, args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, Any]:
    rss: dict[str, int] = {"started": server.rss()}
    with _server.progress_line() as show:
        accounts, account_seconds = server.create_accounts(
            p.accounts + 1,
            threads=8,
            progress=lambda n: show(f"accounts {n:,}/{p.accounts + 1:,}"),
        )
    log(
        f"{len(accounts):,} accounts made in {account_seconds:.1f} s "
        f"({1000 * account_seconds / len(accounts):.0f} ms each)"
    )
    probe_account, accounts = accounts[-1], accounts[:-1]
    devices = [
        (accounts[i // args.per_account].sid, accounts[i // args.per_account].password)
        for i in range(p.connections)
    ]
    rss["accounts_made"] = server.rss()
    sockstat = {"before": kernel_socket_bytes()}
    host, port = server.hostport("sip-tcp")

    def job(share: list[tuple[str, str]], index: int) -> dict[str, Any]:
        return {
            "host": host,
            "port": port,
            "source": f"127.0.0.{2 + index}",
            "devices": share,
            "concurrency": CONCURRENCY,
            "expires": args.expires,
        }

    workers = Workers()
    try:
        started = time.monotonic()
        with _server.progress_line() as show:

            def progress(connected: int, failed: int) -> None:
                elapsed = time.monotonic() - started
                show(
                    f"registered {connected:,}/{p.connections:,} ({failed} failed), "
                    f"{connected / max(elapsed, 1e-9):,.0f}/s, "
                    f"server RSS {server.rss() / 2**20:,.1f} MiB"
                )

            warm = workers.start(job(devices[: p.warmup], 0))
            done = workers.wait_done([warm], progress)
            time.sleep(1.0)
            rss["warmed_up"] = server.rss()
            rest = devices[p.warmup :]
            indexes = [
                workers.start(job(rest[i : i + p.per_worker], 1 + i // p.per_worker))
                for i in range(0, len(rest), p.per_worker)
            ]
            done += workers.wait_done(indexes, progress)
        connect_seconds = time.monotonic() - started
        registered = sum(d["done"] for d in done)
        failed = sum(d["failed"] for d in done)
        errors: dict[str, int] = {}
        for d in done:
            for reason, count in d["errors"].items():
                errors[reason] = errors.get(reason, 0) + count
        log(
            f"{registered:,} registered in {connect_seconds:.1f} s "
            f"({registered / connect_seconds:,.0f}/s), {failed} failed"
        )
        time.sleep(2.0)  # outbox tasks settle
        rss["all_registered"] = server.rss()
        sockstat["held"] = kernel_socket_bytes()
        meter = _server.CpuMeter({"server": server.pid})
        meter.start()
        time.sleep(args.idle_seconds)
        idle_cpu = meter.stop()["server"]
        logins = asyncio.run(time_logins(server, probe_account, args.probes))
        closed = workers.close_all()
    finally:
        workers.stop()
    time.sleep(2.0)
    rss["all_closed"] = server.rss()
    sockstat["closed"] = kernel_socket_bytes()

    added = registered - min(p.warmup, done[0]["done"])
    per_connection = (rss["all_registered"] - rss["warmed_up"]) / added if added > 0 else None
    overall = (rss["all_registered"] - rss["accounts_made"]) / registered if registered else None
    kernel = None
    if sockstat["held"] is not None and sockstat["before"] is not None and registered:
        # Both ends of each connection are on this machine: half is the server's.
        kernel = (sockstat["held"] - sockstat["before"]) / (2 * registered)
    projected = rss["warmed_up"] + per_connection * (50_000 - p.warmup) if per_connection else None
    return {
        "registered": registered,
        "failed": failed,
        "errors": errors,
        "connect_seconds": round(connect_seconds, 2),
        "registrations_per_s": round(registered / connect_seconds, 1),
        "accounts_seconds": round(account_seconds, 2),
        "rss_bytes": rss,
        "bytes_per_connection": round(per_connection) if per_connection else None,
        "bytes_per_connection_from_zero": round(overall) if overall else None,
        "projected_rss_50k_bytes": round(projected) if projected else None,
        "kernel_bytes_per_socket": round(kernel) if kernel else None,
        "idle_server_cpu_cores": round(idle_cpu, 3),
        "login_seconds": {
            name: {
                "median": round(statistics.median(values), 4),
                "max": round(max(values), 4),
                "runs": len(values),
            }
            for name, values in logins.items()
        },
        "lost_before_close": sum(c["lost_before_close"] for c in closed),
        "closed": sum(c["closed"] for c in closed),
    }


def text_report(report: dict[str, Any]) -> str:
    s = report["settings"]
    rss = report["rss_bytes"]

    def mib(value: int | None) -> str:
        return "-" if value is None else f"{value / 2**20:,.1f} MiB"

    lines = [
        f"machine: {report['machine']}",
        f"connections {s['connections']:,} (asked {s['requested']:,}), {s['per_account']} "
        f"devices per account, {s['accounts']:,} accounts, {s['workers']} load process(es), "
        f"open-file limit {s['file_limit']:,}, storage {s['storage']}",
    ]
    lines += [f"note: {note}" for note in report["notes"]]
    lines += [
        "",
        f"accounts made in           {report['accounts_seconds']:.1f} s",
        f"registered                 {report['registered']:,} in {report['connect_seconds']:.1f} s "
        f"({report['registrations_per_s']:,.0f}/s), {report['failed']} failed",
    ]
    if report["errors"]:
        lines.append(f"errors                     {report['errors']}")
    lines += [
        "",
        "server RSS",
        f"  at start                 {mib(rss['started'])}",
        f"  accounts made            {mib(rss['accounts_made'])}",
        f"  warm-up connections      {mib(rss['warmed_up'])}",
        f"  all registered           {mib(rss['all_registered'])}",
        f"  all closed again         {mib(rss['all_closed'])}",
        "",
        f"bytes per connection       {report['bytes_per_connection'] or 0:,} "
        f"(after warm-up; {report['bytes_per_connection_from_zero'] or 0:,} counting from the "
        "first connection)",
        f"projected RSS at 50,000    {mib(report['projected_rss_50k_bytes'])}",
        f"kernel memory per socket   {report['kernel_bytes_per_socket'] or 0:,} bytes "
        f"(not in RSS; {', '.join(SOCKET_SLABS)} caches and TCP buffers)",
        f"idle server CPU            {report['idle_server_cpu_cores']:.3f} cores with all held",
    ]
    for name, figures in report["login_seconds"].items():
        label = {"sipc_login": "new SIP-C login", "register": "new REGISTER"}[name]
        lines.append(
            f"{label:<27}median {1000 * figures['median']:.1f} ms, "
            f"max {1000 * figures['max']:.1f} ms ({figures['runs']} runs)"
        )
    if report["lost_before_close"]:
        lines.append(f"connections lost before the end: {report['lost_before_close']}")
    per = report["bytes_per_connection"]
    slowest = max(f["max"] for f in report["login_seconds"].values())
    lines += [
        "",
        f"target ≤ 20 KB (20,480 B) per connection: {'met' if per and per <= 20480 else 'NOT met'}"
        f"; new login while held ≤ 0.5 s: {'met' if slowest <= 0.5 else 'NOT met'}",
    ]
    if s["connections"] < 50_000:
        lines.append(
            f"(50,000 connections not measured here: {s['connections']:,} held; see the "
            "projection above)"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, help="connections to hold (default 10,000)")
    parser.add_argument(
        "--per-account", type=int, default=50, help="devices registered per account (default 50)"
    )
    parser.add_argument(
        "--per-worker", type=int, default=10_000, help="connections per load process"
    )
    parser.add_argument(
        "--storage",
        choices=("sqlite", "postgresql", "sqlite-normal", "memory"),
        default="sqlite",
    )
    parser.add_argument("--postgres-url", help="PostgreSQL server (default: scripts/test's)")
    parser.add_argument("--expires", type=int, default=3600, help="REGISTER Expires (s)")
    parser.add_argument("--probes", type=int, help="new logins timed while held (default 5)")
    parser.add_argument("--idle-seconds", type=float, help="server CPU measured idle (default 5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="100 connections, a few seconds")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.connections = args.connections or (100 if args.quick else 10_000)
    args.probes = args.probes or (2 if args.quick else 5)
    if args.idle_seconds is None:
        args.idle_seconds = 0.5 if args.quick else 5.0
    if args.connections < 2 or args.per_account < 1 or args.per_worker < 1:
        parser.error("--connections must be at least 2, --per-account and --per-worker positive")
    return args


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    if args.worker:
        asyncio.run(run_worker(json.loads(sys.stdin.readline()), sys.stdin, sys.stdout))
        return 0

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = run(args, log)
    if args.json:
        print(json.dumps(report, indent=2), file=out)
    else:
        print(text_report(report), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
