"""The player with its live engine: boxes from the analysis of the open video (not from a
file), analysed ranges on the seek bar, a click that shows the matched product, the analysis
cache, seeking and switching files mid-analysis, an injected engine fault, the QA tools and
the kiosk. Real clips, the real detector, a real catalogue, a real EngineThread."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtWidgets import QApplication

from engine.asymnet.model import DEFAULT_WEIGHTS
from engine.train.data import load_split

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")


def wait_until(qtbot, done, timeout_s: float = 90.0) -> None:
    qtbot.waitUntil(done, timeout=int(timeout_s * 1000))


@pytest.fixture(scope="module")
def clips(tiny_benchmark):
    data, _ = tiny_benchmark
    return data, [c.video for c in load_split(data, "all")]


class FlakyDetector:
    """The real detector with a fault injected: its first ``failures`` calls raise."""

    def __init__(self, failures: int) -> None:
        from engine.detect import create_detector

        self.inner = create_detector("garment", device="cpu")
        self.failures = failures

    def __getattr__(self, name):  # name, version, start_score... as the real one's
        return getattr(self.inner, name)

    def detect(self, frames):
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("injected detector fault")
        return self.inner.detect(frames)


def analysed_all(controller) -> bool:
    return controller.snapshot is not None and controller.snapshot.complete


def test_boxes_come_from_the_engine_and_the_seek_bar_shows_progress(live_player, clips, qtbot):
    _, videos = clips
    window, c = live_player()
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: analysed_all(c))
    assert c.window.controls.seek.analysed_fraction() == pytest.approx(1.0)
    assert len(c.snapshot.tracks) > 0
    # the frame on screen shows the engine's boxes for that very frame
    busy = max(range(c.reader.frame_count), key=lambda f: len(c.detections_at(f)))
    c.show_frame(busy)
    assert len(window.video.detections) == len(c.snapshot.index.detections_at(busy)) > 0
    assert "analysed" in window.engine_label.text()


def test_a_click_shows_the_matched_product_and_why(live_player, clips, qtbot):
    data, videos = clips
    window, c = live_player()
    c.open_catalog(str(data))
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: analysed_all(c) and c.catalog is not None)
    busy = max(range(c.reader.frame_count), key=lambda f: len(c.detections_at(f)))
    c.show_frame(busy)
    dets = window.video.detections
    x1, y1, x2, y2 = dets.xyxy[0]
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    tid = window.video.click_video_point((x1 + x2) / 2, (y1 + y2) / 2)
    assert tid >= 0
    wait_until(qtbot, lambda: tid in shown)
    matches = window.panel.shown_matches()
    assert matches and window.panel.card.match == matches[0]
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    strip = window.panel.evidence
    assert strip.isVisible() and strip.frames
    track = c.annotations.track(tid)
    assert all(track.first_frame <= f <= track.last_frame for f in strip.frames)
    # the products' timeline has this track, and clicking its item goes to its moment
    assert any(it.track_id == tid for it in window.timeline.items)


def test_reopening_a_video_shows_its_boxes_from_the_cache(live_player, clips, qtbot):
    _, videos = clips
    _, c = live_player()
    assert c.open_video(str(videos[1]))
    wait_until(qtbot, lambda: analysed_all(c))
    first = [(t.track_id, len(t.boxes)) for t in c.snapshot.tracks]
    assert c.open_video(str(videos[0]))  # another file, then back
    snapshots: list = []
    c.engine.snapshot_ready.connect(lambda gen, snap: snapshots.append((gen, snap)))
    assert c.open_video(str(videos[1]))
    # the controller's slot and this one are queued one after the other: wait for both
    wait_until(qtbot, lambda: analysed_all(c)
               and any(gen == c.video_generation for gen, _ in snapshots), 20)
    # read back from SQLite: the first results for the reopened video are already complete
    first_after = next(snap for gen, snap in snapshots if gen == c.video_generation)
    assert first_after.complete
    assert [(t.track_id, len(t.boxes)) for t in c.snapshot.tracks] == first


def test_seeking_around_and_switching_files_mid_analysis(live_player, clips, qtbot):
    _, videos = clips
    window, c = live_player()
    assert c.open_video(str(videos[2]))
    for frame in (90, 10, 60, 35, 80, 5, 50):  # a viewer jumping about
        c.transport.seek_frame(frame)
        qtbot.wait(40)
    assert c.open_video(str(videos[0]))  # mid-analysis
    c.transport.seek_frame(70)
    wait_until(qtbot, lambda: analysed_all(c))
    # the results are those of the file now open, none of the one left behind
    assert c.snapshot.frame_count == c.reader.frame_count
    for t in c.snapshot.tracks:
        assert t.last_frame < c.reader.frame_count
    window.controls.play_pause_requested.emit()  # it still plays
    qtbot.wait(200)
    c.transport.pause()


def test_an_engine_fault_reaches_the_status_bar_and_the_next_file_is_analysed(
        live_player, clips, qtbot):
    _, videos = clips
    window, c = live_player(detector_factory=lambda: FlakyDetector(failures=3))
    errors: list[str] = []
    c.engine.failed.connect(lambda gen, text: errors.append(text))
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: len(errors) >= 3)
    assert "injected detector fault" in errors[0]
    assert "analysis of this video stopped" in errors[-1]
    assert "Analysis error" in window.statusBar().currentMessage()
    assert c.open_video(str(videos[1]))  # the detector works again: analysed normally
    wait_until(qtbot, lambda: analysed_all(c))
    assert c.snapshot.tracks


def test_qa_exports_flags_goto_and_loop(live_player, clips, qtbot, tmp_path):
    data, videos = clips
    window, c = live_player()
    c.open_catalog(str(data))
    window.set_qa(True)
    assert window.track_dock.isVisibleTo(window)
    assert c.open_video(str(videos[0]))
    c.load_annotations(str(videos[0].with_suffix(".json")))  # ground truth beside the results
    wait_until(qtbot, lambda: analysed_all(c))
    assert window.track_list.count() == len(c.snapshot.tracks)
    c.goto_frame(40)
    assert c.index == 40 and window.video.frame_index == 40
    assert len(window.video.reference) == len(c.reference.detections_at(40))
    # export in the three formats
    for name in ("a.json", "a.txt", "a.xml"):
        assert c.qa.export_analysis(str(tmp_path / name))
    assert json.loads((tmp_path / "a.json").read_text())["tracks"]
    lines = (tmp_path / "a.txt").read_text().splitlines()
    assert len(lines) == sum(len(t.boxes) for t in c.snapshot.tracks)
    root = ET.parse(tmp_path / "a.xml").getroot()
    assert len(root.findall("track")) == len(c.snapshot.tracks)
    assert not c.qa.export_analysis(str(tmp_path / "a.doc"))  # a suffix it cannot write
    # flags: need a selection; then export as JSON
    assert not c.qa.flag("box", "no selection")
    track = c.snapshot.tracks[0]
    c.jump_to_track(track.track_id)
    assert c.index == track.first_frame
    assert c.qa.flag("box", "box too wide <b>")
    assert c.qa.export_flags(str(tmp_path / "flags.json"))
    flags = json.loads((tmp_path / "flags.json").read_text())["flags"]
    assert flags[0]["track_id"] == track.track_id and flags[0]["note"] == "box too wide <b>"
    # A-B loop
    c.goto_frame(20)
    c.qa.set_loop_point("a")
    c.goto_frame(50)
    c.qa.set_loop_point("b")
    assert c.qa.loop_range == (20, 50)
    assert window.controls.seek.marks == [20, 50]
    c.qa.set_loop_point("clear")
    assert c.qa.loop_range is None


def test_a_box_drawn_on_the_paused_frame_searches_the_catalogue(live_player, clips, qtbot):
    data, videos = clips
    window, c = live_player()
    c.open_catalog(str(data))
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: c.catalog is not None and c.snapshot is not None)
    c.show_frame(30)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    regions: list[tuple] = []
    window.video.region_selected.connect(lambda *r: regions.append(r))
    # drag with the mouse from one corner to the other of a region without a box
    from PySide6.QtCore import QPoint, Qt

    view = window.video
    rect = view.video_rect()
    a = QPoint(int(rect.left() + 5), int(rect.top() + 5))
    b = QPoint(int(rect.left() + rect.width() / 3), int(rect.top() + rect.height() / 2))
    if view.track_at(*view.widget_to_video(a.toPointF())) >= 0:
        pytest.skip("a box covers the corner")
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view, b)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
    assert regions
    wait_until(qtbot, lambda: -1 in shown)
    assert window.panel.shown_matches()
    assert "Your selection" in window.panel.title.text()


def test_kiosk_cycles_product_cards_without_pausing(live_player, clips, qtbot):
    data, videos = clips
    window, c = live_player()
    c.open_catalog(str(data))
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: analysed_all(c) and c.snapshot.matched == len(c.snapshot.tracks),
               120)
    busy = max(range(c.reader.frame_count), key=lambda f: len(c.detections_at(f)))
    c.show_frame(busy)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    c.kiosk.start(cycle_ms=100, idle_ms=300)
    wait_until(qtbot, lambda: len(shown) >= 2, 10)
    assert window.panel.card.match is not None
    # a visitor's input stops the cycling; after the idle time it comes back
    QApplication.instance().sendEvent(window, _key_event())
    assert not c.kiosk.cycling
    wait_until(qtbot, lambda: c.kiosk.cycling, 5)


def _key_event():
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier)


def test_matching_steps_send_their_tracks_not_whole_snapshots(live_player, clips, qtbot):
    """Once the boxes are done, each matching step sends only the tracks it matched; the
    player puts them into the snapshot it holds (the card, the timeline, the counts follow),
    and a whole snapshot closes the analysis."""
    data, videos = clips
    window, c = live_player()
    c.open_catalog(str(data))
    wait_until(qtbot, lambda: c.catalog is not None)
    sent: list[dict] = []
    seen_right: list[bool] = []

    def check(generation, results):  # queued after the controller's own slot
        if generation != c.video_generation:
            return
        sent.append(results)
        for tid, r in results.items():
            track = c.snapshot.index.track(tid)
            seen_right.append(track is not None and track.matches == r.matches
                              and (tid in c.snapshot.evidence) == bool(r.evidence))

    c.engine.tracks_matched.connect(check)
    assert c.open_video(str(videos[0]))
    wait_until(qtbot, lambda: analysed_all(c) and c.snapshot.matched == len(c.snapshot.tracks))
    assert sent and all(seen_right)
    matched = {tid for results in sent for tid, r in results.items() if r.matches}
    assert matched <= {it.track_id for it in window.timeline.items}
    assert f"{c.snapshot.matched} matched" in window.engine_label.text()
