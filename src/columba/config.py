"""The typed configuration of ``columba serve``: one TOML file plus ``COLUMBA_`` overrides.

Every setting lives in a table of the file (``[listen] sip_tcp = "0.0.0.0:5060"``) and can be
overridden by an environment variable named after both, ``COLUMBA_<TABLE>_<KEY>`` in upper
case (``COLUMBA_LISTEN_SIP_TCP=0.0.0.0:5060``). Precedence, highest first: the ``--data-dir``
argument (for ``data_dir`` only), the environment, the file, the defaults. The defaults alone
make a working single-process server: every listener on loopback, SQLite in the data
directory, the in-process location registry and the built-in SMSC simulator.
``columba.example.toml`` at the repository root documents every key.

Values are cast strictly: a TOML value must already have the setting's type (an integer is not
a string, ``30.0`` is not an integer; an integer may stand for a float), while environment
values are parsed from text (booleans as ``true``/``false``/``1``/``0``/``yes``/``no``).
Numbers have bounds, choices are named by value, and a listener is ``host:port``,
``[ipv6]:port`` (port ``0``: any free port) or ``off``. Unknown tables and keys in the file are
errors, and so are unknown keys of a known table in the environment (``COLUMBA_STORAGE_ULR``);
variables whose second word names no table (``COLUMBA_TEST_POSTGRES_URL``) belong to someone
else and are ignored. :func:`load_config` reports every problem at once in one
:class:`ConfigError`.

Example::

    config = load_config(Path("/etc/columba/columba.toml"), data_dir=args.data_dir)
    print(config.describe())
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import os
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from columba import affinity

ENV_PREFIX = "COLUMBA_"

#: A DNS host name (RFC 1123 §2.1): dot-separated labels of letters, digits and inner hyphens.
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
#: Node names become parts of registry keys and log fields: keep them to a safe alphabet.
_NODE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_MASK = "***"


class ConfigError(Exception):
    """The configuration could not be read or is invalid.

    Attributes:
        errors: One line per problem, each naming where it is (``columba.toml: [listen]
            sip_tcp: …`` or ``COLUMBA_LISTEN_SIP_TCP: …``).
    """

    def __init__(self, errors: list[str] | tuple[str, ...]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        heading = "1 configuration error" if count == 1 else f"{count} configuration errors"
        super().__init__(heading + ":\n" + "\n".join(f"  {line}" for line in self.errors))


class _Invalid(ValueError):
    """A value failed its cast; the message says why without saying where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A listening address: an IP literal or host name, and a port (0: any free port).

    ``str()`` gives the form the configuration takes: ``127.0.0.1:5060``, ``[::1]:5060``.
    """

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``host:port`` or ``[ipv6]:port``.

        Raises:
            ValueError: The text is not such an address.
        """
        if text.startswith("["):
            host, bracket, rest = text[1:].partition("]")
            if not bracket or not rest.startswith(":"):
                raise _Invalid(f"expected [ipv6]:port, not {text!r}")
            port_text = rest[1:]
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise _Invalid(f"{host!r} is not an IPv6 address") from None
        else:
            host, colon, port_text = text.rpartition(":")
            if not colon or not host:
                raise _Invalid(f"expected host:port or off, not {text!r}")
            if ":" in host:
                raise _Invalid(f"write an IPv6 address in brackets, as [::1]:5060, not {text!r}")
            _check_host(host)
        if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
            raise _Invalid(f"the port must be a number from 0 to 65535, not {port_text!r}")
        return cls(host=host, port=int(port_text))

    @property
    def is_wildcard(self) -> bool:
        """The address listens on every interface (``0.0.0.0`` or ``::``)."""
        return self.host in ("0.0.0.0", "::")


def _check_host(host: str) -> None:
    labels = host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _Invalid(f"{host!r} is not an IPv4 address") from None
    elif _HOSTNAME_RE.match(host) is None:
        raise _Invalid(f"{host!r} is not a host name or IP address")


# -- casts: one per kind of setting; ``parse`` takes a TOML value or, with ``text``, a string --


