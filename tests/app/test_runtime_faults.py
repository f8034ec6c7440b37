"""Faults at run time (issue 17): the disk fills while the analysis cache is written, and the
catalogue folder is removed while the player uses it. Each gives a message and the player goes
on."""

from __future__ import annotations

import json
import shutil

from engine.analysis.cache import AnalysisCache
from engine.detect import create_detector
from tests.conftest import run_with_file_size_limit

ENGINE_UNDER_A_SIZE_LIMIT = """
import json, time
from PySide6.QtCore import QCoreApplication
from app.engine_thread import EngineThread
from engine.detect import create_detector

app = QCoreApplication([])
thread = EngineThread(detector_factory=lambda: create_detector("garment", device="cpu"),
                      cache_path={cache!r}, segment=24)
got = {{"status": [], "failed": [], "last": None}}
thread.status.connect(lambda g, m: got["status"].append(m))
thread.failed.connect(lambda g, m: got["failed"].append(m))
thread.snapshot_ready.connect(lambda g, s: got.__setitem__("last", s))
thread.start()
thread.open_video(1, {clip!r}, 100)
thread.set_playhead(0, paused=False)
deadline = time.monotonic() + 240
while time.monotonic() < deadline and not (got["last"] and got["last"].complete):
    app.processEvents()
    time.sleep(0.02)
thread.stop()
s = got["last"]
print(json.dumps({{"status": got["status"], "failed": got["failed"],
                  "complete": bool(s and s.complete),
                  "boxes": sum(len(t.boxes) for t in s.tracks) if s else 0}}))
"""


def test_a_disk_that_fills_while_the_cache_is_written(tiny_benchmark, tmp_path):
    """RLIMIT_FSIZE on the engine's process (root obeys it): the cache's writes fail part way
    through the analysis, the player is told once, and the analysis finishes with every box
    it finds without the limit. The cache opens afterwards, whole."""
    clip = str(tiny_benchmark[0] / "clips" / "hard001.mp4")
    create_detector("garment", device="cpu")  # its ONNX export is cached before the limit
    free = tmp_path / "free.sqlite"
    AnalysisCache(free).close()
    cache = tmp_path / "full.sqlite"
    AnalysisCache(cache).close()  # the schema fits; the first analysis states do not
    runs = {}
    for name, path, limit in (("full", cache, 48_000), ("free", free, 2**40)):
        r = run_with_file_size_limit(
            ENGINE_UNDER_A_SIZE_LIMIT.format(cache=str(path), clip=clip), limit, timeout=400)
        assert r.returncode == 0, r.stderr[-3000:]
        runs[name] = json.loads(r.stdout.strip().splitlines()[-1])
    full, ok = runs["full"], runs["free"]
    assert ok["complete"] and ok["failed"] == [] and ok["boxes"] > 0
    assert full["complete"] and full["failed"] == [], full
    assert full["boxes"] == ok["boxes"]  # nothing of the analysis is lost to the full disk
    said = [m for m in full["status"] if "cannot be written" in m]
    assert len(said) == 1, full["status"]  # once, not at every step
    assert "the disk may be full" in said[0] and "analysis goes on" in said[0]
    again = AnalysisCache(cache)
    assert again.usable and again.warning == ""
    assert again.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def test_the_catalogue_folder_removed_while_playing(live_player, tiny_benchmark, tmp_path,
                                                    qtbot):
    """The catalogue's folder is deleted under the player: a click on a garment says where
    the catalogue went, once, and still shows products from what was loaded (the database
    stays open); the player goes on stepping; opening the folder again says it is gone."""
    from engine.catalog.resolve import resolve_catalog

    data, _ = tiny_benchmark
    copy = tmp_path / "shop"
    shutil.copytree(resolve_catalog(data), copy)
    window, c = live_player()
    c.open_catalog(str(copy))
    assert c.open_video(str(data / "clips" / "hard001.mp4"))
    qtbot.waitUntil(lambda: c.catalog is not None and c.snapshot is not None
                    and c.snapshot.complete, timeout=180_000)
    shutil.rmtree(copy)
    busy = max(range(c.reader.frame_count), key=lambda f: len(c.detections_at(f)))
    c.show_frame(busy)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    tid = int(window.video.detections.tracker_id[0])
    c.select_track(tid)
    assert any("was removed while playing" in m for m in messages), messages
    qtbot.waitUntil(lambda: tid in shown, timeout=60_000)
    card = window.panel.card.match
    assert card is not None and card.title  # the product, from the still-open database
    assert window.panel.card.image.text() == "no image"  # its picture went with the folder
    c.select_track(-1)
    c.select_track(tid)
    assert sum("was removed" in m for m in messages) == 1  # said once
    c.transport.step(1)
    assert c.index == busy + 1
    c.open_catalog(str(copy))
    qtbot.waitUntil(lambda: any("shop" in m and "not loaded" in m for m in messages)
                    or any("neither a catalogue" in m for m in messages), timeout=60_000)


def test_a_device_error_while_matching_says_so_and_the_card_still_comes(
        live_player, tiny_benchmark, qtbot, monkeypatch):
    """VIDEO2SHOP_INJECT_DEVICE_ERROR=1: AsymNet's first call fails as a broken GPU would; the
    status bar says the model went on on the CPU, and the card shows the match."""
    from engine.device import INJECT_ENV, take_notices

    monkeypatch.setenv(INJECT_ENV, "1")
    take_notices()
    data, _ = tiny_benchmark
    window, c = live_player()
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    c.open_catalog(str(data))
    assert c.open_video(str(data / "clips" / "hard001.mp4"))
    qtbot.waitUntil(lambda: c.catalog is not None and c.snapshot is not None
                    and c.snapshot.complete, timeout=180_000)
    busy = max(range(c.reader.frame_count), key=lambda f: len(c.detections_at(f)))
    c.show_frame(busy)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    tid = int(window.video.detections.tracker_id[0])
    c.select_track(tid)
    qtbot.waitUntil(lambda: tid in shown, timeout=60_000)
    assert window.panel.card.match is not None
    qtbot.waitUntil(lambda: any("AsymNet: the CPU device failed" in m for m in messages),
                    timeout=30_000)
