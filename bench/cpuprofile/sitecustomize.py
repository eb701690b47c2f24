"""A CPU-time profiler for a ``columba serve`` started by a benchmark (``--cpu-profile``).

py-spy samples wall time: a thread that is runnable but waiting for a CPU (common when the
server, its SQLite workers, the SMSC and the load generator share two cores) is charged to
whatever call it was preempted in, often a ``write``. This samples on the process's CPU
time instead: ``SIGPROF`` every ``COLUMBA_CPU_PROFILE_INTERVAL`` seconds of CPU (default
0.5 ms), the main thread's Python stack each time, written as collapsed stacks
(``frame;frame;… count``, what ``_server.summarize_profile`` reads) to
``COLUMBA_CPU_PROFILE`` every 2,000 samples. Sampling starts ``COLUMBA_CPU_PROFILE_DELAY``
seconds after start (default 12: after the accounts are made and logged in, whose
password hashing would dominate).

Loaded through ``PYTHONPATH`` as ``sitecustomize`` by ``bench/_server.py``, only in a process
whose command line says ``serve``. Caveats: CPU of other threads is charged to the main
thread's stack; a signal taken in ``epoll_wait`` shows as the selector (filter it out); the
profiler's own cost (~5 %) is in the ``sitecustomize`` frames. Samples taken while the cyclic
garbage collector runs end in a ``<gc generation N>`` frame.
"""

from __future__ import annotations

import os

_OUT = os.environ.get("COLUMBA_CPU_PROFILE")


def _install(out: str) -> None:
    import collections
    import gc
    import signal
    import threading
    from types import FrameType

    counts: collections.Counter[str] = collections.Counter()
    taken = [0]
    # A sample taken while the cyclic collector runs gets a leaf frame naming the generation:
    # otherwise its time is charged to whatever line allocated when a pass began.
    collecting: list[str | None] = [None]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        collecting[0] = f"<gc generation {info['generation']}> (gc:0)" if phase == "start" else None

    gc.callbacks.append(on_gc)

    def sample(signum: int, frame: FrameType | None) -> None:
        stack = []
        while frame is not None:
            code = frame.f_code
            where = code.co_filename.rsplit("/", 2)[-1]
            stack.append(f"{code.co_qualname} ({where}:{frame.f_lineno})")
            frame = frame.f_back
        stack.reverse()
        if collecting[0] is not None:
            stack.append(collecting[0])
        counts[";".join(stack)] += 1
        taken[0] += 1
        if taken[0] % 2000 == 0:
            with open(out, "w") as file:
                file.writelines(f"{stack} {n}\n" for stack, n in counts.items())

    interval = float(os.environ.get("COLUMBA_CPU_PROFILE_INTERVAL", "0.0005"))
    signal.signal(signal.SIGPROF, sample)
    start = threading.Timer(
        float(os.environ.get("COLUMBA_CPU_PROFILE_DELAY", "12")),
        lambda: signal.setitimer(signal.ITIMER_PROF, interval, interval),
    )
    start.daemon = True
    start.start()


if _OUT:
    try:
        with open("/proc/self/cmdline", "rb") as _cmdline:
            _args = _cmdline.read().split(b"\0")
    except OSError:
        _args = []
    if b"serve" in _args:
        _install(_OUT)
