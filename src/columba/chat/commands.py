"""What the user types, parsed: a slash command or a line of text for the current peer.

``parse_command`` is pure: it never talks to the server, so every spelling (and every usage
error) is unit-tested. A line starting with ``//`` sends the rest literally, so a message can
begin with a slash.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``/status`` names and the Fetion presence values they set (fetion-sipc.md §3.2).
STATUS_VALUES: dict[str, int] = {
    "online": 400,
    "away": 100,
    "busy": 600,
    "dnd": 800,
    "meeting": 850,
    "hidden": 0,
}


class CommandError(Exception):
    """A line that is not a valid command; the message says how to write it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    """Send ``text`` to the current peer."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class To:
    """Choose the current peer (``None``: show who it is)."""

    peer: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Msg:
    """Send ``text`` to ``peer`` without changing the current peer."""

    peer: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Add:
    """Ask ``peer`` to become a contact."""

    peer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """Accept or decline ``peer``'s contact request."""

    peer: str
    is_accepted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowContacts:
    """List the contacts with their presence."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStatus:
    """Set our own presence."""

    name: str
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Help:
    """Show the commands."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    """Log out and leave."""


Command = Say | To | Msg | Add | Answer | ShowContacts | SetStatus | Help | Quit

#: One line per command, for ``/help``.
HELP = (
    "/to <sid|number|name>      talk to someone: plain lines go to them",
    "/msg <sid|number> <text>   send one message to someone else",
    "/add <sid|number>          ask someone to be your contact",
    "/accept <sid>              accept a contact request",
    "/decline <sid>             decline a contact request",
    "/contacts                  list your contacts and their presence",
    "/status <state>            " + ", ".join(STATUS_VALUES),
    "/help                      this list",
    "/quit                      log out and leave",
    "//text                     send a line that starts with a slash",
)


def parse_command(line: str) -> Command | None:
    """The command a line of input asks for; ``None`` for a blank line.

    Raises:
        CommandError: an unknown command or a missing argument (the message shows the usage).
    """
    text = line.rstrip("\r\n")
    if not text.strip():
        return None
    if text.startswith("//"):
        return Say(text=text[1:])
    if not text.startswith("/"):
        return Say(text=text)
    name, _, rest = text[1:].partition(" ")
    rest = rest.strip()
    match name.lower():
        case "to":
            return To(peer=rest or None)
        case "msg" | "m":
            peer, _, message = rest.partition(" ")
            if not peer or not message.strip():
                raise CommandError("usage: /msg <sid|number> <text>")
            return Msg(peer=peer, text=message.strip())
        case "add":
            return Add(peer=_one_argument(rest, "/add <sid|number>"))
        case "accept":
            return Answer(peer=_one_argument(rest, "/accept <sid>"), is_accepted=True)
        case "decline":
            return Answer(peer=_one_argument(rest, "/decline <sid>"), is_accepted=False)
        case "contacts":
            return ShowContacts()
        case "status":
            value = STATUS_VALUES.get(rest.lower())
            if value is None:
                raise CommandError("usage: /status " + "|".join(STATUS_VALUES))
            return SetStatus(name=rest.lower(), value=value)
        case "help" | "?":
            return Help()
        case "quit" | "exit":
            return Quit()
    raise CommandError(f"unknown command /{name} — /help lists them")


def _one_argument(rest: str, usage: str) -> str:
    if not rest or " " in rest:
        raise CommandError(f"usage: {usage}")
    return rest
