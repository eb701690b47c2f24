"""The pure rules of the SMS leg: routes and access-code addressing, the UDS's preference
formats, STOP words, quiet hours, and the long-message policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.core.sms_bridge import TRUNCATION_MARKER, fit, segments_of
from columba.core.uds import (
    PreferenceError,
    format_quiet_hours,
    format_sms_online_status,
    keyword,
    parse_quiet_hours,
    parse_sms_online_status,
    quiet_until,
)
from columba.sms.routing import (
    RouteError,
    SmscRoute,
    access_address,
    addressed_number,
    home_route,
    parse_routes,
)
from columba.sms.segment import count_parts
from columba.storage.sms import SmsPreferences


def test_routes_pick_the_longest_prefix() -> None:
    routes = parse_routes("+86138=10.0.0.5:2775, 8613800=[::1]:2776, smsc.example:2775")
    assert routes[1] == SmscRoute(prefix="8613800", host="::1", port=2776)
    assert home_route(routes, "+8613800000001") == routes[1]
    assert home_route(routes, "8613899999999") == routes[0]
    assert home_route(routes, "447700900000") == routes[2]
    assert home_route(parse_routes("86=a:1"), "1555") is None
    assert parse_routes("") == ()


@pytest.mark.parametrize("bad", ["nohost", "a:0", "a:99999", "x=a:1, x=b:2", "+8a=h:1"])
def test_bad_routes_are_refused(bad: str) -> None:
    with pytest.raises(RouteError):
        parse_routes(bad)


def test_access_code_addressing() -> None:
    assert access_address("12520", "+8613800000001") == "125208613800000001"
    assert addressed_number("12520", "125208613800000001") == "+8613800000001"
    assert addressed_number("12520", "12520") is None
    assert addressed_number("12520", "10086") is None


def test_sms_online_status_and_quiet_hours() -> None:
    assert parse_sms_online_status("0.0:0:0") == 0
    assert parse_sms_online_status("365.00:00:00") == 365
    for bad in ("x", "1.a:0", "9999.0:0:0"):
        with pytest.raises(PreferenceError):
            parse_sms_online_status(bad)
    now = 1_000 * 86_400_000_000
    prefs = SmsPreferences(user_id=1, refuse_until=now + 2 * 86_400_000_000 - 1)
    assert format_sms_online_status(prefs, now) == "2.00:00:00"
    assert format_sms_online_status(SmsPreferences(user_id=1), now) == "0.0:0:0"
    assert parse_quiet_hours("22:00-07:30") == (22 * 60, 7 * 60 + 30)
    assert parse_quiet_hours("") == (-1, -1)
    with pytest.raises(PreferenceError):
        parse_quiet_hours("25:00-01:00")
    quiet = SmsPreferences(user_id=1, quiet_start=22 * 60, quiet_end=7 * 60)
    assert format_quiet_hours(quiet) == "22:00-07:00"
    late = int(datetime(2026, 11, 24, 23, 30, tzinfo=UTC).timestamp() * 1_000_000)
    end = datetime.fromtimestamp(quiet_until(quiet, late) / 1_000_000, tz=UTC)
    assert end == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    noon = int(datetime(2026, 11, 24, 12, 0, tzinfo=UTC).timestamp() * 1_000_000)
    assert quiet_until(quiet, noon) == 0


def test_stop_and_start_words() -> None:
    assert keyword(" stop ") == keyword("TD") == keyword("退订") == "stop"
    assert keyword("Start") == "start"
    assert keyword("stop it") is None


def test_long_messages_are_cut_to_the_segment_limit_with_a_marker() -> None:
    assert fit("short", 3) == ("short", False)
    text, cut = fit("飞" * 500, 3)
    assert cut
    assert text.endswith(TRUNCATION_MARKER)
    assert count_parts(text) == 3
    assert len(text) == 3 * 67  # UCS-2: 67 per part, the marker included


@given(st.text(min_size=1, max_size=900), st.integers(min_value=1, max_value=5))
def test_fit_never_exceeds_the_limit(text: str, limit: int) -> None:
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    cut, is_cut = fit(text, limit)
    assert count_parts(cut) <= limit
    assert is_cut == (cut != text)
    if is_cut:
        assert text.startswith(cut.removesuffix(TRUNCATION_MARKER))


@given(st.text(max_size=90) | st.text(alphabet="a😀飞€[", max_size=80))
def test_segments_of_is_count_parts(text: str) -> None:
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert segments_of(text) == count_parts(text)
