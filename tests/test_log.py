"""Tests for ``columba.log``: the text and JSON formats, redaction, and setup."""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import pytest

from columba.log import (
    HANDLER_NAME,
    REDACTED,
    JsonFormatter,
    RedactionFilter,
    TextFormatter,
    is_sensitive,
    log_kv,
    redact,
    setup_logging,
)

#: 2026-11-23T22:00:00.123Z
CREATED = calendar.timegm((2026, 11, 23, 22, 0, 0)) + 0.123
TEXT_LINE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ \S+ .*")


def record(msg: str = "message stored", level: int = logging.INFO, **kv: Any) -> logging.LogRecord:
    entry = logging.LogRecord("columba.im", level, __file__, 1, msg, None, None)
    entry.created = CREATED
    entry.msecs = 123.0
    entry.kv = kv
    return entry


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, restored after the test (setup_logging changes it)."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def setup(fmt: str, level: str = "debug") -> io.StringIO:
    stream = io.StringIO()
    setup_logging(level, fmt, stream)
    return stream


# -- the text format -----------------------------------------------------------------------


def test_text_line() -> None:
    line = TextFormatter().format(record(user="alice", id=42))
    assert line == "2026-11-23T22:00:00.123Z INFO columba.im message stored user=alice id=42"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("", '""'),
        ("line\nforged=1", '"line\\nforged=1"'),
        ("中文", "中文"),
        (None, "None"),
        (1.5, "1.5"),
    ],
)
def test_text_values_are_quoted_when_needed(value: object, shown: str) -> None:
    line = TextFormatter().format(record(field=value))
    assert line.endswith(f" field={shown}")


def test_text_message_cannot_forge_a_line() -> None:
    line = TextFormatter().format(record("from peer\r\n2026-01-01T00:00:00.000Z ERROR fake"))
    assert "\n" not in line
    assert "from peer\\r\\n2026" in line


def test_text_traceback_follows_indented() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        entry = record()
        entry.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(entry).splitlines()
    assert first.endswith("message stored")
    assert rest[0] == "    Traceback (most recent call last):"
    assert rest[-1] == "    ValueError: boom"


def test_text_with_percent_arguments() -> None:
    entry = logging.LogRecord("columba", logging.WARNING, __file__, 1, "%d left", (3,), None)
    assert TextFormatter().format(entry).endswith(" WARNING columba 3 left")


# -- the JSON format -----------------------------------------------------------------------


def test_json_line() -> None:
    line = JsonFormatter().format(record(user="alice", id=42, sizes=[1, 2]))
    assert json.loads(line) == {
        "ts": "2026-11-23T22:00:00.123Z",
        "level": "info",
        "logger": "columba.im",
        "msg": "message stored",
        "user": "alice",
        "id": 42,
        "sizes": [1, 2],
    }
    assert "\n" not in line


def test_json_fields_do_not_overwrite_the_envelope() -> None:
    entry = record()
    entry.kv = {"level": "x", "msg": "y", "ts": 1}
    written = json.loads(JsonFormatter().format(entry))
    assert written["level"] == "info"
    assert written["msg"] == "message stored"
    assert (written["level_"], written["msg_"], written["ts_"]) == ("x", "y", 1)


def test_json_writes_other_values_as_text() -> None:
    entry = json.loads(JsonFormatter().format(record(where=PurePosixPath("/var/lib"))))
    assert entry["where"] == "/var/lib"


def test_json_traceback() -> None:
    try:
        raise KeyError("k")
    except KeyError:
        entry = record()
        entry.exc_info = sys.exc_info()
    assert "KeyError: 'k'" in json.loads(JsonFormatter().format(entry))["exc"]


# -- redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "passwd",
        "token",
        "admin_token",
        "secret",
        "client_secret",
        "authorization",
        "Proxy-Authorization",
        "nonce",
        "cnonce",
        "response",
        "credential",
        "credentials",
        "body",
        "message_body",
        "Cookie",
    ],
)
def test_sensitive_names(key: str) -> None:
    assert is_sensitive(key)


