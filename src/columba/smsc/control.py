"""The simulator's control channel: UTF-8 text lines over TCP on loopback, so that another
process (``columba phone``, a test, ``nc``) can work the virtual handsets.

Commands (one per line, words separated by one space; the text of SEND is the rest of the
line, or a JSON string when it starts with ``"`` so that it can hold line breaks)::

    PING                          -> OK PONG
    SEND <from> <to> <text>       -> OK <mo-id> <parts>, later DELIVERED <mo-id>
                                     or FAILED <mo-id> <reason>
    WATCH <number>                -> OK WATCH <number>, then SMS {json} per message landing
    INBOX <number>                -> INBOX {json} per message held, then OK <count>
    REACH <number> on|off         -> OK REACH <number> on|off (off: receipts say UNDELIV)
    BINDS                         -> BIND <system_id> <mode> per bound ESME, then OK <count>
    HELP                          -> HELP <line> per command, then OK
    QUIT                          -> OK BYE, and the connection closes

Anything else is ``ERR <reason>``. ``SMS`` and ``INBOX`` carry :meth:`InboxMessage.as_json`.
Replies come in command order; ``SMS``, ``DELIVERED`` and ``FAILED`` may come in between.
:func:`serve_control` is the server end, :class:`ControlClient` the client end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from columba.sms.errors import SmsUsageError
from columba.smsc.simulator import Outgoing, SmscSimulator

log = logging.getLogger(__name__)

#: The longest command line (a 255-part text as JSON fits).
MAX_LINE = 256 * 1024

HELP = (
    "PING",
    "SEND <from> <to> <text or JSON string>",
    "WATCH <number>",
    "INBOX <number>",
    "REACH <number> on|off",
    "BINDS",
    "QUIT",
)


class _Channel:
    """One control connection: a read loop and the watch/delivery tasks it starts."""

    def __init__(
        self,
        simulator: SmscSimulator,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tasks: asyncio.TaskGroup,
    ) -> None:
        self.simulator = simulator
        self.reader = reader
        self.writer = writer
        self.tasks = tasks
        self.watching: set[str] = set()
        self.is_done = False
        self.spawned: set[asyncio.Task[None]] = set()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` in the connection's TaskGroup (cancelled when the connection ends)."""

        async def run() -> None:
            await work

        task = self.tasks.create_task(run())
        self.spawned.add(task)
        task.add_done_callback(self.spawned.discard)

    def write(self, line: str) -> None:
        if not self.writer.is_closing():
            self.writer.write(line.replace("\n", " ").encode() + b"\n")

    async def ping(self, args: str) -> None:
        self.write("OK PONG")

    async def send(self, args: str) -> None:
        source, _, rest = args.partition(" ")
        destination, _, text = rest.partition(" ")
        if not source or not destination:
            self.write("ERR usage: SEND <from> <to> <text>")
            return
        if text.startswith('"'):
            try:
                text = json.loads(text)
            except json.JSONDecodeError as exc:
                self.write(f"ERR bad JSON text: {exc.msg}")
                return
            if not isinstance(text, str):
                self.write("ERR the JSON text must be a string")
                return
        try:
            outgoing = self.simulator.send_from_handset(source, destination, text)
        except SmsUsageError as exc:
            self.write(f"ERR {exc}")
            return
        self.write(f"OK {outgoing.mo_id} {outgoing.parts}")
        self.spawn(self._report(outgoing))

    async def _report(self, outgoing: Outgoing) -> None:
        error = await outgoing.wait_delivered()
        if error is None:
            self.write(f"DELIVERED {outgoing.mo_id}")
        else:
            self.write(f"FAILED {outgoing.mo_id} {error}")

    async def watch(self, args: str) -> None:
        number = args.strip()
        if not number or " " in number:
            self.write("ERR usage: WATCH <number>")
            return
        if number not in self.watching:
            self.watching.add(number)
            self.spawn(self._watch(number))
            await asyncio.sleep(0)  # the watch is registered before the reply goes out
        self.write(f"OK WATCH {number}")

    async def _watch(self, number: str) -> None:
        with self.simulator.handset(number).watch() as queue:
            while not self.is_done:
                message = await queue.get()
                self.write("SMS " + json.dumps(message.as_json(), ensure_ascii=False))

    async def inbox(self, args: str) -> None:
        handset = self.simulator.handset(args.strip())
        for message in handset.inbox:
            self.write("INBOX " + json.dumps(message.as_json(), ensure_ascii=False))
        self.write(f"OK {len(handset.inbox)}")

    async def reach(self, args: str) -> None:
        number, _, flag = args.partition(" ")
        if not number or flag not in ("on", "off"):
            self.write("ERR usage: REACH <number> on|off")
            return
        self.simulator.handset(number).is_reachable = flag == "on"
        self.write(f"OK REACH {number} {flag}")

    async def binds(self, args: str) -> None:
        binds = self.simulator.binds
        for system_id, mode in binds:
            self.write(f"BIND {system_id} {mode}")
        self.write(f"OK {len(binds)}")

    async def help(self, args: str) -> None:
        for line in HELP:
            self.write(f"HELP {line}")
        self.write("OK")

    async def quit(self, args: str) -> None:
        self.write("OK BYE")
        self.is_done = True


