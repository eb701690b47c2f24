"""Group fan-out and robot round trips, end to end, against a real ``columba serve``.

Run: ``uv run python bench/groups.py [--members 500] [--messages 30] [--storage sqlite|postgresql]``
or ``--quick`` for a smoke run. Progress goes to stderr, the report to stdout (``--json``).

Fan-out
    ``--members`` SIP-C devices (``relay.RawDevice``: the real SCRAM login, then a 20-line
    framer) log in and join one group (owner invites, each accepts). The owner sends
    ``--messages`` messages to the group one after another; for each, the figure is the time
    from the owner's write to the moment the *last* member's device has read it, with
    ``--gap`` (0.2 s) between messages so that each is measured on its own (the members' 500
    acknowledgements of one message are committed before the next). Target: p99 at most
    100 ms with 500 members online.
Robot round trip
    A group of the owner and a local webhook robot (an aiohttp handler on loopback that checks
    the signature and answers inline, ``{"reply": {"text": …}}``): the time from the owner's
    ``/ping`` to the robot's answer reaching the owner. Target: p50 at most 20 ms.

Baselines, in the same run and the same server (the machine is shared and noisy, so the
ratios are the figures to compare across runs):

- ``1:1``: the owner's 1:1 message to one member, write to read;
- ``echo``: the owner's 1:1 message to a member whose device answers with a 1:1 message at
  once, write to the answer's read (two store-and-deliver hops, like the robot round trip).

Every device runs in this process, on one event loop, so the last member's read also waits
for the client code of the others (about 20 µs each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import _server  # bench/ is sys.path[0] when this file runs as a script
import relay
from aiohttp import web

from columba.robots import envelope

DOMAIN = relay.DOMAIN


class GroupServer(_server.Server):
    """The benchmark server with groups sized for the run and loopback webhooks allowed."""

    member_limit: int = 1000

    def _config(self) -> Path:
        path = super()._config()
        extra = (
            f"\n[groups]\nmember_limit = {self.member_limit}\nmax_groups_per_user = 1000\n"
            "[robots]\nallow_private_webhooks = true\nbuiltin = false\n"
        )
        path.write_text(path.read_text() + extra)
        return path


class Device(relay.RawDevice):
    """A raw SIP-C device that records when each ``M`` arrives, and may echo 1:1 messages."""

    def __init__(self, sid: str) -> None:
        super().__init__(sid)
        self.arrivals: dict[bytes, int] = {}
        self.waiters: dict[bytes, asyncio.Future[int]] = {}
        self.echo_to: str | None = None
        self.last_body = b""

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buffer += data
        replies = []
        for head, body in relay.split_messages(self.buffer):
            if head.startswith(b"SIP-C/"):
                self._response(head, body)
                continue
            if not head.startswith((b"BN ", b"A ")):
                replies.append(relay.ok_for(head))
            if head.startswith(b"M "):
                key = body.split(b" ", 1)[0]
                self.arrivals.setdefault(key, now)
                waiter = self.waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)
                if self.echo_to is not None and b"SO:" not in head:
                    replies.append(
                        relay.im_request(self.sid, self.echo_to, next(self.call_ids), b"re" + body)
                    )
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))

    async def ask(self, request: bytes, call_id: int, within: float = 30.0) -> bytes:
        future: asyncio.Future[tuple[bytes, bytes]] = asyncio.get_running_loop().create_future()
        self._waiting[str(call_id).encode()] = future
        assert self.transport is not None
        self.transport.write(request)
        head, self.last_body = await asyncio.wait_for(future, within)
        return bytes(head)

    def expect(self, key: bytes) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if key in self.arrivals:
            future.set_result(self.arrivals[key])
        else:
            self.waiters[key] = future
        return future

    async def service(self, event: str, body: str) -> bytes:
        call_id = next(self.call_ids)
        data = body.encode()
        request = (
            f"S {DOMAIN} SIP-C/4.0\r\nF: {self.sid}\r\nI: {call_id}\r\nQ: 1 S\r\nN: {event}\r\n"
            f"L: {len(data)}\r\n\r\n"
        ).encode() + data
        return await self.ask(request, call_id)

    def send_to(self, target_uri: str, body: bytes) -> None:
        call_id = next(self.call_ids)
        assert self.transport is not None
        self.transport.write(
            (
                f"M {DOMAIN} SIP-C/4.0\r\nF: {self.sid}\r\nI: {call_id}\r\nQ: 1 M\r\n"
                f"T: {target_uri}\r\nC: text/plain\r\nL: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
    }


async def _create_group(owner: Device, name: str) -> str:
    head = await owner.service("PGCreateGroup", f'<args><group name="{name}"/></args>')
    if not head.startswith(b"SIP-C/4.0 200"):
        raise RuntimeError(f"PGCreateGroup: {head[:40]!r}")
    owner_results = owner.last_body
    return owner_results.split(b'uri="')[1].split(b'"')[0].decode()


async def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="columba-groups-") as scratch:
        storage = _server.open_storage(args.storage, Path(scratch), postgres_url=args.postgres_url)
        server = GroupServer(storage)
        server.member_limit = max(args.members + 1, 2)
        try:
            await asyncio.to_thread(server.start)
            return await _measure(server, args, log)
        finally:
            await asyncio.to_thread(server.stop)
            storage.cleanup()


async def _measure(
    server: GroupServer, args: argparse.Namespace, log: Callable[[str], None]
) -> dict[str, Any]:
    log(f"creating {args.members + 1} accounts …")
    accounts, _ = await asyncio.to_thread(server.create_accounts, args.members + 1)
    host, port = server.hostport("sipc-tcp")
    devices: list[Device] = []
    log("logging in …")
    for account in accounts:
        device = await Device.connect(host, port, account.sid)
        assert isinstance(device, Device)
        await device.login(account.password)
        devices.append(device)
    owner, members = devices[0], devices[1:]
    group = await _create_group(owner, "bench")
    log(f"{len(members)} members join {group} …")
    for member in members:
        invite = (
            f'<args><group uri="{group}"><member uri="sip:{member.sid}@{DOMAIN}"/></group></args>'
        )
        await owner.service("PGInviteMember", invite)
        await member.service("PGHandleInvite", f'<args><group uri="{group}" result="1"/></args>')

    one_to_one: list[float] = []
    for i in range(args.messages + 2):  # the first two warm the caches up
        key = f"d{i}".encode()
        wait = members[0].expect(key)
        direct_sent = time.monotonic_ns()
        owner.send_to(f"sip:{members[0].sid}@{DOMAIN}", key + b" hello you")
        arrived = await asyncio.wait_for(wait, 30)
        if i >= 2:
            one_to_one.append((arrived - direct_sent) / 1e6)
        await asyncio.sleep(args.gap)
    fanout: list[float] = []
    for i in range(args.messages + 2):
        key = f"g{i}".encode()
        waits = [m.expect(key) for m in members]
        sent = time.monotonic_ns()
        owner.send_to(group, key + b" hello group")
        last = max(await asyncio.wait_for(asyncio.gather(*waits), 30))
        if i >= 2:
            fanout.append((last - sent) / 1e6)
        # Let the members' acknowledgements settle: the figure is one message's fan-out.
        await asyncio.sleep(args.gap)
    log(f"fan-out to {len(members)}: p50 {percentile(fanout, 0.5):.1f} ms")

    robot_trip, echo_trip = await _robot_round_trips(server, owner, members[0], args, log)
    for device in devices:
        await device.close()
    return {
        "members": len(members),
        "fanout_last_member": summary(fanout),
        "baseline_1to1": summary(one_to_one),
        "robot_round_trip": summary(robot_trip),
        "baseline_echo_round_trip": summary(echo_trip),
        "ratios": {
            "fanout p99 / 1:1 p99": round(
                percentile(fanout, 0.99) / percentile(one_to_one, 0.99), 2
            ),
            "robot p50 / echo p50": round(
                percentile(robot_trip, 0.5) / percentile(echo_trip, 0.5), 2
            ),
        },
        "targets": {
            "fanout_p99_ms<=100": percentile(fanout, 0.99) <= 100,
            "robot_p50_ms<=20": percentile(robot_trip, 0.5) <= 20,
        },
    }


async def _robot_round_trips(
    server: GroupServer,
    owner: Device,
    partner: Device,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> tuple[list[float], list[float]]:
    secret: dict[str, str] = {}

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        if not envelope.verify(
            (secret["value"],),
            request.headers.get(envelope.TIMESTAMP_HEADER, ""),
            request.headers.get(envelope.SIGNATURE_HEADER, ""),
            body,
            now=time.time(),
        ):
            return web.json_response({"error": "bad signature"}, status=401)
        text = json.loads(body)["message"]["text"]
        key = text.split(" ", 1)[1]
        return web.json_response({"reply": {"text": f"{key} pong"}})

    app = web.Application()
    app.router.add_post("/", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    made = await asyncio.to_thread(
        _admin,
        server,
        "/api/robots",
        {"name": "ping", "transport": "webhook", "webhook_url": f"http://127.0.0.1:{port}/"},
    )
    secret["value"] = made["signing_secret"]
    group = await _create_group(owner, "robot")
    await owner.service(
        "PGAddRobot", f'<args><group uri="{group}"><robot name="ping"/></group></args>'
    )
    robot_trip: list[float] = []
    echo_trip: list[float] = []
    partner.echo_to = owner.sid
    for i in range(args.messages + 2):
        key = f"r{i}".encode()
        wait = owner.expect(key)
        sent = time.monotonic_ns()
        owner.send_to(group, b"/ping " + key)
        arrived = await asyncio.wait_for(wait, 30)
        key = f"e{i}".encode()
        wait = owner.expect(b"re" + key)
        echo_sent = time.monotonic_ns()
        owner.send_to(f"sip:{partner.sid}@{DOMAIN}", key + b" echo")
        echoed = await asyncio.wait_for(wait, 30)
        if i >= 2:
            robot_trip.append((arrived - sent) / 1e6)
            echo_trip.append((echoed - echo_sent) / 1e6)
        await asyncio.sleep(args.gap)
    partner.echo_to = None
    log(f"robot round trip: p50 {percentile(robot_trip, 0.5):.1f} ms")
    await runner.cleanup()
    return robot_trip, echo_trip


def _admin(server: GroupServer, path: str, body: dict[str, Any]) -> Any:
    import urllib.request

    request = urllib.request.Request(
        server.addresses["http"] + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {_server.ADMIN_TOKEN}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def text_report(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']}", f"storage: {report['storage']}"]
    lines.append(f"members online: {report['members']}")
    for name in (
        "fanout_last_member",
        "baseline_1to1",
        "robot_round_trip",
        "baseline_echo_round_trip",
    ):
        s = report[name]
        lines.append(
            f"{name:26} p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms  "
            f"max {s['max_ms']:7.2f} ms"
        )
    for name, ratio in report["ratios"].items():
        lines.append(f"ratio {name}: {ratio}")
    for name, met in report["targets"].items():
        lines.append(f"target {name}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, help="members online (default 500)")
    parser.add_argument("--messages", type=int, help="messages measured (default 30)")
    parser.add_argument(
        "--storage", choices=("sqlite", "sqlite-thread", "postgresql", "memory"), default="sqlite"
    )
    parser.add_argument("--postgres-url", help="PostgreSQL server (default: scripts/test's)")
    parser.add_argument(
        "--gap", type=float, default=0.2, help="seconds between measured messages (default 0.2)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    args.members = args.members or (5 if args.quick else 500)
    args.messages = args.messages or (5 if args.quick else 30)
    if args.members < 1 or args.messages < 1:
        parser.error("--members and --messages must be positive")
    return args


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    _server.raise_nofile()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = asyncio.run(run(args, log))
    report = {"machine": _server.machine(), "storage": args.storage, **report}
    print(json.dumps(report, indent=2) if args.json else text_report(report), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
