"""Smoke test of the SMS benchmark (bench/sms.py): a --quick run (500 MT) against Columba's
own SMSC simulator, without the columba serve row; a few seconds. The figures themselves are
for bench/README.md, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_sms_bench_quick_run_reports_both_rows() -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(REPO / "bench" / "sms.py"), "--quick", "--json"),
            *("--smsc", "simulator", "--no-e2e"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == [
        "baseline: raw ESME",
        "sms leg (IM in → SMS submitted)",
    ]
    assert all(row["messages"] == 500 and row["mt_per_s"] > 0 for row in rows)
