"""CPU placement: the event loop on CPUs of its own, everything else of the node on the rest.

A node is one event loop (a single thread does all protocol work) plus helpers that run
beside it: the SQLite worker process, the threads that hash passwords. Left to the kernel, on
a small machine those helpers and whatever else runs there (a load generator, another
service) keep waking up on the event loop's CPU and preempting it, so the loop gets ~0.8 of a
core while the machine has CPU to spare. ``[server] event_loop_cpus`` gives the loop its own
CPUs and moves the helpers off them (decision 0023).

Linux only (``os.sched_setaffinity``). Threads and processes inherit the affinity of the
thread that starts them, so :func:`place` also installs a default executor whose threads move
themselves to the helper CPUs, and moves the node's existing threads and child processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_RANGE = re.compile(r"\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?")


class CpuListError(ValueError):
    """A CPU list that does not parse, or names CPUs this process may not use."""


def parse_cpu_list(text: str) -> frozenset[int]:
    """CPUs written as ``taskset -c`` takes them: ``"0"``, ``"0,2"``, ``"0-3,6"``; ``""`` is none.

    Raises:
        CpuListError: anything else (a descending range, a stray character).
    """
    cpus: set[int] = set()
    if not text.strip():
        return frozenset()
    for part in text.split(","):
        m = _RANGE.fullmatch(part)
        if m is None:
            raise CpuListError(f"{part.strip()!r} is not a CPU number or range (like 0 or 2-3)")
        low = int(m[1])
        high = int(m[2]) if m[2] is not None else low
        if high < low:
            raise CpuListError(f"range {low}-{high} goes down")
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def available_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on, or None where the platform cannot tell or pin."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    return frozenset(getter(0))


@dataclass(frozen=True, slots=True)
class Placement:
    """Which CPUs the event loop and the helpers got."""

    event_loop: frozenset[int]
    helpers: frozenset[int]
    moved_threads: int
    moved_processes: int


def plan(wanted: frozenset[int]) -> tuple[frozenset[int], frozenset[int]]:
    """The event loop's CPUs and the helpers' for ``wanted``.

    Raises:
        CpuListError: pinning is not possible here, or ``wanted`` names CPUs this process may
            not use. When ``wanted`` is every CPU there is, the helpers share them.
    """
    available = available_cpus()
    if available is None:
        raise CpuListError("event_loop_cpus needs Linux (os.sched_setaffinity)")
    missing = wanted - available
    if missing:
        raise CpuListError(
            f"CPU {min(missing)} is not available to this process"
            f" (it may use {format_cpus(available)})"
        )
    helpers = available - wanted
    return wanted, helpers or available


def place(wanted: frozenset[int], loop: asyncio.AbstractEventLoop) -> Placement:
    """Pin the calling thread (the event loop's) to ``wanted`` and the node's other threads,
    its child processes and the loop's future executor threads to the remaining CPUs.

    Call from the event loop's thread once the node is up (its helpers exist).

    Raises:
        CpuListError: see :func:`plan`.
    """
    event_loop, helpers = plan(wanted)
    main = threading.get_native_id()
    os.sched_setaffinity(0, event_loop)  # 0: the calling thread
    threads = _set_all(_thread_ids(os.getpid(), skip=main), helpers)
    processes = 0
    for child in child_pids(os.getpid()):
        processes += _set_all([child, *_thread_ids(child, skip=child)], helpers) > 0
    loop.set_default_executor(
        ThreadPoolExecutor(
            thread_name_prefix="columba-helper", initializer=_pin, initargs=(helpers,)
        )
    )
    placement = Placement(
        event_loop=event_loop, helpers=helpers, moved_threads=threads, moved_processes=processes
    )
    log.info(
        "event loop pinned",
        extra={
            "kv": {
                "event_loop_cpus": format_cpus(event_loop),
                "helper_cpus": format_cpus(helpers),
                "threads": threads,
                "processes": processes,
            }
        },
    )
    return placement


def format_cpus(cpus: Iterable[int]) -> str:
    """``{0, 1, 2, 5}`` → ``"0-2,5"``."""
    ordered = sorted(cpus)
    parts: list[str] = []
    start = prev = None
    for cpu in [*ordered, None]:
        if cpu is not None and prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    return ",".join(parts)


def _pin(cpus: frozenset[int]) -> None:
    os.sched_setaffinity(0, cpus)


def _set_all(ids: Iterable[int], cpus: frozenset[int]) -> int:
    moved = 0
    for tid in ids:
        # A thread or process may end between listing and pinning.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(tid, cpus)
            moved += 1
    return moved


def _thread_ids(pid: int, *, skip: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir() if int(t.name) != skip]
    return []


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (``/proc/<pid>/task/*/children`` needs a kernel
    option that not every kernel has)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the ")" that ends the command name: state, then the parent's pid.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children
