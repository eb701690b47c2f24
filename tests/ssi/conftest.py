"""The storage ``backend`` fixture (SQLite, and PostgreSQL when configured) for SSI tests."""

from __future__ import annotations

from tests.storage.conftest import backend

__all__ = ["backend"]
