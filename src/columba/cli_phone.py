"""``columba phone NUMBER [--smsc HOST:PORT] [--control HOST:PORT] [--to NUMBER]``.

A virtual mobile phone on the built-in SMSC simulator, in a terminal: it prints every SMS
that lands on NUMBER (long texts reassembled) and sends each typed line as an SMS from
NUMBER, to ``--to`` (Fetion's access code ``12520`` by default; ``12520<sid>`` reaches one
Columba user). It talks to the simulator's line-based control channel
(:mod:`columba.smsc.control`), which listens on the SMPP port plus one unless ``--control``
says otherwise.

Commands: ``/to NUMBER`` changes the destination, ``/inbox`` shows what the phone holds,
``/off`` and ``/on`` make the phone unreachable (receipts then say UNDELIV) and reachable
again, ``/help``, ``/quit``. Exit status: 0 after ``/quit`` or the end of input, 1 when the
simulator cannot be reached or the channel drops, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from columba.cli_chat import StdinLines
from columba.smsc import CONTROL_PORT_OFFSET
from columba.smsc.__main__ import split_address
from columba.smsc.control import ControlClient, ControlError

DEFAULT_SMSC = "127.0.0.1:2775"
DEFAULT_TO = "12520"
#: How long to wait for the control connection.
CONNECT_WAIT = 10.0

HELP = (
    "type a line to send it as an SMS",
    "/to NUMBER   send to NUMBER from now on (12520<sid> reaches a Columba user)",
    "/inbox       show the messages on this phone",
    "/off, /on    make this phone unreachable / reachable",
    "/quit        leave",
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba phone``."""
    phone = commands.add_parser(
        "phone",
        help="be a virtual mobile phone on the built-in SMSC simulator",
        description="Show the SMS that land on a virtual phone of the SMSC simulator and "
        "send typed lines as SMS from it; /help lists the commands.",
    )
    phone.add_argument("number", help="the phone's number (MSISDN)")
    phone.add_argument(
        "--smsc",
        default=DEFAULT_SMSC,
        metavar="HOST:PORT",
        help=f"the simulator's SMPP address (default {DEFAULT_SMSC}); its control channel "
        f"is on the next port",
    )
    phone.add_argument(
        "--control", metavar="HOST:PORT", help="the simulator's control channel address"
    )
    phone.add_argument(
        "--to", default=DEFAULT_TO, metavar="NUMBER", help=f"first destination ({DEFAULT_TO})"
    )
    phone.set_defaults(handler=run_phone)


def control_address(smsc: str, control: str | None) -> tuple[str, int]:
    """The control channel: ``control``, or the SMPP address's port plus one.

    Raises:
        ValueError: a bad address.
    """
    if control:
        return split_address(control)
    host, port = split_address(smsc)
    return host, port + CONTROL_PORT_OFFSET


def run_phone(args: argparse.Namespace) -> int:
    """``columba phone``."""
    number: str = args.number
    if not number or " " in number or not args.to or " " in args.to:
        print("columba phone: numbers may not be empty or hold spaces", file=sys.stderr)
        return 2
    try:
        host, port = control_address(args.smsc, args.control)
    except ValueError as exc:
        print(f"columba phone: {exc}", file=sys.stderr)
        return 2
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # an emoji must not end the session
    try:
        return asyncio.run(_phone(number, args.to, host, port, _print))
    except KeyboardInterrupt:
        return 130


def _print(text: str) -> None:
    print(text, flush=True)


@dataclass(slots=True, kw_only=True)
class Phone:
    """What the terminal knows: this phone's number and where typed text goes."""

    number: str
    destination: str


