"""MT SMS per second through Columba's SMS leg, with delivery receipts, beside a raw ESME.

Run: ``uv run --frozen python bench/sms.py [--messages 20000] [--smsc node|simulator]
[--storage sqlite|postgresql] [--window 100] [--e2e-only] [--cpu-profile FILE] [--json]
[--quick]``.

The SMSC is node smpp 0.5.1 (``tests/interop_smpp/node/smsc_sim.js``, a separate process and
an SMPP stack nobody on the team wrote; ``tests/interop_smpp/install.sh`` installs it) or
Columba's own simulator (``python -m columba.smsc``, also a separate process). It answers
every submit_sm and sends a delivery receipt for it.

Two rows, measured in the same run against the same SMSC:

- **baseline: raw ESME**: :class:`columba.sms.esme.Esme` submitting pre-built single-part
  submit_sm PDUs through its link (window ``--window``), receipts counted in a callback: no
  store, no rules. The floor of this machine + SMSC + SMPP stack.
- **sms leg (IM in → SMS submitted)**: what happens after an IM to an offline user was stored:
  ``SmsBridge.offer_offline`` for each message (UDS checks: online? preferences, STOP, quiet
  hours; segment count and truncation; quota charge), the outbox write (group commit), the
  pump (claim, submit within the window, settle with the SMSC ids), and the receipts (group
  commit, matched to their SMS, the delivery status moved, the sender told). Offered as
  ``--concurrency`` concurrent IM requests. A message is counted when its receipt was applied.

Columns: **MT/s** = messages / seconds from the first offer to the last receipt applied;
**submit MT/s** = until the SMSC saw the last submit_sm (node only); **ratio** = MT/s over
the baseline's; **µs CPU/MT** = CPU of the process doing the work (for the end-to-end row,
the ``columba serve`` process) per MT; **+workers** = its SQLite worker processes. Under the
table, the end-to-end row's CPU per MT of every process taking part (server, SQLite workers,
SMSC, load generator) and the cores they kept busy: on a small machine that is the budget a
target rate leaves. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import _server  # bench/ is sys.path[0] when this file runs as a script
import relay

from columba.core.delivery import DeliveryService
from columba.core.registry import Registry
from columba.core.sms_bridge import BridgeConfig, SmsBridge
from columba.core.uds import UdsConfig, UserDataService
from columba.servers.sms import SmsServer, SmsServerConfig
from columba.sms.esme import EsmeConfig, ReceiptReceived, open_esme
from columba.sms.pdu import SubmitSm
from columba.sms.routing import SmscRoute
from columba.sms.segment import split_message
from columba.sms.session import SessionConfig
from columba.sms.userdata import with_part
from columba.storage import Account, open_store
from columba.storage.sms import OutboxSms

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "interop_smpp" / "node"
TEXT = "Alice: 你好, dinner at 7 tonight? Reply to this number."  # UCS-2, one part
SYSTEM_ID, PASSWORD = "columba", "columba"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Smsc:
    """An SMSC process and, for node, its count of submit_sm seen."""

    port: int
    process: asyncio.subprocess.Process
    submits: int = 0
    last_submit: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def drain(self) -> None:
        """Read node's event lines (so its pipe never blocks) and count the submits."""
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if line.startswith(b'{"event":"submit_sm"'):
                self.submits += 1
                self.last_submit = time.perf_counter()
                self.changed.set()


@contextlib.asynccontextmanager
async def smsc(kind: str) -> AsyncIterator[Smsc]:
    if kind == "node":
        node = shutil.which("node")
        if node is None or not (NODE_DIR / "node_modules" / "smpp").is_dir():
            raise SystemExit("node smpp missing: run tests/interop_smpp/install.sh")
        process = await asyncio.create_subprocess_exec(
            node,
            str(NODE_DIR / "smsc_sim.js"),
            "0",
            SYSTEM_ID,
            PASSWORD,
            "3600000",
            cwd=NODE_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        assert process.stdout is not None
        port = int(json.loads(await process.stdout.readline())["port"])
    else:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "columba.smsc",
            "--listen",
            f"127.0.0.1:{port}",
            "--control",
            "off",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(1.5)
    server = Smsc(port=port, process=process)
    reader = asyncio.create_task(server.drain())
    try:
        yield server
    finally:
        process.kill()
        await process.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def baseline(port: int, messages: int, window: int) -> float:
    """Raw ESME: pre-built PDUs through the link; seconds until every receipt came."""
    received = 0
    done = asyncio.Event()

    async def on_receipt(receipt: ReceiptReceived) -> None:
        nonlocal received
        received += 1
        if received == messages:
            done.set()

    config = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id=SYSTEM_ID,
        password=PASSWORD,
        session=SessionConfig(window=window, max_unacked=10_000),
    )
    (part,) = split_message(TEXT, reference=0)
    template = SubmitSm(
        sequence_number=0,
        source_addr="125208613800000001",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="8613800000002",
        registered_delivery=1,
    )
    pdus = [with_part(template, part) for _ in range(messages)]
    async with open_esme(config, on_receipt=on_receipt) as esme:
        await esme.wait_bound(within=10)
        link = esme._link
        assert link is not None
        started = time.perf_counter()
        responses = [link.send(pdu) for pdu in pdus]
        await asyncio.gather(*responses)
        await asyncio.wait_for(done.wait(), 300)
        return time.perf_counter() - started


