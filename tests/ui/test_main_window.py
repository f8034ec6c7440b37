"""The main window on its own (no controller): what it asks for when files are dropped, what
the QA keys emit, and the QA track list."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

import ui.main_window
from engine.types import Match, Track
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    return w


def drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.dropEvent(QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def recorder(signal):
    got = []
    signal.connect(lambda *a: got.append(a if len(a) != 1 else a[0]))
    return got


def test_a_video_and_its_annotations_dropped_together_open_both(window, tmp_path):
    opened, annotations = recorder(window.open_requested), recorder(window.annotations_requested)
    drop(window, [tmp_path / "labels.JSON", tmp_path / "clip one.mp4", tmp_path / "b.mkv"])
    assert opened == [str(tmp_path / "clip one.mp4")]  # the first video only
    assert annotations == [str(tmp_path / "labels.JSON")]
    drop(window, [tmp_path / "more.json"])  # annotations alone: no video is opened
    assert opened == [str(tmp_path / "clip one.mp4")]
    assert annotations[-1] == str(tmp_path / "more.json")


def press(window, key, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, key, modifier)


CTRL = Qt.KeyboardModifier.ControlModifier


def test_qa_keys(window, monkeypatch):
    toggled = recorder(window.qa_toggled)
    press(window, Qt.Key.Key_Q, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.qa and toggled == [True] and window.track_dock.isVisible()
    loops = recorder(window.loop_point_requested)
    press(window, Qt.Key.Key_BracketLeft, CTRL)
    press(window, Qt.Key.Key_BracketRight, CTRL)
    press(window, Qt.Key.Key_Backslash, CTRL)
    assert loops == ["a", "b", "clear"]

    window.controls.set_media(25.0, 250)
    asked = []
    monkeypatch.setattr(ui.main_window.QInputDialog, "getInt",
                        lambda *a: asked.append(a[2:]) or (123, True))
    frames = recorder(window.goto_frame_requested)
    press(window, Qt.Key.Key_G, CTRL)
    assert frames == [123] and asked == [("Frame (0–249):", 0, 0, 249)]

    monkeypatch.setattr(ui.main_window.QInputDialog, "getMultiLineText",
                        lambda *a: ("the box is on the chair", True))
    flags = recorder(window.flag_requested)
    press(window, Qt.Key.Key_B, CTRL)
    press(window, Qt.Key.Key_M, CTRL)
    assert flags == [("box", "the box is on the chair"), ("match", "the box is on the chair")]
    monkeypatch.setattr(ui.main_window.QInputDialog, "getMultiLineText", lambda *a: ("", False))
    press(window, Qt.Key.Key_B, CTRL)  # cancelled: nothing flagged
    assert len(flags) == 2

    press(window, Qt.Key.Key_Q, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert not window.qa and toggled == [True, False] and not window.track_dock.isVisible()


def track(tid, first, n, category="", score=0.8, matches=()):
    boxes = np.array([[first + i, 0, 0, 10, 10, score] for i in range(n)], float)
    return Track(tid, boxes, category=category, matches=list(matches))


def test_the_track_list_is_in_time_order_and_keeps_the_selection(window):
    window.set_qa(True)
    tracks = [track(7, 50, 25, "dress", 0.5, [Match("p00012", 0.91)]), track(3, 0, 50),
              track(9, 10, 5, "jeans")]
    window.set_tracks(tracks, 25.0)
    items = [window.track_list.item(i) for i in range(window.track_list.count())]
    assert [i.text() for i in items] == [
        "#3 garment  0–49 (2.0 s)  det 0.80",
        "#9 jeans  10–14 (0.2 s)  det 0.80",
        "#7 dress  50–74 (1.0 s)  det 0.50  match 0.91 p00012",
    ]
    activated = recorder(window.track_activated)
    window.track_list.setCurrentItem(items[2])
    window.track_list.itemActivated.emit(items[2])
    assert activated == [7]
    window.set_tracks([*tracks, track(1, 5, 3)], 25.0)  # the engine found one more
    assert window.track_list.count() == 4
    assert window.track_list.currentItem().data(Qt.ItemDataRole.UserRole) == 7


def test_tab_walks_the_boxes_of_a_paused_frame_and_enter_opens_one(window, qtbot):
    """Keyboard use (issue 18): Tab and Shift+Tab move from box to box in reading order (left
    to right), Enter opens the focused one's card (box_clicked), the accessible description
    names it; while playing, Tab is the ordinary focus key."""
    from PySide6.QtGui import QImage

    from engine.types import Detections

    video = window.video
    image = QImage(640, 360, QImage.Format.Format_RGB32)
    image.fill(0x202020)
    dets = Detections(xyxy=np.array([[400, 50, 500, 300], [20, 40, 120, 300],
                                     [200, 60, 300, 320]], np.float32),
                      confidence=np.array([0.9, 0.8, 0.7], np.float32),
                      tracker_id=np.array([7, 3, 5]),
                      data={"category": np.array(["coat", "dress", "jeans"])})
    video.set_frame(image, 10, dets)
    video.setFocus()
    qtbot.waitUntil(video.hasFocus)
    clicked = recorder(video.box_clicked)
    QTest.keyClick(video, Qt.Key.Key_Tab)
    assert video.focused_track == 3  # the leftmost first
    QTest.keyClick(video, Qt.Key.Key_Tab)
    assert video.focused_track == 5
    assert video.accessibleDescription().startswith("jeans #5, box 2 of 3")
    QTest.keyClick(video, Qt.Key.Key_Backtab)
    assert video.focused_track == 3
    QTest.keyClick(video, Qt.Key.Key_Return)
    assert clicked == [3] and video.selected_track == 3
    for _ in range(3):  # past the last box, focus leaves the video
        QTest.keyClick(video, Qt.Key.Key_Tab)
    assert video.focused_track == -1
    video.setFocus()
    video.set_playing(True)
    QTest.keyClick(video, Qt.Key.Key_Tab)
    assert video.focused_track == -1  # playing: the boxes move, Tab is for the controls


def test_controls_have_accessible_names(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QComboBox, QScrollBar

    widgets = [w for w in window.controls.findChildren(QAbstractButton)
               + window.controls.findChildren(QAbstractSlider)
               + window.controls.findChildren(QComboBox)
               if not isinstance(w, QScrollBar)]  # the speed list's own, inside its popup
    assert len(widgets) >= 8
    assert all(w.accessibleName() for w in widgets), [w for w in widgets
                                                      if not w.accessibleName()]
    assert window.video.accessibleName() == "Video"
    assert window.panel.card.buy.accessibleName().startswith("Buy")
