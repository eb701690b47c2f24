"""Errors raised by Columba's storage layer.

The tree::

    StorageError            base of everything ``columba.storage`` raises
    ├── Conflict            a uniqueness rule would be broken (sid, number, invite code …)
    ├── NotFound            the row asked for (or referred to) does not exist
    └── Unavailable         the database cannot be reached or stayed locked; retrying may help

No driver exception (``sqlite3.Error``, ``asyncpg.PostgresError``, ``OSError`` from a dropped
connection) crosses the package line: each driver translates them at its edge, keeping the
original as ``__cause__`` for the log. Misuse by the caller (an empty device id, a malformed
E.164 number) raises ``ValueError`` before any I/O, as the standard library does.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by ``columba.storage``."""


class Conflict(StorageError):
    """A write would break a uniqueness rule or a state rule of the store."""


class NotFound(StorageError):
    """The requested row does not exist (or a row the request refers to does not)."""


class Unavailable(StorageError):
    """The database could not be reached, the connection dropped, or a lock wait timed out.

    The operation did not take effect unless the connection dropped during ``COMMIT``; callers
    that retry rely on the store's idempotent operations (``store_messages`` keyed by
    ``(sender, client_key)``, acks) to make a retry harmless.
    """
