"""Fixtures for the interoperability tests: a real ``columba serve`` process and SIPp.

SIPp (Debian package ``sip-tester``, installed by ``scripts/install-test-deps``) is the SIP
implementation under test against ours. Without it the tests skip with the reason shown,
except in CI (``CI`` set), where a missing SIPp is an error: the tests must not silently not
run there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.interop.columba_process import ColumbaServer


@pytest.fixture(scope="session")
def sipp() -> str:
    """The ``sipp`` executable; skips (fails in CI) when it is not installed."""
    path = shutil.which("sipp")
    if path is None:
        reason = "sipp not installed (Debian package sip-tester): run scripts/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def columba(tmp_path_factory: pytest.TempPathFactory, sipp: str) -> Iterator[ColumbaServer]:
    """One ``columba serve`` for the session (SIGTERM at the end); tests make their own users."""
    server = ColumbaServer.start(tmp_path_factory.mktemp("columba"))
    try:
        yield server
    finally:
        server.stop()
