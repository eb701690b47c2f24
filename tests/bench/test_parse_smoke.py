"""Smoke test of the parser benchmark (bench/parse.py): a --quick run on a few corpus files.

The run is in-process on a handful of messages copied from the shared corpus, so it takes about
a second. Peers that are not installed (no ``--group bench``) and our own parser before it
exists are reported as unavailable, never as failures.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")
CONTENDERS = {"columba", "sippy", "sipmessage"}
# One torture case per verdict, plus test.dat, which the manifest leaves unscored (n/a).
TORTURE = ("wsinv.dat", "clerr.dat", "insuf.dat", "test.dat")


@pytest.fixture(scope="module")
def bench(load_bench_script: Callable[[str], ModuleType]) -> ModuleType:
    return load_bench_script("parse.py")


@pytest.fixture
def mini_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three IM messages, three SIP-C messages and four torture files in $COLUMBA_CORPUS."""
    if not (CORPUS / "sip" / "torture-manifest.tsv").is_file():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    for folder, pattern in (("sip/im", "*.sip"), ("sipc", "*.txt")):
        (tmp_path / folder).mkdir(parents=True)
        for path in sorted((CORPUS / folder).glob(pattern))[:3]:
            shutil.copy(path, tmp_path / folder / path.name)
    (tmp_path / "sip" / "torture").mkdir()
    for name in TORTURE:
        shutil.copy(CORPUS / "sip" / "torture" / name, tmp_path / "sip" / "torture" / name)
    lines = (CORPUS / "sip" / "torture-manifest.tsv").read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line.split("\t")[0] in TORTURE]
    (tmp_path / "sip" / "torture-manifest.tsv").write_text("\n".join(kept) + "\n")
    monkeypatch.setenv("COLUMBA_CORPUS", str(tmp_path))
    return tmp_path


def run(bench: ModuleType, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = bench.main(["--quick", *argv], out=out)
    return status, out.getvalue()


@pytest.mark.timeout(60)
def test_quick_json_report(bench: ModuleType, mini_corpus: Path) -> None:
    status, text = run(bench, "--json")
    assert status == 0
    report = json.loads(text)

    settings = report["settings"]
    assert (settings["seconds"], settings["rounds"], settings["limit"]) == (0.05, 2, 10)
    assert settings["baseline"] == "sippy typed"
    assert report["corpus_root"] == str(mini_corpus)
    assert [(c["name"], c["messages"]) for c in report["corpora"]] == [("im", 3), ("sipc", 3)]
    available = {r["contender"] for r in report["results"]}
    unavailable = {u["name"] for u in report["unavailable"]}
    assert available | unavailable == CONTENDERS
    assert not available & unavailable
    assert all(u["reason"] for u in report["unavailable"])

    for row in report["results"]:
        assert row["corpus"] in {"im", "sipc"}
        assert row["mode"] in {"parse", "typed", "typed-all"}
        assert row["attempted"] == 3
        assert row["parsed"] + sum(row["failures"].values()) == 3
        if row["parsed"]:
            assert len(row["rounds_msgs_per_s"]) == 2
            assert row["msgs_per_s_best"] >= row["msgs_per_s_median"] > 0
            assert row["mb_per_s_median"] > 0
        else:
            assert row["msgs_per_s_median"] is None
            assert row["ratio_vs_sippy_typed"] is None

    baseline = [r for r in report["results"] if (r["contender"], r["mode"]) == ("sippy", "typed")]
    for row in baseline:
        expected = None if row["msgs_per_s_median"] is None else pytest.approx(1.0)
        assert row["ratio_vs_sippy_typed"] == expected

    modes = {(r["contender"], r["mode"]) for r in report["results"]}
    assert {(t["contender"], t["mode"]) for t in report["torture"]} == modes
    for score in report["torture"]:
        # wsinv must be accepted, clerr rejected, insuf either way; test.dat is not scored.
        assert (score["valid"], score["invalid"], score["scored"]) == (1, 1, 3)
        assert score["correct"] == 3 - len(score["wrong"])
        assert {w.split(":")[0] for w in score["wrong"]} <= {"wsinv", "clerr"}


@pytest.mark.timeout(60)
def test_quick_text_report(bench: ModuleType, mini_corpus: Path) -> None:
    status, text = run(bench)
    assert status == 0
    assert "corpus: " + str(mini_corpus) in text
    assert "RFC 4475 torture (out of 3)" in text
    for name in CONTENDERS:
        assert f"\n{name}: " in text or f"\nim     {name} " in text


@pytest.mark.timeout(60)
def test_missing_contenders_are_skipped(
    bench: ModuleType, mini_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes the import raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "sipmessage", None)
    monkeypatch.setitem(sys.modules, "columba.protocol.sip", None)
    status, text = run(bench, "--contenders", "columba,sipmessage")
    assert status == 0
    assert "\ncolumba: not available yet" in text
    assert "\nsipmessage: not installed" in text
    assert "torture" not in text


def test_missing_corpus_is_an_error(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMBA_CORPUS", str(tmp_path))
    assert run(bench)[0] == 2
