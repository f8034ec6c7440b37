"""The engine's QThread on its own, with the real garment detector and real catalogues: no
snapshot of a replaced video arrives after the new one's, a catalogue replaced before the
thread used it is closed at once and one in use is closed by the thread, and a stop while it
is busy analysing returns promptly and closes what it owned."""

from __future__ import annotations

import sqlite3
import time

import pytest

from app.engine_thread import EngineThread
from engine.asymnet.model import TrajectoryMatcher
from engine.catalog.retrieval import Catalog
from engine.detect import create_detector


def closed(catalog: Catalog) -> bool:
    try:
        catalog.store.db.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


@pytest.fixture(scope="module")
def matcher():
    return TrajectoryMatcher(device="cpu")


@pytest.fixture
def engine(qtbot, tmp_path):
    thread = EngineThread(detector_factory=lambda: create_detector("garment", device="cpu"),
                          cache_path=str(tmp_path / "analysis.sqlite"), segment=24)
    got = {"snapshots": [], "failed": []}
    thread.snapshot_ready.connect(lambda g, s: got["snapshots"].append((g, s)))
    thread.failed.connect(lambda g, m: got["failed"].append((g, m)))
    thread.start()
    yield thread, got
    thread.stop()


def test_a_replaced_video_sends_nothing_after_the_new_ones_first_snapshot(engine, qtbot,
                                                                          tiny_benchmark):
    thread, got = engine
    data, _ = tiny_benchmark
    first, second = data / "clips" / "hard001.mp4", data / "clips" / "hard002.mp4"
    thread.open_video(1, str(first), 100)
    thread.set_playhead(0, paused=False)
    qtbot.waitUntil(lambda: any(g == 1 for g, _ in got["snapshots"]), timeout=60000)
    thread.open_video(2, str(second), 100)
    qtbot.waitUntil(lambda: any(g == 2 for g, _ in got["snapshots"]), timeout=60000)
    qtbot.wait(1500)  # keep analysing the new video for a while
    gens = [g for g, _ in got["snapshots"]]
    assert gens == sorted(gens)  # once 2 has spoken, 1 never speaks again
    assert thread.generation == 2 and got["failed"] == []
    latest = [s for g, s in got["snapshots"] if g == 2][-1]
    assert any(len(t.boxes) for t in latest.tracks)  # the garment detector found garments


def test_catalogues_are_closed_when_replaced_and_at_stop(qtbot, tiny_benchmark, tmp_path,
                                                          matcher):
    data, _ = tiny_benchmark
    thread = EngineThread(detector_factory=lambda: create_detector("garment", device="cpu"),
                          cache_path=str(tmp_path / "analysis.sqlite"), segment=24)
    a, b, c = (Catalog.open(data, matcher) for _ in range(3))
    thread.set_catalog(a)
    thread.set_catalog(b)  # before the thread ever ran: a was never used, closed now
    assert closed(a) and not closed(b)
    snapshots = []
    thread.snapshot_ready.connect(lambda g, s: snapshots.append((g, s)))
    thread.start()
    try:
        thread.open_video(1, str(data / "clips" / "hard001.mp4"), 100)
        qtbot.waitUntil(lambda: bool(snapshots), timeout=60000)
        thread.set_catalog(c)  # b is in use: the thread closes it between two steps
        qtbot.waitUntil(lambda: closed(b), timeout=30000)
        assert not closed(c)
    finally:
        assert thread.stop()
    assert closed(c)  # the thread closes what it owned when it stops


def test_stop_while_busy_returns_promptly(qtbot, tiny_benchmark, tmp_path):
    data, _ = tiny_benchmark
    thread = EngineThread(detector_factory=lambda: create_detector("garment", device="cpu"),
                          cache_path=str(tmp_path / "analysis.sqlite"), segment=96)
    steps = []
    thread.snapshot_ready.connect(lambda g, s: steps.append(g))
    thread.start()
    thread.open_video(1, str(data / "clips" / "hard003.mp4"), 100)
    thread.set_playhead(0, paused=False)
    qtbot.waitUntil(lambda: bool(steps), timeout=60000)  # analysing its one long segment
    t0 = time.monotonic()
    assert thread.stop(wait_ms=20000)
    assert not thread.isRunning() and time.monotonic() - t0 < 20
