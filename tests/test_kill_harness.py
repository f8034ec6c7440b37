"""Crash safety (issue 17): each store the product writes is written by a child process killed
with SIGKILL at 20 seeded random moments; after every kill the store is whole, and a rerun
finishes the job. The harness and what it checks: tests/killharness.py."""

from __future__ import annotations

import random

import pytest

from tests.killharness import OPS, run_op

KILLS = 20  # the floor per operation; `python -m tests.killharness --kills 200` is longer


@pytest.mark.parametrize("op", list(OPS))
def test_no_store_is_damaged_by_a_kill_and_a_rerun_finishes(op, tmp_path):
    report = run_op(op, tmp_path / op, KILLS, random.Random(f"test:{op}"))
    assert report.kills >= KILLS, report.to_json()
    assert report.damaged == [], "\n".join(report.damaged)
    assert report.final, report.to_json()
