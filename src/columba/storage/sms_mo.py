"""MO texts already taken (migration ``0005_sms_mo_dedupe``): nothing delivered twice.

An SMSC that gets no ``deliver_sm_resp`` for an MO (Columba stopped between handing the text
on and acking it) delivers it again. Each MO is recorded per SMSC route under a key derived
from what the SMSC delivered (SMPP 3.4 gives an MO no identity of its own); the record names
the ``client_key`` under which the text's IM or SMS is stored. Those keys are unique in
``messages`` and ``sms_outbox``, so the row the text produces and its record are one fact: a
redelivery either finds the record ``done`` (ack it, deliver nothing) or ``pending`` (hand it
on again under the same key, which the store recognises), and a text first seen is recorded
before it is handed on. Records live ``window`` microseconds; a text seen again after that
is new.
"""

from __future__ import annotations

from dataclasses import dataclass

from columba.storage import wire
from columba.storage.sql import Op, execute, fetch_one


@dataclass(frozen=True, slots=True, kw_only=True)
class MoRecord:
    """What the store knows of an MO.

    Attributes:
        client_key: The key its IM or SMS is stored under (the same on every redelivery).
        is_done: It was handed on completely before: ack it and deliver nothing.
        is_redelivery: It was seen before, inside the window.
    """

    client_key: str
    is_done: bool
    is_redelivery: bool


def take_mo(route: str, mo_key: str, *, now: int, window: int) -> Op[MoRecord]:
    """Record an MO (or find its record); records older than ``window`` are dropped first."""
    yield from execute("DELETE FROM sms_mo WHERE seen_at < ?", now - window)
    row = yield from fetch_one(
        "SELECT client_key, state FROM sms_mo WHERE route = ? AND mo_key = ?", route, mo_key
    )
    if row is None:
        client_key = f"mo:{mo_key}:{now}"
        inserted = yield from execute(
            "INSERT INTO sms_mo (route, mo_key, client_key, state, seen_at)"
            " VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (route, mo_key) DO NOTHING",
            route,
            mo_key,
            client_key,
            now,
        )
        if inserted:
            return MoRecord(client_key=client_key, is_done=False, is_redelivery=False)
        # Another node took the same text at the same moment (PostgreSQL): its record wins.
        row = yield from fetch_one(
            "SELECT client_key, state FROM sms_mo WHERE route = ? AND mo_key = ?", route, mo_key
        )
        assert row is not None
    return MoRecord(client_key=str(row[0]), is_done=str(row[1]) == "done", is_redelivery=True)


def finish_mo(route: str, mo_key: str) -> Op[None]:
    """The MO was handed on completely."""
    yield from execute(
        "UPDATE sms_mo SET state = 'done' WHERE route = ? AND mo_key = ?", route, mo_key
    )


# Records cross to the SQLite worker process and back (``storage/wire.py``).
wire.register(
    MoRecord,
)
