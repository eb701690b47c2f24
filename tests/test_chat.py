"""``columba chat``: command parsing, rendering, the session against a fake client, and two
people talking through a real server in two ``columba chat`` processes."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

from columba.chat import ChatApp, CommandError, parse_command, render
from columba.chat.commands import (
    Add,
    Answer,
    Help,
    Msg,
    Quit,
    Say,
    SetStatus,
    ShowContacts,
    To,
)
from columba.chat.roster import OFFLINE, Contact, Relation, Roster, sid_of
from columba.cli import build_parser
from columba.cli_chat import StdinLines, parse_server, run_chat
from columba.client import ClientError, IncomingMessage, PresenceUpdate
from columba.client.base import Transport
from columba.protocol.sip.message import Header, Request, Response

ALICE, BOB = "700000001", "700000002"
NOON = datetime(2024, 5, 1, 12, 1)


def in_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test in a fresh event loop (the suite has no asyncio plugin)."""

    def run() -> None:
        asyncio.run(test())

    return run


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("hello there\n", Say(text="hello there")),
        ("//etc/passwd is a file", Say(text="/etc/passwd is a file")),
        ("/to 700000002", To(peer="700000002")),
        ("/to", To(peer=None)),
        ("/msg +8613800000002 at  noon ", Msg(peer="+8613800000002", text="at  noon")),
        ("/add 700000002", Add(peer="700000002")),
        ("/accept 700000001", Answer(peer="700000001", is_accepted=True)),
        ("/decline 700000001", Answer(peer="700000001", is_accepted=False)),
        ("/contacts", ShowContacts()),
        ("/status dnd", SetStatus(name="dnd", value=800)),
        ("/STATUS Hidden", SetStatus(name="hidden", value=0)),
        ("/help", Help()),
        ("/quit\r\n", Quit()),
    ],
)
def test_parse_command(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize("line", ["", "   \n", "\r\n"])
def test_blank_lines_are_no_command(line: str) -> None:
    assert parse_command(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/msg 700000002", "usage: /msg"),
        ("/add", "usage: /add"),
        ("/accept a b", "usage: /accept"),
        ("/status sleepy", "usage: /status online|away|busy|dnd|meeting|hidden"),
        ("/frobnicate", "unknown command /frobnicate"),
    ],
)
def test_bad_commands_say_how(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        parse_command(line)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("chat.example.com", ("chat.example.com", 8080)),
        ("[::1]:9000", ("::1", 9000)),
        ("[::1]", ("::1", 8080)),
        ("::1", ("::1", 8080)),
    ],
)
def test_parse_server(text: str, address: tuple[str, int]) -> None:
    assert parse_server(text) == address


@pytest.mark.parametrize("text", ["", ":80", "host:", "host:99999", "host:http", "[::1", "[::1]x"])
def test_parse_server_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="bad server address"):
        parse_server(text)


def test_chat_is_a_columba_command() -> None:
    args = build_parser().parse_args(["chat", "--user", ALICE, "--password-stdin"])
    assert (args.handler, args.server, args.user, args.password_stdin) == (
        run_chat,
        "127.0.0.1:8080",
        ALICE,
        True,
    )


@in_loop
async def test_stdin_lines_from_a_pipe() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, "secret\r\n/to 700000002\nça va\nno newline".encode())
    os.close(write_end)
    try:
        lines = StdinLines(read_end)
        assert await lines.readline() == "secret"
        assert [line async for line in lines] == ["/to 700000002", "ça va", "no newline"]
        assert await lines.readline() is None
    finally:
        os.close(read_end)


# -- rendering ----------------------------------------------------------------------------------


def test_render_message() -> None:
    line = render.message(at=NOON, sender=render.who(ALICE, "Alice"), text="hello")
    assert line == "[12:01] Alice (700000001): hello"


def test_render_message_indents_more_lines_and_drops_escapes() -> None:
    text = "one\n\x1b[2Jtwo\u202e\tthree\x07"
    assert render.message(at=NOON, sender=BOB, text=text) == (
        "[12:01] 700000002: one\n    [2Jtwo three"
    )


