"""Smoke test of the MCP size benchmark (bench/mcp_size.py): --quick runs on a few corpus files.

The runs are in-process on six IM messages, six SIP-C messages and three torture files copied
from the shared corpus (one the parser refuses, one whose text form is shorter than the file),
so each takes about a second. zstd and brotli are in the ``bench`` dependency group: without
it their rows must be reported as skipped, with the reason, never as failures.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
CORPUS = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")
# Accepted, refused by the parser (Content-Length past the end), rewritten (octets past
# Content-Length are not part of the message).
TORTURE = ("wsinv.dat", "clerr.dat", "dblreq.dat")
PER_MESSAGE = 6
ALL_ROWS = [
    "text",
    "mcp-stateless",
    "mcp-stateful-connection",
    "mcp-stateful-call-id",
    "zlib-9",
    "deflate-9",
    "brotli-11",
    "zstd-19",
    "deflate-9-rfc3485",
    "zstd-19-stream-connection",
    "zstd-19-stream-call-id",
    "deflate-9-stream-connection",
    "deflate-9-stream-call-id",
]
TRAINED = ["zstd-19-trained", "zstd-19-raw-dict", "deflate-9-train-text"]
NEEDS = {"brotli-11": "brotli"} | {key: "zstandard" for key in ALL_ROWS + TRAINED if "zstd" in key}
MODES = {
    "encode",
    "decode",
    "encode+decode",
    "encode+decode stateful (4,096 B)",
    "baseline: text parse+serialize",
}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("columba_bench_mcp_size", BENCH / "mcp_size.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it loads: dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def mini_corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A few files of each corpus and the RFC 3485 dictionary, as $COLUMBA_CORPUS."""
    if not (CORPUS / "sip" / "torture").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    root = tmp_path_factory.mktemp("corpus")
    for folder, pattern in (("sip/im", "*.sip"), ("sipc", "*.txt")):
        (root / folder).mkdir(parents=True)
        # Every fourth file, so that each corpus has several Call-ID groups to split.
        for path in sorted((CORPUS / folder).glob(pattern))[::4][:PER_MESSAGE]:
            shutil.copy(path, root / folder / path.name)
    (root / "sip" / "torture").mkdir()
    for name in TORTURE:
        shutil.copy(CORPUS / "sip" / "torture" / name, root / "sip" / "torture" / name)
    shutil.copytree(CORPUS / "dictionaries", root / "dictionaries")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMBA_CORPUS", str(root))
        yield root


