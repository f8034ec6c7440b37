"""How many threads a model's CPU runtime may use here: ``OMP_NUM_THREADS`` when set (Ray sets
it to a task's CPUs, so two videos analysed side by side do not fight over the cores), else
the cores this process may run on."""

from __future__ import annotations

import os


def cpu_threads() -> int:
    try:
        n = int(os.environ.get("OMP_NUM_THREADS") or 0)
    except ValueError:
        n = 0
    return n if n > 0 else max(1, len(os.sched_getaffinity(0)))
