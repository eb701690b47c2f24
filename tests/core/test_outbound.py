"""The SIP-C delivery shortcut writes exactly what the general path serializes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from columba.core import outbound
from columba.core.registry import Binding, Dialect
from columba.protocol.sip.serializer import ensure_content_length, serialize


class _Link:
    transport = "tcp"
    is_open = True
    local_host = "127.0.0.1:5060"


def _binding(dialect: Dialect = Dialect.SIPC) -> Binding:
    return Binding(
        user_id=1,
        sid="900000001",
        device_id="pc",
        link=_Link(),  # type: ignore[arg-type]
        dialect=dialect,
        contact="sip:900000001@127.0.0.1:5060",
        expires_at=0.0,
        registered_at=0.0,
    )


@pytest.mark.parametrize("body", [b"hello \xe4\xbd\xa0\xe5\xa5\xbd", b""])
def test_sipc_wire_matches_the_serializer(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    message = outbound.InstantMessage(
        message_id="a" * 32,
        sender_sid="900000002",
        content_type="text/plain",
        body=body,
        created_at=datetime(2010, 5, 8, 14, 51, 55, 123456, tzinfo=UTC),
    )
    general, fast = _binding(), _binding()
    monkeypatch.setattr(outbound, "_call_ids", itertools.count(7))
    request = outbound.im_request(general, message, domain="fetion.com.cn")
    expected = serialize(ensure_content_length(request))
    monkeypatch.setattr(outbound, "_call_ids", itertools.count(7))
    wire = outbound.sipc_im_wire(fast, message, domain="fetion.com.cn")
    assert wire is not None
    assert wire[0] == expected
    assert request.cseq is not None
    assert wire[1] == (request.call_id, request.cseq.seq, request.cseq.method)
    assert b"D: Sat, 08 May 2010 14:51:55 GMT\r\n" in wire[0]


def test_sipc_wire_leaves_other_shapes_to_the_general_path() -> None:
    message = outbound.InstantMessage(
        message_id="b" * 32,
        sender_sid="900000002",
        content_type="text/plain",
        body=b"x",
        created_at=datetime.now(tz=UTC),
    )
    assert outbound.sipc_im_wire(_binding(Dialect.SIP), message, domain="d") is None
    group = outbound.InstantMessage(
        message_id="c" * 32,
        sender_sid="PG1",
        content_type="text/plain",
        body=b"x",
        created_at=datetime.now(tz=UTC),
        source_sid="900000003",
    )
    # A group's message (SO names the member) takes the shortcut too, byte for byte.
    request = outbound.im_request(_binding(), group, domain="d")
    wire = outbound.sipc_im_wire(_binding(), group, domain="d")
    assert wire is not None
    expected = serialize(ensure_content_length(request)).replace(
        f"I: {request.call_id}".encode(), b"I: *"
    )
    assert wire[0].replace(f"I: {wire[1][0]}".encode(), b"I: *") == expected


def test_rfc1123_is_cached_per_second_only() -> None:
    first = datetime(2020, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert outbound.rfc1123(first) == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert outbound.rfc1123(first.replace(microsecond=999)) == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert outbound.rfc1123(first.replace(second=1)) == "Wed, 01 Jan 2020 00:00:01 GMT"


@pytest.mark.parametrize("body", ['<events><event type="SmsDelivered"/></events>', "你好", ""])
@pytest.mark.parametrize("call_id", [None, "7"])
def test_sipc_notification_wire_matches_the_serializer(body: str, call_id: str | None) -> None:
    general, fast = _binding(), _binding()
    general.presence_call_id = fast.presence_call_id = call_id
    expected = serialize(
        ensure_content_length(outbound.sipc_notification(general, "MessageStatus", body))
    )
    assert outbound.sipc_notification_wire(fast, "MessageStatus", body) == expected
    # The CSeq counter moves the same way on both paths.
    assert general.next_cseq() == fast.next_cseq()


def test_sipc_notification_wire_leaves_other_shapes_to_the_general_path() -> None:
    assert outbound.sipc_notification_wire(_binding(Dialect.SIP), "MessageStatus", "x") is None
    assert outbound.sipc_notification_wire(_binding(), "Message\r\nStatus", "x") is None
