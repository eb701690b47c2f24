"""SMS preferences, STOPped phones and quota usage (the UDS's data), for :mod:`.sms`.

Operations are generators run by an :class:`~columba.storage.sql.Engine` (see ``sql.py``);
``SmsStore`` in :mod:`columba.storage.sms` runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from columba.storage import wire
from columba.storage.sql import Op, execute, fetch_many, fetch_one


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsPreferences:
    """A user's SMS settings (the defaults when never set).

    Attributes:
        user_id: Whose.
        offline_sms: IM messages may go to the user's phone as SMS while offline.
        refuse_until: Microseconds since the epoch until which SMS are refused (0: not).
        quiet_start: Quiet hours start, minutes after midnight UTC (-1: none).
        quiet_end: Quiet hours end, minutes after midnight UTC.
    """

    user_id: int
    offline_sms: bool = True
    refuse_until: int = 0
    quiet_start: int = -1
    quiet_end: int = -1


def get_preferences(user_id: int) -> Op[SmsPreferences]:
    """A user's preferences (defaults when none are stored)."""
    row = yield from fetch_one(
        "SELECT offline_sms, refuse_until, quiet_start, quiet_end FROM sms_preferences"
        " WHERE user_id = ?",
        user_id,
    )
    if row is None:
        return SmsPreferences(user_id=user_id)
    return SmsPreferences(
        user_id=user_id,
        offline_sms=bool(row[0]),
        refuse_until=int(row[1]),
        quiet_start=int(row[2]),
        quiet_end=int(row[3]),
    )


def put_preferences(prefs: SmsPreferences, *, now: int) -> Op[None]:
    """Store a user's preferences, replacing the old ones."""
    yield from execute(
        "INSERT INTO sms_preferences"
        " (user_id, offline_sms, refuse_until, quiet_start, quiet_end, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
        " offline_sms = excluded.offline_sms, refuse_until = excluded.refuse_until,"
        " quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,"
        " updated_at = excluded.updated_at",
        prefs.user_id,
        prefs.offline_sms,
        prefs.refuse_until,
        prefs.quiet_start,
        prefs.quiet_end,
        now,
    )


def set_stopped(number: str, stopped: bool, *, now: int) -> Op[bool]:
    """Record STOP (or START) from a phone; True when it changed anything."""
    if stopped:
        count = yield from execute(
            "INSERT INTO sms_stops (number, stopped_at) VALUES (?, ?)"
            " ON CONFLICT (number) DO NOTHING",
            number,
            now,
        )
    else:
        count = yield from execute("DELETE FROM sms_stops WHERE number = ?", number)
    return count > 0


def is_stopped(number: str) -> Op[bool]:
    """Whether the phone texted STOP (and not START since)."""
    row = yield from fetch_one("SELECT 1 FROM sms_stops WHERE number = ?", number)
    return row is not None


def usage(user_id: int, periods: Sequence[str]) -> Op[dict[str, int]]:
    """Segments a user sent in each period."""
    rows = yield from fetch_many(
        "SELECT period, count FROM sms_usage WHERE user_id = ? AND period = ?",
        [(user_id, period) for period in periods],
    )
    return {str(row[0]): int(row[1]) for row in rows}


def periods(moment: float) -> tuple[str, str]:
    """The quota periods (``d20261124``, ``m202611``) a UTC time falls in."""
    day = datetime.fromtimestamp(moment, tz=UTC)
    return day.strftime("d%Y%m%d"), day.strftime("m%Y%m")


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    SmsPreferences,
)
