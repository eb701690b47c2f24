"""``columba sip convert --to mcp`` and ``--from mcp`` give back the original bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.protocol.sip.corpus_files import SIPC


def test_sip_convert_to_mcp_and_back_is_byte_exact(tmp_path: Path) -> None:
    for path in SIPC[:5]:
        binary = subprocess.run(
            [sys.executable, "-m", "columba", "sip", "convert", "--to", "mcp", str(path)],
            check=True,
            capture_output=True,
        ).stdout
        assert 0 < len(binary) < path.stat().st_size
        mcp_file = tmp_path / (path.name + ".mcp")
        mcp_file.write_bytes(binary)
        text = subprocess.run(
            [sys.executable, "-m", "columba", "sip", "convert", "--from", "mcp", str(mcp_file)],
            check=True,
            capture_output=True,
        ).stdout
        assert text == path.read_bytes()