def test_render_events() -> None:
    bob = Contact(sid=BOB, name="Bob", presence=100)
    alice = Contact(sid=ALICE, name="Alice", relation=Relation.ASKING)
    assert render.presence_change(bob) == "* Bob is now away"
    nameless = Contact(sid=BOB, presence=OFFLINE)
    assert render.presence_change(nameless) == "* 700000002 is now offline"
    assert render.contact_request(alice) == (
        "* Alice (700000001) wants to add you — /accept 700000001"
    )
    assert render.error("message refused: 404 No such user") == (
        "! message refused: 404 No such user"
    )
    assert render.who(BOB, "\x1b]0;evil\x07Bob") == "]0;evilBob (700000002)"


def test_render_contact_list() -> None:
    contacts = [
        Contact(sid=BOB, name="Bob", presence=400),
        Contact(sid="700000003", relation=Relation.ASKED),
    ]
    assert render.contact_list(contacts) == [
        "Contacts:",
        "  Bob (700000002)  online",
        "  700000003        waiting for them to accept",
    ]
    assert render.contact_list([]) == ["* no contacts yet — /add <sid|number> to ask someone"]


def test_roster_from_login_results() -> None:
    results = ET.fromstring(
        '<results><user-info><personal sid="700000001" nickname="Alice"/>'
        '<contact-list version="3"><buddies>'
        '<b i="2" u="sip:700000002@fetion.com.cn" n="Bob" l="" r="1"/>'
        '<b i="3" u="sip:700000003@fetion.com.cn" n="Carol" l="" r="3"/>'
        "</buddies></contact-list></user-info></results>"
    )
    roster = Roster.from_login(results)
    assert [(c.sid, c.user_id, c.name, c.relation) for c in roster] == [
        (BOB, 2, "Bob", Relation.ACCEPTED),
        ("700000003", 3, "Carol", Relation.ASKING),
    ]
    assert roster.find("carol") is roster.get("700000003")
    assert sid_of("sip:700000002@fetion.com.cn;p=1") == BOB


# -- the session, against a fake client ---------------------------------------------------------


@dataclass
class FakeClient:
    """Records what the chat asks; answers with the statuses a test sets."""

    sid: str = ALICE
    login_results: ET.Element | None = None
    transport: Transport = field(default_factory=Transport)
    messages: asyncio.Queue[IncomingMessage] = field(default_factory=asyncio.Queue)
    presence: asyncio.Queue[PresenceUpdate] = field(default_factory=asyncio.Queue)
    requests: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)
    events: asyncio.Queue[Request] = field(default_factory=asyncio.Queue)
    sent: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    refuse_messages: bool = False
    add_body: bytes = b""

    async def subscribe_presence(self) -> None:
        self.calls.append("subscribe")

    async def send_message(self, to: str, text: str, *, content_type: str = "text/plain") -> str:
        if self.refuse_messages:
            raise ClientError("message refused: 404 No such user", status=404)
        self.sent.append((to, text))
        return "m1"

    async def add_contact(self, identity: str) -> Response:
        self.calls.append(f"add {identity}")
        return Response(status=200, reason="OK", version="SIP-C/4.0", body=self.add_body)

    async def answer_contact(self, user_id: int | str, *, accept: bool = True) -> Response:
        self.calls.append(f"answer {user_id} {accept}")
        return Response(status=200, reason="OK", version="SIP-C/4.0")

    async def set_presence(self, value: int) -> Response:
        self.calls.append(f"presence {value}")
        status, reason = (200, "OK") if value != 850 else (400, "Bad Request")
        return Response(status=status, reason=reason, version="SIP-C/4.0")

    async def logout(self) -> None:
        self.calls.append("logout")
        self.transport.closed.set()

    def notify(self, event: str, body: str) -> Request:
        """A ``BN`` as the server sends it."""
        return Request(
            method="BN",
            uri=self.sid,
            version="SIP-C/4.0",
            headers=(Header("N", event),),
            body=body.encode(),
        )


def make_app(client: FakeClient) -> tuple[ChatApp, list[str]]:
    out: list[str] = []
    return ChatApp(client, write=out.append, clock=lambda: NOON), out


