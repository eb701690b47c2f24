"""``columba chat [--server HOST:PORT] [--user SID_OR_NUMBER] [--password-stdin]``.

A line-based terminal client (works in any terminal, in tmux, and with pipes): log in over
SIP-C, show the contacts, then read commands from standard input while printing messages,
presence changes and contact requests as they arrive. ``/help`` lists the commands; see
:mod:`columba.chat`.

The password is asked with ``getpass``, or read as the first line of standard input with
``--password-stdin`` (the rest of the input is then commands). Exit status: 0 after ``/quit``
or the end of input, 1 when the login fails or the connection is lost, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import os
import sys
import threading

from columba.chat import ChatApp
from columba.chat.render import error
from columba.client import ClientError, SipcClient

DEFAULT_SERVER = "127.0.0.1:8080"
#: How long to wait for the TCP connection.
CONNECT_WAIT = 10.0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba chat``."""
    chat = commands.add_parser(
        "chat",
        help="talk to other users from a terminal",
        description="Log in to a Columba server over SIP-C and chat: a line without a slash "
        "goes to the current peer; /help lists the commands.",
    )
    chat.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        metavar="HOST:PORT",
        help=f"the server's SIP-C listener (default {DEFAULT_SERVER})",
    )
    chat.add_argument("--user", metavar="SID_OR_NUMBER", help="your sid or mobile number")
    chat.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    chat.set_defaults(handler=run_chat)


def parse_server(text: str) -> tuple[str, int]:
    """``(host, port)`` from ``HOST:PORT``, ``[v6]:PORT`` or ``HOST`` (port 8080).

    Raises:
        ValueError: not an address.
    """
    host, port = text, "8080"
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"bad server address {text!r}")
        port = rest[1:] or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad server address {text!r} (expected HOST:PORT)")
    return host, int(port)


def run_chat(args: argparse.Namespace) -> int:
    """``columba chat``."""
    try:
        host, port = parse_server(args.server)
    except ValueError as exc:
        print(f"columba chat: {exc}", file=sys.stderr)
        return 2
    user: str | None = args.user
    password: str | None = None
    try:
        if not user:
            if args.password_stdin or not sys.stdin.isatty():
                print("columba chat: --user is needed here", file=sys.stderr)
                return 2
            user = input("user (sid or number): ").strip()
        if not args.password_stdin:
            password = getpass.getpass(f"password for {user}: ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return 2
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # a peer's emoji must not end the session
    try:
        return asyncio.run(_chat(host, port, user, password))
    except KeyboardInterrupt:
        return 130


async def _chat(host: str, port: int, user: str, password: str | None) -> int:
    lines = StdinLines()
    if password is None:
        password = await lines.readline()
        if password is None:
            _print(error("no password on standard input"))
            return 2
    try:
        async with asyncio.timeout(CONNECT_WAIT):
            client = await SipcClient.connect(host, port)
    except (OSError, TimeoutError) as exc:
        errno = getattr(exc, "errno", None)
        reason = os.strerror(errno) if errno else str(exc) or "no answer"
        _print(error(f"cannot connect to {host}:{port}: {reason}"))
        return 1
    try:
        try:
            response = await client.login(user, password)
        except (ClientError, ValueError, SyntaxError) as exc:  # ET.ParseError is a SyntaxError
            _print(error(str(exc)))
            return 1
        expires = response.get("X") or ""
        app = ChatApp(
            client,
            write=_print,
            keep_alive=lambda: keep_alive(client),
            # Refresh at half the lifetime the server granted (SIP-C ``X``, 600 s by default).
            keep_alive_every=max(int(expires) if expires.isdigit() else 600, 20) / 2,
        )
        await app.start()
        return await app.run(lines)
    finally:
        await client.close()


async def keep_alive(client: SipcClient) -> None:
    """SIP-C ``R`` with ``N: KeepAlive``: renew the login before the server expires it.

    Raises:
        ClientError: refused or unanswered.
    """
    # The client library has no public call for this yet, so build the request here.
    response = await client.ask(client._request("R", ("N", "KeepAlive")))
    if response.status != 200:
        raise ClientError(f"{response.status} {response.reason}", status=response.status)


def _print(text: str) -> None:
    print(text, flush=True)


class StdinLines:
    """Lines of standard input for the event loop, read by a daemon thread.

    A thread on the raw descriptor works for a terminal, a pipe and a regular file alike: the
    event loop cannot watch files, and ``connect_read_pipe`` would make a terminal
    non-blocking for the shell too. Reading the descriptor rather than ``sys.stdin`` leaves
    no buffered reader locked at exit.
    """

    def __init__(self, fd: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        thread = threading.Thread(
            target=self._read, args=(fd,), name="columba-chat-stdin", daemon=True
        )
        thread.start()

    def _read(self, fd: int) -> None:
        pending = b""
        try:
            while chunk := os.read(fd, 4096):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._put(line.decode("utf-8", "replace").rstrip("\r"))
            if pending:
                self._put(pending.decode("utf-8", "replace"))
        except OSError:
            pass
        finally:
            self._put(None)

    def _put(self, line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is reading
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    async def readline(self) -> str | None:
        """The next line without its ending; ``None`` at the end of input (and after)."""
        line = await self._queue.get()
        if line is None:
            self._queue.put_nowait(None)
        return line

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        line = await self.readline()
        if line is None:
            raise StopAsyncIteration
        return line