async def sms_leg(
    port: int, messages: int, window: int, concurrency: int, storage: str, postgres_url: str
) -> float:
    """The SMS leg from the IM hook on; seconds until every receipt was applied."""
    with tempfile.TemporaryDirectory() as tmp:
        if storage.startswith("sqlite"):  # (a PostgreSQL schema is made outside the loop)
            url = _server.open_storage(storage, Path(tmp)).url
        else:
            url = postgres_url
        store = await open_store(url)
        async with store:
            registry = Registry()
            server = SmsServer(
                store=store.sms,
                config=SmsServerConfig(
                    routes=(SmscRoute(prefix="", host="127.0.0.1", port=port),),
                    system_id=SYSTEM_ID,
                    password=PASSWORD,
                    window=window,
                ),
            )
            finished = 0
            done = asyncio.Event()
            bridge = SmsBridge(
                store=store,
                uds=UserDataService(store=store, registry=registry, config=UdsConfig()),
                registry=registry,
                delivery=DeliveryService(store=store, registry=registry, domain="bench"),
                notify=_no_notify,
                route_for=server.route_for,
                wake=server.wake,
                config=BridgeConfig(day_limit=0, month_limit=0),
            )
            on_final = bridge.on_final

            async def counted(batch: Sequence[OutboxSms]) -> None:
                nonlocal finished
                await on_final(batch)
                finished += sum(1 for sms in batch if sms.state == "delivered")
                if finished >= messages:
                    done.set()

            bridge.on_final = counted  # type: ignore[method-assign,assignment]
            server.bridge = bridge
            now = datetime.now(tz=UTC)
            sender = _account(1, "+8613800000001", now)
            recipients = [_account(10 + i, f"+86139{i:08}", now) for i in range(1000)]
            async with asyncio.TaskGroup() as group:
                committer = group.create_task(bridge.run_committer())
                runner = group.create_task(server.run())
                await server.esmes[""].wait_bound(within=10)

                async def offer(index: int) -> None:
                    queued = await bridge.offer_offline(
                        sender=sender,
                        recipient=recipients[index % len(recipients)],
                        message_id=f"bench-{index}",
                        text=TEXT,
                    )
                    assert queued is not None

                async def wave(start: int) -> None:
                    # --concurrency IM requests in flight at a time, as many connections would.
                    end = min(start + concurrency, messages)
                    await asyncio.gather(*(offer(i) for i in range(start, end)))

                started = time.perf_counter()
                for start in range(0, messages, concurrency):
                    await wave(start)
                queued = time.perf_counter() - started
                while not done.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(done.wait(), 20)
                    if not done.is_set():
                        states = await store.sms.count_states()
                        progress(f"  waiting: {finished} delivered, outbox {states}")
                progress(f"  all queued after {queued:.2f} s")
                elapsed = time.perf_counter() - started
                await server.close()
                committer.cancel()
                runner.cancel()
            return elapsed


async def _no_notify(*_: object) -> None:
    return None


def _account(user_id: int, number: str, now: datetime) -> Account:
    return Account(
        user_id=user_id,
        sid=f"{700000000 + user_id}",
        number=number,
        display_name=f"user{user_id}",
        password_hash="",
        impresa="",
        created_at=now,
        is_disabled=False,
    )


@dataclass
class SmsNode(_server.Server):
    """``columba serve`` bound to the benchmark's SMSC."""

    smsc_port: int = 0
    window: int = 100

    def _config(self) -> Path:
        path = super()._config()
        path.write_text(
            path.read_text()
            + f'[sms]\nsmscs = "127.0.0.1:{self.smsc_port}"\nwindow = {self.window}\n'
            + f'system_id = "{SYSTEM_ID}"\npassword = "{PASSWORD}"\n'
            + "day_limit = 0\nmonth_limit = 0\n"
        )
        return path


