"""Prometheus metrics of a Columba node, served at ``/metrics`` on the HTTP listener.

One :class:`Metrics` object per server owns its own :class:`~prometheus_client.CollectorRegistry`
(never the library's global one), so tests and several servers in one process do not collide.
Servers update it through its methods, which fold label values outside a known set into
``other``: a peer that invents methods or transports cannot grow the number of series.

============================================  =========  =====================================
metric                                        type       labels
============================================  =========  =====================================
``columba_build_info``                        gauge      ``version`` (always 1)
``columba_connections``                       gauge      ``transport``
``columba_registrations``                     gauge
``columba_messages_received_total``           counter    ``dialect``
``columba_messages_delivered_total``          counter
``columba_message_delivery_seconds``          histogram  (store → device acknowledgement)
``columba_requests_total``                    counter    ``method``, ``status``
``columba_login_failures_total``              counter
``columba_parse_errors_total``                counter    ``transport``
``columba_sms_sent_total``                    counter
============================================  =========  =====================================
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from columba import __version__

#: Connection kinds: SIP over UDP/TCP/TLS/WebSocket, SIP-C over TCP, MCP, SMPP binds.
TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss", "sipc", "mcp", "smpp")
#: Where a message entered: a SIP or SIP-C client, a mobile (MCP) client, an SMS from a
#: phone, or the HTTP API (web client, robots).
DIALECTS = ("sip", "sipc", "mcp", "sms", "http")
#: SIP methods (the IANA registry) and SIP-C's own, by their SIP spelling.
METHODS = frozenset(
    {
        "ACK",
        "BYE",
        "CANCEL",
        "INFO",
        "INVITE",
        "MESSAGE",
        "NOTIFY",
        "OPTIONS",
        "PRACK",
        "PUBLISH",
        "REFER",
        "REGISTER",
        "SUBSCRIBE",
        "UPDATE",
        "SERVICE",
        "BENOTIFY",
        "NEGOTIATE",
    }
)
#: SIP-C method abbreviations (fetion-sipc.md §1.3) counted under their SIP spelling, so that
#: ``M`` and ``MESSAGE`` are one series.
SIPC_METHODS = {
    "R": "REGISTER",
    "S": "SERVICE",
    "SUB": "SUBSCRIBE",
    "BN": "BENOTIFY",
    "N": "NOTIFY",
    "M": "MESSAGE",
    "I": "INVITE",
    "A": "ACK",
    "O": "OPTIONS",
    "IN": "INFO",
    "B": "BYE",
    "C": "CANCEL",
    "NEG": "NEGOTIATE",
}
OTHER = "other"
#: Store → acknowledgement latency buckets, in seconds: from a device on a fast link (a few
#: milliseconds) to one that acknowledges after retries (minutes).
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def transport_label(transport: str) -> str:
    """``transport`` if it is one of :data:`TRANSPORTS`, else ``other``."""
    return transport if transport in TRANSPORTS else OTHER


def dialect_label(dialect: str) -> str:
    """``dialect`` if it is one of :data:`DIALECTS`, else ``other``."""
    return dialect if dialect in DIALECTS else OTHER


def method_label(method: str) -> str:
    """The SIP spelling of a known SIP or SIP-C method, else ``other`` (case-sensitive)."""
    method = SIPC_METHODS.get(method, method)
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    """A response status code as text, or ``other`` outside 100–699 (RFC 3261 §7.2)."""
    return str(status) if 100 <= status <= 699 else OTHER


class Metrics:
    """The metrics of one server, in a registry of their own.

    The metric objects are attributes for reading (and for tests); update them through the
    methods, which bound the label values.

    Attributes:
        registry: The registry that :meth:`render` exposes.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.build_info = Gauge(
            "columba_build_info", "Columba version, as a label.", ["version"], registry=registry
        )
        self.connections = Gauge(
            "columba_connections",
            "Client and SMSC connections currently open.",
            ["transport"],
            registry=registry,
        )
        self.registrations = Gauge(
            "columba_registrations", "Devices currently registered.", registry=registry
        )
        self.messages_received = Counter(
            "columba_messages_received",
            "Messages accepted and stored, by the dialect they arrived in.",
            ["dialect"],
            registry=registry,
        )
        self.messages_delivered = Counter(
            "columba_messages_delivered",
            "Messages acknowledged by a recipient's device.",
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "columba_message_delivery_seconds",
            "Time from storing a message to a device acknowledging it.",
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "columba_requests",
            "Requests answered, by method and final response status.",
            ["method", "status"],
            registry=registry,
        )
        self.login_failures = Counter(
            "columba_login_failures", "Failed login attempts.", registry=registry
        )
        self.parse_errors = Counter(
            "columba_parse_errors",
            "Malformed messages received, by transport.",
            ["transport"],
            registry=registry,
        )
        self.sms_sent = Counter(
            "columba_sms_sent", "SMS messages submitted to an SMSC.", registry=registry
        )
        self.messages_fast_path = Counter(
            "columba_messages_fast_path",
            "Plain SIP-C messages handled from the node's caches without a task (a share of "
            "columba_messages_received).",
            registry=registry,
        )
        # The labelled children the hot path uses, by label values (``labels()`` costs
        # several microseconds a call).
        self._received: dict[str, Any] = {}
        self._answered: dict[tuple[str, int], Any] = {}

        self.build_info.labels(version=__version__).set(1)
        # Known series start at zero, so that rates and absences read correctly from the start.
        for transport in (*TRANSPORTS, OTHER):
            self.connections.labels(transport=transport)
            self.parse_errors.labels(transport=transport)
        for dialect in (*DIALECTS, OTHER):
            self.messages_received.labels(dialect=dialect)

    def connection_opened(self, transport: str) -> None:
        """Count a connection of ``transport`` (see :data:`TRANSPORTS`) as open."""
        self.connections.labels(transport=transport_label(transport)).inc()

    def connection_closed(self, transport: str) -> None:
        """Count a connection of ``transport`` as closed again."""
        self.connections.labels(transport=transport_label(transport)).dec()

    def set_registrations(self, count: int) -> None:
        """Set the number of devices currently registered."""
        self.registrations.set(count)

    def message_received(self, dialect: str) -> None:
        """Count a message stored after arriving in ``dialect`` (see :data:`DIALECTS`)."""
        child = self._received.get(dialect)
        if child is None:
            child = self._received[dialect] = self.messages_received.labels(
                dialect=dialect_label(dialect)
            )
        child.inc()

    def message_fast_path(self) -> None:
        """Count a message handled by the IM server's fast path."""
        self.messages_fast_path.inc()

    def message_delivered(self, seconds: float) -> None:
        """Count a message acknowledged by a device ``seconds`` after it was stored."""
        self.messages_delivered.inc()
        self.delivery_seconds.observe(max(seconds, 0.0))  # clocks of two nodes may disagree

    def request_answered(self, method: str, status: int) -> None:
        """Count a request of ``method`` (SIP or SIP-C spelling) answered with ``status``."""
        key = (method, status)
        child = self._answered.get(key)
        if child is None:
            if len(self._answered) > 4096:  # label values are bounded; the keys need not be
                self._answered.clear()
            child = self._answered[key] = self.requests.labels(
                method=method_label(method), status=status_label(status)
            )
        child.inc()

    def login_failed(self) -> None:
        """Count a failed login attempt."""
        self.login_failures.inc()

    def parse_error(self, transport: str) -> None:
        """Count a malformed message received over ``transport``."""
        self.parse_errors.labels(transport=transport_label(transport)).inc()

    def sms_submitted(self) -> None:
        """Count an SMS handed to an SMSC."""
        self.sms_sent.inc()

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The body and ``Content-Type`` of a ``/metrics`` response.

        Args:
            accept: The request's ``Accept`` header: OpenMetrics when it asks for
                ``application/openmetrics-text``, else the Prometheus text format.
        """
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