Command = Callable[[_Channel, str], Awaitable[None]]

#: The dispatch table.
COMMANDS: dict[str, Command] = {
    "PING": _Channel.ping,
    "SEND": _Channel.send,
    "WATCH": _Channel.watch,
    "INBOX": _Channel.inbox,
    "REACH": _Channel.reach,
    "BINDS": _Channel.binds,
    "HELP": _Channel.help,
    "QUIT": _Channel.quit,
}


async def serve_control(
    simulator: SmscSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve one control connection until QUIT or the peer closes. Never raises."""
    try:
        async with asyncio.TaskGroup() as tasks:
            channel = _Channel(simulator, reader, writer, tasks)
            try:
                await _read_commands(channel)
            finally:
                channel.is_done = True
                writer.close()
                for task in list(channel.spawned):
                    task.cancel()
    except Exception:
        log.exception("control connection failed")


async def _read_commands(channel: _Channel) -> None:
    while not channel.is_done:
        try:
            raw = await channel.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            channel.write("ERR line too long")
            return
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        word, _, args = line.partition(" ")
        command = COMMANDS.get(word.upper())
        if command is None:
            if word:
                channel.write(f"ERR unknown command {word!r}: try HELP")
            continue
        await command(channel, args)
        with contextlib.suppress(ConnectionError, OSError):
            await channel.writer.drain()


#: Lines that answer a command (the last one of each answer starts OK or ERR).
_REPLY_BODY = ("INBOX ", "BIND ", "HELP ")


class ControlError(Exception):
    """The control channel answered ERR, or closed."""


class ControlClient:
    """The client end of the control channel, for ``columba phone`` and tests.

    Use ``async with ControlClient.connect(host, port) as client``: a reader task (owned by
    the ``async with``) sorts the lines into command answers and events (``SMS``,
    ``DELIVERED``, ``FAILED``).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._answers: list[asyncio.Future[list[str]]] = []
        self._body: list[str] = []
        self._events: asyncio.Queue[str | None] = asyncio.Queue()
        self.is_closed = False

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, host: str, port: int, *, wait: float | None = None
    ) -> AsyncIterator[ControlClient]:
        """Connect within ``wait`` seconds, and read until the ``async with`` ends.

        Raises:
            OSError: the connection failed.
            TimeoutError: it took longer than ``wait``.
        """
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
        client = cls(reader, writer)
        async with asyncio.TaskGroup() as group:
            reading = group.create_task(client._read())
            try:
                yield client
            finally:
                writer.close()
                reading.cancel()

    async def command(self, line: str) -> list[str]:
        """Send one command; return its answer lines (the final ``OK …`` included).

        Raises:
            ControlError: the answer is ``ERR …``, or the channel closed.
        """
        if self.is_closed:
            raise ControlError("the control channel is closed")
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._answers.append(future)
        self._writer.write(line.replace("\n", " ").encode() + b"\n")
        await self._writer.drain()
        answer = await future
        if answer[-1].startswith("ERR"):
            raise ControlError(answer[-1][4:])
        return answer

    async def next_event(self) -> str | None:
        """The next ``SMS``/``DELIVERED``/``FAILED`` line; None once the channel closed."""
        event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
        return event

    async def _read(self) -> None:
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith(("OK", "ERR")):
                    self._body.append(line)
                    answer, self._body = self._body, []
                    if self._answers:
                        future = self._answers.pop(0)
                        if not future.done():
                            future.set_result(answer)
                elif line.startswith(_REPLY_BODY):
                    self._body.append(line)
                else:
                    self._events.put_nowait(line)
        except (ConnectionError, OSError):
            pass
        finally:
            self.is_closed = True
            self._events.put_nowait(None)
            for future in self._answers:
                if not future.done():
                    future.set_result(["ERR the control channel closed"])
