"""Migration discovery, splitting and application, on throwaway migration packages."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from columba.storage import StorageError
from columba.storage.migrate import Migration, apply, load, split_statements
from columba.storage.sql import Dialect, Op, Result
from columba.storage.sqlite_worker import run_op

_names = itertools.count()


def _drive(connection: sqlite3.Connection, op: Op[list[int]]) -> list[int]:
    """Run an operation's statements on the connection, outside any transaction."""
    value: list[int] = run_op(connection, False, op, Result)
    return value


MakePackage = Callable[[dict[str, str]], str]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakePackage:
    """Makes an importable package holding the given files; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(files: dict[str, str]) -> str:
        name = f"fake_migrations_{next(_names)}"
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        for file_name, text in files.items():
            (package / file_name).write_text(text)
        return name

    return make


def test_split_statements_honours_quotes_and_comments() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (a TEXT DEFAULT 'x;y');
    INSERT INTO t VALUES ('it''s; fine');  -- trailing
    /* block; comment */ CREATE INDEX t_a ON t (a);
    -- only a comment at the end
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'x;y')")
    assert "it''s; fine" in statements[1]


def test_an_unterminated_statement_is_refused() -> None:
    with pytest.raises(StorageError, match="unterminated"):
        split_statements("CREATE TABLE t (a INT);\nCREATE TABLE u (b INT)")


def test_the_shipped_migrations_load_for_both_dialects() -> None:
    for dialect in Dialect:
        migrations = load(dialect)
        assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
        assert migrations[0].name == "initial"
        assert any("CREATE TABLE messages" in s for s in migrations[0].statements)


def test_a_dialect_variant_replaces_the_shared_file(make_package: MakePackage) -> None:
    package = make_package(
        {
            "0001_base.sql": "CREATE TABLE a (x INT);",
            "0002_blob.sql": "CREATE TABLE b (x BYTEA);",
            "0002_blob.sqlite.sql": "CREATE TABLE b (x BLOB);",
            "README.txt": "not a migration",
        }
    )
    sqlite_side = load(Dialect.SQLITE, package)
    postgres_side = load(Dialect.POSTGRESQL, package)
    assert sqlite_side[1].statements == ("CREATE TABLE b (x BLOB)",)
    assert postgres_side[1].statements == ("CREATE TABLE b (x BYTEA)",)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "skip"),
        ({"0002_b.sql": ""}, "skip"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "two names"),
        ({"0001_a.sqlite.sql": ""}, "no postgresql variant"),
        ({"0001_a.oracle.sql": ""}, "unknown dialect"),
    ],
)
def test_malformed_migration_sets_are_refused(
    make_package: MakePackage, files: dict[str, str], message: str
) -> None:
    package = make_package(files)
    with pytest.raises(StorageError, match=message):
        load(Dialect.POSTGRESQL, package)


def test_apply_adds_only_what_is_missing() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    first = Migration(version=1, name="one", statements=("CREATE TABLE a (x INT)",))
    second = Migration(version=2, name="two", statements=("CREATE TABLE b (x INT)",))
    assert _drive(connection, apply((first,))) == [1]
    assert _drive(connection, apply((first,))) == []
    assert _drive(connection, apply((first, second))) == [2]
    renamed = Migration(version=2, name="other", statements=())
    with pytest.raises(StorageError, match="'two' here"):
        _drive(connection, apply((first, renamed)))
    with pytest.raises(StorageError, match="upgrade Columba"):
        _drive(connection, apply((first,)))
