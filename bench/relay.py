"""Messages relayed per second by the IM server, end to end, with their latency.

Run: ``uv run python bench/relay.py [--pairs 50] [--seconds 10] [--window 4] [--rate R]
[--storage sqlite|postgresql] [--client raw|library] [--workers 1] [--profile FILE.txt]
[--event-loop-cpus 0|none] [--client-cpus others|any|LIST]``,
or ``--quick`` for a smoke run of a few seconds. ``bench/README.md`` has figures.

N pairs of SIP-C devices log in over TCP; in each pair one device sends ``M`` messages to the
other as fast as allowed, with at most ``--window`` messages outstanding (sent and not yet
received by the other device), and the receiving device answers every ``M`` with 200, which
acknowledges it in the server's store. Each body carries the sequence number and the sender's
``CLOCK_MONOTONIC`` time in nanoseconds (one clock for every process on the machine), so the
receiver measures the end-to-end latency: sender's write → server (parse, checks, store,
outbox, store ack) → receiver's read. Only messages received inside the measured window
(after ``--warmup``) count. Without ``--rate`` the run is closed-loop, so the latency is
mostly queueing (outstanding messages / throughput); ``--rate`` offers a fixed load instead and
shows the latency below saturation.

The load generator runs in separate processes (``--workers``, each holding whole pairs), never
in the server's. On a machine with 2 or more CPUs the server runs with ``[server]
event_loop_cpus`` (``--event-loop-cpus``, default CPU 0: its event loop alone there, its
helpers on the other CPUs) and the load generator, which stands in for phones that are
elsewhere, on the CPUs other than the loop's (``--client-cpus others``); the ``unpinned``
baseline is the same server with the kernel placing everything (decision 0023). CPU use of
every process over the measured window is read from ``/proc``
and printed beside the rates, with the server's CPU time per relayed message ("srv": the server
process and its children, the SQLite worker process among them).

Two clients drive the same dialog: ``raw`` (default) writes pre-formatted bytes and reads with
a minimal framer, so the generator costs little; ``library`` is ``columba.client.SipcClient``
(full parser and serializer on both sides), which is what an application would use.

Baselines, measured in the same run with the same client code (``--baseline``):

``null``
    A null relay (this script with ``--null-relay``, in its own process): an asyncio
    ``Protocol`` that answers and forwards each ``M`` with a few byte operations and no parsing,
    checks or store. It is the ceiling set by the clients, loopback TCP and the event loop.
``memory``
    The real server with ``sqlite:///:memory:``: everything but disk I/O, so the difference to
    the main run is the cost of durable commits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

import _server  # bench/ is sys.path[0] when this file runs as a script

from columba import affinity

DOMAIN = "fetion.com.cn"
CRLF2 = b"\r\n\r\n"
#: How long receivers may take to get the messages still in flight once sending stops.
DRAIN_SECONDS = 3.0


# -- the wire, as the raw client and the null relay see it ----------------------------------------


def split_messages(buffer: bytearray) -> list[tuple[bytes, bytes]]:
    """Remove and return the complete messages at the start of ``buffer`` as (head, body).

    The body length is ``L`` (SIP-C) or ``Content-Length``; without either it is 0. Keep-alive
    CRLFs between messages are skipped.
    """
    messages = []
    start = 0
    size = len(buffer)
    while True:
        while buffer.startswith(b"\r\n", start):
            start += 2
        end = buffer.find(CRLF2, start)
        if end < 0:
            break
        head = bytes(buffer[start:end])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"l", b"content-length"):
                length = int(value)
                break
        body_end = end + 4 + length
        if body_end > size:
            break
        messages.append((head, bytes(buffer[end + 4 : body_end])))
        start = body_end
    if start:
        del buffer[:start]
    return messages


def header_lines(head: bytes, *names: bytes) -> dict[bytes, bytes]:
    """``{name: whole line}`` of the named header fields (SIP-C compact names, uppercase)."""
    found = {}
    for line in head.split(b"\r\n")[1:]:
        name = line.partition(b":")[0].strip().upper()
        if name in names and name not in found:
            found[name] = line
    return found


def value(line: bytes) -> bytes:
    return line.partition(b":")[2].strip()


def im_request(sender: str, receiver: str, call_id: int, body: bytes) -> bytes:
    """The ``M`` a Fetion client sends (the bytes ``SipcClient.send_message`` writes)."""
    return (
        f"M {DOMAIN} SIP-C/4.0\r\nF: {sender}\r\nI: {call_id}\r\nQ: {call_id} M\r\n"
        f"T: sip:{receiver}@{DOMAIN}\r\nC: text/plain\r\nK: SaveHistory\r\nN: CatMsg\r\n"
        f"L: {len(body)}\r\n\r\n"
    ).encode() + body


def ok_for(head: bytes) -> bytes:
    """A 200 answering a request: its F, I and Q copied, as ``make_response`` does."""
    lines = header_lines(head, b"F", b"I", b"Q")
    return b"SIP-C/4.0 200 OK\r\n" + b"".join(lines[n] + b"\r\n" for n in lines) + b"\r\n"


# -- what every pair measures ---------------------------------------------------------------------


@dataclass
class Window:
    """The measured interval, on ``time.monotonic_ns()``."""

    start_ns: int
    end_ns: int

    def __contains__(self, moment: int) -> bool:
        return self.start_ns <= moment < self.end_ns


@dataclass
class Tally:
    """What one worker counted."""

    sent: int = 0
    received: int = 0
    received_in_window: int = 0
    latencies_us: list[int] = field(default_factory=list)
    out_of_order: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


class Pair:
    """A sender and a receiver; ``window`` messages at most in flight between them."""

    def __init__(self, tally: Tally, window: Window, size: int, *, interval: float = 0.0) -> None:
        self.tally = tally
        self.window = window
        self.interval = interval
        self.next_at = 0.0
        self.seq = 0
        self.last_received = 0
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.padding = b"x" * max(0, size - 28)

    async def pace(self) -> None:
        """With ``--rate``: wait for this pair's next sending time (one every ``interval``)."""
        if not self.interval:
            return
        now = time.monotonic()
        at = max(self.next_at, now)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)

    def next_body(self) -> tuple[int, bytes, asyncio.Future[None]]:
        self.seq += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.seq] = future
        self.tally.sent += 1
        body = b"%d %d " % (self.seq, time.monotonic_ns()) + self.padding
        return self.seq, body, future

    def received(self, body: bytes) -> None:
        now = time.monotonic_ns()
        seq_text, sent_text, _ = body.split(b" ", 2)
        seq, sent = int(seq_text), int(sent_text)
        tally = self.tally
        tally.received += 1
        if now in self.window:
            tally.received_in_window += 1
            tally.latencies_us.append((now - sent) // 1000)
        if seq < self.last_received:
            tally.out_of_order += 1
        self.last_received = max(seq, self.last_received)
        future = self.waiting.pop(seq, None)
        if future is not None and not future.done():
            future.set_result(None)


# -- the raw client -------------------------------------------------------------------------------


class RawDevice(asyncio.Protocol):
    """A SIP-C device written with bytes: login, send ``M``, answer incoming ``M`` with 200."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.pair: Pair | None = None
        self.call_ids = itertools.count(1)
        self._waiting: dict[bytes, asyncio.Future[tuple[bytes, bytes]]] = {}
        self._answers: dict[bytes, Callable[[bytes], None]] = {}
        #: Writes made while a read is handled, sent together after it (one system call).
        self._out: list[bytes] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(cls, host: str, port: int, sid: str) -> RawDevice:
        loop = asyncio.get_running_loop()
        _, device = await loop.create_connection(lambda: cls(sid), host, port)
        return device

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._out = replies = []
        try:
            for head, body in split_messages(self.buffer):
                if head.startswith(b"SIP-C/"):
                    self._response(head, body)
                elif head.startswith(b"M "):
                    replies.append(ok_for(head))
                    if self.pair is not None:
                        self.pair.received(body)
                elif not head.startswith((b"BN ", b"A ")):
                    replies.append(ok_for(head))
        finally:
            self._out = None
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))

    def write(self, data: bytes) -> None:
        """Send ``data``; while a read is handled, together with the rest written for it."""
        if self._out is not None:
            self._out.append(data)
        elif self.transport is not None:
            self.transport.write(data)

    def expect(self, call_id: int, on_answer: Callable[[bytes], None]) -> None:
        """Call ``on_answer`` with the head of the answer to ``call_id`` when it comes (a
        callback, not a future: for load generators that keep a window full)."""
        self._answers[str(call_id).encode()] = on_answer

    def _response(self, head: bytes, body: bytes) -> None:
        status = head[10:13]
        call_id = value(header_lines(head, b"I").get(b"I", b"I:"))
        on_answer = self._answers.pop(call_id, None)
        if on_answer is not None:
            on_answer(head)
            return
        future = self._waiting.pop(call_id, None)
        if future is not None:
            if not future.done():
                future.set_result((head, body))
        elif status != b"200" and self.pair is not None:
            self.pair.tally.refuse(head.split(b"\r\n", 1)[0].decode(errors="replace"))

    async def ask(self, request: bytes, call_id: int, within: float = 30.0) -> bytes:
        future = asyncio.get_running_loop().create_future()
        self._waiting[str(call_id).encode()] = future
        assert self.transport is not None
        self.transport.write(request)
        head, _ = await asyncio.wait_for(future, within)
        return bytes(head)

    async def login(self, password: str) -> None:
        """Columba's two-step SIP-C login with SCRAM-SHA-256 (docs/protocol/login.md)."""
        import base64

        from columba.protocol.sipc import scram

        call_id = next(self.call_ids)
        cnonce = secrets.token_hex(16).upper()
        first = (
            f"R {DOMAIN} SIP-C/4.0\r\nF: {self.sid}\r\nI: {call_id}\r\nQ: 1 R\r\n"
            f'CN: {cnonce}\r\nCL: type="pc" ,version="bench"\r\n\r\n'
        ).encode()
        head = await self.ask(first, call_id)
        if not head.startswith(b"SIP-C/4.0 401"):
            raise RuntimeError(f"login step 1: {head[:40]!r}")
        challenge = dict(
            re.findall(r'(\w+)="([^"]*)"', value(header_lines(head, b"W")[b"W"]).decode())
        )
        salt = base64.b64decode(challenge["salt"])
        iterations = int(challenge["iterations"])
        message = scram.auth_message(
            sid=self.sid, cnonce=cnonce, nonce=challenge["nonce"], salt=salt, iterations=iterations
        )
        proof = scram.client_proof(password, salt=salt, iterations=iterations, message=message)
        body = (
            f'<args><device machine-code="{secrets.token_hex(16).upper()}"/><caps value="1ff"/>'
            '<presence><basic value="400" desc=""/></presence></args>'
        ).encode()
        second = (
            f"R {DOMAIN} SIP-C/4.0\r\nF: {self.sid}\r\nI: {call_id}\r\nQ: 2 R\r\n"
            f'A: Digest algorithm="{scram.ALGORITHM}",nonce="{challenge["nonce"]}",'
            f'response="{base64.b64encode(proof).decode()}"\r\nAK: ak-value\r\n'
            f"L: {len(body)}\r\n\r\n"
        ).encode() + body
        head = await self.ask(second, call_id)
        if not head.startswith(b"SIP-C/4.0 200"):
            raise RuntimeError(f"login refused: {head.split(CRLF2)[0][:60]!r}")

    async def bare_login(self) -> None:
        """The null relay's login: ``R`` naming the sid, answered 200."""
        call_id = next(self.call_ids)
        request = f"R {DOMAIN} SIP-C/4.0\r\nF: {self.sid}\r\nI: {call_id}\r\nQ: 1 R\r\n\r\n"
        await self.ask(request.encode(), call_id)

    async def send(self, receiver: str, body: bytes) -> None:
        assert self.transport is not None
        self.transport.write(im_request(self.sid, receiver, next(self.call_ids), body))

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# -- the library client ---------------------------------------------------------------------------


class LibraryDevice:
    """``columba.client.SipcClient`` doing the same dialog."""

    def __init__(self, client: Any, sid: str) -> None:
        self.client = client
        self.sid = sid
        self.pair: Pair | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, host: str, port: int, sid: str) -> LibraryDevice:
        from columba.client.sipc import SipcClient

        return cls(await SipcClient.connect(host, port), sid)

    async def login(self, password: str) -> None:
        await self.client.login(self.sid, password)
        self._task = asyncio.create_task(self._receive())

    async def bare_login(self) -> None:
        self.client.sid = self.sid
        await self.client.ask(self.client._request("R"))
        self._task = asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        while True:
            message = await self.client.messages.get()
            if self.pair is not None:
                self.pair.received(message.text.encode())

    async def send(self, receiver: str, body: bytes) -> None:
        from columba.client.base import ClientError

        try:
            await self.client.send_message(receiver, body.decode())
        except ClientError as exc:
            if self.pair is not None:
                self.pair.tally.refuse(str(exc))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.client.close()


