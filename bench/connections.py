"""Memory per idle registered connection, and whether the server still answers a new login.

Run: ``uv run python bench/connections.py [--connections 10000] [--per-account 50]
[--storage sqlite|postgresql] [--nodes K]``, or ``--quick`` (100 connections).

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

With ``--nodes K`` (K > 1) the connections are spread over K ``columba serve`` processes
sharing one PostgreSQL schema and the Redis location registry (``--redis-url``, else
``COLUMBA_TEST_REDIS_URL``, else ``redis://127.0.0.1:6379/0``): device j registers on node
j mod K, so every account has devices on every node. Each node's RSS is read as above and its
bytes per connection reported apart; Redis's ``used_memory`` growth per binding, a new login
on every node, and one message from a device on node 0 to one on node 1 are measured while
all are held. This is how Columba holds more connections than one process's open-file limit.

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

import _cluster
import _server  # bench/ is sys.path[0] when this file runs as a script

DOMAIN = "columba.local"
#: Files the server needs besides client connections (listeners, database, logs, epoll...).
SERVER_SPARE_FILES = 100
#: Registrations a worker has in progress at once (the listen backlog is 100).
CONCURRENCY = 64
#: Times a device tries to register before it counts as failed.
ATTEMPTS = 3


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

    retries = 0

    async def one(sid: str, password: str) -> None:
        nonlocal done, retries
        async with limit:
            # A device whose REGISTER timed out tries again, as a softphone would; only a
            # device that fails ATTEMPTS times counts as failed (retries are reported).
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    device = await register_device(
                        host, port, source, sid, password, expires=job["expires"]
                    )
                except Exception as exc:  # counted and reported, never fatal
                    if attempt < ATTEMPTS:
                        retries += 1
                        continue
                    reason = f"{type(exc).__name__}: {exc}"[:120]
                    errors[reason] = errors.get(reason, 0) + 1
                else:
                    devices.append(device)
                    break
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
            "retries": retries,
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
    nodes = getattr(args, "nodes", 1)
    capacity = nodes * (file_limit - SERVER_SPARE_FILES)
    connections = args.connections
    if connections > capacity:
        notes.append(
            f"asked for {connections:,} connections, but each server process may open at most "
            f"{file_limit:,} files (RLIMIT_NOFILE hard limit; raising it needs "
            f"CAP_SYS_RESOURCE): measuring {capacity:,} over {nodes} node(s)"
            + ("; --nodes K spreads them over K processes" if nodes == 1 else "")
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
    if args.nodes > 1:
        return run_nodes(args, log)
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


# -- several nodes (--nodes K) ---------------------------------------------------------------------


def run_nodes(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    """K ``columba serve`` nodes on one PostgreSQL schema and the Redis location registry."""
    file_limit = _server.raise_nofile()
    p = plan(args, file_limit)
    url = _cluster.redis_url(args.redis_url)
    run_id = secrets.token_hex(4)
    namespace = f"bench-{run_id}"
    report: dict[str, Any] = {
        "machine": _server.machine(),
        "settings": {
            "requested": p.requested,
            "connections": p.connections,
            "nodes": args.nodes,
            "per_account": args.per_account,
            "accounts": p.accounts,
            "file_limit": file_limit,
            "storage": "postgresql",
            "registry": f"redis ({url.rsplit('@', 1)[-1]}, namespace {namespace})",
            "expires": args.expires,
        },
        "notes": list(p.notes),
    }
    for note in report["notes"]:
        log("note: " + note)
    per_node = math.ceil(p.connections / args.nodes)
    with tempfile.TemporaryDirectory(prefix="columba-conn-") as scratch:
        storage = _server.open_storage("postgresql", Path(scratch), postgres_url=args.postgres_url)
        redis_before = _cluster.redis_memory(url)
        nodes = [
            _cluster.NodeServer(
                storage=storage,
                max_connections=per_node + 1000,
                node_name=f"bench-{i}-{run_id}",
                redis=url,
                namespace=namespace,
            )
            for i in range(args.nodes)
        ]
        try:
            with contextlib.ExitStack() as stack:
                for node in nodes:
                    stack.enter_context(node)
                report.update(measure_nodes(nodes, p, args, log, url, namespace, redis_before))
        finally:
            storage.cleanup()
            _cluster.forget_namespace(url, namespace)
    return report


def measure_nodes(
    nodes: list[_cluster.NodeServer],
    p: Plan,
    args: argparse.Namespace,
    log: Callable[[str], None],
    url: str,
    namespace: str,
    redis_before: int,
) -> dict[str, Any]:
    k = len(nodes)
    rss: list[dict[str, int]] = [{"started": node.rss()} for node in nodes]
    with _server.progress_line() as show:
        accounts, account_seconds = _cluster.create_accounts(
            nodes,
            p.accounts + 2,
            progress=lambda n: show(f"accounts {n:,}/{p.accounts + 2:,}"),
        )
    log(f"{len(accounts):,} accounts made in {account_seconds:.1f} s through {k} nodes")
    (probe, receiver), accounts = accounts[-2:], accounts[:-2]
    # Device j goes to node j % K: each account has devices on every node, so every user's
    # location hash holds entries of several nodes.
    shares: list[list[tuple[str, str]]] = [[] for _ in nodes]
    for j in range(p.connections):
        account = accounts[j // args.per_account]
        shares[j % k].append((account.sid, account.password))
    for i, node in enumerate(nodes):
        rss[i]["accounts_made"] = node.rss()
    sockstat = {"before": kernel_socket_bytes()}
    warm = [min(max(1, len(share) // 20), 500) for share in shares]
    workers = Workers()
    node_of: dict[int, int] = {}
    sources = iter(range(250))

    def job(i: int, devices: list[tuple[str, str]]) -> int:
        host, port = nodes[i].hostport("sip-tcp")
        index = workers.start(
            {
                "host": host,
                "port": port,
                "source": f"127.0.0.{2 + next(sources)}",
                "devices": devices,
                "concurrency": CONCURRENCY,
                "expires": args.expires,
            }
        )
        node_of[index] = i
        return index

    try:
        started = time.monotonic()
        with _server.progress_line() as show:

            def progress(connected: int, failed: int) -> None:
                elapsed = time.monotonic() - started
                total = sum(node.rss() for node in nodes)
                show(
                    f"registered {connected:,}/{p.connections:,} ({failed} failed), "
                    f"{connected / max(elapsed, 1e-9):,.0f}/s, "
                    f"servers' RSS {total / 2**20:,.1f} MiB"
                )

            done = workers.wait_done([job(i, shares[i][: warm[i]]) for i in range(k)], progress)
            time.sleep(1.0)
            for i, node in enumerate(nodes):
                rss[i]["warmed_up"] = node.rss()
            indexes = [
                job(i, shares[i][start : start + p.per_worker])
                for i in range(k)
                for start in range(warm[i], len(shares[i]), p.per_worker)
            ]
            done += workers.wait_done(indexes, progress)
        connect_seconds = time.monotonic() - started
        per_node = [0] * k
        warmed = [0] * k
        for index, result in enumerate(done):
            per_node[node_of[index]] += result["done"]
            if index < k:
                warmed[node_of[index]] = result["done"]
        registered = sum(per_node)
        failed = sum(d["failed"] for d in done)
        retries = sum(d.get("retries", 0) for d in done)
        errors: dict[str, int] = {}
        for d in done:
            for reason, count in d["errors"].items():
                errors[reason] = errors.get(reason, 0) + count
        log(
            f"{registered:,} registered in {connect_seconds:.1f} s "
            f"({registered / connect_seconds:,.0f}/s), {failed} failed, {retries} retried"
        )
        time.sleep(3.0)  # outbox tasks and registry writes settle
        for i, node in enumerate(nodes):
            rss[i]["all_registered"] = node.rss()
        sockstat["held"] = kernel_socket_bytes()
        redis_held = _cluster.redis_memory(url)
        keys = _cluster.namespace_keys(url, namespace)
        meter = _server.CpuMeter({f"node {i}": node.pid for i, node in enumerate(nodes)})
        meter.start()
        time.sleep(args.idle_seconds)
        idle_cpu = meter.stop()
        logins = [asyncio.run(time_logins(node, probe, args.probes)) for node in nodes]
        cross = _cluster.time_cross_node(nodes, probe, receiver)
        same = _cluster.time_same_node(nodes, probe, receiver)
        closed = workers.close_all()
    finally:
        workers.stop()
    time.sleep(2.0)
    for i, node in enumerate(nodes):
        rss[i]["all_closed"] = node.rss()
    kernel = None
    if sockstat["held"] is not None and sockstat["before"] is not None and registered:
        kernel = (sockstat["held"] - sockstat["before"]) / (2 * registered)
    per_connection = [
        round((rss[i]["all_registered"] - rss[i]["warmed_up"]) / (per_node[i] - warmed[i]))
        if per_node[i] > warmed[i]
        else None
        for i in range(k)
    ]
    return {
        "registered": registered,
        "registered_per_node": per_node,
        "failed": failed,
        "retries": retries,
        "errors": errors,
        "connect_seconds": round(connect_seconds, 2),
        "registrations_per_s": round(registered / connect_seconds, 1),
        "accounts_seconds": round(account_seconds, 2),
        "rss_bytes": rss,
        "bytes_per_connection": per_connection,
        "kernel_bytes_per_socket": round(kernel) if kernel else None,
        "redis_bytes_per_connection": round((redis_held - redis_before) / registered)
        if registered
        else None,
        "redis_keys": keys,
        "idle_server_cpu_cores": {name: round(v, 3) for name, v in idle_cpu.items()},
        "login_seconds": [
            {
                name: {
                    "median": round(statistics.median(values), 4),
                    "max": round(max(values), 4),
                    "runs": len(values),
                }
                for name, values in node_logins.items()
            }
            for node_logins in logins
        ],
        "message_seconds": {
            name: {
                "median": round(statistics.median(values), 4),
                "max": round(max(values), 4),
                "runs": len(values),
            }
            for name, values in (("node 0 → node 1", cross), ("node 0 → node 0", same))
        },
        "lost_before_close": sum(c["lost_before_close"] for c in closed),
        "closed": sum(c["closed"] for c in closed),
    }


def nodes_text_report(report: dict[str, Any]) -> str:
    s = report["settings"]

    def mib(value: int | None) -> str:
        return "-" if value is None else f"{value / 2**20:,.1f} MiB"

    lines = [
        f"machine: {report['machine']}",
        f"connections {s['connections']:,} (asked {s['requested']:,}) over {s['nodes']} nodes, "
        f"{s['per_account']} devices per account, {s['accounts']:,} accounts, open-file limit "
        f"{s['file_limit']:,} per process, storage {s['storage']}, registry {s['registry']}",
    ]
    lines += [f"note: {note}" for note in report["notes"]]
    lines += [
        "",
        f"accounts made in           {report['accounts_seconds']:.1f} s",
        f"registered                 {report['registered']:,} in {report['connect_seconds']:.1f} s "
        f"({report['registrations_per_s']:,.0f}/s), {report['failed']} failed, "
        f"{report['retries']:,} REGISTERs retried after a timeout",
    ]
    if report["errors"]:
        lines.append(f"errors                     {report['errors']}")
    lines += [
        "",
        "node  held     RSS start   warm-up     all held    closed     bytes/conn  idle CPU",
    ]
    for i, rss in enumerate(report["rss_bytes"]):
        per = report["bytes_per_connection"][i]
        lines.append(
            f"{i:<5} {report['registered_per_node'][i]:<8,} {mib(rss['started']):<11} "
            f"{mib(rss['warmed_up']):<11} {mib(rss['all_registered']):<11} "
            f"{mib(rss['all_closed']):<10} {per or 0:<11,} "
            f"{report['idle_server_cpu_cores'][f'node {i}']:.3f}"
        )
    lines += [
        "",
        f"total held                 {report['registered']:,} idle registered connections",
        f"kernel memory per socket   {report['kernel_bytes_per_socket'] or 0:,} bytes (not in RSS)",
        f"Redis memory per binding   {report['redis_bytes_per_connection'] or 0:,} bytes "
        f"({report['redis_keys']:,} keys in the run's namespace)",
    ]
    for i, node_logins in enumerate(report["login_seconds"]):
        for name, figures in node_logins.items():
            label = {"sipc_login": "new SIP-C login", "register": "new REGISTER"}[name]
            lines.append(
                f"node {i} {label:<20}median {1000 * figures['median']:.1f} ms, "
                f"max {1000 * figures['max']:.1f} ms ({figures['runs']} runs)"
            )
    for name, figures in report["message_seconds"].items():
        lines.append(
            f"message {name:<19}median {1000 * figures['median']:.1f} ms, max "
            f"{1000 * figures['max']:.1f} ms ({figures['runs']} runs, one at a time, SIP-C)"
        )
    cross, same = report["message_seconds"].values()
    lines.append(
        f"cross-node / same-node     {cross['median'] / same['median']:.2f}× (median latency)"
    )
    if report["lost_before_close"]:
        lines.append(f"connections lost before the end: {report['lost_before_close']}")
    worst = max(x or 0 for x in report["bytes_per_connection"])
    slowest = max(f["max"] for logins in report["login_seconds"] for f in logins.values())
    lines += [
        "",
        f"target ≥ 50,000 held: {'met' if report['registered'] >= 50_000 else 'NOT met'}; "
        f"≤ 20 KB (20,480 B) per connection on every node: "
        f"{'met' if 0 < worst <= 20480 else 'NOT met'}; new login while held ≤ 0.5 s: "
        f"{'met' if slowest <= 0.5 else 'NOT met'}",
    ]
    return "\n".join(lines)


def text_report(report: dict[str, Any]) -> str:
    if "nodes" in report["settings"]:
        return nodes_text_report(report)
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
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="spread the connections over K nodes sharing PostgreSQL and Redis (default 1)",
    )
    parser.add_argument("--redis-url", help="Redis for --nodes > 1 (default: scripts/test's)")
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
    if args.connections < 2 or args.per_account < 1 or args.per_worker < 1 or args.nodes < 1:
        parser.error(
            "--connections must be at least 2, --per-account, --per-worker, --nodes positive"
        )
    if args.nodes > 1:
        args.storage = "postgresql"
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