def render(line: str) -> str | None:
    """A control channel line as the terminal shows it (None: nothing to show)."""
    kind, _, rest = line.partition(" ")
    if kind in ("SMS", "INBOX"):
        try:
            fields = json.loads(rest)
        except json.JSONDecodeError:
            return f"? {line}"
        at = time.strftime("%H:%M:%S", time.localtime(float(fields.get("at") or 0)))
        parts = int(fields.get("parts") or 1)
        notes = [f"{parts} parts"] if parts > 1 else []
        if fields.get("partial"):
            notes.append("PARTIAL")
        note = f" ({', '.join(notes)})" if notes else ""
        return f"[{at}] {fields.get('from')}: {fields.get('text')}{note}"
    if kind == "DELIVERED":
        return f"  sent {rest}: the SMS server has it"
    if kind == "FAILED":
        return f"  NOT sent {rest}"
    return None


async def _phone(
    number: str, destination: str, host: str, port: int, write: Callable[[str], None]
) -> int:
    lines = StdinLines()
    phone = Phone(number=number, destination=destination)
    try:
        async with ControlClient.connect(host, port, wait=CONNECT_WAIT) as client:
            return await _session(client, phone, lines, write)
    except (OSError, TimeoutError) as exc:
        reason = str(exc) or "no answer"
        write(f"cannot reach the SMSC simulator's control channel at {host}:{port}: {reason}")
        return 1


async def _session(
    client: ControlClient, phone: Phone, lines: StdinLines, write: Callable[[str], None]
) -> int:
    try:
        await client.command(f"WATCH {phone.number}")
        history = await client.command(f"INBOX {phone.number}")
    except ControlError as exc:
        write(f"the SMSC simulator refused: {exc}")
        return 1
    for line in history[:-1]:
        write(render(line) or line)
    write(f"phone {phone.number}: texts go to {phone.destination}; /help lists commands")
    async with asyncio.TaskGroup() as group:
        showing = group.create_task(_show(client, write))
        typing = group.create_task(_type(client, phone, lines, write))
        done, _ = await asyncio.wait({showing, typing}, return_when=asyncio.FIRST_COMPLETED)
        showing.cancel()
        typing.cancel()
    if typing in done and not typing.cancelled():
        return typing.result()
    write("the SMSC simulator closed the control channel")
    return 1


async def _show(client: ControlClient, write: Callable[[str], None]) -> None:
    while (line := await client.next_event()) is not None:
        shown = render(line)
        if shown is not None:
            write(shown)


async def _type(
    client: ControlClient, phone: Phone, lines: StdinLines, write: Callable[[str], None]
) -> int:
    async for line in lines:
        text = line.strip()
        if not text:
            continue
        try:
            if not await _command(client, phone, text, write):
                return 0
        except ControlError as exc:
            if client.is_closed:
                return 1
            write(f"error: {exc}")
    return 0


async def _command(
    client: ControlClient, phone: Phone, text: str, write: Callable[[str], None]
) -> bool:
    """Do one typed line; False to leave."""
    word, _, arg = text.partition(" ")
    if word == "/quit":
        return False
    if word == "/help":
        for line in HELP:
            write(f"  {line}")
    elif word == "/to":
        if not arg.strip() or " " in arg.strip():
            write("usage: /to NUMBER")
        else:
            phone.destination = arg.strip()
            write(f"texts go to {phone.destination}")
    elif word == "/inbox":
        answer = await client.command(f"INBOX {phone.number}")
        for line in answer[:-1]:
            write(render(line) or line)
        write(f"{len(answer) - 1} message(s)")
    elif word in ("/off", "/on"):
        await client.command(f"REACH {phone.number} {word[1:]}")
        write("phone is " + ("reachable" if word == "/on" else "unreachable"))
    elif word.startswith("/") and not word.startswith("//"):
        write(f"unknown command {word}: /help lists them")
    else:
        if text.startswith("//"):
            text = text[1:]  # "//x" sends "/x"
        answer = await client.command(
            f"SEND {phone.number} {phone.destination} {json.dumps(text, ensure_ascii=False)}"
        )
        _, _, reply = answer[-1].partition(" ")  # OK <mo-id> <parts>
        write(f"  -> {phone.destination} (id and parts: {reply})")
    return True
