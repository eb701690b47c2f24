"""Smoke run of ``bench/sso.py`` (a fraction of a second): it runs and reports every row."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sso.py"


@pytest.mark.timeout(60)
def test_quick_json_report(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("columba_bench_sso", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    out = io.StringIO()
    assert module.main(["--quick", "--json"], out=out) == 0
    report = json.loads(out.getvalue())
    rows = {r["row"]: r for r in report["results"]}
    assert set(rows) == {"joserfc dir (baseline)", "columba dir", "columba A256KW"}
    assert rows["joserfc dir (baseline)"]["ratio_vs_baseline"] == pytest.approx(1.0)
    assert all(r["per_s_median"] > 0 for r in rows.values())