async def end_to_end(smsc_: Smsc, args: argparse.Namespace, cpu: dict[str, float]) -> float:
    """IM in over SIP-C → SMS submitted: ``--senders`` logged-in devices send ``M`` to
    offline users with numbers, ``--im-window`` unanswered each; seconds until the SMSC saw
    every submit_sm (the caller's :class:`Smsc` counts them)."""
    data_dir = Path(tempfile.mkdtemp(prefix="columba-bench-sms-"))
    storage = _server.open_storage(args.storage, data_dir, postgres_url=args.postgres_url)
    node = SmsNode(
        storage=storage,
        data_dir=data_dir,
        smsc_port=smsc_.port,
        window=args.window,
        cpu_profile=args.cpu_profile,
    )
    try:
        await asyncio.to_thread(node.start)
        senders, _ = await asyncio.to_thread(node.create_accounts, args.senders)
        receivers, _ = await asyncio.to_thread(node.create_accounts, 200)
        host, sipc_port = node.hostport("sipc-tcp")
        devices = [await relay.RawDevice.connect(host, sipc_port, a.sid) for a in senders]
        await asyncio.gather(*(d.login(a.password) for d, a in zip(devices, senders, strict=True)))
        per_sender = args.messages // len(devices)
        statuses: dict[bytes, int] = {}

        async def send_all(index: int, device: relay.RawDevice) -> None:
            # A window of ``--im-window`` requests kept full by the answers' callbacks: no task,
            # future or timer per message, so the load generator takes little of the CPUs the
            # server shares with it (this machine has two).
            done = asyncio.get_running_loop().create_future()
            sent = answered = 0

            def send_next() -> None:
                nonlocal sent
                call_id = next(device.call_ids)
                receiver = receivers[(index * per_sender + sent) % len(receivers)].sid
                sent += 1
                device.expect(call_id, on_answer)
                device.write(relay.im_request(device.sid, receiver, call_id, TEXT.encode()))

            def on_answer(head: bytes) -> None:
                nonlocal answered
                status = head[10:13]
                statuses[status] = statuses.get(status, 0) + 1
                answered += 1
                if sent < per_sender:
                    send_next()
                elif answered == per_sender and not done.done():
                    done.set_result(None)

            for _ in range(min(args.im_window, per_sender)):
                send_next()
            async with asyncio.timeout(600):
                await asyncio.wait({done, device.closed}, return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                raise RuntimeError(f"device {device.sid} lost after {answered} answers")

        server_cpu = _server.cpu_seconds(node.pid)
        workers_cpu = _server.children_cpu_seconds(node.pid)
        smsc_cpu = _server.cpu_seconds(smsc_.process.pid)
        client_cpu = time.process_time()
        profiler = None
        if args.profile is not None:
            profiler = _server.start_profiler(node.pid, args.profile)
        before = smsc_.submits
        started = time.perf_counter()
        await asyncio.gather(*(send_all(i, d) for i, d in enumerate(devices)))
        answered = time.perf_counter() - started
        progress(f"  IM answered after {answered:.2f} s: {statuses}")
        async with asyncio.timeout(600):
            while smsc_.submits - before < per_sender * len(devices):
                smsc_.changed.clear()
                await smsc_.changed.wait()
        elapsed = smsc_.last_submit - started
        cpu["server"] = _server.cpu_seconds(node.pid) - server_cpu
        cpu["workers"] = _server.children_cpu_seconds(node.pid) - workers_cpu
        cpu["smsc"] = _server.cpu_seconds(smsc_.process.pid) - smsc_cpu
        cpu["load generator"] = time.process_time() - client_cpu
        if profiler is not None:
            _server.stop_profiler(profiler)
        if args.cpu_profile is not None and args.cpu_profile.exists():
            idle = ("EpollSelector.select", "BaseSelectorEventLoop._read_from_self")
            progress(_server.summarize_profile(args.cpu_profile, top=25, idle_leaves=idle))
        for device in devices:
            await device.close()
        return elapsed
    finally:
        await asyncio.to_thread(node.stop)
        storage.cleanup()


async def measure(
    name: str,
    run: Callable[[Smsc], Awaitable[float]],
    args: argparse.Namespace,
    server_cpu: dict[str, float] | None = None,
) -> dict[str, object]:
    async with smsc(args.smsc) as server:
        progress(f"{name}: {args.messages} MT to {args.smsc} on port {server.port} …")
        started = time.perf_counter()
        cpu = time.process_time()
        seconds = await run(server)
        cpu = time.process_time() - cpu
        if server_cpu is not None:  # the work was done by the columba serve process
            cpu = server_cpu.get("server", 0.0)
        submit_seconds = server.last_submit - started if server.submits else None
        row: dict[str, object] = {
            "name": name,
            "messages": args.messages,
            "seconds": round(seconds, 3),
            "mt_per_s": round(args.messages / seconds),
            "cpu_us_per_mt": round(cpu / args.messages * 1e6),
        }
        if server_cpu is not None and "workers" in server_cpu:
            # Where every CPU second of the row went: the budget a target rate leaves.
            row["cpu_us_per_mt_by_process"] = {
                name: round(seconds / args.messages * 1e6) for name, seconds in server_cpu.items()
            }
        if submit_seconds and server_cpu is None:
            row["submit_mt_per_s"] = round(server.submits / submit_seconds)
        return row


async def main_async(args: argparse.Namespace) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    if not args.e2e_only:
        rows.append(
            await measure(
                "baseline: raw ESME", lambda s: baseline(s.port, args.messages, args.window), args
            )
        )
        rows.append(
            await measure(
                "sms leg (IM in → SMS submitted)",
                lambda s: sms_leg(
                    s.port,
                    args.messages,
                    args.window,
                    args.concurrency,
                    args.storage,
                    args.postgres_url,
                ),
                args,
            )
        )
    if args.e2e and args.smsc != "node":
        progress("the columba serve row counts submits at the node SMSC: skipped")
    elif args.e2e:
        cpu: dict[str, float] = {}
        rows.append(
            await measure(
                "columba serve: SIP-C M → SMS",
                lambda s: end_to_end(s, args, cpu),
                args,
                server_cpu=cpu,
            )
        )
    base = float(rows[0]["mt_per_s"]) if not args.e2e_only else None  # type: ignore[arg-type]
    for row in rows:
        row["ratio"] = "-" if base is None else round(float(row["mt_per_s"]) / base, 2)  # type: ignore[arg-type]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--smsc", choices=("node", "simulator"), default="node")
    parser.add_argument(
        "--storage",
        choices=("sqlite", "sqlite-normal", "sqlite-no-reader", "sqlite-thread", "postgresql"),
        default="sqlite",
        help="sqlite: the default (synchronous=full, worker and reader processes); "
        "sqlite-normal: synchronous=normal (no flush per commit)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "COLUMBA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2000)
    parser.add_argument(
        "--e2e",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also through a columba serve process: SIP-C M to offline users → SMS",
    )
    parser.add_argument(
        "--e2e-only",
        action="store_true",
        help="only the columba serve row (no baseline, so no ratio): for comparing commits",
    )
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--im-window", type=int, default=32)
    parser.add_argument(
        "--profile", type=Path, help="py-spy the columba serve row (.svg, or .txt: raw stacks)"
    )
    parser.add_argument(
        "--cpu-profile",
        type=Path,
        help="sample the columba serve row's CPU time (bench/cpuprofile): collapsed stacks here",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 500 messages")
    args = parser.parse_args()
    if args.quick:
        args.messages = 500
    rows = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(rows))
        return
    print(
        f"{'':34} {'MT/s':>8} {'submit MT/s':>12} {'seconds':>8} {'ratio':>6} {'µs CPU/MT':>10}"
        f" {'+workers':>9}"
    )
    for row in rows:
        submit = row.get("submit_mt_per_s", "-")
        split = row.get("cpu_us_per_mt_by_process")
        workers = split.get("workers", "-") if isinstance(split, dict) else "-"
        print(
            f"{row['name']:34} {row['mt_per_s']:>8} {submit:>12} {row['seconds']:>8}"
            f" {row['ratio']:>6} {row['cpu_us_per_mt']:>10} {workers:>9}"
        )
    for row in rows:
        split = row.get("cpu_us_per_mt_by_process")
        if isinstance(split, dict):
            total = sum(split.values())
            cores = total * float(row["mt_per_s"]) / 1e6  # type: ignore[arg-type]
            parts = ", ".join(f"{name} {us}" for name, us in split.items())
            print(
                f"{row['name']}: CPU µs per MT by process: {parts}; total {total}"
                f" = {cores:.2f} cores busy at {row['mt_per_s']} MT/s ({os.cpu_count()} CPUs)"
            )


if __name__ == "__main__":
    main()
