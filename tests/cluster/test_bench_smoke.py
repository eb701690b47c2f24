"""Smoke run of ``bench/connections.py --quick --nodes 2``: two nodes, PostgreSQL and Redis.

The script runs as a subprocess, as a developer runs it (two ``columba serve`` nodes and the
load processes of its own); its ``--json`` report is checked for shape, not for speed, and fed
back through the text report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (
            os.environ.get("COLUMBA_TEST_POSTGRES_URL") and os.environ.get("COLUMBA_TEST_REDIS_URL")
        ),
        reason="COLUMBA_TEST_POSTGRES_URL and COLUMBA_TEST_REDIS_URL must both be set",
    ),
]


@pytest.mark.timeout(120)
def test_connections_over_two_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["COLUMBA_TEST_REDIS_URL"], socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis at COLUMBA_TEST_REDIS_URL is unreachable ({exc}): skipped")
    finally:
        client.close()
    completed = subprocess.run(
        [sys.executable, str(BENCH / "connections.py"), "--quick", "--nodes", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=110,
        env=os.environ.copy(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, Any] = json.loads(completed.stdout)

    assert report["settings"]["nodes"] == 2
    assert report["registered"] == 100
    assert report["registered_per_node"] == [50, 50]
    assert report["failed"] == 0
    assert report["closed"] == 100
    assert len(report["rss_bytes"]) == 2
    assert all(per is None or per > 0 for per in report["bytes_per_connection"])
    assert set(report["message_seconds"]) == {"node 0 → node 1", "node 0 → node 0"}
    for figures in report["message_seconds"].values():
        assert 0 < figures["median"] <= figures["max"]

    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("columba_bench_conn2", BENCH / "connections.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    text = module.text_report(report)
    assert "total held                 100 idle registered connections" in text
    assert "message node 0 → node 1" in text
