"""The Redis key layout of the location registry and the notices nodes send each other.

Sans-I/O: names, encodings and the rules for reading them; ``columba.cluster.redis_io`` does
the talking. Everything lives under one namespace (``[registry] namespace``), so several
deployments (or test runs) can share one Redis::

    <ns>:node:<node>        STRING  the node's epoch; TTL = the lease (the heartbeat)
    <ns>:node:<node>:users  SET     user ids this node wrote entries for (its cleanup list)
    <ns>:loc:<user id>      HASH    "<node>/<device>" → "<epoch>|<dialect>|<expires>|<presence>"
    <ns>:inbox:<node>       channel notices for one node (pub/sub)
    <ns>:all                channel notices for every node

An entry counts only while its node's key holds the same epoch (a random value drawn at each
start): a node that dies stops refreshing its key, and its entries vanish from every lookup
``lease`` seconds later, even before their own expiry; a node restarted under the same name
draws a new epoch, so its previous life's entries do not count either. ``expires`` is the
device's registration expiry (Unix time); the hash's TTL follows the longest entry.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Presence value of a user with no visible device (``columba.core.presence.State.OFFLINE``).
OFFLINE = -1
#: Largest "is composing" body carried between nodes (RFC 3994 documents are ~300 bytes).
MAX_COMPOSING_BYTES = 4096
#: Longest SIP-C notification body carried between nodes, in characters.
MAX_TELL_CHARS = 16384
#: Most user ids in one wake notice (keeps each pub/sub message small).
MAX_WAKE_USERS = 512
#: Longest text from a phone carried between nodes (255 UCS-2 SMS are 17,085 characters).
MAX_PHONE_TEXT_CHARS = 20000


class BadNotice(ValueError):
    """A pub/sub message or registry entry that is not in Columba's format."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Keys:
    """Key and channel names under one namespace."""

    namespace: str

    def node(self, node: str) -> str:
        """The node's heartbeat key (value: its epoch)."""
        return f"{self.namespace}:node:{node}"

    def node_users(self, node: str) -> str:
        """The set of user ids a node has written entries for."""
        return f"{self.namespace}:node:{node}:users"

    def location(self, user_id: int) -> str:
        """A user's hash of device entries."""
        return f"{self.namespace}:loc:{user_id}"

    def inbox(self, node: str) -> str:
        """The pub/sub channel of one node."""
        return f"{self.namespace}:inbox:{node}"

    def everyone(self) -> str:
        """The pub/sub channel every node listens to."""
        return f"{self.namespace}:all"


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """One device of a user, bound on one node."""

    node: str
    device_id: str
    epoch: str
    dialect: str
    expires: float
    presence: int

    @property
    def field(self) -> str:
        """The hash field: ``<node>/<device id>`` (node names never contain ``/``)."""
        return f"{self.node}/{self.device_id}"

    def value(self) -> str:
        """The hash value."""
        return f"{self.epoch}|{self.dialect}|{self.expires:.0f}|{self.presence}"


def parse_location(field: str | bytes, value: str | bytes) -> Location:
    """Read one hash entry (``BadNotice`` if it is not one of ours)."""
    if isinstance(field, bytes):
        field = field.decode("utf-8", "replace")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    node, slash, device_id = field.partition("/")
    parts = value.split("|")
    if not slash or not node or len(parts) != 4:
        raise BadNotice(f"not a location entry: {field!r} = {value!r}")
    epoch, dialect, expires, presence = parts
    try:
        return Location(
            node=node,
            device_id=device_id,
            epoch=epoch,
            dialect=dialect,
            expires=float(expires),
            presence=int(presence),
        )
    except ValueError:
        raise BadNotice(f"not a location entry: {field!r} = {value!r}") from None


def live_locations(
    entries: Mapping[str, str] | Mapping[bytes, bytes],
    epochs: Mapping[str, str | None],
    *,
    now: float,
) -> list[Location]:
    """The entries of one user's hash whose node is alive in the same epoch and unexpired.

    Args:
        entries: The hash, as ``HGETALL`` returns it.
        epochs: Node name → the value of its heartbeat key (None: the key is gone).
        now: Unix time.
    """
    found = []
    for field, value in entries.items():
        try:
            location = parse_location(field, value)
        except BadNotice:
            continue
        if location.expires > now and epochs.get(location.node) == location.epoch:
            found.append(location)
    return found


def dead_fields(
    entries: Mapping[str, str] | Mapping[bytes, bytes],
    epochs: Mapping[str, str | None],
    *,
    now: float,
) -> list[str]:
    """The fields of a hash that no longer count (to delete while we are there)."""
    live = {location.field for location in live_locations(entries, epochs, now=now)}
    names = (f.decode("utf-8", "replace") if isinstance(f, bytes) else f for f in entries)
    return [name for name in names if name not in live]


def nodes_in(entries: Iterable[str] | Iterable[bytes]) -> set[str]:
    """The node names the fields of a location hash mention."""
    nodes = set()
    for field in entries:
        text = field.decode("utf-8", "replace") if isinstance(field, bytes) else field
        node, slash, _ = text.partition("/")
        if slash and node:
            nodes.add(node)
    return nodes


def presence_by_node(locations: Iterable[Location]) -> dict[str, int]:
    """Each node's presence value for a user (every entry of a node carries the same one)."""
    values: dict[str, int] = {}
    for location in locations:
        values[location.node] = location.presence
    return values


