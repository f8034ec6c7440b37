"""engine/cpu.py: a model runtime's threads follow OMP_NUM_THREADS (a Ray task's CPUs), else
the cores this process may use."""

from __future__ import annotations

import os

from engine.cpu import cpu_threads


def test_threads_follow_omp_num_threads_else_the_cores(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1
    for bad in ("", "0", "-2", "many"):
        monkeypatch.setenv("OMP_NUM_THREADS", bad)
        assert cpu_threads() == cores