# -- a worker process: some of the pairs ----------------------------------------------------------


Device = RawDevice | LibraryDevice


async def run_worker(job: dict[str, Any], commands: TextIO, report: TextIO) -> None:
    """Log the job's pairs in, report ready, wait for ``go``, drive them, report the tally."""
    host, port = job["host"], job["port"]
    kind: type[RawDevice] | type[LibraryDevice] = (
        RawDevice if job["client"] == "raw" else LibraryDevice
    )
    tally = Tally()
    devices: list[tuple[Device, Device]] = []
    logins = asyncio.Semaphore(16)

    async def open_device(account: dict[str, str]) -> Device:
        async with logins:
            device = await kind.connect(host, port, account["sid"])
            if job["login"] == "scram":
                await device.login(account["password"])
            else:
                await device.bare_login()
            return device

    started = time.monotonic()
    opened = await asyncio.gather(
        *(open_device(account) for pair in job["pairs"] for account in pair)
    )
    devices = list(zip(opened[0::2], opened[1::2], strict=True))
    print(json.dumps({"ready": time.monotonic() - started}), file=report, flush=True)

    loop = asyncio.get_running_loop()
    go = json.loads(await loop.run_in_executor(None, commands.readline))
    window = Window(
        start_ns=int((go["start"] + job["warmup"]) * 1e9),
        end_ns=int((go["start"] + job["warmup"] + job["seconds"]) * 1e9),
    )
    stop_at = go["start"] + job["warmup"] + job["seconds"]
    await asyncio.sleep(max(0.0, go["start"] - time.monotonic()))

    running = True

    async def slot(pair: Pair, sender: Device, receiver: Device) -> None:
        while running:
            await pair.pace()
            _, body, delivered = pair.next_body()
            await sender.send(receiver.sid, body)
            await delivered

    pairs = []
    tasks = []
    for sender, receiver in devices:
        interval = job["pairs_total"] / job["rate"] if job["rate"] else 0.0
        pair = Pair(tally, window, job["body_bytes"], interval=interval)
        sender.pair = receiver.pair = pair
        pairs.append(pair)
        tasks += [asyncio.create_task(slot(pair, sender, receiver)) for _ in range(job["window"])]
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    running = False
    _, still = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
    for task in still:
        task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.errors.append(repr(task.exception()))
    for sender, receiver in devices:
        await sender.close()
        await receiver.close()
    result = {
        "sent": tally.sent,
        "received": tally.received,
        "received_in_window": tally.received_in_window,
        "lost": sum(len(p.waiting) for p in pairs),
        "out_of_order": tally.out_of_order,
        "refused": tally.refused,
        "errors": tally.errors[:5],
        "latencies_us": tally.latencies_us,
    }
    print(json.dumps(result), file=report, flush=True)