async def lines_of(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


@in_loop
async def test_plain_line_needs_a_peer_then_goes_to_it() -> None:
    client = FakeClient()
    app, out = make_app(client)
    await app.handle_line("hello")
    assert out == ["! nobody to talk to yet — /to <sid|number> first"]
    await app.handle_line(f"/to {BOB}")
    await app.handle_line("hello")
    await app.handle_line("/msg 700000003 psst")
    assert client.sent == [(BOB, "hello"), ("700000003", "psst")]
    assert out[-1] == f"* talking to {BOB}"


@in_loop
async def test_refusals_are_one_line() -> None:
    client = FakeClient(refuse_messages=True)
    app, out = make_app(client)
    assert await app.handle_line(f"/msg {BOB} hi")
    assert await app.handle_line("/status meeting")
    assert await app.handle_line("/status sleepy")
    assert await app.handle_line(f"/accept {BOB}")
    assert out == [
        "! message refused: 404 No such user",
        "! status refused: 400 Bad Request",
        "! usage: /status online|away|busy|dnd|meeting|hidden",
        f"! no contact request from {BOB}",
    ]


def presence_body(*entries: tuple[int, str, str, int]) -> str:
    """A ``BN PresenceV4`` body: ``(user id, sid, name, value)`` per contact."""
    contacts = "".join(
        f'<c id="{user_id}"><p sid="{sid}" n="{name}"/><pr b="{value}" dt="PC"/></c>'
        for user_id, sid, name, value in entries
    )
    return f'<events><event type="PresenceChanged"><contacts>{contacts}</contacts></event></events>'


def added_body(user_id: int, sid: str) -> str:
    """A ``BN contact`` body: we are now contacts with someone."""
    return (
        f'<events><event type="AddBuddy"><buddy user-id="{user_id}" '
        f'uri="sip:{sid}@fetion.com.cn" relation-status="1"/></event></events>'
    )


@in_loop
async def test_contact_request_then_accept() -> None:
    client = FakeClient(sid=BOB)
    app, out = make_app(client)
    application = (
        '<events><event type="AddBuddyApplication"><application uri="sip:700000001@fetion.com.cn"'
        ' desc="Alice" type="0" user-id="1"/></event></events>'
    )
    client.requests.put_nowait({"sid": ALICE})  # the client's own parse: emptied, not used
    app.on_notification(client.notify("contact", application))
    assert out == ["* Alice (700000001) wants to add you — /accept 700000001"]
    assert client.requests.empty()
    await app.handle_line("/accept alice")
    # The server's AddBuddy notice may come before or after the 200: said once either way.
    app.on_notification(client.notify("contact", added_body(1, ALICE)))
    assert client.calls == ["answer 1 True"]
    assert out[1:] == ["* Alice (700000001) is now your contact"]


@in_loop
async def test_add_then_accepted_and_presence() -> None:
    client = FakeClient(
        add_body=b'<results><contacts><buddies><buddy uri="sip:700000002@fetion.com.cn" '
        b'user-id="2" relation-status="0"/></buddies></contacts></results>'
    )
    app, out = make_app(client)
    await app.handle_line(f"/add {BOB}")
    app.on_notification(client.notify("contact", added_body(2, BOB)))
    app.on_notification(client.notify("PresenceV4", presence_body((2, BOB, "Bob", 400))))
    app.on_notification(client.notify("PresenceV4", presence_body((2, BOB, "Bob", 400))))
    app.on_notification(
        client.notify(
            "PresenceV4",
            '<events><event><contacts><c id="2"><pr b="100"/></c></contacts></event></events>',
        )
    )
    await app.handle_line("/contacts")
    app.on_notification(client.notify("PresenceV4", presence_body((2, BOB, "Bob", 0))))
    assert out == [
        f"* asked {BOB} to be your contact — waiting for an answer",
        f"* {BOB} accepted — you are now contacts",
        "* Bob is now online",
        "* Bob is now away",
        "Contacts:",
        "  Bob (700000002)  away",
        "* Bob is now offline",
    ]
    assert client.calls == [f"add {BOB}"]


@in_loop
async def test_decline_and_declined() -> None:
    client = FakeClient()
    app, out = make_app(client)
    app.roster.learn("700000003", user_id=3, name="Carol", relation=Relation.ASKING)
    app.roster.learn(BOB, user_id=2, relation=Relation.ASKED)
    await app.handle_line("/decline carol")
    app.on_notification(
        client.notify(
            "contact",
            '<events><event type="UpdateBuddy"><buddy user-id="2" '
            'relation-status="2"/></event></events>',
        )
    )
    assert client.calls == ["answer 3 False"]
    assert out == ["* declined Carol (700000003)", f"* {BOB} declined your request"]
    assert app.roster.get("700000003") is None


@in_loop
async def test_first_message_chooses_the_peer() -> None:
    client = FakeClient(sid=BOB)
    app, out = make_app(client)
    app.roster.learn(ALICE, name="Alice")
    app.on_message(
        IncomingMessage(message_id="1", sender=ALICE, content_type="text/plain", text="hello")
    )
    await app.handle_line("hi Alice")
    assert out == [
        "[12:01] Alice (700000001): hello",
        "* replies go to Alice (700000001) — /to changes it",
    ]
    assert client.sent == [(ALICE, "hi Alice")]


@in_loop
async def test_start_shows_contacts_and_pending_requests() -> None:
    results = ET.fromstring(
        '<results><user-info><personal sid="700000001" nickname="Alice"/><contact-list>'
        '<buddies><b i="2" u="sip:700000002@fetion.com.cn" n="Bob" r="1"/>'
        '<b i="3" u="sip:700000003@fetion.com.cn" n="Carol" r="3"/></buddies>'
        "</contact-list></user-info></results>"
    )
    client = FakeClient(login_results=results)
    client.events.put_nowait(client.notify("PresenceV4", presence_body((2, BOB, "Bob", 600))))
    app, out = make_app(client)
    await app.start()
    assert client.calls == ["subscribe"]
    assert out == [
        "* logged in as Alice (700000001) — /help lists the commands",
        "Contacts:",
        "  Bob (700000002)    busy",
        "  Carol (700000003)  wants to add you",
        "* Carol (700000003) wants to add you — /accept 700000003",
    ]


@in_loop
async def test_run_quits_at_the_end_of_input() -> None:
    client = FakeClient()
    app, out = make_app(client)
    assert await app.run(lines_of(["/help"])) == 0
    assert client.calls == ["logout"]
    assert out[0].startswith("Commands")
    assert out[-1] == "* logged out"


@in_loop
async def test_run_ends_with_status_1_when_the_connection_is_lost() -> None:
    client = FakeClient()
    app, out = make_app(client)

    async def forever() -> AsyncIterator[str]:
        client.transport.closed.set()
        await asyncio.Event().wait()
        yield ""

    assert await asyncio.wait_for(app.run(forever()), 5) == 1
    assert out == ["! connection lost"]
    assert client.calls == []


@in_loop
async def test_pushed_out_by_another_login() -> None:
    client = FakeClient()
    app, out = make_app(client)
    client.events.put_nowait(
        client.notify("registration", '<events><event type="deregistered"/></events>')
    )

    async def forever() -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield ""

    assert await asyncio.wait_for(app.run(forever()), 5) == 1
    assert out == ["! logged in elsewhere: this session has ended"]


# -- end to end: a real server, two terminals ---------------------------------------------------

STEP = 10.0  # seconds any one expected line may take


class Lines:
    """A process's output lines, read by a thread so every wait can be bounded."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(
        self, pattern: str, within: float = STEP, *, log: Path | None = None
    ) -> re.Match[str]:
        """The first new line matching ``pattern``; fails after ``within`` seconds or at EOF.

        The failure shows the lines seen so far, and the end of ``log`` if given.
        """
        try:
            return self._expect(pattern, within)
        except pytest.fail.Exception:
            if log is not None and log.exists():
                print(f"--- {log}:\n" + log.read_text()[-4000:])
            raise

    def _expect(self, pattern: str, within: float) -> re.Match[str]:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"output ended before {pattern!r}:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        pytest.fail(f"no {pattern!r} within {within} s:\n" + "\n".join(self.seen))


def columba(*args: str) -> list[str]:
    """The command line that runs ``columba`` with ``args`` in this interpreter."""
    return [sys.executable, "-m", "columba", *args]


@dataclass
class Server:
    """A ``columba serve`` process and its SIP-C address."""

    config: Path
    data: Path
    process: subprocess.Popen[str]
    sipc: str

    @property
    def where(self) -> tuple[str, ...]:
        """The ``--config`` and ``--data-dir`` arguments for this server."""
        return ("--config", str(self.config), "--data-dir", str(self.data))

    def add_user(self, name: str, number: str, password: str) -> str:
        """``columba user add``; the new sid."""
        done = subprocess.run(
            columba(
                "user", "add", *self.where, "--name", name, "--number", number, "--password-stdin"
            ),
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=STEP,
            check=False,
        )
        match = re.search(r"created sid=(\d+)", done.stdout)
        assert match, done.stdout + done.stderr
        return match[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STEP)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STEP)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``columba serve`` on loopback with every listener on port 0."""
    config = tmp_path / "columba.toml"
    config.write_text(
        '[listen]\nsip_udp = "127.0.0.1:0"\nsip_tcp = "127.0.0.1:0"\n'
        'sipc_tcp = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\nsmsc = "off"\nmcp = "127.0.0.1:0"\n'
    )
    data = tmp_path / "data"
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        columba("serve", "--config", str(config), "--data-dir", str(data)),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    output = Lines(process.stdout)
    try:
        sipc = output.expect(r"listening sipc-tcp (\S+)", log=log_path)[1]
        output.expect(r"^columba ready$", log=log_path)
        srv = Server(config=config, data=data, process=process, sipc=sipc)
        yield srv
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STEP)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STEP)
        process.stdout.close()
        log.close()


