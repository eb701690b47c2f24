"""The User Data Server (UDS): who is online, numbers ↔ users, and SMS preferences.

DESIGN.md's UDS answers the questions the interworking flows ask: is this user logged into
IM (the IM server's location registry), which user has this number (accounts carry an
E.164 ``number``), may this user get SMS now (preferences, STOP, quiet hours), and may this
sender send more SMS (daily and monthly quotas, kept by the SMS outbox).

Fetion's ``sms-online-status`` (fetion-sipc.md §3.1 [022]) is ``<days>.hh:mm:ss``: ``0.0:0:0``
lets offline messages go to the phone as SMS, ``N.00:00:00`` refuses SMS for N days.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from columba.core.coalesce import Coalescer
from columba.core.registry import Registry
from columba.storage import Account, NotFound, Store
from columba.storage.sms import SmsPreferences

#: Texts from a phone that stop further SMS to it (case-insensitive, whole text).
STOP_WORDS = frozenset({"STOP", "TD", "退订", "UNSUBSCRIBE", "STOPALL", "CANCEL"})
#: Texts that undo a STOP.
START_WORDS = frozenset({"START", "UNSTOP", "订阅", "KT"})

_DAY = 86_400_000_000  # microseconds
#: How long a phone's STOP flag is trusted from memory, in seconds.
STOP_CACHE_SECONDS = 30.0


class PreferenceError(ValueError):
    """A preference value that cannot be read (the reason goes to the client)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UdsConfig:
    """Limits of the SMS leg (``[sms]``)."""

    day_limit: int = 600
    month_limit: int = 10000


def keyword(text: str) -> str | None:
    """``"stop"`` / ``"start"`` when a phone's text is a STOP or START keyword."""
    word = text.strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def parse_sms_online_status(value: str) -> int:
    """Days SMS are refused, from ``<days>.hh:mm:ss`` (``0.0:0:0`` → 0).

    Raises:
        PreferenceError: not that shape, or more than 3650 days.
    """
    days, _, rest = value.strip().partition(".")
    if not days.isdigit() or (rest and not all(p.isdigit() for p in rest.split(":"))):
        raise PreferenceError(f"sms-online-status must be <days>.hh:mm:ss, not {value!r}")
    if int(days) > 3650:
        raise PreferenceError("sms-online-status: at most 3650 days")
    return int(days)


