"""The SMS leg's ``280`` body, written as one string, is the nested ``element()`` text."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from columba.core.sms_bridge import BridgeConfig, SmsQueued
from columba.protocol.sipc.bodies import element, parse_xml
from columba.servers.im import sms_ops


def _nested(config: BridgeConfig, queued: SmsQueued) -> bytes:
    return element(
        "results",
        None,
        element(
            "sms",
            {
                "to": f"tel:+{queued.destination}",
                "segments": queued.segments,
                "truncated": int(queued.is_truncated),
            },
        )
        + element(
            "frequency",
            {
                "day-count": queued.day_count,
                "day-limit": config.day_limit,
                "month-count": queued.month_count,
                "month-limit": config.month_limit,
            },
        ),
    ).encode()


counts = st.integers(min_value=0, max_value=10**9)


@given(
    destination=st.text(max_size=20),
    segments=st.integers(min_value=1, max_value=10),
    is_truncated=st.booleans(),
    day=counts,
    month=counts,
    day_limit=counts,
    month_limit=counts,
)
def test_quota_body_is_the_nested_elements(
    destination: str,
    segments: int,
    is_truncated: bool,
    day: int,
    month: int,
    day_limit: int,
    month_limit: int,
) -> None:
    config = BridgeConfig(day_limit=day_limit, month_limit=month_limit)
    queued = SmsQueued(
        sms_id=1,
        destination=destination,
        segments=segments,
        is_truncated=is_truncated,
        day_count=day,
        month_count=month,
    )
    body = sms_ops._quota_body(SimpleNamespace(config=config), queued)  # type: ignore[arg-type]
    assert body == _nested(config, queued)


def test_quota_body_escapes_the_destination() -> None:
    queued = SmsQueued(
        sms_id=1, destination='1"<&', segments=1, is_truncated=False, day_count=1, month_count=1
    )
    body = sms_ops._quota_body(SimpleNamespace(config=BridgeConfig()), queued)  # type: ignore[arg-type]
    assert parse_xml(body, root="results").find("sms").get("to") == 'tel:+1"<&'  # type: ignore[union-attr]
