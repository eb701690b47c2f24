"""The storage tests' ``backend`` fixture (SQLite always, PostgreSQL when configured)."""

from tests.storage.conftest import backend

__all__ = ["backend"]