def format_sms_online_status(prefs: SmsPreferences, now_us: int) -> str:
    """The ``sms-online-status`` a client is shown: ``0.0:0:0`` or ``<days>.00:00:00``."""
    if not prefs.offline_sms:
        return "365.00:00:00"
    if prefs.refuse_until > now_us:
        days = -(-(prefs.refuse_until - now_us) // _DAY)
        return f"{days}.00:00:00"
    return "0.0:0:0"


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` (UTC) → minutes after midnight; ``""`` → ``(-1, -1)`` (none).

    Raises:
        PreferenceError: not that shape.
    """
    value = value.strip()
    if not value:
        return -1, -1
    try:
        start, end = (_minutes(part) for part in value.split("-", 1))
    except ValueError:
        raise PreferenceError(f"quiet-hours must be HH:MM-HH:MM, not {value!r}") from None
    if start == end:
        raise PreferenceError("quiet-hours: start and end must differ")
    return start, end


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
        raise ValueError(text)
    return value


def format_quiet_hours(prefs: SmsPreferences) -> str:
    """``HH:MM-HH:MM`` or ``""``."""
    if prefs.quiet_start < 0:
        return ""
    return (
        f"{prefs.quiet_start // 60:02}:{prefs.quiet_start % 60:02}-"
        f"{prefs.quiet_end // 60:02}:{prefs.quiet_end % 60:02}"
    )


def quiet_until(prefs: SmsPreferences, now_us: int) -> int:
    """When the quiet hours around ``now_us`` end (microseconds), or 0 when not quiet now."""
    if prefs.quiet_start < 0:
        return 0
    moment = datetime.fromtimestamp(now_us / 1_000_000, tz=UTC)
    minute = moment.hour * 60 + moment.minute
    start, end = prefs.quiet_start, prefs.quiet_end
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return 0
    wait = (end - minute) % (24 * 60)
    midnight_minute = now_us - (moment.second * 1_000_000 + moment.microsecond)
    return midnight_minute + wait * 60_000_000


_STOPPED = "the recipient's phone has stopped SMS"


def _preference_refusal(prefs: SmsPreferences, offline_leg: bool, now_us: int) -> str | None:
    """Why the preferences refuse an SMS now (None: they do not)."""
    if offline_leg and not prefs.offline_sms:
        return "the recipient does not accept SMS"
    if prefs.refuse_until > now_us:
        return "the recipient refuses SMS for now"
    return None


class UserDataService:
    """The UDS over the store and the IM server's registry; preferences cached per user."""

    def __init__(
        self, *, store: Store, registry: Registry, config: UdsConfig | None = None
    ) -> None:
        self._store = store
        self._registry = registry
        self.config = config or UdsConfig()
        self._prefs: dict[int, SmsPreferences] = {}
        # STOP flags by phone, each read from the store at most every STOP_CACHE_SECONDS (a
        # STOP through this node is seen at once; through another node, within that time).
        self._stops: dict[str, tuple[bool, float]] = {}
        # Concurrent misses of one key share one store read (see ``core.coalesce``).
        self._pref_reads: Coalescer[int, SmsPreferences] = Coalescer(self._remember_prefs)
        self._stop_reads: Coalescer[str, bool] = Coalescer(self._remember_stop)

    async def is_online(self, user_id: int) -> bool:
        """Whether the user has a device logged into IM (on this node or, scaled out, another;
        hidden devices count: they still receive IMs)."""
        return await self._registry.is_online_anywhere(user_id)

    async def user_by_number(self, number: str) -> Account | None:
        """The enabled account with this E.164 number, if any."""
        try:
            account = await self._store.account_by_number(number)
        except (NotFound, ValueError):
            return None
        return None if account.is_disabled else account

    async def user_addressed(self, extension: str) -> Account | None:
        """The user ``<access code><extension>`` reaches: by number, or by the nine-digit
        Columba id (Fetion's ``12520<fetion number>``) when no number matches."""
        account = await self.user_by_number("+" + extension)
        if account is None and len(extension) == 9:
            try:
                found = await self._store.account_by_sid(extension)
            except (NotFound, ValueError):
                return None
            account = None if found.is_disabled else found
        return account

    async def preferences(self, user_id: int) -> SmsPreferences:
        """A user's SMS preferences."""
        prefs = self._prefs.get(user_id)
        if prefs is None:
            prefs = await self._pref_reads.load(
                user_id, lambda: self._store.sms.preferences(user_id)
            )
        return prefs

    def cached_preferences(self, user_id: int) -> SmsPreferences | None:
        """A user's SMS preferences if this node has them cached."""
        return self._prefs.get(user_id)

    def _remember_prefs(self, user_id: int, prefs: SmsPreferences) -> None:
        if len(self._prefs) > 100_000:
            self._prefs.clear()
        self._prefs[user_id] = prefs

    async def update_preferences(
        self,
        user_id: int,
        *,
        offline_sms: bool | None = None,
        refuse_days: int | None = None,
        quiet_hours: str | None = None,
    ) -> SmsPreferences:
        """Change some preferences; return them all.

        Raises:
            PreferenceError: a value is out of range.
        """
        prefs = await self.preferences(user_id)
        if offline_sms is not None:
            prefs = replace(prefs, offline_sms=offline_sms)
        if refuse_days is not None:
            if not 0 <= refuse_days <= 3650:
                raise PreferenceError("refuse-days must be 0 to 3650")
            until = self.now_us() + refuse_days * _DAY if refuse_days else 0
            prefs = replace(prefs, refuse_until=until)
        if quiet_hours is not None:
            start, end = parse_quiet_hours(quiet_hours)
            prefs = replace(prefs, quiet_start=start, quiet_end=end)
        await self._store.sms.set_preferences(prefs)
        self._pref_reads.forget(user_id)
        self._prefs[user_id] = prefs
        return prefs

    async def is_stopped(self, number: str) -> bool:
        """Whether the phone texted STOP."""
        phone = number.lstrip("+")
        now = time.monotonic()
        cached = self._stops.get(phone)
        if cached is not None and now - cached[1] < STOP_CACHE_SECONDS:
            return cached[0]
        return await self._stop_reads.load(phone, lambda: self._store.sms.is_stopped(phone))

    def _remember_stop(self, phone: str, stopped: bool) -> None:
        if len(self._stops) > 100_000:
            self._stops.clear()
        self._stops[phone] = (stopped, time.monotonic())

    async def set_stopped(self, number: str, stopped: bool) -> bool:
        """Record STOP / START from a phone."""
        phone = number.lstrip("+")
        changed = await self._store.sms.set_stopped(phone, stopped)
        self._stop_reads.forget(phone)
        self._stops[phone] = (stopped, time.monotonic())
        return changed

    async def refusal(self, account: Account, *, offline_leg: bool) -> str | None:
        """Why ``account``'s phone may not get an SMS now (None: it may).

        ``offline_leg``: the SMS would carry an IM sent while the user was offline (the
        ``offline-sms`` switch applies); an explicit SendCatSMS ignores that switch but not a
        refusal period or a STOP.
        """
        if not account.number:
            return "the recipient has no phone number"
        prefs = await self.preferences(account.user_id)
        reason = _preference_refusal(prefs, offline_leg, self.now_us())
        if reason is None and await self.is_stopped(account.number):
            return _STOPPED
        return reason

    def cached_refusal(self, account: Account, *, offline_leg: bool) -> tuple[bool, str | None]:
        """:meth:`refusal` from what this node has cached, without waiting: ``(False, None)``
        when something it needs is not cached (ask :meth:`refusal`), else ``(True, reason)``."""
        number = account.number
        if not number:
            return True, "the recipient has no phone number"
        prefs = self._prefs.get(account.user_id)
        stop = self._stops.get(number.lstrip("+"))
        if prefs is None or stop is None or time.monotonic() - stop[1] >= STOP_CACHE_SECONDS:
            return False, None
        reason = _preference_refusal(prefs, offline_leg, self.now_us())
        return True, _STOPPED if reason is None and stop[0] else reason

    async def usage(self, user_id: int) -> tuple[int, int]:
        """Segments the user sent (today, this month)."""
        return await self._store.sms.usage(user_id)

    @staticmethod
    def now_us() -> int:
        """Wall-clock time in microseconds since the epoch."""
        return int(time.time() * 1_000_000)
