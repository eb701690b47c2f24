"""SMSC peers for the SMS scenarios: our simulator, or node smpp (an independent stack).

Both offer the same small API to a scenario: where to bind, phones' inboxes (MT texts,
reassembled), texting from a phone (MO), and being down for a while (stop, start again on the
same port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from columba.smsc import SmscSimulator
from tests.interop_smpp.node_peer import NODE_DIR


@dataclass(frozen=True)
class Sms:
    """A text that reached a phone."""

    source: str
    destination: str
    text: str
    parts: int


class SmscPeer(Protocol):
    port: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def inbox(self, number: str, count: int, *, within: float = 20.0) -> list[Sms]: ...

    async def text_from(self, phone: str, to: str, text: str) -> None: ...

    def submits(self) -> int: ...


class SimulatorPeer:
    """Columba's own SMSC simulator, in the test's event loop."""

    def __init__(self) -> None:
        self.port = 0
        self.smsc = SmscSimulator()
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(self.smsc.serving(port=self.port))
        assert self.smsc.address is not None
        self.port = self.smsc.address[1]

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        # A fresh simulator (handsets kept) so that it can listen again.
        handsets = self.smsc.handsets
        submits = self.smsc.submits
        self.smsc = SmscSimulator()
        self.smsc.handsets = handsets
        self.smsc.submits = submits

    async def inbox(self, number: str, count: int, *, within: float = 20.0) -> list[Sms]:
        async with asyncio.timeout(within):
            messages = await self.smsc.handset(number).wait_messages(count)
        return [Sms(m.source, m.destination, m.text, m.parts) for m in messages]

    async def text_from(self, phone: str, to: str, text: str) -> None:
        outgoing = self.smsc.send_from_handset(phone, to, text)
        async with asyncio.timeout(20):
            assert await outgoing.wait_delivered() is None

    def submits(self) -> int:
        return len(self.smsc.submits)


class NodeSmppPeer:
    """node smpp 0.5.1 driven by ``tests/interop_smpp/node/smsc_sim.js``."""

    def __init__(self, node: str) -> None:
        self.port = 0
        self._node = node
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._changed = asyncio.Event()
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._submits = 0

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            self._node,
            str(NODE_DIR / "smsc_sim.js"),
            str(self.port),
            "columba",
            "columba",
            "600000",
            cwd=NODE_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read())
        while True:
            event = await asyncio.wait_for(self._events.get(), 20)
            if event["event"] == "listening":
                self.port = int(event["port"])
                return

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._process = None

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            record = json.loads(line)
            if record["event"] == "submit_sm":
                self._submits += 1
                self._parts[record["destination_addr"]].append(record)
                self._changed.set()
            else:
                self._events.put_nowait(record)

    def _texts(self, number: str) -> list[Sms]:
        """Whole texts: single parts, and UDH-concatenated parts joined by reference."""
        texts: list[Sms] = []
        groups: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
        totals: dict[tuple[str, int], int] = {}
        for record in self._parts.get(number, []):
            udh = record.get("udh")
            if not udh:
                texts.append(Sms(record["source_addr"], number, record["message"], 1))
                continue
            ref, total, index = _concatenation(bytes.fromhex(udh))
            key = (record["source_addr"], ref)
            groups.setdefault(key, {})[index] = record
            totals[key] = total
            if len(groups[key]) == total:
                joined = "".join(groups[key][i]["message"] for i in range(1, total + 1))
                texts.append(Sms(record["source_addr"], number, joined, total))
                del groups[key]
        return texts

    async def inbox(self, number: str, count: int, *, within: float = 20.0) -> list[Sms]:
        async with asyncio.timeout(within):
            while len(texts := self._texts(number)) < count:
                self._changed.clear()
                await self._changed.wait()
        return texts[:count]

    async def text_from(self, phone: str, to: str, text: str) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        command = {"cmd": "mo", "from": phone, "to": to, "text": text, "ref": 5}
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        async with asyncio.timeout(20):
            while True:
                event = await self._events.get()
                if event["event"] == "mo_sent":
                    parts = int(event["parts"])
                    break
            acked = 0
            while acked < parts:
                event = await self._events.get()
                if event["event"] == "mo_acked":
                    assert event["command_status"] == 0
                    acked += 1

    def submits(self) -> int:
        return self._submits


def _concatenation(udh: bytes) -> tuple[int, int, int]:
    """(reference, total, index) from a UDH, with or without its length octet (node smpp
    gives the elements only)."""
    if udh and udh[0] == len(udh) - 1:
        udh = udh[1:]
    while udh:
        iei, length = udh[0], udh[1]
        value = udh[2 : 2 + length]
        if iei == 0x00:
            return value[0], value[1], value[2]
        if iei == 0x08:
            return (value[0] << 8) | value[1], value[2], value[3]
        udh = udh[2 + length :]
    raise AssertionError("no concatenation element in the UDH")


@contextlib.asynccontextmanager
async def running(peer: SmscPeer) -> AsyncIterator[SmscPeer]:
    """The peer started for the ``async with`` body."""
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()