# -- the null relay -------------------------------------------------------------------------------


class NullRelay(asyncio.Protocol):
    """Answers ``R`` with 200; answers ``M`` with 200 and forwards it to the ``T`` device."""

    devices: ClassVar[dict[bytes, NullRelay]] = {}
    message_ids: ClassVar[Iterator[int]] = itertools.count(1)

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sid = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.devices.get(self.sid) is self:
            del self.devices[self.sid]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        for head, body in split_messages(self.buffer):
            if head.startswith(b"SIP-C/"):
                continue  # a device's 200 for a forwarded M
            lines = header_lines(head, b"F", b"I", b"Q", b"T")
            if head.startswith(b"R "):
                self.sid = value(lines[b"F"])
                self.devices[self.sid] = self
                replies.append(b"SIP-C/4.0 200 OK\r\n%s\r\n%s\r\n\r\n" % (lines[b"I"], lines[b"Q"]))
            elif head.startswith(b"M "):
                n = next(self.message_ids)
                message_id = b"%032x" % n
                replies.append(
                    b"SIP-C/4.0 200 OK\r\n%s\r\n%s\r\nXI: %s\r\n\r\n"
                    % (lines[b"I"], lines[b"Q"], message_id)
                )
                to = value(lines[b"T"]).removeprefix(b"sip:").partition(b"@")[0]
                peer = self.devices.get(to)
                if peer is not None and peer.transport is not None:
                    peer.transport.write(
                        b"M %s SIP-C/4.0\r\nI: -%d\r\nQ: %d M\r\nF: sip:%s@%s\r\n"
                        b"C: text/plain\r\nXI: %s\r\nL: %d\r\n\r\n%s"
                        % (to, n, n, self.sid, DOMAIN.encode(), message_id, len(body), body)
                    )
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


