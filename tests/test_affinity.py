"""``[server] event_loop_cpus``: the event loop on CPUs of its own (``columba.affinity``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba import affinity
from columba.config import ConfigError, load_config
from tests.scenarios.harness import Server

AVAILABLE = affinity.available_cpus() or frozenset()
needs_two_cpus = pytest.mark.skipif(
    len(AVAILABLE) < 2 or not hasattr(os, "sched_setaffinity"),
    reason="pinning needs Linux and at least 2 CPUs available to this process",
)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("", set()),
        ("  ", set()),
        ("0", {0}),
        ("0,2", {0, 2}),
        ("1-3", {1, 2, 3}),
        (" 0 , 4-5 ", {0, 4, 5}),
        ("3-3", {3}),
    ],
)
def test_cpu_lists_parse_as_taskset_writes_them(text: str, cpus: set[int]) -> None:
    assert affinity.parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text", ["a", "0,", "-1", "3-1", "0;1", "1-", "0 1", "12345"])
def test_malformed_cpu_lists_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(affinity.CpuListError) as error:
        affinity.parse_cpu_list(text)
    assert str(error.value)


@given(st.frozensets(st.integers(0, 200), max_size=30))
def test_format_and_parse_are_inverse(cpus: frozenset[int]) -> None:
    assert affinity.parse_cpu_list(affinity.format_cpus(cpus)) == cpus


def test_format_writes_ranges() -> None:
    assert affinity.format_cpus({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert affinity.format_cpus(set()) == ""


def test_the_setting_is_checked_with_the_config(tmp_path: Path) -> None:
    config = tmp_path / "columba.toml"
    config.write_text('[server]\nevent_loop_cpus = "2-1"\n')
    with pytest.raises(ConfigError) as error:
        load_config(config, data_dir=tmp_path)
    assert any("event_loop_cpus" in line and "goes down" in line for line in error.value.errors)
    config.write_text('[server]\nevent_loop_cpus = "0"\n')
    assert load_config(config, data_dir=tmp_path).server.event_loop_cpus == "0"
    assert load_config(None, data_dir=tmp_path).server.event_loop_cpus == ""


@pytest.mark.skipif(not AVAILABLE, reason="no sched_getaffinity here")
def test_plan_refuses_cpus_the_process_may_not_use() -> None:
    missing = frozenset({max(AVAILABLE) + 1})
    with pytest.raises(affinity.CpuListError, match="not available"):
        affinity.plan(missing)
    # Every CPU there is: the helpers share them rather than have none.
    assert affinity.plan(AVAILABLE) == (AVAILABLE, AVAILABLE)


@needs_two_cpus
def test_place_moves_threads_children_and_later_executor_threads() -> None:
    # In a process of its own: pinning this one would pin the test run.
    loop_cpu = min(AVAILABLE)
    script = textwrap.dedent(
        f"""
        import asyncio, json, os, subprocess, sys, threading, time
        from columba import affinity

        async def main():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            idle = threading.Event()
            thread = threading.Thread(target=idle.wait, daemon=True)
            thread.start()
            loop = asyncio.get_running_loop()
            placement = affinity.place(frozenset({{{loop_cpu}}}), loop)
            later = await loop.run_in_executor(None, lambda: sorted(os.sched_getaffinity(0)))
            result = {{
                "loop": sorted(os.sched_getaffinity(0)),
                "thread": sorted(os.sched_getaffinity(thread.native_id)),
                "child": sorted(os.sched_getaffinity(child.pid)),
                "executor": later,
                "moved": [placement.moved_threads, placement.moved_processes],
            }}
            idle.set()
            child.kill()
            child.wait()
            print(json.dumps(result))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    helpers = sorted(AVAILABLE - {loop_cpu})
    assert result["loop"] == [loop_cpu]
    assert result["thread"] == helpers
    assert result["child"] == helpers
    assert result["executor"] == helpers
    assert result["moved"][0] >= 1
    assert result["moved"][1] == 1


@needs_two_cpus
@pytest.mark.slow
def test_a_pinned_server_relays_with_its_worker_off_the_loop_cpu(tmp_path: Path) -> None:
    import asyncio

    from columba.client import SipcClient

    loop_cpu = min(AVAILABLE)
    data = tmp_path / "data"
    data.mkdir()
    server = Server(
        data_dir=data,
        storage_url=f"sqlite:///{tmp_path / 'columba.db'}",
        extra_config=f'[server]\nevent_loop_cpus = "{loop_cpu}"\n',
    )
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        assert sorted(os.sched_getaffinity(pid)) == [loop_cpu]  # the main thread
        children = affinity.child_pids(pid)
        assert children, "no SQLite worker process"
        for child in children:
            assert loop_cpu not in os.sched_getaffinity(child)

        async def dialog() -> None:
            a = server.add_user("Alice", "+8613800000501")
            b = server.add_user("Bob", "+8613800000502")
            alice = await SipcClient.connect(*server.hostport("sipc-tcp"))
            await alice.login(a.sid, a.password)
            bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
            await bob.login(b.sid, b.password)
            ids = [await alice.send_message(b.sid, f"m{i}") for i in range(5)]
            received = [await bob.next_message() for _ in range(5)]
            assert [m.message_id for m in received] == ids
            await alice.close()
            await bob.close()

        asyncio.run(dialog())
        assert "event loop pinned" in (server.log_path.read_text() if server.log_path else "")
    finally:
        server.stop()


@pytest.mark.skipif(not AVAILABLE, reason="no sched_getaffinity here")
def test_serve_refuses_cpus_it_does_not_have(tmp_path: Path) -> None:
    config = tmp_path / "columba.toml"
    config.write_text(f'[server]\nevent_loop_cpus = "{max(AVAILABLE) + 1}"\n')
    command = [sys.executable, "-m", "columba", "serve", "--config", str(config)]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "event_loop_cpus" in done.stderr
    assert "not available" in done.stderr
