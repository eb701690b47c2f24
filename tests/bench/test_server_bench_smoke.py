"""Smoke tests of the server benchmarks (bench/relay.py, bench/connections.py) with --quick.

Each script runs as a subprocess, as a developer runs it: it starts its own ``columba serve``
(SQLite in a temporary directory) and load-generator processes, so the two runs take about
15 s together. Their ``--json`` reports are checked for shape and plausibility, not for
speed, and fed back through the text reports.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def run_script(name: str, *argv: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(BENCH / name), "--quick", "--json", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"columba_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def relay() -> Iterator[ModuleType]:
    # The scripts import their sibling _server.py as a top-level module, the way they run.
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH))
        yield load("relay")


@pytest.fixture(scope="module")
def connections(relay: ModuleType) -> ModuleType:
    return load("connections")


@pytest.mark.timeout(60)
def test_relay_quick(relay: ModuleType) -> None:
    report = run_script("relay.py", "--pairs", "2", "--seconds", "1", "--warmup", "0.3")

    assert report["settings"]["pairs"] == 2
    assert report["settings"]["baselines"] == ["null"]
    names = [phase["name"] for phase in report["phases"]]
    assert names == ["columba, sqlite", "null relay"]
    for phase in report["phases"]:
        assert phase["messages_per_s"] > 0
        assert phase["received_in_window"] > 0
        assert phase["sent"] >= phase["received_in_window"]
        assert phase["errors"] == []
        assert phase["refused"] == {}
        assert phase["out_of_order"] == 0
        latency = phase["latency_ms"]
        assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
        assert {"server", "clients"} <= set(phase["cpu_cores"])
    assert report["phases"][0]["server_cpu_us_per_message"] > 0
    assert set(report["ratios"]) == {"columba, sqlite / null relay"}
    assert report["target"]["messages_per_s"] == 10_000

    text = relay.text_report(report)
    assert "columba, sqlite" in text
    assert "ratio columba, sqlite / null relay" in text


@pytest.mark.timeout(60)
def test_connections_quick(connections: ModuleType) -> None:
    report = run_script("connections.py")

    assert report["settings"]["connections"] == 100
    assert report["registered"] == 100
    assert report["failed"] == 0
    assert report["closed"] == 100
    assert report["lost_before_close"] == 0
    rss = report["rss_bytes"]
    assert set(rss) == {"started", "accounts_made", "warmed_up", "all_registered", "all_closed"}
    assert rss["all_registered"] > rss["started"] > 0
    assert report["bytes_per_connection"] > 0
    for name in ("sipc_login", "register"):
        figures = report["login_seconds"][name]
        assert 0 < figures["median"] <= figures["max"]

    text = connections.text_report(report)
    assert "bytes per connection" in text
    assert "new SIP-C login" in text


def test_raw_framing_whole_and_byte_by_byte(relay: ModuleType) -> None:
    wire = (
        b"\r\nSIP-C/4.0 200 OK\r\nI: 7\r\nQ: 7 M\r\n\r\n"
        b"M 123 SIP-C/4.0\r\nI: -1\r\nQ: 1 M\r\nL: 5\r\n\r\nhello"
        b"BN 123 SIP-C/4.0\r\nI: 2\r\nQ: 2 BN\r\nl: 3\r\n\r\nabc"
    )
    expected = [
        (b"SIP-C/4.0 200 OK\r\nI: 7\r\nQ: 7 M", b""),
        (b"M 123 SIP-C/4.0\r\nI: -1\r\nQ: 1 M\r\nL: 5", b"hello"),
        (b"BN 123 SIP-C/4.0\r\nI: 2\r\nQ: 2 BN\r\nl: 3", b"abc"),
    ]
    whole = bytearray(wire + b"M 1 SIP")
    assert relay.split_messages(whole) == expected
    assert whole == b"M 1 SIP"

    buffer, found = bytearray(), []
    for byte in wire:
        buffer.append(byte)
        found += relay.split_messages(buffer)
    assert found == expected
    assert buffer == b""

    ok = relay.ok_for(b"M 123 SIP-C/4.0\r\nF: sip:9@x\r\nI: -1\r\nQ: 1 M\r\nL: 5")
    assert ok == b"SIP-C/4.0 200 OK\r\nF: sip:9@x\r\nI: -1\r\nQ: 1 M\r\n\r\n"
