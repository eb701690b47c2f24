"""A node smpp script as a child process: JSON-line commands in, JSON-line events out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).resolve().parent / "node"
#: The version package-lock.json pins.
SMPP_VERSION = "0.5.1"


class NodePeer:
    """One running node script (``smsc_sim.js`` or ``esme_client.js``)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[dict[str, Any]] = []
        self._unread: list[dict[str, Any]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, node: str, script: str, *args: str) -> AsyncIterator[NodePeer]:
        """Run ``node script args…``; killed when the ``async with`` ends."""
        process = await asyncio.create_subprocess_exec(
            node,
            str(NODE_DIR / script),
            *args,
            cwd=NODE_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        peer = cls(process)
        try:
            yield peer
        finally:
            if process.returncode is None:
                process.kill()
            _, stderr = await process.communicate()
            if stderr:
                print(f"{script} stderr:\n{stderr.decode(errors='replace')}", file=sys.stderr)

    async def send(self, **command: Any) -> None:
        """Write one command line."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, event: str) -> dict[str, Any]:
        """The next event named ``event`` (others are kept for later ``expect`` calls)."""
        for index, record in enumerate(self._unread):
            if record["event"] == event:
                return self._unread.pop(index)
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the node peer ended before {event!r}; saw {self.seen}")
            record = json.loads(line)
            self.seen.append(record)
            if record["event"] == event:
                return record
            self._unread.append(record)

    async def collect(self, event: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events named ``event``."""
        return [await self.expect(event) for _ in range(count)]
