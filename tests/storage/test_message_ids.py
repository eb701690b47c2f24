"""Message ids: unguessable, unique, and in creation order (decision 0022)."""

from __future__ import annotations

import re
import time

from columba.storage.messages import new_message_id


def test_ids_are_32_hex_digits_and_unique() -> None:
    ids = [new_message_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_later_ids_sort_after_earlier_ones() -> None:
    first = new_message_id()
    time.sleep(0.002)
    second = new_message_id()
    assert first < second
    # The time part is the clock in microseconds; the rest is random.
    assert abs(int(second[:14], 16) - time.time_ns() // 1000) < 5_000_000


def test_ids_of_one_microsecond_differ_in_their_random_part() -> None:
    ids = {new_message_id()[14:] for _ in range(1_000)}
    assert len(ids) == 1_000
