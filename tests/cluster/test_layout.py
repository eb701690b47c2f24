"""The Redis key layout and the notices between nodes (sans-I/O: no Redis here)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.cluster import layout

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
user_ids = st.integers(min_value=1, max_value=2**53)

notices = st.one_of(
    st.builds(
        layout.Wake,
        user_ids=st.lists(user_ids, max_size=layout.MAX_WAKE_USERS).map(tuple),
    ),
    st.builds(
        layout.PresenceChanged,
        user_id=user_ids,
        node=names,
        epoch=st.text(alphabet="0123456789abcdef", min_size=1, max_size=12),
        value=st.sampled_from([-1, 0, 100, 400, 600, 800, 850]),
    ),
    st.builds(layout.DeviceAdded, user_id=user_ids, device_id=st.text(max_size=64)),
    st.builds(
        layout.PushOut,
        user_id=user_ids,
        since=st.floats(min_value=0, max_value=2**40, allow_nan=False),
    ),
    st.builds(
        layout.Tell,
        recipient_id=user_ids,
        package=st.sampled_from(["contact", "PresenceV4", "group"]),
        body=st.text(max_size=500),
    ),
    st.builds(
        layout.Composing,
        sender_id=user_ids,
        recipient_id=user_ids,
        body=st.binary(max_size=layout.MAX_COMPOSING_BYTES),
    ),
    st.builds(
        layout.PhoneText,
        recipient_id=user_ids,
        phone=st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        text=st.text(max_size=500),
        message_id=names,
        reply_to=names,
        token=names,
    ),
    st.builds(layout.PhoneTextTaken, token=names, is_taken=st.booleans()),
)


@given(notices)
def test_every_notice_survives_encoding(notice: layout.Notice) -> None:
    assert layout.decode_notice(layout.encode_notice(notice)) == notice


@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_bad_notice(data: bytes) -> None:
    with contextlib.suppress(layout.BadNotice):
        layout.decode_notice(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b'{"k":"wake"}',
        b'{"k":"wake","u":[true]}',
        b'{"k":"wake","u":"1"}',
        b'{"k":"presence","u":1,"n":"a","v":400}',
        b'{"k":"composing","f":1,"u":2,"b":"not base64!"}',
        b'{"k":"reboot"}',
        b'{"k":"tell","u":1,"p":"contact","b":7}',
        b'{"k":"push-out","u":1,"t":"soon"}',
        b'{"k":"tell","u":1,"p":"contact","b":"' + b"x" * (layout.MAX_TELL_CHARS + 1) + b'"}',
        b'{"k":"device","u":1,"d":' + b'"' + b"x" * 300 + b'"}',
        b'{"k":"phone-taken","t":"x","v":1}',
        b'{"k":"phone-text","u":1,"f":"86139","i":"m","r":"a","t":"x","b":"'
        + b"x" * (layout.MAX_PHONE_TEXT_CHARS + 1)
        + b'"}',
    ],
)
def test_malformed_notices_are_rejected(data: bytes) -> None:
    with pytest.raises(layout.BadNotice):
        layout.decode_notice(data)


def test_keys_live_under_the_namespace() -> None:
    keys = layout.Keys(namespace="test1")
    assert keys.node("a") == "test1:node:a"
    assert keys.node_users("a") == "test1:node:a:users"
    assert keys.location(42) == "test1:loc:42"
    assert keys.inbox("a") == "test1:inbox:a"
    assert keys.everyone() == "test1:all"


def _entry(
    node: str, device: str, *, epoch: str = "e1", expires: float = 2000.0
) -> layout.Location:
    return layout.Location(
        node=node, device_id=device, epoch=epoch, dialect="sip", expires=expires, presence=400
    )


def test_an_entry_reads_back_from_its_hash_field_and_value() -> None:
    entry = _entry("node-a", "urn:uuid:1/with/slashes")
    assert entry.field == "node-a/urn:uuid:1/with/slashes"
    read = layout.parse_location(entry.field.encode(), entry.value().encode())
    assert read == entry


def test_only_entries_of_live_nodes_in_their_epoch_and_unexpired_count() -> None:
    entries = {
        e.field.encode(): e.value().encode()
        for e in (
            _entry("a", "phone"),
            _entry("b", "pc", epoch="old"),  # b restarted: a new epoch
            _entry("c", "pad"),  # c is dead: no heartbeat key
            _entry("a", "stale", expires=999.0),  # registration ran out
        )
    }
    entries[b"garbage"] = b"x"
    epochs = {"a": "e1", "b": "new", "c": None}
    live = layout.live_locations(entries, epochs, now=1000.0)
    assert [(loc.node, loc.device_id) for loc in live] == [("a", "phone")]
    assert sorted(layout.dead_fields(entries, epochs, now=1000.0)) == [
        "a/stale",
        "b/pc",
        "c/pad",
        "garbage",
    ]
    assert layout.nodes_in(entries) == {"a", "b", "c"}


def test_presence_by_node_takes_each_nodes_value() -> None:
    a = _entry("a", "1")
    b = layout.Location(node="b", device_id="2", epoch="e", dialect="sipc", expires=1, presence=600)
    assert layout.presence_by_node([a, b]) == {"a": 400, "b": 600}


@pytest.mark.parametrize(
    ("field", "value"),
    [("nodevice", "e|sip|1|400"), ("a/b", "e|sip|1"), ("a/b", "e|sip|x|400"), ("/b", "e|s|1|4")],
)
def test_foreign_entries_are_not_locations(field: str, value: str) -> None:
    with pytest.raises(layout.BadNotice):
        layout.parse_location(field, value)
