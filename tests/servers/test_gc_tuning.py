"""``[server] gc_threshold``: the node freezes its start-up objects and collects less often."""

from __future__ import annotations

import gc

from columba.config import ServerConfig
from columba.servers.node import tune_gc


def test_tune_gc_freezes_and_sets_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold() == (12_345, 20, 100)
        assert gc.get_freeze_count() > 0
        tune_gc(0)  # 0: the thresholds stay as they are
        assert gc.get_threshold() == (12_345, 20, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_default_threshold() -> None:
    assert ServerConfig().gc_threshold == 50_000