class _Cast:
    """How one kind of setting is read from TOML or the environment and shown again."""

    def parse(self, value: object, *, text: bool) -> object:
        raise NotImplementedError

    def show(self, value: object) -> str:
        """The value as TOML, as :meth:`Config.describe` prints it."""
        return json.dumps(value, ensure_ascii=False)


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    return names.get(type(value), f"a {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class _Boolean(_Cast):
    def parse(self, value: object, *, text: bool) -> object:
        if text and isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise _Invalid(f"expected true/false/1/0/yes/no, not {value!r}")
        if not isinstance(value, bool):
            raise _Invalid(f"expected a boolean (true or false), not {_type_name(value)}")
        return value

    def show(self, value: object) -> str:
        return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class _Number(_Cast):
    low: float
    high: float
    is_integer: bool

    def parse(self, value: object, *, text: bool) -> object:
        kind = "an integer" if self.is_integer else "a number"
        if text and isinstance(value, str):
            try:
                value = int(value) if self.is_integer else float(value)
            except ValueError:
                raise _Invalid(f"expected {kind}, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected {kind}, not {_type_name(value)}")
        if self.is_integer and not isinstance(value, int):
            raise _Invalid(f"expected an integer, not {value!r}")
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise _Invalid(f"must be between {_plain(self.low)} and {_plain(self.high)}")
        return value if self.is_integer else float(value)


def _plain(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _integer(low: int, high: int) -> _Number:
    return _Number(low, high, is_integer=True)


def _real(low: float, high: float) -> _Number:
    return _Number(low, high, is_integer=False)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, not {_type_name(value)}")
    return value


@dataclass(frozen=True, slots=True)
class _Text(_Cast):
    """A string checked by ``check`` (which raises :class:`_Invalid`), if given."""

    check: Callable[[str], None] | None = None

    def parse(self, value: object, *, text: bool) -> object:
        result = _string(value)
        if self.check is not None:
            self.check(result)
        return result


@dataclass(frozen=True, slots=True)
class _Choice(_Cast):
    enum: type[StrEnum]

    def parse(self, value: object, *, text: bool) -> object:
        word = _string(value).strip().lower()
        try:
            return self.enum(word)
        except ValueError:
            choices = ", ".join(repr(member.value) for member in self.enum)
            raise _Invalid(f"expected one of {choices}, not {value!r}") from None


@dataclass(frozen=True, slots=True)
class _Listener(_Cast):
    def parse(self, value: object, *, text: bool) -> object:
        word = _string(value).strip()
        return None if word == "off" else Address.parse(word)

    def show(self, value: object) -> str:
        return json.dumps("off" if value is None else str(value))


@dataclass(frozen=True, slots=True)
class _Path(_Cast):
    """A file system path; with ``optional``, the empty string means "not set" (``None``)."""

    optional: bool = False

    def parse(self, value: object, *, text: bool) -> object:
        word = _string(value)
        if not word:
            if self.optional:
                return None
            raise _Invalid("must not be empty")
        return Path(word)

    def show(self, value: object) -> str:
        return json.dumps("" if value is None else str(value))


@dataclass(frozen=True, slots=True)
class _Url(_Cast):
    """A URL with one of ``schemes``; shown with any password masked."""

    schemes: tuple[str, ...]

    def parse(self, value: object, *, text: bool) -> object:
        url = _string(value).strip()
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme not in self.schemes:
            known = ", ".join(f"{name}://…" for name in self.schemes)
            raise _Invalid(f"expected a URL of the form {known}, not {_masked_url(url)!r}")
        return url

    def show(self, value: object) -> str:
        return json.dumps(_masked_url(str(value)))


def _masked_url(url: str) -> str:
    """``url`` with the password of its user information replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{_MASK}@{hostport}"))


def _cast(cast: _Cast, *, secret: bool = False) -> dict[str, object]:
    """A setting's field metadata: how to read it, and whether to keep it out of output."""
    return {"cast": cast, "secret": secret}


def _check_domain(value: str) -> None:
    if _HOSTNAME_RE.match(value) is None:
        raise _Invalid(f"{value!r} is not a domain name")


def _check_realm(value: str) -> None:
    # The realm travels as a quoted-string (RFC 3261 §25.1, RFC 7616 §3.3): keep it printable
    # and free of quotes and backslashes so that no client has to unescape it.
    if not value or not value.isprintable() or '"' in value or "\\" in value:
        raise _Invalid(f"{value!r} must be printable text without quotes or backslashes")


def _check_cpu_list(value: str) -> None:
    try:
        affinity.parse_cpu_list(value)
    except affinity.CpuListError as exc:
        raise _Invalid(f"{value!r}: {exc}") from None


def _check_node_name(value: str) -> None:
    if _NODE_NAME_RE.match(value) is None:
        raise _Invalid(f"{value!r} must be letters, digits, '.', '_' or '-' (at most 63)")


_DIGEST_ALGORITHMS = ("MD5", "SHA-256")


def _check_digest_algorithms(value: str) -> None:
    names = [name.strip() for name in value.split(",")]
    unknown = [name for name in names if name not in _DIGEST_ALGORITHMS]
    if unknown or not value.strip() or len(set(names)) != len(names):
        raise _Invalid(
            f"expected a comma-separated list of distinct {', '.join(_DIGEST_ALGORITHMS)},"
            f" not {value!r}"
        )


def _check_access_code(value: str) -> None:
    if not (value.isascii() and value.isdigit() and 1 <= len(value) <= 10):
        raise _Invalid(f"expected 1 to 10 digits, not {value!r}")


def _check_smscs(value: str) -> None:
    from columba.sms.routing import RouteError, parse_routes

    try:
        parse_routes(value)
    except RouteError as exc:
        raise _Invalid(str(exc)) from None


# -- the tables ----------------------------------------------------------------------------


class Registration(StrEnum):
    """Who may create an account (``[accounts] registration``)."""

    CLOSED = "closed"  #: only an administrator creates accounts
    INVITE = "invite"  #: anyone holding an invite code
    OPEN = "open"  #: anyone


class MultiDevice(StrEnum):
    """What a second login of the same user does (``[login] multi_device``)."""

    MULTIPLE = "multiple"  #: both devices stay logged in and receive messages
    REPLACE = "replace"  #: the new login ends the old one, as Fetion's clients expect


class LogLevel(StrEnum):
    """The least severe log record written (``[log] level``)."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    """How log records are written (``[log] format``)."""

    TEXT = "text"  #: one human-readable line with ``key=value`` fields
    JSON = "json"  #: one JSON object per line


DEFAULT_DATA_DIR = Path("data")
_LOOPBACK = "127.0.0.1"
_LISTENER = _cast(_Listener())
_OPTIONAL_PATH = _cast(_Path(optional=True))
_SECONDS = _cast(_integer(1, 86400))


def _default_storage_url(data_dir: Path) -> str:
    # Three slashes before a relative path, four before an absolute one (columba.storage.url).
    return f"sqlite:///{(data_dir / 'columba.db').as_posix()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """``[server]``: who this server is and where it keeps its files.

    Attributes:
        domain: The SIP domain: users are ``sip:<sid>@<domain>``.
        realm: The Digest realm (RFC 3261 §22.1); :func:`load_config` makes it the domain
            unless set.
        node_name: This node's name among several sharing one registry (the host name).
        data_dir: Where the SQLite database and other files live (relative: to the working
            directory).
        gc_threshold: Allocations between the garbage collector's young-generation passes
            once the server is up (``gc.set_threshold``; 0 keeps Python's 700). Start-up
            objects are frozen out of collection (``gc.freeze``) either way.
        event_loop_cpus: CPUs for the event loop alone (``"0"``, ``"0,2"``, ``"2-3"``); the
            node's helpers (the SQLite worker process, hashing threads) then run on the
            others. ``""`` (the default) lets the kernel place everything
            (:mod:`columba.affinity`, decision 0023).
    """

    domain: str = field(default="columba.local", metadata=_cast(_Text(_check_domain)))
    realm: str = field(default="columba.local", metadata=_cast(_Text(_check_realm)))
    node_name: str = field(
        default_factory=socket.gethostname, metadata=_cast(_Text(_check_node_name))
    )
    data_dir: Path = field(default=DEFAULT_DATA_DIR, metadata=_cast(_Path()))
    gc_threshold: int = field(default=50_000, metadata=_cast(_integer(0, 10_000_000)))
    event_loop_cpus: str = field(default="", metadata=_cast(_Text(_check_cpu_list)))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenConfig:
    """``[listen]``: the sockets ``columba serve`` opens; ``None`` is a listener turned off.

    Attributes:
        sip_udp: SIP over UDP.
        sip_tcp: SIP over TCP.
        sip_tls: SIP over TLS (needs ``[tls]``).
        sipc_tcp: SIP-C over TCP, as Fetion's clients speak it.
        http: The admin API, ``/metrics``, SIP over WebSocket at ``/sip`` (RFC 7118).
        mcp: The access gateway for MCP, the binary encoding of mobile clients.
        smsc: The built-in SMSC simulator (SMPP 3.4).
    """

    #: Stream listeners, which may not share an address (``sip_udp`` may share sip_tcp's).
    STREAM: ClassVar[tuple[str, ...]] = ("sip_tcp", "sip_tls", "sipc_tcp", "http", "mcp", "smsc")

    sip_udp: Address | None = field(default=Address(host=_LOOPBACK, port=5060), metadata=_LISTENER)
    sip_tcp: Address | None = field(default=Address(host=_LOOPBACK, port=5060), metadata=_LISTENER)
    sip_tls: Address | None = field(default=None, metadata=_LISTENER)
    sipc_tcp: Address | None = field(default=Address(host=_LOOPBACK, port=8080), metadata=_LISTENER)
    http: Address | None = field(default=Address(host=_LOOPBACK, port=8088), metadata=_LISTENER)
    mcp: Address | None = field(default=Address(host=_LOOPBACK, port=8040), metadata=_LISTENER)
    smsc: Address | None = field(default=Address(host=_LOOPBACK, port=2775), metadata=_LISTENER)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    """``[tls]``: the certificate and key, required when ``[listen] sip_tls`` is on.

    Attributes:
        cert_file: PEM certificate chain, the server's certificate first.
        key_file: PEM private key of that certificate.
    """

    cert_file: Path | None = field(default=None, metadata=_OPTIONAL_PATH)
    key_file: Path | None = field(default=None, metadata=_OPTIONAL_PATH)


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageConfig:
    """``[storage]``: the database.

    Attributes:
        url: ``sqlite:///…`` or ``postgresql://…`` (see :mod:`columba.storage.url`);
            :func:`load_config` makes it ``columba.db`` in the data directory unless set.
            ``repr`` masks its password.
    """

    url: str = field(
        default=_default_storage_url(DEFAULT_DATA_DIR),
        metadata=_cast(_Url(("sqlite", "postgresql", "postgres"))),
    )

    def __repr__(self) -> str:
        return f"StorageConfig(url={_masked_url(self.url)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryConfig:
    """``[registry]``: the location registry (who is online where), in process or in Redis.

    With ``redis://`` the node joins a cluster under its ``[server] node_name`` (unique per
    node), and ``[storage]`` must be PostgreSQL, shared by every node.

    Attributes:
        url: ``memory://`` (one process) or ``redis://…``; ``repr`` masks its password.
        lease_seconds: Lifetime of a node's entries unless it refreshes them.
        namespace: Prefix of every Redis key and channel (deployments sharing one Redis).
    """

    url: str = field(default="memory://", metadata=_cast(_Url(("memory", "redis", "rediss"))))
    lease_seconds: int = field(default=30, metadata=_cast(_integer(5, 3600)))
    namespace: str = field(default="columba", metadata=_cast(_Text(_check_node_name)))

    def __repr__(self) -> str:
        url = _masked_url(self.url)
        return (
            f"RegistryConfig(url={url!r}, lease_seconds={self.lease_seconds!r}, "
            f"namespace={self.namespace!r})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountsConfig:
    """``[accounts]``: creating accounts.

    Attributes:
        registration: Who may create an account.
        password_min_length: Shortest password accepted for a new account.
        sid_digits: Digits of a new account's Columba id (Fetion's sids have 9).
    """

    registration: Registration = field(
        default=Registration.CLOSED, metadata=_cast(_Choice(Registration))
    )
    password_min_length: int = field(default=8, metadata=_cast(_integer(1, 128)))
    sid_digits: int = field(default=9, metadata=_cast(_integer(5, 15)))


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginConfig:
    """``[login]``: registrations, their lifetimes, and the defence against password guessing.

    Attributes:
        multi_device: What a second login of the same user does.
        register_expires: Registration lifetime granted when the client asks for none.
        min_expires: Shortest lifetime accepted; shorter requests get 423 (RFC 3261 §10.3).
        max_expires: Longest lifetime granted; longer requests are cut to it.
        failure_delay_base: Delay before answering the first failed login, in seconds;
            it doubles with each further failure.
        failure_delay_max: Cap of that delay, in seconds.
        failures_before_lockout: Failed logins in a row that lock the account.
        lockout_seconds: How long a lockout lasts.
        digest_algorithms: The Digest challenges a 401/407 offers, most preferred first.
    """

    multi_device: MultiDevice = field(
        default=MultiDevice.MULTIPLE, metadata=_cast(_Choice(MultiDevice))
    )
    register_expires: int = field(default=600, metadata=_SECONDS)
    min_expires: int = field(default=60, metadata=_SECONDS)
    max_expires: int = field(default=7200, metadata=_SECONDS)
    failure_delay_base: float = field(default=0.5, metadata=_cast(_real(0.0, 60.0)))
    failure_delay_max: float = field(default=30.0, metadata=_cast(_real(0.0, 3600.0)))
    failures_before_lockout: int = field(default=10, metadata=_cast(_integer(1, 1000)))
    lockout_seconds: int = field(default=300, metadata=_SECONDS)
    digest_algorithms: str = field(
        default="MD5,SHA-256", metadata=_cast(_Text(_check_digest_algorithms))
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitsConfig:
    """``[limits]``: what one peer may send, so that no peer can exhaust the server.

    Attributes:
        max_header_bytes: Longest header section of one message, in bytes.
        max_headers: Most header fields in one message.
        max_body_bytes: Longest body of one message, in bytes.
        max_message_chars: Longest text of one instant message, in characters.
        requests_per_second: Requests one connection may send per second.
        max_connections: Client connections open at once, over all listeners.
    """

    max_header_bytes: int = field(default=16384, metadata=_cast(_integer(1024, 1 << 20)))
    max_headers: int = field(default=128, metadata=_cast(_integer(8, 1024)))
    max_body_bytes: int = field(default=65536, metadata=_cast(_integer(0, 16 << 20)))
    max_message_chars: int = field(default=4000, metadata=_cast(_integer(1, 1_000_000)))
    requests_per_second: int = field(default=1000, metadata=_cast(_integer(1, 1_000_000)))
    max_connections: int = field(default=100000, metadata=_cast(_integer(1, 10_000_000)))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    """``[delivery]``: acknowledgements, the window of messages in flight, and retries.

    Attributes:
        ack_timeout: Seconds a device has to acknowledge a message before it is sent
            again (or the SMS leg is considered); 32 s is SIP's Timer F (RFC 3261 §17.1.2).
        window: Messages in flight, unacknowledged, per device.
        retry_base: First retry delay in seconds; it doubles with each retry.
        retry_max: Cap of the retry delay, in seconds.
    """

    ack_timeout: float = field(default=32.0, metadata=_cast(_real(0.1, 3600.0)))
    window: int = field(default=32, metadata=_cast(_integer(1, 1024)))
    retry_base: float = field(default=1.0, metadata=_cast(_real(0.01, 3600.0)))
    retry_max: float = field(default=300.0, metadata=_cast(_real(0.01, 86400.0)))


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminConfig:
    """``[admin]``: the admin HTTP API, off until a token is set.

    Attributes:
        token: The bearer token of the admin API (empty: the API is off); never shown.
    """

    #: Shortest accepted token: shorter ones are guessable by a patient attacker.
    MIN_TOKEN_LENGTH: ClassVar[int] = 16

    token: str = field(default="", repr=False, metadata=_cast(_Text(), secret=True))

    @property
    def is_enabled(self) -> bool:
        """The admin API is served (a token is set)."""
        return bool(self.token)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    """``[log]``: see :mod:`columba.log`.

    Attributes:
        level: The least severe record written.
        format: ``text`` lines or ``json`` objects.
    """

    level: LogLevel = field(default=LogLevel.INFO, metadata=_cast(_Choice(LogLevel)))
    format: LogFormat = field(default=LogFormat.TEXT, metadata=_cast(_Choice(LogFormat)))


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsConfig:
    """``[sms]``: the SMS leg of delivery.

    Attributes:
        enabled: Messages may go on as SMS to users who are not online.
        access_code: The number prefix that reaches a Columba user by SMS (``12520<number>``).
        smscs: The SMSCs to bind to, ``[<number prefix>=]host:port`` separated by commas; the
            longest matching prefix picks a number's home SMSC. Empty: the built-in simulator.
        system_id: The SMPP account at the SMSCs (the simulator's own account when none).
        password: Its password (never shown).
        window: submit_sm in flight per bind.
        reconnect_max: The longest wait between attempts to reach an SMSC, in seconds.
        max_segments: SMS an IM converted to SMS may take; the rest is cut with a marker.
        day_limit: SMS segments a user may have sent per day (0: no limit).
        month_limit: SMS segments a user may have sent per month (0: no limit).
        mo_dedupe_window: Seconds an MO text is remembered per SMSC: the same text from the
            same phone to the same address within it is taken for the SMSC delivering it again
            (and dropped); 0: never deduplicated.
        submitted_expiry: Seconds an SMS accepted by its SMSC waits for its final delivery
            receipt before it is failed as ``EXPIRED`` (we send no validity period, so the
            SMSC's default applies; 48 h covers the common ones).
    """

    enabled: bool = field(default=True, metadata=_cast(_Boolean()))
    access_code: str = field(default="12520", metadata=_cast(_Text(_check_access_code)))
    smscs: str = field(default="", metadata=_cast(_Text(_check_smscs)))
    system_id: str = field(default="columba", metadata=_cast(_Text()))
    password: str = field(default="", repr=False, metadata=_cast(_Text(), secret=True))
    window: int = field(default=100, metadata=_cast(_integer(1, 10000)))
    reconnect_max: float = field(default=60.0, metadata=_cast(_real(0.1, 3600.0)))
    max_segments: int = field(default=3, metadata=_cast(_integer(1, 255)))
    day_limit: int = field(default=600, metadata=_cast(_integer(0, 10**9)))
    month_limit: int = field(default=10000, metadata=_cast(_integer(0, 10**9)))
    mo_dedupe_window: float = field(default=600.0, metadata=_cast(_real(0.0, 7 * 86400.0)))
    submitted_expiry: float = field(default=48 * 3600.0, metadata=_cast(_real(1.0, 30 * 86400.0)))


def _check_issuer(value: str) -> None:
    if value and not value.startswith(("https://", "http://")):
        raise _Invalid(f"expected an http(s) URL or nothing, not {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SsiConfig:
    """``[ssi]``: single sign-in (sessions, third-party credentials, OpenID Connect).

    Attributes:
        issuer: ``iss`` of credentials and the OpenID Connect issuer, the public base URL of
            the HTTP listener (``https://im.example.com``); empty: ``http://<http listener>``.
        session_lifetime: Seconds an SSI session lasts after sign-in.
        credential_lifetime: Seconds a third-party credential is valid (at most 120).
        signins_per_minute: Sign-in attempts allowed per client address per minute.
        backchannel_timeout: Seconds to wait for an app's back-channel logout answer.
        id_token_lifetime: Seconds an OpenID Connect ID token is valid.
        access_token_lifetime: Seconds an OpenID Connect access token is valid.
        signing_key_days: Days an ID-token signing key signs before a new one replaces it.
    """

    issuer: str = field(default="", metadata=_cast(_Text(_check_issuer)))
    session_lifetime: int = field(default=43200, metadata=_cast(_integer(60, 30 * 86400)))
    credential_lifetime: int = field(default=120, metadata=_cast(_integer(5, 120)))
    signins_per_minute: int = field(default=30, metadata=_cast(_integer(1, 100000)))
    backchannel_timeout: float = field(default=5.0, metadata=_cast(_real(0.1, 60.0)))
    id_token_lifetime: int = field(default=300, metadata=_cast(_integer(30, 86400)))
    access_token_lifetime: int = field(default=3600, metadata=_cast(_integer(30, 86400)))
    signing_key_days: int = field(default=30, metadata=_cast(_integer(1, 3650)))


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupsTable:
    """``[groups]``: membership-based groups (``columba.servers.groups``).

    Attributes:
        enabled: Serve groups (the ``PG`` operations and messages to ``sip:PG…``).
        member_limit: Members a group may have at most (Fetion's was 150).
        max_groups_per_user: Groups a user may be in (any role) before creating more fails.
    """

    enabled: bool = field(default=True, metadata=_cast(_Boolean()))
    member_limit: int = field(default=150, metadata=_cast(_integer(2, 100_000)))
    max_groups_per_user: int = field(default=100, metadata=_cast(_integer(1, 100_000)))


@dataclass(frozen=True, slots=True, kw_only=True)
class RobotsTable:
    """``[robots]``: the robot server (``columba.robots``); needs ``[groups]``.

    Attributes:
        enabled: Serve robots.
        builtin: Register and run the shipped robots (faq, remind, welcome).
        allow_private_webhooks: Accept webhook URLs on private or loopback addresses.
        timeout: Seconds a webhook has to answer.
        retry_base: First retry delay in seconds (then about x6 per attempt).
        retry_max: Longest retry delay in seconds.
        give_up_after: Seconds after which an undelivered event is dropped.
        per_chat_per_minute: Messages a robot may post per chat per minute.
        per_second: Messages a robot may post per second overall.
    """

    enabled: bool = field(default=True, metadata=_cast(_Boolean()))
    builtin: bool = field(default=True, metadata=_cast(_Boolean()))
    allow_private_webhooks: bool = field(default=False, metadata=_cast(_Boolean()))
    timeout: float = field(default=3.0, metadata=_cast(_real(0.1, 60.0)))
    retry_base: float = field(default=10.0, metadata=_cast(_real(0.01, 86400.0)))
    retry_max: float = field(default=7200.0, metadata=_cast(_real(0.01, 86400.0)))
    give_up_after: float = field(default=86400.0, metadata=_cast(_real(1.0, 30 * 86400.0)))
    per_chat_per_minute: int = field(default=20, metadata=_cast(_integer(1, 100_000)))
    per_second: int = field(default=30, metadata=_cast(_integer(1, 100_000)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration: one attribute per TOML table.

    ``Config()`` is the default configuration; :func:`load_config` builds a validated one.
    """

    server: ServerConfig = field(default_factory=ServerConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    login: LoginConfig = field(default_factory=LoginConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    log: LogConfig = field(default_factory=LogConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    ssi: SsiConfig = field(default_factory=SsiConfig)
    groups: GroupsTable = field(default_factory=GroupsTable)
    robots: RobotsTable = field(default_factory=RobotsTable)

    def describe(self) -> str:
        """The effective configuration as TOML, secrets and URL passwords masked."""
        lines: list[str] = []
        for table, section in _sections(self):
            if lines:
                lines.append("")
            lines.append(f"[{table}]")
            for item in dataclasses.fields(section):
                value = getattr(section, item.name)
                if item.metadata["secret"] and value:
                    shown = json.dumps(_MASK)
                else:
                    shown = item.metadata["cast"].show(value)
                lines.append(f"{item.name} = {shown}")
        return "\n".join(lines) + "\n"


def _sections(config: Config) -> list[tuple[str, Any]]:
    return [(item.name, getattr(config, item.name)) for item in dataclasses.fields(config)]


#: Table name → the dataclass of that table, in the order of :class:`Config`.
TABLES: dict[str, type[Any]] = {
    "server": ServerConfig,
    "listen": ListenConfig,
    "tls": TlsConfig,
    "storage": StorageConfig,
    "registry": RegistryConfig,
    "accounts": AccountsConfig,
    "login": LoginConfig,
    "limits": LimitsConfig,
    "delivery": DeliveryConfig,
    "admin": AdminConfig,
    "log": LogConfig,
    "sms": SmsConfig,
    "ssi": SsiConfig,
    "groups": GroupsTable,
    "robots": RobotsTable,
}


# -- loading -------------------------------------------------------------------------------


def _unknown(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_file(path: Path, errors: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{path}: not valid TOML: {exc}")
    except UnicodeDecodeError as exc:
        errors.append(f"{path}: not valid UTF-8: {exc}")
    return {}


def _file_values(
    document: dict[str, Any], where: str, errors: list[str]
) -> dict[tuple[str, str], tuple[object, str, bool]]:
    """The file's settings as ``(table, key) → (value, where, is_text)``; problems to ``errors``."""
    values: dict[tuple[str, str], tuple[object, str, bool]] = {}
    for table, body in document.items():
        if table not in TABLES:
            hint = _unknown(table, list(TABLES))
            if not isinstance(body, dict):
                hint = hint or " (settings go in a table such as [server])"
                errors.append(f"{where}: unknown top-level key {table!r}{hint}")
            else:
                errors.append(f"{where}: unknown table [{table}]{hint}")
            continue
        if not isinstance(body, dict):
            errors.append(f"{where}: {table!r} must be a table, [{table}]")
            continue
        keys = [item.name for item in dataclasses.fields(TABLES[table])]
        for key, value in body.items():
            if key not in keys:
                errors.append(f"{where}: [{table}] unknown key {key!r}{_unknown(key, keys)}")
            else:
                values[table, key] = (value, f"{where}: [{table}] {key}", False)
    return values


def _env_values(
    env: Mapping[str, str], errors: list[str]
) -> dict[tuple[str, str], tuple[object, str, bool]]:
    values: dict[tuple[str, str], tuple[object, str, bool]] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        table, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if table not in TABLES:
            continue  # COLUMBA_TEST_…, COLUMBA_CORPUS …: not a setting
        keys = [item.name for item in dataclasses.fields(TABLES[table])]
        if key not in keys:
            errors.append(f"{name}: [{table}] has no key {key!r}{_unknown(key, keys)}")
        else:
            values[table, key] = (env[name], name, True)
    return values


def load_config(
    path: Path | None,
    *,
    env: Mapping[str, str] = os.environ,
    data_dir: Path | None = None,
) -> Config:
    """Read, override, cast and validate the configuration.

    Args:
        path: The TOML file, or ``None`` for the defaults.
        env: Environment variables; ``COLUMBA_<TABLE>_<KEY>`` ones override the file.
        data_dir: The ``--data-dir`` argument, which overrides ``[server] data_dir``.

    Returns:
        The configuration, with the derived defaults filled in: the realm is the domain and
        the storage URL is ``sqlite:///<data_dir>/columba.db`` unless set.

    Raises:
        ConfigError: Listing every problem found (the file unreadable or not TOML, unknown
            tables or keys, values of the wrong type or out of bounds, inconsistent settings).
    """
    errors: list[str] = []
    values: dict[tuple[str, str], tuple[object, str, bool]] = {}
    if path is not None:
        document = _read_file(path, errors)
        values.update(_file_values(document, str(path), errors))
    values.update(_env_values(env, errors))

    places: dict[tuple[str, str], str] = {}
    sections: dict[str, Any] = {}
    for table, cls in TABLES.items():
        changes: dict[str, object] = {}
        for item in dataclasses.fields(cls):
            if (table, item.name) not in values:
                continue
            value, where, is_text = values[table, item.name]
            places[table, item.name] = where
            try:
                changes[item.name] = item.metadata["cast"].parse(value, text=is_text)
            except _Invalid as exc:
                errors.append(f"{where}: {exc}")
        sections[table] = cls(**changes)

    server: ServerConfig = sections["server"]
    if data_dir is not None:
        server = dataclasses.replace(server, data_dir=data_dir)
    if ("server", "realm") not in places:
        server = dataclasses.replace(server, realm=server.domain)
    sections["server"] = server
    if ("storage", "url") not in places:
        sections["storage"] = StorageConfig(url=_default_storage_url(server.data_dir))

    config = Config(**sections)
    errors.extend(_check(config, places, str(path) if path is not None else "defaults"))
    if errors:
        raise ConfigError(errors)
    return config


def _check(config: Config, places: Mapping[tuple[str, str], str], source: str) -> list[str]:
    """Rules between settings, each problem reported where one of its settings was set."""
    problems: list[str] = []

    def where(table: str, *keys: str) -> str:
        """Where the first of ``keys`` that was set came from (else the first, as a default)."""
        for key in keys:
            if (table, key) in places:
                return places[table, key]
        return f"{source}: [{table}] {keys[0]}"

    tls, listen = config.tls, config.listen
    if listen.sip_tls is not None:
        for key in ("cert_file", "key_file"):
            path: Path | None = getattr(tls, key)
            if path is None:
                problems.append(f"{where('tls', key)}: required when [listen] sip_tls is on")
            elif not path.is_file():
                problems.append(f"{where('tls', key)}: no such file: {path}")

    login, delivery = config.login, config.delivery
    if not login.min_expires <= login.register_expires <= login.max_expires:
        problems.append(
            f"{where('login', 'register_expires', 'min_expires', 'max_expires')}: "
            f"register_expires ({login.register_expires}) must be between "
            f"min_expires ({login.min_expires}) and max_expires ({login.max_expires})"
        )
    if login.failure_delay_base > login.failure_delay_max:
        problems.append(
            f"{where('login', 'failure_delay_base', 'failure_delay_max')}: "
            f"failure_delay_base ({_plain(login.failure_delay_base)}) must not exceed "
            f"failure_delay_max ({_plain(login.failure_delay_max)})"
        )
    if delivery.retry_base > delivery.retry_max:
        problems.append(
            f"{where('delivery', 'retry_base', 'retry_max')}: "
            f"retry_base ({_plain(delivery.retry_base)}) must not exceed "
            f"retry_max ({_plain(delivery.retry_max)})"
        )

    token = config.admin.token
    if token and len(token) < AdminConfig.MIN_TOKEN_LENGTH:
        # The token itself is never repeated in a message.
        problems.append(
            f"{where('admin', 'token')}: must be at least "
            f"{AdminConfig.MIN_TOKEN_LENGTH} characters long"
        )

    seen: list[tuple[Address, str]] = []
    for key in ListenConfig.STREAM:
        address: Address | None = getattr(listen, key)
        if address is None or address.port == 0:  # port 0: the system picks distinct ports
            continue
        for other, other_key in seen:
            if other.port == address.port and _overlaps(other, address):
                problems.append(
                    f"{where('listen', key)}: {address} is also the address of [listen] {other_key}"
                )
        seen.append((address, key))
    return problems


def _overlaps(one: Address, other: Address) -> bool:
    """Two stream sockets on these hosts (and one port) could not both be bound.

    A wildcard takes the port on every address of its family only: asyncio sets IPV6_V6ONLY
    on IPv6 listening sockets, so ``[::]`` and ``0.0.0.0`` coexist.
    """
    if one.host == other.host:
        return True
    if one.is_wildcard or other.is_wildcard:
        return (":" in one.host) == (":" in other.host)
    return False