def run(bench: ModuleType, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = bench.main(["--quick", *argv], out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def report(bench: ModuleType, mini_corpus: Path) -> dict[str, Any]:
    status, text = run(bench, "--json")
    assert status == 0, text[-2000:]
    result: dict[str, Any] = json.loads(text)
    return result


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_rows(rows: list[dict[str, Any]], messages: int) -> None:
    text = rows[0]
    assert text["method"] == "text"
    assert text["ratio"] == 1.0
    for row in rows:
        module = NEEDS.get(row["method"])
        if module is not None and not installed(module):
            assert not row["available"]
            assert row["reason"] == f"{module} not installed (uv run --frozen --group bench …)"
        if not row["available"]:
            assert row["reason"]
            assert not row["reason"].startswith("FAILED")
            continue
        assert row["messages"] == messages
        assert row["total_bytes"] > 0
        assert row["bytes_per_message"] == pytest.approx(row["total_bytes"] / messages)
        assert row["ratio"] == pytest.approx(row["total_bytes"] / text["total_bytes"])
        assert 0 < row["median_ratio"] < 2


@pytest.mark.timeout(30)
def test_quick_json_report(report: dict[str, Any], mini_corpus: Path) -> None:
    settings = report["settings"]
    assert settings["quick"] is True
    assert (settings["limit"], settings["rounds"], settings["splits"]) == (12, 1, 1)
    assert settings["seed"] == 0
    assert report["corpus_root"] == str(mini_corpus)
    assert report["dictionary"]["reason"] is None
    versions = report["environment"]["versions"]
    assert set(versions) == {"columba", "zstandard", "libzstd", "brotli", "zlib"}
    assert {u["name"] for u in report["unavailable"]} == {
        name for name in ("zstandard", "brotli") if not installed(name)
    }
    assert report["errors"] == []

    corpora = {c["name"]: c for c in report["corpora"]}
    assert list(corpora) == ["im", "sipc", "torture", "generated"]
    assert 0 < corpora["generated"]["messages"] <= corpora["generated"]["file_count"] == 20
    assert corpora["im"]["messages"] == corpora["sipc"]["messages"] == PER_MESSAGE
    torture = corpora["torture"]
    assert (torture["file_count"], torture["messages"]) == (3, 2)
    assert [e["file"] for e in torture["excluded"]] == ["clerr.dat"]
    assert torture["rewritten"] == ["dblreq.dat"]

    for corpus in report["corpora"]:
        assert [r["method"] for r in corpus["all"]] == ALL_ROWS
        check_rows(corpus["all"], corpus["messages"])
        held = corpus["held_out"]
        assert held["train"]["messages"] + held["test"]["messages"] == corpus["messages"]
        assert held["train"]["groups"] + held["test"]["groups"] == corpus["groups"]
        assert sorted(r["method"] for r in held["rows"]) == sorted(ALL_ROWS + TRAINED)
        check_rows(held["rows"], held["test"]["messages"])
    for name in ("im", "sipc"):
        stateless = corpora[name]["all"][1]
        assert stateless["method"] == "mcp-stateless"
        assert stateless["ratio"] < 1

    rows = report["throughput"]
    assert {(t["corpus"], t["mode"]) for t in rows} == {
        (c, m) for c in ("im", "sipc", "torture", "all") for m in MODES
    }
    for t in rows:
        assert t["mismatches"] == 0
        assert t["checked"] >= t["messages"]
        assert len(t["rounds_msgs_per_s"]) == 1
        assert t["msgs_per_s_best"] == t["msgs_per_s_median"] > 0

    targets = report["targets"]
    assert len(targets) == 9
    for target in targets:
        assert target["met"] in (True, False)
        assert target["verdict"].startswith(target["target"])
        assert "met" in target["verdict"].rsplit("→", 1)[1]


@pytest.mark.timeout(30)
def test_quick_text_report(bench: ModuleType, mini_corpus: Path) -> None:
    status, text = run(bench)
    assert status == 0
    lines = text.splitlines()
    for name in ("im", "sipc", "torture"):
        assert any(line.startswith(f"== {name}: ") for line in lines)
        assert any(line.startswith(f"{name} held-out half (seed 0)") for line in lines)
    assert sum(line.startswith("method ") for line in lines) == 8  # 3 corpora + generated, ×2
    assert "left out (1: parser refuses, or MCP cannot carry): clerr.dat" in lines
    assert any(line.startswith("MCP stateless ") for line in lines)
    assert "SigComp state id fbe507df…1ba5 ok" in text
    verdicts = lines[lines.index("targets:") + 1 :][:9]
    assert verdicts[0].startswith("  MCP stateless ratio ≤ 0.15 on SIP (im, all, ")
    assert verdicts[2].startswith("  MCP stateless ratio ≤ 0.20 on SIP-C (sipc, all, ")
    assert verdicts[4].startswith("  MCP stateful ratio ≤ 0.08 on SIP (im, all, ")
    assert verdicts[8].startswith("  MCP encode+decode ≥ 50,000 msg/s (all, ")
    assert all(" → met" in v or " → NOT met" in v for v in verdicts)


@pytest.mark.timeout(30)
def test_missing_compressors_are_skipped(
    bench: ModuleType, mini_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes the import raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "zstandard", None)
    monkeypatch.setitem(sys.modules, "brotli", None)
    status, text = run(bench, "--json", "--no-throughput")
    assert status == 0
    report = json.loads(text)
    assert {u["name"] for u in report["unavailable"]} == {"zstandard", "brotli"}
    assert report["throughput"] == []
    for corpus in report["corpora"]:
        for row in corpus["all"]:
            if row["method"] in NEEDS:
                assert not row["available"]
                assert "not installed" in row["reason"]
            else:
                assert row["available"]
    assert "not measured" in report["targets"][-1]["verdict"]
    status, text = run(bench, "--no-throughput", "--corpus", "sipc")
    assert status == 0
    assert "brotli -11, per message" in text
    assert "skipped: brotli not installed (uv run --frozen --group bench …)" in text


def test_split_keeps_call_id_groups_whole(bench: ModuleType, mini_corpus: Path) -> None:
    from columba.protocol.mcp import McpOptions

    corpus = bench.load_corpus(mini_corpus, "im", None, McpOptions())
    train, test = bench.split(corpus.items, 0)
    assert (train, test) == bench.split(corpus.items, 0)  # deterministic
    assert sorted(i.name for i in train + test) == sorted(i.name for i in corpus.items)
    assert not {i.group for i in train} & {i.group for i in test}


def test_missing_corpus_is_an_error(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMBA_CORPUS", str(tmp_path))
    assert run(bench)[0] == 2
