"""cProfile over every thread of a call: our clients do their work in reader/writer threads.

``cProfile.Profile`` sees only the thread that enabled it, so a hook installed with
``threading.setprofile`` starts one profiler in every thread started during the call; the
profilers use thread CPU time (``time.thread_time``) so waiting threads cost nothing and the
percentages are shares of CPU, not of wall time.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def profile_threads(fn: Callable[[], object], top: int = 8) -> list[str]:
    """Run ``fn`` under cProfile in every thread; the ``top`` entries by own CPU time, as text."""
    profs: list[cProfile.Profile] = []
    lock = threading.Lock()

    def hook(frame: Any, event: str, arg: Any) -> None:
        p = cProfile.Profile(time.thread_time)
        with lock:
            profs.append(p)
        p.enable()

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(hook)
    main.enable()
    try:
        fn()
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
    stats = pstats.Stats(main)
    for p in profs:
        with contextlib.suppress(Exception):  # a profiler whose thread is still running
            stats.add(p)
    total = sum(v[2] for v in stats.stats.values()) or 1.0  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out = []
    for (file, line, func), (_, ncalls, tottime, _, _) in rows[:top]:
        short = file.split("/harness/")[-1] if "/harness/" in file else Path(file).name
        out.append(f"{100 * tottime / total:5.1f}% {func} ({short}:{line}) x{ncalls}")
    return out
