"""The corpus messages MCP must carry: every valid message of ``shared/corpus``."""

from __future__ import annotations

from pathlib import Path

from columba.protocol.sip import Message, parse_message
from tests.protocol.sip.corpus_files import ALL_MESSAGES, SIP_IM, SIPC, torture_manifest

MANIFEST = torture_manifest()
#: Not valid messages as stored (see tests/protocol/sip/test_corpus.py): the rejected torture
#: tests and the two RFC 5118 files whose Content-Length broke when CRLF became LF.
NOT_VALID = {
    name for name, verdict in MANIFEST.items() if verdict == "reject" or verdict.startswith("n/a")
} | {"ipv6-in-sdp", "mult-ip-in-sdp", "mcl01.dat"}
VALID = [path for path in ALL_MESSAGES if path.name not in NOT_VALID]


def load(path: Path) -> Message:
    return parse_message(path.read_bytes())


def ident(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


__all__ = ["SIPC", "SIP_IM", "VALID", "ident", "load"]
