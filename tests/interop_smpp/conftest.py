"""Fixtures for the SMPP interoperability tests against node smpp 0.5.1 (farhadi/node-smpp),
an SMPP stack nobody on the team wrote.

``tests/interop_smpp/install.sh`` installs it (``npm ci`` in ``node/``). Without node or the
package the tests skip with the reason shown, except in CI (``CI`` set), where that is an
error: the interop tests must not silently not run there.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.interop_smpp.node_peer import NODE_DIR, SMPP_VERSION


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, once node smpp is installed; skips (fails in CI) otherwise."""
    path = shutil.which("node")
    package = NODE_DIR / "node_modules" / "smpp" / "package.json"
    reason = None
    if path is None:
        reason = "node is not installed (Debian: nodejs and npm)"
    elif not package.is_file():
        reason = "node smpp is not installed: run tests/interop_smpp/install.sh"
    else:
        version = json.loads(package.read_text(encoding="utf-8")).get("version")
        if version != SMPP_VERSION:
            reason = f"node smpp {version} installed, {SMPP_VERSION} expected: run install.sh"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)
    assert path is not None
    return path
