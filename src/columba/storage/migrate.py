"""Numbered migrations: found in ``columba/storage/migrations/``, applied in order at open.

Each migration is ``NNNN_name.sql`` (both dialects) or a pair ``NNNN_name.sqlite.sql`` /
``NNNN_name.postgresql.sql`` where the dialects cannot share the text. Versions start at 1 and
have no gaps. Applied versions are recorded in ``schema_migrations``; a database that records a
version this code does not know (a newer Columba wrote it) or a different name for a known
version is refused rather than guessed at.

The driver runs :func:`apply` in one transaction while holding a lock that serializes every
process opening the same database: SQLite's write lock (``BEGIN IMMEDIATE``), PostgreSQL's
transaction-scoped advisory lock. DDL is transactional in both, so a migration is applied whole
or not at all, and the second of two processes opening a fresh database at once finds the work
done and applies nothing.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources

from columba.storage.errors import StorageError
from columba.storage.sql import Dialect, Op, execute, fetch

_FILE_NAME = re.compile(
    r"(?P<version>[0-9]{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<dialect>[a-z]+))?\.sql"
)

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One schema step for one dialect.

    Attributes:
        version: Its number, from 1 up.
        name: The words after the number (``initial``); recorded with the version.
        statements: The SQL statements, in order, without trailing semicolons.
    """

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> tuple[str, ...]:
    """Splits a SQL script into statements, honouring quotes and comments.

    SQLite's own tokenizer (``sqlite3.complete_statement``) decides where a statement ends,
    which also serves PostgreSQL for the plain DDL and DML that migrations contain.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip().rstrip(";").strip()
            if _has_code(statement):
                statements.append(statement)
            buffer = ""
    if _has_code(buffer):
        raise StorageError(f"unterminated SQL statement in migration: {buffer.strip()[:60]!r}")
    return tuple(statements)


def _has_code(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


def load(dialect: Dialect, package: str = "columba.storage.migrations") -> tuple[Migration, ...]:
    """Reads the migrations for a dialect from a package, in version order.

    Raises:
        StorageError: On a gap in the numbering, two names for one number, or a version that
            has a variant for another dialect but none for this one.
    """
    files: dict[int, dict[str | None, tuple[str, str]]] = {}  # version -> variant -> file
    for entry in resources.files(package).iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            continue
        version, name, variant = int(match["version"]), match["name"], match["dialect"]
        if variant is not None and variant not in set(Dialect):
            raise StorageError(f"migration {entry.name}: unknown dialect {variant!r}")
        variants = files.setdefault(version, {})
        names = {other for other, _ in variants.values()} - {name}
        if names:
            raise StorageError(f"migration {version:04d} has two names: {name}, {names.pop()}")
        variants[variant] = (name, entry.read_text(encoding="utf-8"))
    migrations = []
    for expected, version in enumerate(sorted(files), start=1):
        if version != expected:
            raise StorageError(f"migrations skip from {expected - 1:04d} to {version:04d}")
        variants = files[version]
        found = variants.get(dialect.value, variants.get(None))
        if found is None:
            raise StorageError(f"migration {version:04d} has no {dialect} variant")
        name, text = found
        migrations.append(Migration(version=version, name=name, statements=split_statements(text)))
    return tuple(migrations)


def apply(migrations: tuple[Migration, ...]) -> Op[list[int]]:
    """Applies the migrations the database lacks; returns the versions it applied.

    The caller runs this in one transaction under the migration lock (see the module doc).

    Raises:
        StorageError: When the database was migrated by a newer or a different Columba.
    """
    yield from execute(CREATE_TABLE)
    rows = yield from fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    applied = {int(row[0]): str(row[1]) for row in rows}
    known = {migration.version: migration.name for migration in migrations}
    for version, name in applied.items():
        if version not in known:
            raise StorageError(
                f"the database has schema version {version} ({name}); this Columba knows only "
                f"up to {max(known, default=0)}: upgrade Columba"
            )
        if known[version] != name:
            raise StorageError(f"schema version {version} is {name!r} here, {known[version]!r}")
    done = []
    for migration in migrations:
        if migration.version in applied:
            continue
        for statement in migration.statements:
            yield from execute(statement)
        yield from execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            migration.version,
            migration.name,
            time.time_ns() // 1000,
        )
        done.append(migration.version)
    return done
