"""Lists of corpus files, computed at import so tests can be parametrized by file name."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.conftest import corpus_dir

CORPUS = corpus_dir()


def files(pattern: str) -> list[Path]:
    return sorted(CORPUS.glob(pattern)) if CORPUS.is_dir() else []


SIP_IM = files("sip/im/*.sip")
SIPC = files("sipc/*.txt")
TORTURE = files("sip/torture/*.dat")
TORTURE_IPV6 = files("sip/torture-ipv6/*")
ALL_MESSAGES = SIP_IM + SIPC + TORTURE + TORTURE_IPV6 + files("sip/torture_errata/*")


def torture_manifest() -> dict[str, str]:
    path = CORPUS / "sip" / "torture-manifest.tsv"
    if not path.exists():
        return {}
    with path.open(newline="") as fh:
        return {
            row["file"]: row["expected_parser_outcome"]
            for row in csv.DictReader(fh, delimiter="\t")
        }