# -- notices between nodes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Wake:
    """Messages were stored for these users: their devices' outboxes should read the store."""

    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChanged:
    """A user's presence on ``node`` (in its life ``epoch``) is now ``value``.

    ``OFFLINE``: no visible device of the user there.
    """

    user_id: int
    node: str
    epoch: str
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAdded:
    """A user logged in on a device for the first time (delivery caches learn of it)."""

    user_id: int
    device_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Composing:
    """An RFC 3994 "is composing" notice for the recipient's devices on the receiving node."""

    sender_id: int
    recipient_id: int
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Tell:
    """A SIP-C notification (``BN``, ``N: <package>``) for the recipient's SIP-C devices there.

    Contact requests and answers, told to the other side wherever it is logged in.
    """

    recipient_id: int
    package: str
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PushOut:
    """Multi-device policy "replace": the user logged in elsewhere at ``since`` (Unix time).

    The receiving node ends the user's logins that began before then.
    """

    user_id: int
    since: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneText:
    """A text from a phone with no account, for the recipient's devices on the receiving node
    (it is not stored, so it cannot cross as a wake). The node answers ``reply_to`` with a
    :class:`PhoneTextTaken` of the same ``token``."""

    recipient_id: int
    phone: str
    text: str
    message_id: str
    reply_to: str
    token: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneTextTaken:
    """Whether a device on the answering node acknowledged the :class:`PhoneText` ``token``."""

    token: str
    is_taken: bool


Notice = (
    Wake | PresenceChanged | DeviceAdded | Composing | Tell | PushOut | PhoneText | PhoneTextTaken
)


def encode_notice(notice: Notice) -> bytes:
    """One pub/sub message (compact JSON, one object)."""
    data: dict[str, object]
    if isinstance(notice, Wake):
        data = {"k": "wake", "u": list(notice.user_ids)}
    elif isinstance(notice, PresenceChanged):
        data = {
            "k": "presence",
            "u": notice.user_id,
            "n": notice.node,
            "e": notice.epoch,
            "v": notice.value,
        }
    elif isinstance(notice, DeviceAdded):
        data = {"k": "device", "u": notice.user_id, "d": notice.device_id}
    elif isinstance(notice, PushOut):
        data = {"k": "push-out", "u": notice.user_id, "t": notice.since}
    elif isinstance(notice, Tell):
        data = {"k": "tell", "u": notice.recipient_id, "p": notice.package, "b": notice.body}
    elif isinstance(notice, PhoneText):
        data = {
            "k": "phone-text",
            "u": notice.recipient_id,
            "f": notice.phone,
            "b": notice.text,
            "i": notice.message_id,
            "r": notice.reply_to,
            "t": notice.token,
        }
    elif isinstance(notice, PhoneTextTaken):
        data = {"k": "phone-taken", "t": notice.token, "v": notice.is_taken}
    else:
        data = {
            "k": "composing",
            "f": notice.sender_id,
            "u": notice.recipient_id,
            "b": base64.b64encode(notice.body[:MAX_COMPOSING_BYTES]).decode(),
        }
    return json.dumps(data, separators=(",", ":")).encode()


def decode_notice(data: bytes | str) -> Notice:
    """Read one pub/sub message; ``BadNotice`` for anything else."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadNotice("not JSON") from None
    if not isinstance(obj, dict):
        raise BadNotice("not an object")
    kind = obj.get("k")
    try:
        if kind == "wake":
            users = obj["u"]
            if not isinstance(users, list) or len(users) > MAX_WAKE_USERS:
                raise BadNotice("wake needs a list of user ids")
            return Wake(user_ids=tuple(_int(u) for u in users))
        if kind == "presence":
            return PresenceChanged(
                user_id=_int(obj["u"]),
                node=_str(obj["n"]),
                epoch=_str(obj["e"]),
                value=_int(obj["v"]),
            )
        if kind == "device":
            return DeviceAdded(user_id=_int(obj["u"]), device_id=_str(obj["d"]))
        if kind == "push-out":
            since = obj["t"]
            if isinstance(since, bool) or not isinstance(since, int | float):
                raise BadNotice("push-out needs a time")
            return PushOut(user_id=_int(obj["u"]), since=float(since))
        if kind == "tell":
            body = obj["b"]
            if not isinstance(body, str) or len(body) > MAX_TELL_CHARS:
                raise BadNotice(f"tell needs a body of at most {MAX_TELL_CHARS} characters")
            return Tell(recipient_id=_int(obj["u"]), package=_str(obj["p"]), body=body)
        if kind == "phone-text":
            text = obj["b"]
            if not isinstance(text, str) or len(text) > MAX_PHONE_TEXT_CHARS:
                raise BadNotice(f"phone-text needs a text of at most {MAX_PHONE_TEXT_CHARS} chars")
            return PhoneText(
                recipient_id=_int(obj["u"]),
                phone=_str(obj["f"]),
                text=text,
                message_id=_str(obj["i"]),
                reply_to=_str(obj["r"]),
                token=_str(obj["t"]),
            )
        if kind == "phone-taken":
            taken = obj["v"]
            if not isinstance(taken, bool):
                raise BadNotice("phone-taken needs a boolean")
            return PhoneTextTaken(token=_str(obj["t"]), is_taken=taken)
        if kind == "composing":
            body = base64.b64decode(_str(obj["b"]), validate=True)
            if len(body) > MAX_COMPOSING_BYTES:
                raise BadNotice("composing body too long")
            return Composing(sender_id=_int(obj["f"]), recipient_id=_int(obj["u"]), body=body)
    except KeyError as exc:
        raise BadNotice(f"{kind} notice without {exc.args[0]!r}") from None
    except binascii.Error:
        raise BadNotice("composing body is not base64") from None
    raise BadNotice(f"unknown notice kind {kind!r}")


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadNotice(f"expected an integer, not {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise BadNotice(f"expected a short string, not {value!r}")
    return value