async def run_null_relay() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(NullRelay, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    # Runs until stdin closes (the benchmark ends) or the process is terminated.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


@contextlib.contextmanager
def null_relay() -> Any:
    process = subprocess.Popen(
        [sys.executable, __file__, "--null-relay"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.match(r"listening (\S+):(\d+)", line)
        if match is None:
            raise RuntimeError(f"the null relay did not start: {line!r}")
        yield process, (match[1], int(match[2]))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# -- one measured phase ---------------------------------------------------------------------------


@dataclass
class Phase:
    """The figures of one target (the server on some storage, or the null relay)."""

    name: str
    pairs: int
    seconds: float
    sent: int = 0
    received_in_window: int = 0
    lost: int = 0
    out_of_order: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    login_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.received_in_window / self.seconds

    def as_json(self) -> dict[str, Any]:
        # The server's own CPU plus its SQLite worker process's.
        server_cpu = self.cpu.get("server")
        if server_cpu is not None:
            server_cpu += self.cpu.get("server children", 0.0)
        per_message = (
            server_cpu * self.seconds / self.received_in_window * 1e6
            if server_cpu is not None and self.received_in_window
            else None
        )
        return {
            "name": self.name,
            "pairs": self.pairs,
            "seconds": self.seconds,
            "messages_per_s": round(self.rate, 1),
            "received_in_window": self.received_in_window,
            "sent": self.sent,
            "lost": self.lost,
            "out_of_order": self.out_of_order,
            "refused": self.refused,
            "errors": self.errors,
            "latency_ms": self.latency_ms,
            "cpu_cores": {k: round(v, 3) for k, v in self.cpu.items()},
            "server_cpu_us_per_message": round(per_message, 1) if per_message else None,
            "login_seconds": round(self.login_seconds, 2),
            "notes": self.notes,
        }


def percentile(ordered: Sequence[int], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def run_phase(
    name: str,
    *,
    address: tuple[str, int],
    pairs: list[tuple[dict[str, str], dict[str, str]]],
    args: argparse.Namespace,
    login: str,
    target_pids: dict[str, int],
    profile: Path | None = None,
    log: Callable[[str], None],
    client_cpus: frozenset[int] | None = None,
) -> Phase:
    """Start the workers on ``pairs``, measure, and add up what they report.

    ``client_cpus``: the CPUs the load generator processes may run on (None: any).
    """
    workers = []
    shares = [pairs[i :: args.workers] for i in range(args.workers)]
    for share in shares:
        if not share:
            continue
        job = {
            "host": address[0],
            "port": address[1],
            "client": args.client,
            "login": login,
            "pairs": share,
            "window": args.window,
            "warmup": args.warmup,
            "seconds": args.seconds,
            "body_bytes": args.body_bytes,
            "rate": args.rate,
            "pairs_total": len(pairs),
        }
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        if client_cpus:
            os.sched_setaffinity(process.pid, client_cpus)
        assert process.stdin is not None
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        workers.append(process)
    phase = Phase(name=name, pairs=len(pairs), seconds=args.seconds)
    profiler = None
    try:
        for process in workers:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"{name}: a load generator failed while logging in")
            phase.login_seconds = max(phase.login_seconds, json.loads(line)["ready"])
        log(f"{name}: {2 * len(pairs)} devices logged in in {phase.login_seconds:.1f} s")
        pids = dict(target_pids)
        pids.update({f"clients[{i}]": p.pid for i, p in enumerate(workers)})
        meter = _server.CpuMeter(pids, threads="server")
        if profile is not None and "server" in target_pids:
            profiler = _server.start_profiler(target_pids["server"], profile)
            time.sleep(1.0)  # py-spy attaches
        start = time.monotonic() + 0.2
        for process in workers:
            assert process.stdin is not None
            process.stdin.write(json.dumps({"start": start}) + "\n")
            process.stdin.flush()
        time.sleep(max(0.0, start + args.warmup - time.monotonic()))
        meter.start()
        time.sleep(max(0.0, start + args.warmup + args.seconds - time.monotonic()))
        cores = meter.stop()
        if profiler is not None:
            _server.stop_profiler(profiler)
            profiler = None
        latencies: list[int] = []
        for process in workers:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"{name}: a load generator died")
            result = json.loads(line)
            phase.sent += result["sent"]
            phase.received_in_window += result["received_in_window"]
            phase.lost += result["lost"]
            phase.out_of_order += result["out_of_order"]
            for reason, count in result["refused"].items():
                phase.refused[reason] = phase.refused.get(reason, 0) + count
            phase.errors += result["errors"]
            latencies += result["latencies_us"]
        latencies.sort()
        phase.latency_ms = {
            "p50": percentile(latencies, 0.50),
            "p90": percentile(latencies, 0.90),
            "p99": percentile(latencies, 0.99),
            "max": latencies[-1] / 1000 if latencies else None,
        }
        clients = sum(v for k, v in cores.items() if k.startswith("clients"))
        phase.cpu = {k: v for k, v in cores.items() if not k.startswith("clients")}
        phase.cpu["clients"] = clients
    finally:
        if profiler is not None:
            _server.stop_profiler(profiler)
        for process in workers:
            if process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
            try:
                process.wait(DRAIN_SECONDS + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
    return phase


def server_phase(
    name: str,
    storage: _server.Storage,
    args: argparse.Namespace,
    *,
    profile: Path | None,
    log: Callable[[str], None],
    pinned: bool = True,
) -> Phase:
    """Accounts, then the measured run, against a fresh server on ``storage``.

    ``pinned``: the server gets ``--event-loop-cpus`` and the load generator the other CPUs
    (when ``--event-loop-cpus`` names any); otherwise the kernel places everything.
    """
    cpus = args.event_loop_cpus if pinned else frozenset()
    try:
        with _server.Server(
            storage=storage,
            max_connections=4 * args.pairs + 100,
            event_loop_cpus=affinity.format_cpus(cpus),
        ) as server:
            accounts, seconds = server.create_accounts(2 * args.pairs, threads=8)
            log(
                f"{name}: {len(accounts)} accounts made in {seconds:.1f} s "
                f"({1000 * seconds / len(accounts):.0f} ms each)"
            )
            pairs = [
                (
                    {"sid": a.sid, "password": a.password},
                    {"sid": b.sid, "password": b.password},
                )
                for a, b in zip(accounts[0::2], accounts[1::2], strict=True)
            ]
            phase = run_phase(
                name,
                address=server.hostport("sipc-tcp"),
                pairs=pairs,
                args=args,
                login="scram",
                target_pids={"server": server.pid},
                profile=profile,
                log=log,
                client_cpus=args.client_cpus if cpus else None,
            )
            phase.notes.append(f"storage {storage.label}")
            phase.notes.append(
                f"server event loop on CPU {affinity.format_cpus(cpus)}, its helpers on the"
                f" others; load generator on CPU {affinity.format_cpus(args.client_cpus)}"
                if cpus
                else "CPU placement left to the kernel"
            )
            phase.notes.append(f"accounts: {len(accounts)} in {seconds:.1f} s")
            tail = server.log_tail(600).strip()
            if tail:
                phase.notes.append("server log (tail): " + tail.replace("\n", " | ")[-600:])
            return phase
    finally:
        storage.cleanup()


def null_phase(args: argparse.Namespace, *, log: Callable[[str], None]) -> Phase:
    with null_relay() as (process, address):
        base = 100_000_000 + secrets.randbelow(800_000_000)
        pairs = [
            ({"sid": str(base + 2 * i)}, {"sid": str(base + 2 * i + 1)}) for i in range(args.pairs)
        ]
        phase = run_phase(
            "null relay",
            address=address,
            pairs=pairs,
            args=args,
            login="bare",
            target_pids={"server": process.pid},
            log=log,
        )
        phase.notes.append("asyncio Protocol; no parsing, checks or storage")
        return phase


# -- the report -----------------------------------------------------------------------------------


def text_report(report: dict[str, Any]) -> str:
    s = report["settings"]
    lines = [
        f"machine: {report['machine']}",
        f"pairs {s['pairs']}, window {s['window']} per pair, client {s['client']}, "
        f"{s['workers']} load process(es), body {s['body_bytes']} B, "
        f"{'offered ' + format(s['rate'], ',.0f') + ' msg/s, ' if s['rate'] else ''}"
        f"warm-up {s['warmup']} s, measured {s['seconds']} s",
        (
            f"server: event loop on CPU {s['event_loop_cpus']}, its helpers on the others; load"
            f" generator on CPU {s['client_cpus']} (rows marked unpinned: the kernel places all)"
            if s["event_loop_cpus"]
            else "CPU placement left to the kernel"
        ),
        "",
        f"{'target':<28} {'msg/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'srv cores':>9} {'cli cores':>9} {'srv µs/msg':>10}",
        "-" * 106,
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for phase in report["phases"]:
        lat = phase["latency_ms"]
        cpu = phase["cpu_cores"]
        per = phase["server_cpu_us_per_message"]
        lines.append(
            f"{phase['name']:<28} {phase['messages_per_s']:>9,.0f} {ms(lat['p50']):>8}"
            f" {ms(lat['p90']):>8} {ms(lat['p99']):>8} {ms(lat['max']):>8}"
            f" {cpu.get('server', 0) + cpu.get('server children', 0):>9.2f}"
            f" {cpu.get('clients', 0):>9.2f}"
            f" {'-' if per is None else f'{per:,.0f}':>10}"
        )
    lines.append("")
    for phase in report["phases"]:
        problems = []
        if phase["lost"]:
            problems.append(f"{phase['lost']} not received at the end")
        if phase["out_of_order"]:
            problems.append(f"{phase['out_of_order']} out of order")
        if phase["refused"]:
            problems.append(f"refused: {phase['refused']}")
        if phase["errors"]:
            problems.append(f"errors: {phase['errors']}")
        lines.append(
            f"{phase['name']}: sent {phase['sent']:,}, received in window "
            f"{phase['received_in_window']:,}, logins {phase['login_seconds']} s"
            + ("; " + "; ".join(problems) if problems else "")
        )
        cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in phase["cpu_cores"].items())
        lines.append(f"  CPU cores busy: {cpu}")
        for note in phase["notes"]:
            lines.append(f"  {note}")
    if report["ratios"]:
        lines.append("")
        for label, ratio in report["ratios"].items():
            lines.append(f"ratio {label}: {ratio:.3f}")
    target = report["target"]
    lines.append("")
    lines.append(
        f"target ≥ {target['messages_per_s']:,} msg/s with p99 ≤ {target['p99_ms']} ms: "
        + ("met" if target["met"] else "NOT met")
        + f" ({report['phases'][0]['name']})"
    )
    if report.get("profile"):
        lines += [
            "",
            f"server profile ({report['profile']['file']}):",
            report["profile"]["summary"],
        ]
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, help="sender/receiver pairs (default 50)")
    parser.add_argument("--seconds", type=float, help="measured seconds (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring (default 2)")
    parser.add_argument(
        "--window", type=int, default=4, help="messages in flight per pair (default 4)"
    )
    parser.add_argument(
        "--storage",
        choices=(
            "sqlite",
            "sqlite-thread",
            "sqlite-no-reader",
            "postgresql",
            "sqlite-normal",
            "memory",
        ),
        default="sqlite",
        help="the main run's store: a SQLite file (synchronous=full, worker process: the "
        "server default), the same with the connection in a thread of the server, "
        "the same without the reader process (?reader=off), "
        "PostgreSQL, SQLite with synchronous=normal, or sqlite:///:memory:",
    )
    parser.add_argument("--postgres-url", help="PostgreSQL server (default: scripts/test's)")
    parser.add_argument(
        "--baseline",
        help="comma-separated baselines measured in the same run: null, memory, "
        "sqlite-thread, unpinned (the main run with CPU placement left to the kernel), none "
        "(default null,memory,unpinned; --quick: null)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="offered load in messages/s over all pairs (default: as fast as the window allows)",
    )
    parser.add_argument(
        "--event-loop-cpus",
        help="the server's [server] event_loop_cpus, e.g. 0 or 0-1; the load generator runs on "
        "the other CPUs (default: 0 on a machine with 2 or more CPUs; none: let the kernel "
        "place everything)",
    )
    parser.add_argument(
        "--client-cpus",
        default="others",
        help="CPUs of the load generator when the server is pinned: others (default: every CPU "
        "but the event loop's, as if the clients were elsewhere), any, or a list like 1",
    )
    parser.add_argument("--client", choices=("raw", "library"), default="raw")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--body-bytes", type=int, default=64, help="message body size")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server (main run) with py-spy: .svg for a flame graph, "
        ".txt for collapsed stacks and a printed summary",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--null-relay", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.pairs = args.pairs or (2 if quick else 50)
    args.seconds = args.seconds or (1.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if quick else 2.0)
    baseline = args.baseline or ("null" if quick else "null,memory,unpinned")
    args.baselines = [b for b in baseline.split(",") if b and b != "none"]
    if set(args.baselines) - {"null", "memory", "sqlite-thread", "unpinned"}:
        parser.error("--baseline takes null, memory, sqlite-thread, unpinned or none")
    available = affinity.available_cpus() or frozenset()
    cpus = args.event_loop_cpus
    if cpus is None:
        cpus = "0" if len(available) >= 2 and 0 in available else ""
    try:
        args.event_loop_cpus = affinity.parse_cpu_list("" if cpus == "none" else cpus)
        if args.event_loop_cpus:
            affinity.plan(args.event_loop_cpus)
    except affinity.CpuListError as exc:
        parser.error(f"--event-loop-cpus: {exc}")
    if args.client_cpus == "others":
        args.client_cpus = (available - args.event_loop_cpus) or available
    elif args.client_cpus == "any":
        args.client_cpus = available
    else:
        try:
            args.client_cpus = affinity.parse_cpu_list(args.client_cpus)
            affinity.plan(args.client_cpus)
        except affinity.CpuListError as exc:
            parser.error(f"--client-cpus: {exc}")
    if not args.event_loop_cpus and "unpinned" in args.baselines:
        args.baselines.remove("unpinned")  # the main run already is
    if args.pairs < 1 or args.window < 1 or args.workers < 1 or args.seconds <= 0:
        parser.error("--pairs, --window, --workers and --seconds must be positive")
    if args.body_bytes < 32:
        parser.error("--body-bytes must be at least 32 (sequence number and timestamp)")
    return args


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    if args.worker:
        asyncio.run(run_worker(json.loads(sys.stdin.readline()), sys.stdin, sys.stdout))
        return 0
    if args.null_relay:
        asyncio.run(run_null_relay())
        return 0
    _server.raise_nofile()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    phases = []
    profile_summary = None
    with tempfile.TemporaryDirectory(prefix="columba-relay-") as scratch:
        storage = _server.open_storage(args.storage, Path(scratch), postgres_url=args.postgres_url)
        main_name = f"columba, {args.storage}"
        phases.append(server_phase(main_name, storage, args, profile=args.profile, log=log))
        if args.profile is not None and args.profile.suffix == ".txt" and args.profile.exists():
            profile_summary = _server.summarize_profile(args.profile)
        if "unpinned" in args.baselines:
            (Path(scratch) / "unpinned").mkdir()
            unpinned = _server.open_storage(
                args.storage, Path(scratch) / "unpinned", postgres_url=args.postgres_url
            )
            phases.append(
                server_phase(
                    f"{main_name}, unpinned", unpinned, args, profile=None, log=log, pinned=False
                )
            )
        if "memory" in args.baselines and args.storage != "memory":
            phases.append(
                server_phase(
                    "columba, memory", _server.memory_storage(), args, profile=None, log=log
                )
            )
        if "sqlite-thread" in args.baselines and args.storage != "sqlite-thread":
            thread = _server.open_storage("sqlite-thread", Path(scratch))
            phases.append(
                server_phase("columba, sqlite-thread", thread, args, profile=None, log=log)
            )
        if "null" in args.baselines:
            phases.append(null_phase(args, log=log))

    results = [p.as_json() for p in phases]
    ratios = {}
    main_rate = phases[0].rate
    for phase in phases[1:]:
        if phase.rate and not args.rate:  # at a fixed offered load, rates say nothing
            ratios[f"{phases[0].name} / {phase.name}"] = main_rate / phase.rate
    p99 = results[0]["latency_ms"]["p99"]
    report: dict[str, Any] = {
        "machine": _server.machine(),
        "settings": {
            "pairs": args.pairs,
            "window": args.window,
            "client": args.client,
            "workers": args.workers,
            "body_bytes": args.body_bytes,
            "rate": args.rate,
            "warmup": args.warmup,
            "seconds": args.seconds,
            "storage": args.storage,
            "baselines": args.baselines,
            "event_loop_cpus": affinity.format_cpus(args.event_loop_cpus),
            "client_cpus": affinity.format_cpus(args.client_cpus),
        },
        "phases": results,
        "ratios": ratios,
        "target": {
            "messages_per_s": 10_000,
            "p99_ms": 50,
            "met": main_rate >= 10_000 and p99 is not None and p99 <= 50,
        },
    }
    if profile_summary is not None:
        report["profile"] = {"file": str(args.profile), "summary": profile_summary}
    if args.json:
        print(json.dumps(report, indent=2), file=out)
    else:
        print(text_report(report), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