@pytest.mark.parametrize("key", ["user", "id", "sid", "method", "status", "peer", "call_id"])
def test_ordinary_names(key: str) -> None:
    assert not is_sensitive(key)


def test_redact_copies_and_masks_nested_values() -> None:
    fields = {"user": "alice", "password": "hunter2", "headers": {"Authorization": "Digest x"}}
    assert redact(fields) == {
        "user": "alice",
        "password": REDACTED,
        "headers": {"Authorization": REDACTED},
    }
    assert fields["password"] == "hunter2"


def test_redaction_filter_replaces_the_record_fields_only() -> None:
    fields = {"token": "abc", "user": "bob"}
    entry = record()
    entry.kv = fields
    assert RedactionFilter().filter(entry)
    assert entry.kv == {"token": REDACTED, "user": "bob"}
    assert fields == {"token": "abc", "user": "bob"}


def test_records_without_fields_pass() -> None:
    entry = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", None, None)
    assert RedactionFilter().filter(entry)
    assert not hasattr(entry, "kv")


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.usefixtures("root")
def test_secrets_and_bodies_never_reach_the_log(fmt: str) -> None:
    stream = setup(fmt, "debug")
    logger = logging.getLogger("columba.test.redaction")
    log_kv(logger, logging.INFO, "login", user="alice", password="hunter2", nonce="n0nce")
    log_kv(logger, logging.DEBUG, "message", body="private words", response="deadbeef")
    logger.info("extra", extra={"kv": {"Authorization": "Digest username=alice"}})
    written = stream.getvalue()
    for secret in ("hunter2", "n0nce", "private words", "deadbeef", "Digest username"):
        assert secret not in written
    assert written.count(REDACTED) == 5
    assert "alice" in written


# -- setup_logging and log_kv --------------------------------------------------------------


@pytest.mark.usefixtures("root")
def test_setup_text_end_to_end() -> None:
    stream = setup("text", "info")
    log_kv(logging.getLogger("columba.im"), logging.INFO, "message stored", user="alice", id=7)
    (line,) = stream.getvalue().splitlines()
    assert TEXT_LINE_RE.fullmatch(line)
    assert line.endswith(" INFO columba.im message stored user=alice id=7")


@pytest.mark.usefixtures("root")
def test_setup_json_end_to_end() -> None:
    stream = setup("json", "info")
    logging.getLogger("columba.uds").warning("lease expired %s", "node-1")
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["msg"]) == (
        "warning",
        "columba.uds",
        "lease expired node-1",
    )


@pytest.mark.usefixtures("root")
def test_level_filters_records() -> None:
    stream = setup("text", "WARNING")
    logger = logging.getLogger("columba.level")
    logger.info("not written")
    log_kv(logger, logging.DEBUG, "not written either", x=1)
    logger.error("written")
    assert [line.split(" ", 3)[3] for line in stream.getvalue().splitlines()] == ["written"]


def test_setup_again_replaces_the_handler(root: logging.Logger) -> None:
    first = io.StringIO()
    setup_logging("info", "text", first)
    second = setup("json")
    assert [handler.get_name() for handler in root.handlers].count(HANDLER_NAME) == 1
    logging.getLogger("columba").info("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["msg"] == "once"


def test_setup_defaults_to_standard_error(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("info", "text")
    logging.getLogger("columba").info("to stderr")
    assert capsys.readouterr().err.endswith(" INFO columba to stderr\n")


@pytest.mark.parametrize(("level", "fmt"), [("verbose", "text"), ("info", "xml")])
@pytest.mark.usefixtures("root")
def test_setup_rejects_unknown_names(level: str, fmt: str) -> None:
    with pytest.raises(ValueError, match="unknown log"):
        setup_logging(level, fmt, io.StringIO())


def test_log_kv_names_its_caller() -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("columba.test.caller")
    logger.addHandler(collect := Collect())
    logger.setLevel(logging.DEBUG)
    try:
        log_kv(logger, logging.INFO, "100% delivered", n=1)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(logging.NOTSET)
    (entry,) = records
    assert entry.funcName == "test_log_kv_names_its_caller"
    assert entry.getMessage() == "100% delivered"
    assert entry.kv == {"n": 1}
