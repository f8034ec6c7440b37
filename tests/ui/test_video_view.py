import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage

from engine.types import Detections
from ui.boxes import hit_test, track_color
from ui.video_view import VideoView


def test_hit_test_prefers_the_smallest_box_under_the_point():
    xyxy = np.array([[0, 0, 100, 200], [10, 10, 60, 80], [200, 0, 220, 20]], np.float32)
    assert hit_test(xyxy, 30, 30) == 1  # inside the shirt and the full-length box
    assert hit_test(xyxy, 80, 150) == 0
    assert hit_test(xyxy, 150, 150) == -1
    assert hit_test(xyxy, 221, 10) == -1
    assert hit_test(xyxy, 221, 10, margin=2) == 2
    assert hit_test(np.zeros((0, 4), np.float32), 1, 1) == -1


def _view(qtbot, size=(800, 600)):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    image = QImage(640, 360, QImage.Format.Format_RGB32)
    image.fill(QColor(40, 40, 40))
    dets = Detections(
        xyxy=[[100, 100, 200, 300], [120, 120, 180, 200], [400, 50, 500, 150]],
        tracker_id=[7, 8, 9],
        data={"category": np.array(["dress", "top", "coat"], dtype=object)},
    )
    view.set_frame(image, 42, dets)
    return view


def test_letterboxing_maps_video_pixels_both_ways(qtbot):
    view = _view(qtbot)
    rect = view.video_rect()  # 800x600 widget, 16:9 video: bars above and below
    assert rect.width() == 800 and abs(rect.height() - 450) < 1e-6 and rect.y() == 75
    p = view.video_to_widget(320, 180)
    assert (p.x(), p.y()) == (400, 300)
    assert view.widget_to_video(QPointF(400, 300)) == (320, 180)
    assert view.widget_to_video(QPointF(400, 20)) is None  # on the black bar


def test_hover_highlights_and_click_emits_the_track(qtbot):
    view = _view(qtbot)
    inner = view.video_to_widget(150, 160).toPoint()  # inside 7 and 8: 8 is smaller
    with qtbot.waitSignal(view.hovered_track_changed) as hovered:
        qtbot.mouseMove(view, inner)
    assert hovered.args == [8] and view.hovered_track == 8
    with qtbot.waitSignal(view.box_clicked) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=inner)
    assert clicked.args == [8]
    outer = view.video_to_widget(110, 280).toPoint()
    with qtbot.waitSignal(view.box_clicked) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=outer)
    assert clicked.args == [7]
    with qtbot.waitSignal(view.background_clicked):
        qtbot.mouseClick(
            view, Qt.MouseButton.LeftButton, pos=view.video_to_widget(600, 300).toPoint()
        )


def test_the_painted_overlay_sits_on_the_box(qtbot):
    view = _view(qtbot)
    grab = view.grab().toImage()
    # the left edge of box 9 (x=400 video px) is drawn in the track's colour
    edge = view.video_to_widget(400, 100).toPoint()
    assert QColor(grab.pixel(edge)).name() == track_color(9).name()
    # between boxes the frame shows through
    assert QColor(grab.pixel(view.video_to_widget(300, 330).toPoint())).name() == "#282828"


def test_messages_are_drawn_over_the_video(qtbot):
    view = _view(qtbot)
    view.set_message("Cannot open x.mp4")
    assert view.message == "Cannot open x.mp4"
    center = view.grab().toImage().pixel(QPoint(400, 300))
    assert QColor(center).red() > 100  # the red error panel


def test_dropping_files_emits_their_paths(qtbot, tmp_path):
    view = _view(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a b.mp4"))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(view.files_dropped) as dropped:
        view.dropEvent(event)
    assert dropped.args == [[str(tmp_path / "a b.mp4")]]
