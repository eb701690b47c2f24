"""Robot events on the wire: the JSON envelope and its signature (sso-bots.md B.5 items 4-5).

An event is stored once, as the envelope without the per-attempt fields; each attempt adds
``event_id``, ``attempt`` and ``ts`` and is signed with the robot's secret::

    X-IM-Timestamp: 1795467608
    X-IM-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body)>

Receivers reject a timestamp more than :data:`MAX_SKEW` seconds away from their clock, so a
captured request cannot be replayed later; the event id makes a redelivery recognisable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

API_VERSION = "2026-11"
MAX_SKEW = 300
TIMESTAMP_HEADER = "X-IM-Timestamp"
SIGNATURE_HEADER = "X-IM-Signature"
EVENT_ID_HEADER = "X-IM-Event-Id"


def group_message_payload(
    *,
    robot_name: str,
    group_id: int,
    message_id: str,
    seq: int,
    sender_sid: str,
    sender_name: str,
    text: str,
    mentions: tuple[str, ...],
    command: tuple[str, str] | None,
    hop: int,
) -> str:
    """The stored part of a ``group.message`` event."""
    return json.dumps(
        {
            "type": "group.message",
            "robot": robot_name,
            "chat": f"g{group_id}",
            "group_id": group_id,
            "message": {
                "id": message_id,
                "seq": seq,
                "sender": sender_sid,
                "sender_name": sender_name,
                "text": text,
                "mentions": list(mentions),
                "command": None if command is None else {"name": command[0], "args": command[1]},
                "hop": hop,
            },
            "api_version": API_VERSION,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def direct_message_payload(
    *, robot_name: str, message_id: str, sender_sid: str, sender_name: str, text: str
) -> str:
    """The stored part of a ``direct.message`` event (a user chats with the robot 1:1)."""
    from columba.groups.rules import command as parse_command

    found = parse_command(text)
    return json.dumps(
        {
            "type": "direct.message",
            "robot": robot_name,
            "chat": f"u{sender_sid}",
            "group_id": None,
            "message": {
                "id": message_id,
                "sender": sender_sid,
                "sender_name": sender_name,
                "text": text,
                "mentions": [],
                "command": None if found is None else {"name": found.name, "args": found.args},
                "hop": 0,
            },
            "api_version": API_VERSION,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def member_event_payload(
    *, robot_name: str, kind: str, group_id: int, user_sid: str, user_name: str
) -> str:
    """The stored part of ``group.member_joined`` / ``group.member_left``."""
    return json.dumps(
        {
            "type": kind,
            "robot": robot_name,
            "chat": f"g{group_id}",
            "group_id": group_id,
            "member": {"sid": user_sid, "name": user_name},
            "api_version": API_VERSION,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def attempt_body(payload: str, *, event_id: str, attempt: int, ts: int) -> bytes:
    """The bytes sent for one attempt: the stored payload plus the attempt's fields."""
    document: dict[str, Any] = json.loads(payload)
    document.update(event_id=event_id, attempt=attempt, ts=ts)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 over ``v1:<timestamp>:<body>``."""
    mac = hmac.new(secret.encode(), b"v1:%d:" % timestamp + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secrets: tuple[str, ...], timestamp: str, signature: str, body: bytes, *, now: float
) -> bool:
    """True when ``signature`` is valid under one of ``secrets`` (two during a rotation) and
    the timestamp is within :data:`MAX_SKEW` of ``now``."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > MAX_SKEW:
        return False
    if not signature.isascii():  # compare_digest refuses non-ASCII text: never a valid one
        return False
    return any(hmac.compare_digest(sign(s, ts, body), signature) for s in secrets if s)


def token_hash(token: str) -> str:
    """How a robot's bearer token is stored (SHA-256 hex: tokens are 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()
