"""Smoke test of bench/parse_floor.py: its two floor parsers read the corpus, and it runs."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")


@pytest.fixture(scope="module")
def floor(load_bench_script: Callable[[str], ModuleType]) -> ModuleType:
    return load_bench_script("parse_floor.py")


def _messages() -> list[bytes]:
    folder = CORPUS / "sip" / "im"
    if not folder.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return [path.read_bytes() for path in sorted(folder.glob("*.sip"))]


def test_both_floors_take_the_same_fields_apart(floor: ModuleType) -> None:
    from columba.protocol.sip import parse_message

    for data in _messages():
        message = parse_message(data, datagram=True)
        fields = floor.one_pass(data)
        assert message.cseq is not None
        assert fields["cseq"] == (message.cseq.seq, message.cseq.method)
        assert fields["via"][2] == message.via[0].host
        assert floor.floor(data)[0] == fields["via"]


def test_it_runs_or_says_what_is_missing(
    floor: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    status = floor.main(["--seconds", "0.01", "--rounds", "1"])
    out = capsys.readouterr().out
    if importlib.util.find_spec("sippy") is None:
        assert status == 1
        assert "sippy: not installed" in out
    else:
        assert status == 0
        assert "floor (no checks)" in out