class Chat:
    """One ``columba chat`` in its own (piped) terminal."""

    def __init__(self, server: Server, user: str, password: str) -> None:
        self.process = subprocess.Popen(
            columba("chat", "--server", server.sipc, "--user", user, "--password-stdin"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            cwd=server.data.parent,
        )
        assert self.process.stdout is not None
        self.output = Lines(self.process.stdout)
        self.type(password)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, pattern: str) -> re.Match[str]:
        return self.output.expect(pattern)

    def wait(self) -> int:
        try:
            return self.process.wait(STEP)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STEP)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.mark.timeout(60)
def test_alice_and_bob_talk_in_two_terminals(server: Server) -> None:
    alice_sid = server.add_user("Alice", "+8613800000001", "alice-secret-1")
    bob_sid = server.add_user("Bob", "+8613800000002", "bob-secret-22")
    alice = Chat(server, "+8613800000001", "alice-secret-1")
    bob = Chat(server, bob_sid, "bob-secret-22")
    try:
        alice.expect(rf"^\* logged in as Alice \({alice_sid}\)")
        alice.expect(r"^\* no contacts yet")
        bob.expect(rf"^\* logged in as Bob \({bob_sid}\)")

        alice.type(f"/add {bob_sid}")
        alice.expect(rf"^\* asked {bob_sid} to be your contact")
        bob.expect(rf"^\* Alice \({alice_sid}\) wants to add you — /accept {alice_sid}$")
        bob.type(f"/accept {alice_sid}")
        bob.expect(rf"^\* Alice \({alice_sid}\) is now your contact$")
        alice.expect(rf"^\* {bob_sid} accepted — you are now contacts$")
        alice.expect(r"^\* Bob is now online$")

        alice.type("/msg 799999999 anyone there?")
        alice.expect(r"^! message refused: 404 No such user$")
        alice.type(f"/to {bob_sid}")
        alice.type("hello")
        bob.expect(rf"^\[\d\d:\d\d\] Alice \({alice_sid}\): hello$")
        bob.expect(rf"^\* replies go to Alice \({alice_sid}\)")
        bob.type("hi Alice")
        alice.expect(rf"^\[\d\d:\d\d\] Bob \({bob_sid}\): hi Alice$")

        bob.type("/quit")
        bob.expect(r"^\* logged out$")
        assert bob.wait() == 0
        alice.expect(r"^\* Bob is now offline$")
        alice.type("/quit")
        assert alice.wait() == 0
    finally:
        alice.close()
        bob.close()


@pytest.mark.timeout(60)
def test_a_lost_server_ends_the_chat_with_status_1(server: Server) -> None:
    server.add_user("Carol", "+8613800000003", "carol-secret-3")
    carol = Chat(server, "+8613800000003", "carol-secret-3")
    try:
        carol.expect(r"^\* logged in as Carol")
        server.stop()
        carol.expect(r"^! connection lost$")
        assert carol.wait() == 1
    finally:
        carol.close()


def test_a_wrong_password_is_one_line(server: Server) -> None:
    server.add_user("Dave", "+8613800000004", "dave-secret-4")
    dave = Chat(server, "+8613800000004", "not-the-password")
    try:
        dave.expect(r"^! login refused: 401\b")
        assert dave.wait() == 1
        assert len(dave.output.seen) == 1
    finally:
        dave.close()
