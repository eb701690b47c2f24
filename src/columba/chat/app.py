"""The chat session: commands in, server events out, for one logged-in SIP-C client.

:class:`ChatApp` owns no terminal: it reads lines from any async iterator and writes lines
through a callable, so tests drive it with a list and a fake client. Its tasks (incoming
messages, notifications, keep-alive, connection watch, commands) live in one
``asyncio.TaskGroup`` and end together when the user quits, input ends, or the server goes.

Errors the user can do something about (a refused message, an unknown command) are one ``!``
line and the session goes on; a lost connection ends it with status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from columba.chat import render
from columba.chat.commands import (
    Add,
    Answer,
    Command,
    CommandError,
    Help,
    Msg,
    Quit,
    Say,
    SetStatus,
    ShowContacts,
    To,
    parse_command,
)
from columba.chat.roster import (
    OFFLINE,
    Contact,
    Relation,
    Roster,
    int_attr,
    relation_of,
    sid_of,
)
from columba.client.base import ClientError, IncomingMessage, PresenceUpdate, Transport
from columba.protocol.sip.message import Request, Response

#: How long to wait for the presence the server sends right after ``SUB PresenceV4``.
INITIAL_PRESENCE_WAIT = 1.0
#: How long a logout may take before we leave anyway.
LOGOUT_WAIT = 3.0


class ChatClient(Protocol):
    """What the chat needs of a logged-in client: :class:`columba.client.SipcClient`."""

    sid: str
    login_results: ET.Element | None
    transport: Transport
    messages: asyncio.Queue[IncomingMessage]
    presence: asyncio.Queue[PresenceUpdate]
    requests: asyncio.Queue[dict[str, str]]
    events: asyncio.Queue[Request]

    async def subscribe_presence(self) -> None: ...

    async def send_message(self, to: str, text: str, *, content_type: str = ...) -> str: ...

    async def add_contact(self, identity: str) -> Response: ...

    async def answer_contact(self, user_id: int | str, *, accept: bool = ...) -> Response: ...

    async def set_presence(self, value: int) -> Response: ...

    async def logout(self) -> None: ...


class ChatApp:
    """One chat session over a logged-in client.

    Args:
        client: the client, already logged in.
        write: prints one (possibly multi-line) text.
        clock: the time stamped on incoming messages.
        keep_alive: refreshes the login (SIP-C ``R`` with ``N: KeepAlive``); ``None``: never.
        keep_alive_every: seconds between refreshes (under the server's expiry).
    """

    def __init__(
        self,
        client: ChatClient,
        *,
        write: Callable[[str], None],
        clock: Callable[[], datetime] = datetime.now,
        keep_alive: Callable[[], Awaitable[object]] | None = None,
        keep_alive_every: float = 300.0,
    ) -> None:
        self.client = client
        self.roster = Roster.from_login(client.login_results)
        self.peer: str | None = None
        self._write = write
        self._clock = clock
        self._keep_alive = keep_alive
        self._keep_alive_every = keep_alive_every
        self._ended = asyncio.Event()
        self._failure = ""
        self._is_quitting = False

    # -- the session --------------------------------------------------------------------------

    async def start(self) -> None:
        """Watch presence, then show who we are, the contacts and the pending requests."""
        try:
            await self.client.subscribe_presence()
        except ClientError as exc:
            self._write(render.error(f"presence unavailable: {exc}"))
        else:
            if any(c.relation is Relation.ACCEPTED for c in self.roster):
                # The server answers the SUB with one BN PresenceV4 for every contact.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(INITIAL_PRESENCE_WAIT):
                        self.on_notification(await self.client.events.get(), is_quiet=True)
        self._write(render.note(f"logged in as {self._me()} — /help lists the commands"))
        for line in render.contact_list(self.roster):
            self._write(line)
        for contact in self.roster:
            if contact.relation is Relation.ASKING:
                self._write(render.contact_request(contact))

    async def run(self, lines: AsyncIterator[str]) -> int:
        """Handle ``lines`` and server events until quit, end of input or a lost connection.

        Returns:
            0 after a logout, 1 when the session was ended by the server or the network.
        """
        async with asyncio.TaskGroup() as tasks:
            background = [
                tasks.create_task(self._pump_messages()),
                tasks.create_task(self._pump_notifications()),
                tasks.create_task(self._refresh_login()),
                tasks.create_task(self._watch_connection()),
            ]
            commands = tasks.create_task(self._read_commands(lines))
            ended = tasks.create_task(self._ended.wait())
            await asyncio.wait((commands, ended), return_when=asyncio.FIRST_COMPLETED)
            for task in (*background, commands, ended):
                task.cancel()
        if self._failure:
            self._write(render.error(self._failure))
            return 1
        return 0

    def end(self, reason: str) -> None:
        """End the session with a failure (status 1) that ``run`` prints."""
        if not self._is_quitting and not self._failure:
            self._failure = reason
            self._ended.set()

    async def _read_commands(self, lines: AsyncIterator[str]) -> None:
        async for line in lines:
            if not await self.handle_line(line):
                return
        await self._quit()  # end of input: leave as /quit does

    async def _pump_messages(self) -> None:
        while True:
            self.on_message(await self.client.messages.get())

    async def _pump_notifications(self) -> None:
        while True:
            self.on_notification(await self.client.events.get())

    async def _refresh_login(self) -> None:
        if self._keep_alive is None:
            return
        while True:
            await asyncio.sleep(self._keep_alive_every)
            try:
                await self._keep_alive()
            except ClientError as exc:
                self._write(render.error(f"keep-alive failed: {exc}"))

    async def _watch_connection(self) -> None:
        await self.client.transport.closed.wait()
        self.end("connection lost")

    # -- commands -----------------------------------------------------------------------------

    async def handle_line(self, line: str) -> bool:
        """Parse and run one line of input; ``False`` once the user has quit."""
        try:
            command = parse_command(line)
        except CommandError as exc:
            self._write(render.error(str(exc)))
            return True
        if command is None:
            return True
        try:
            return await self.handle(command)
        except ClientError as exc:
            self._write(render.error(str(exc)))
            return True

    async def handle(self, command: Command) -> bool:
        """Run one command; ``False`` once the user has quit.

        Raises:
            ClientError: the server refused or did not answer.
        """
        match command:
            case Say(text=text):
                if self.peer is None:
                    self._write(render.error("nobody to talk to yet — /to <sid|number> first"))
                else:
                    await self.client.send_message(self.peer, text)
            case Msg(peer=peer, text=text):
                await self.client.send_message(self._resolve(peer), text)
            case To(peer=None):
                if self.peer is None:
                    self._write(render.note("nobody chosen — /to <sid|number|name>"))
                else:
                    self._write(render.note(f"talking to {self._label(self.peer)}"))
            case To(peer=str(peer)):
                self.peer = self._resolve(peer)
                self._write(render.note(f"talking to {self._label(self.peer)}"))
            case Add(peer=peer):
                await self._add(self._resolve(peer))
            case Answer(peer=peer, is_accepted=is_accepted):
                await self._answer(peer, is_accepted=is_accepted)
            case ShowContacts():
                for line in render.contact_list(self.roster):
                    self._write(line)
            case SetStatus(name=name, value=value):
                _check(await self.client.set_presence(value), "status refused")
                self._write(render.note(f"your status is now {name}"))
            case Help():
                for line in render.help_text():
                    self._write(line)
            case Quit():
                await self._quit()
                return False
        return True

    async def _add(self, target: str) -> None:
        if target == self.client.sid:
            self._write(render.error("that is you"))
            return
        response = _check(await self.client.add_contact(target), "add refused")
        buddy = _parse(response.body).find(".//buddy")
        sid = sid_of(buddy.get("uri", "")) if buddy is not None else ""
        user_id = int_attr(buddy.get("user-id")) if buddy is not None else 0
        relation = relation_of(buddy.get("relation-status")) if buddy is not None else None
        existing = self.roster.get(sid or target)
        was_contact = existing is not None and existing.relation is Relation.ACCEPTED
        contact = self.roster.learn(
            sid or target, user_id=user_id, relation=None if was_contact else Relation.ASKED
        )
        label = render.contact_label(contact)
        if relation is Relation.ACCEPTED:
            self._became_contact(contact)  # they had asked us: accepted at once
        elif was_contact:
            self._write(render.note(f"{label} is already your contact"))
        else:
            self._write(render.note(f"asked {label} to be your contact — waiting for an answer"))

    async def _answer(self, peer: str, *, is_accepted: bool) -> None:
        contact = self.roster.find(peer)
        if contact is None or contact.relation is not Relation.ASKING or not contact.user_id:
            self._write(render.error(f"no contact request from {peer}"))
            return
        verb = "accept" if is_accepted else "decline"
        response = await self.client.answer_contact(contact.user_id, accept=is_accepted)
        _check(response, f"{verb} refused")
        if is_accepted:
            self._became_contact(contact)
        else:
            self.roster.remove(contact.sid)
            self._write(render.note(f"declined {render.contact_label(contact)}"))

    async def _quit(self) -> None:
        self._is_quitting = True
        with contextlib.suppress(ClientError, TimeoutError, OSError):
            async with asyncio.timeout(LOGOUT_WAIT):
                await self.client.logout()
        self._write(render.note("logged out"))

    # -- events from the server ---------------------------------------------------------------

    def on_message(self, incoming: IncomingMessage) -> None:
        """Show a message; with nobody chosen yet, replies go to its sender."""
        label = self._label(incoming.sender)
        self._write(render.message(at=self._clock(), sender=label, text=incoming.text))
        if self.peer is None and incoming.sender:
            self.peer = incoming.sender
            self._write(render.note(f"replies go to {label} — /to changes it"))

    def on_notification(self, request: Request, *, is_quiet: bool = False) -> None:
        """A ``BN``: presence changes, contact requests and answers, a push-out.

        The client also parses presence and requests into queues of their own, but without
        the names, and several ``BN`` may be parsed before we get to the first: so the names
        and values are read here from the same ``<c>`` element, and those queues are emptied.
        """
        try:
            root = _parse(request.body)
        except ClientError:
            root = ET.Element("events")
        event = root.find("event")
        kind = event.get("type", "") if event is not None else ""
        match request.event, kind:
            case "PresenceV4", _:
                for entry in root.iter("c"):
                    self._presence_entry(entry, is_quiet=is_quiet)
            case "contact", "AddBuddyApplication":
                for application in root.iter("application"):
                    self.on_contact_request(
                        sid=sid_of(application.get("uri", "")),
                        user_id=int_attr(application.get("user-id")),
                        name=application.get("desc", ""),
                    )
            case "contact", "AddBuddy" | "UpdateBuddy":
                for buddy in root.iter("buddy"):
                    self._relation_changed(buddy)
            case "registration", "deregistered":
                self.end("logged in elsewhere: this session has ended")
        _empty(self.client.presence)
        _empty(self.client.requests)

    def on_presence(self, update: PresenceUpdate, *, is_quiet: bool = False) -> None:
        """``* Bob is now away`` (only when it changed)."""
        if not update.sid:
            return
        contact = self.roster.learn(update.sid)
        value = update.value if update.value > 0 else OFFLINE  # 0: offline or hidden
        if contact.presence == value:
            return
        contact.presence = value
        if not is_quiet:
            self._write(render.presence_change(contact))

    def on_contact_request(self, *, sid: str, user_id: int, name: str) -> None:
        """``* Alice (700000001) wants to add you — /accept 700000001``."""
        if not sid:
            return
        contact = self.roster.learn(sid, user_id=user_id, name=name, relation=Relation.ASKING)
        self._write(render.contact_request(contact))

    def _presence_entry(self, entry: ET.Element, *, is_quiet: bool) -> None:
        """One ``<c id><p sid n/><pr b/></c>`` of a ``BN PresenceV4`` [009, 010]."""
        user_id = int_attr(entry.get("id"))
        person = entry.find("p")
        state = entry.find("pr")
        if person is not None and person.get("sid"):
            sid = person.get("sid", "")
            self.roster.learn(sid, user_id=user_id, name=person.get("n"))
        else:  # a short update names the contact by user id only
            known = self.roster.by_user_id(user_id)
            sid = known.sid if known is not None else ""
        value = int_attr(state.get("b")) if state is not None else 0
        self.on_presence(PresenceUpdate(sid=sid, value=value), is_quiet=is_quiet)

    def _relation_changed(self, buddy: ET.Element) -> None:
        relation = relation_of(buddy.get("relation-status"))
        user_id = int_attr(buddy.get("user-id"))
        sid = sid_of(buddy.get("uri", ""))
        contact = (self.roster.get(sid) if sid else None) or self.roster.by_user_id(user_id)
        if contact is None:
            if not sid:
                return
            contact = self.roster.learn(sid, relation=Relation.ASKED)
        if user_id:
            contact.user_id = user_id
        if relation is Relation.ACCEPTED:
            self._became_contact(contact)
        elif relation is Relation.DECLINED and contact.relation is not Relation.DECLINED:
            contact.relation = Relation.DECLINED
            self._write(render.note(f"{render.contact_label(contact)} declined your request"))

    def _became_contact(self, contact: Contact) -> None:
        if contact.relation is Relation.ACCEPTED:
            return
        was_asking = contact.relation is Relation.ASKING
        contact.relation = Relation.ACCEPTED
        label = render.contact_label(contact)
        if was_asking:
            self._write(render.note(f"{label} is now your contact"))
        else:
            self._write(render.note(f"{label} accepted — you are now contacts"))

    # -- helpers ------------------------------------------------------------------------------

    def _resolve(self, text: str) -> str:
        """The sid a typed peer names, if it is a contact; else the text (a sid or number)."""
        contact = self.roster.find(text)
        return contact.sid if contact is not None else text

    def _label(self, sid: str) -> str:
        contact = self.roster.get(sid)
        return render.contact_label(contact) if contact is not None else render.who(sid)

    def _me(self) -> str:
        results = self.client.login_results
        personal = results.find("user-info/personal") if results is not None else None
        name = personal.get("nickname", "") if personal is not None else ""
        return render.who(self.client.sid, name)


def _empty(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


def _check(response: Response, what: str) -> Response:
    """The response if it is a 200; else ``ClientError("<what>: 404 Not Found")``."""
    if response.status != 200:
        raise ClientError(f"{what}: {response.status} {response.reason}", status=response.status)
    return response


def _parse(body: bytes) -> ET.Element:
    """An XML body (an empty ``<results/>`` for none); ``ClientError`` if it is not XML."""
    if not body.strip():
        return ET.Element("results")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ClientError(f"unreadable answer from the server: {exc}") from None
