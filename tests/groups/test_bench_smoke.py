"""A smoke run of ``bench/groups.py --quick``: it runs, reports, and its figures are sane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "groups.py"

pytestmark = pytest.mark.slow


def test_groups_bench_quick() -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        env=os.environ.copy(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["members"] == 5
    for name in ("fanout_last_member", "baseline_1to1", "robot_round_trip"):
        figures = report[name]
        assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert set(report["targets"]) == {"fanout_p99_ms<=100", "robot_p50_ms<=20"}
