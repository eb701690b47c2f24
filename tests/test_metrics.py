"""Tests for ``columba.metrics``: separate registries, bounded labels, the exposition."""

from __future__ import annotations

import prometheus_client
import pytest

from columba import __version__
from columba.metrics import (
    DIALECTS,
    METHODS,
    OTHER,
    SIPC_METHODS,
    TRANSPORTS,
    Metrics,
    method_label,
    status_label,
)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def series(metrics: Metrics, name: str) -> list[dict[str, str]]:
    """The label sets of every sample called ``name``."""
    return [
        sample.labels
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


def test_each_instance_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.login_failed()
    assert value(first, "columba_login_failures_total") == 1
    assert value(second, "columba_login_failures_total") == 0
    assert prometheus_client.REGISTRY.get_sample_value("columba_login_failures_total") is None


def test_build_info() -> None:
    assert value(Metrics(), "columba_build_info", version=__version__) == 1


def test_connections_by_transport() -> None:
    metrics = Metrics()
    metrics.connection_opened("tcp")
    metrics.connection_opened("tcp")
    metrics.connection_opened("ws")
    metrics.connection_closed("tcp")
    assert value(metrics, "columba_connections", transport="tcp") == 1
    assert value(metrics, "columba_connections", transport="ws") == 1
    assert value(metrics, "columba_connections", transport="udp") == 0


def test_registrations() -> None:
    metrics = Metrics()
    metrics.set_registrations(12)
    assert value(metrics, "columba_registrations") == 12


def test_messages_received_and_delivered() -> None:
    metrics = Metrics()
    metrics.message_received("sipc")
    metrics.message_received("sms")
    metrics.message_received("carrier-pigeon")
    metrics.message_delivered(0.02)
    metrics.message_delivered(4.0)
    metrics.message_delivered(-0.5)  # another node's clock ran ahead
    assert value(metrics, "columba_messages_received_total", dialect="sipc") == 1
    assert value(metrics, "columba_messages_received_total", dialect="sms") == 1
    assert value(metrics, "columba_messages_received_total", dialect=OTHER) == 1
    assert value(metrics, "columba_messages_delivered_total") == 3
    assert value(metrics, "columba_message_delivery_seconds_count") == 3
    assert value(metrics, "columba_message_delivery_seconds_sum") == pytest.approx(4.02)
    assert value(metrics, "columba_message_delivery_seconds_bucket", le="0.005") == 1
    assert value(metrics, "columba_message_delivery_seconds_bucket", le="0.025") == 2
    assert value(metrics, "columba_message_delivery_seconds_bucket", le="5.0") == 3


def test_requests_by_method_and_status() -> None:
    metrics = Metrics()
    metrics.request_answered("REGISTER", 401)
    metrics.request_answered("R", 200)  # SIP-C's REGISTER
    metrics.request_answered("MESSAGE", 200)
    metrics.request_answered("M", 200)
    metrics.request_answered("XYZZY", 501)
    metrics.request_answered("message", 501)  # methods are case-sensitive (RFC 3261 §7.1)
    assert value(metrics, "columba_requests_total", method="REGISTER", status="401") == 1
    assert value(metrics, "columba_requests_total", method="REGISTER", status="200") == 1
    assert value(metrics, "columba_requests_total", method="MESSAGE", status="200") == 2
    assert value(metrics, "columba_requests_total", method=OTHER, status="501") == 2


def test_parse_errors_and_sms() -> None:
    metrics = Metrics()
    metrics.parse_error("udp")
    metrics.parse_error("gopher")
    metrics.sms_submitted()
    assert value(metrics, "columba_parse_errors_total", transport="udp") == 1
    assert value(metrics, "columba_parse_errors_total", transport=OTHER) == 1
    assert value(metrics, "columba_sms_sent_total") == 1


def test_known_series_start_at_zero() -> None:
    metrics = Metrics()
    expected = [*TRANSPORTS, OTHER]
    assert [labels["transport"] for labels in series(metrics, "columba_connections")] == expected
    received = series(metrics, "columba_messages_received_total")
    assert [labels["dialect"] for labels in received] == [*DIALECTS, OTHER]


def test_label_cardinality_is_bounded() -> None:
    metrics = Metrics()
    for number in range(500):
        metrics.request_answered(f"M{number}", number)
        metrics.connection_opened(f"t{number}")
        metrics.parse_error(f"t{number}")
        metrics.message_received(f"d{number}")
    assert len(series(metrics, "columba_requests_total")) <= 1 + (699 - 100 + 1)
    assert len(series(metrics, "columba_connections")) == len(TRANSPORTS) + 1
    assert len(series(metrics, "columba_parse_errors_total")) == len(TRANSPORTS) + 1
    assert len(series(metrics, "columba_messages_received_total")) == len(DIALECTS) + 1


@pytest.mark.parametrize(
    ("method", "label"),
    [
        ("INVITE", "INVITE"),
        ("SUB", "SUBSCRIBE"),
        ("BN", "BENOTIFY"),
        ("S", "SERVICE"),
        ("NEG", "NEGOTIATE"),
        ("", OTHER),
        ("invite", OTHER),
        ("X" * 1000, OTHER),
    ],
)
def test_method_label(method: str, label: str) -> None:
    assert method_label(method) == label


@pytest.mark.parametrize(
    ("status", "label"), [(100, "100"), (200, "200"), (699, "699"), (99, OTHER), (700, OTHER)]
)
def test_status_label(status: int, label: str) -> None:
    assert status_label(status) == label


def test_methods_cover_the_protocol_tables() -> None:
    """The labels know every method the protocol layer knows, in both spellings."""
    from columba.protocol.sip.semantic import KNOWN_METHODS
    from columba.protocol.sipc.dialect import SIPC_TO_SIP_METHOD

    assert KNOWN_METHODS <= METHODS
    assert SIPC_METHODS == SIPC_TO_SIP_METHOD
    assert set(SIPC_METHODS.values()) <= METHODS


def test_render_prometheus_text() -> None:
    metrics = Metrics()
    metrics.request_answered("MESSAGE", 200)
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert "# TYPE columba_requests_total counter" in text
    assert 'columba_requests_total{method="MESSAGE",status="200"} 1.0' in text
    for name in (
        "columba_connections",
        "columba_registrations",
        "columba_messages_received_total",
        "columba_messages_delivered_total",
        "columba_message_delivery_seconds_bucket",
        "columba_login_failures_total",
        "columba_parse_errors_total",
        "columba_sms_sent_total",
    ):
        assert f"\n{name}" in text, name


def test_render_openmetrics_when_asked() -> None:
    body, content_type = Metrics().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
