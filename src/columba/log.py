"""Structured logging on the standard :mod:`logging` module: text or JSON lines, redacted.

Modules log through ordinary loggers (``logging.getLogger(__name__)``) and attach fields as
``extra={"kv": {...}}``, most easily with :func:`log_kv`::

    log_kv(logger, logging.INFO, "message stored", user="alice", id=message_id)

:func:`setup_logging` installs one handler on the root logger that writes either format:

``text``::

    2026-11-23T22:00:00.123Z INFO columba.im message stored user=alice id=42

``json``::

    {"ts": "2026-11-23T22:00:00.123Z", "level": "info", "logger": "columba.im",
     "msg": "message stored", "user": "alice", "id": 42}

Before a record is written, :class:`RedactionFilter` replaces the value of every field whose
name looks secret or private (``password``, ``token``, ``secret``, ``authorization``,
``nonce``, ``response``, ``credential``, ``body`` …) with ``***``, at every level: credentials
and message bodies never reach the log. Text written by peers is quoted or escaped, so a
crafted value cannot forge a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

#: Substrings of field names whose values are never logged (compared in lower case).
SENSITIVE_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "nonce",
    "response",
    "credential",
    "cookie",
    "body",
)
REDACTED = "***"

#: The name of the handler :func:`setup_logging` installs, so that a second call replaces it.
HANDLER_NAME = "columba"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
#: Keys of a JSON line that fields may not take; a field so named is written as ``<key>_``.
_RESERVED = frozenset({"ts", "level", "logger", "msg", "exc"})


def is_sensitive(key: str) -> bool:
    """Whether a field named ``key`` holds a secret or private content (so is redacted)."""
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def redact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``fields`` with sensitive values, also in nested mappings, replaced."""
    copy: dict[str, Any] = {}
    for key, value in fields.items():
        if is_sensitive(key):
            copy[key] = REDACTED
        elif isinstance(value, Mapping):
            copy[key] = redact(value)
        else:
            copy[key] = value
    return copy


class RedactionFilter(logging.Filter):
    """Masks the sensitive fields of a record's ``kv`` (see :data:`SENSITIVE_WORDS`).

    The record gets a redacted copy: the caller's mapping is left alone. Installed on the
    handler, it sees records from every logger, propagated ones included.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "kv", None)
        if isinstance(fields, Mapping):
            record.kv = redact(fields)
        return True


def log_kv(logger: logging.Logger, level: int, msg: str, /, **fields: Any) -> None:
    """Log ``msg`` with ``fields`` as structured ``key=value`` data.

    Args:
        logger: The logger to write to.
        level: A :mod:`logging` level such as ``logging.INFO``.
        msg: The message; not %-formatted, so it may contain ``%`` safely.
        **fields: The record's fields, redacted by :class:`RedactionFilter` when written.
    """
    if logger.isEnabledFor(level):
        # stacklevel=2: the record names the caller of log_kv, not this function.
        logger.log(level, "%s", msg, extra={"kv": fields}, stacklevel=2)


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "kv", None)
    return fields if isinstance(fields, Mapping) else {}


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and text.isprintable() and not any(char in text for char in ' ="'):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with newlines and quotes escaped


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger> <message> key=value …``, one line per record.

    A value with spaces, ``=``, quotes or control characters is written as a JSON string; a
    message's line breaks are escaped; a traceback follows on the next lines, indented.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        parts = [_timestamp(record), record.levelname, record.name, message]
        parts.extend(f"{key}={_text_value(value)}" for key, value in _fields(record).items())
        line = " ".join(parts)
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += "\n" + "\n".join(f"    {text}" for text in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``msg``, the fields, ``exc``.

    Values JSON cannot represent are written as their ``str()``.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _fields(record).items():
            entry[f"{key}_" if key in _RESERVED else key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream``, as text or JSON lines.

    Installs one handler on the root logger, so the records of libraries (asyncio, asyncpg)
    are written the same way; calling it again replaces that handler.

    Args:
        level: ``debug``, ``info``, ``warning``, ``error`` or ``critical`` (any case).
        fmt: ``text`` or ``json``.
        stream: Where to write; standard error (as it is at the time of the call) if ``None``.

    Returns:
        The installed handler.

    Raises:
        ValueError: ``level`` or ``fmt`` is not one of the above.
    """
    number = _LEVELS.get(level.lower())
    if number is None:
        raise ValueError(f"unknown log level {level!r}: expected one of {', '.join(_LEVELS)}")
    formatters: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}
    formatter = formatters.get(fmt.lower())
    if formatter is None:
        raise ValueError(f"unknown log format {fmt!r}: expected text or json")

    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter())
    handler.addFilter(RedactionFilter())
    root = logging.getLogger()
    for old in [old for old in root.handlers if old.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(number)
    return handler
