"""A running server per test, on each storage backend (the scenario fixtures)."""

from __future__ import annotations

from tests.scenarios.conftest import backend, server

__all__ = ["backend", "server"]
