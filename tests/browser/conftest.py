"""Fixtures for the browser tests: a real ``columba serve`` (SQLite) per test.

The server runs as ``columba serve`` does out of the box, the built-in SMSC simulator
included (the scenario harness turns it off; the virtual phones need it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.driver import chromium
from tests.scenarios.harness import Server


class BrowserServer(Server):
    """The scenario harness's server with the SMSC simulator on."""

    def _config(self) -> Path:
        path = super()._config()
        address = self.addresses.get("smsc", "127.0.0.1:0")
        path.write_text(path.read_text().replace('smsc = "off"', f'smsc = "{address}"'))
        return path


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[Server]:
    """A started server on SQLite; stopped after the test."""
    chromium()  # skip (or fail in CI) before starting anything when the browser is missing
    data = tmp_path / "data"
    data.mkdir()
    server = BrowserServer(data_dir=data, storage_url=f"sqlite:///{tmp_path / 'columba.db'}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
