import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from ui.evidence_strip import DECIDING_COLOR, EvidenceStrip


def _crop(rgb, h=112, w=56):
    a = np.zeros((h, w, 3), np.uint8)
    a[:] = rgb
    return a


def _strip(qtbot, evidence, width=600):
    strip = EvidenceStrip()
    qtbot.addWidget(strip)
    strip.resize(width, strip.height())
    strip.set_evidence(evidence)
    qtbot.waitExposed(strip)
    return strip


EVIDENCE = [
    (120, 0.2, _crop((200, 40, 40))),
    (40, 0.5, _crop((40, 200, 40))),
    (300, 1.5, _crop((40, 40, 200))),
    (210, 0.0, _crop((200, 200, 40))),
]


def test_starts_hidden_shows_with_evidence_and_hides_on_clear(qtbot):
    strip = EvidenceStrip()
    qtbot.addWidget(strip)
    assert strip.isHidden()
    strip.set_evidence(EVIDENCE)
    assert strip.isVisible() and strip.height() > 56
    assert strip.sizeHint().height() == strip.height()
    strip.clear()
    assert strip.isHidden() and strip.thumb_rects() == [] and strip.deciding_frame == -1
    strip.set_evidence(EVIDENCE)
    strip.set_evidence([])
    assert strip.isHidden()


def test_thumbnails_are_in_time_order_and_the_heaviest_is_outlined(qtbot):
    strip = _strip(qtbot, EVIDENCE)
    rects = strip.thumb_rects()
    assert [f for f, _ in rects] == [40, 120, 210, 300]
    lefts = [r.left() for _, r in rects]
    assert lefts == sorted(lefts)
    assert all(abs(r.height() - 56) < 1e-6 for _, r in rects)
    assert strip.deciding_frame == 300
    image = strip.grab().toImage()

    def left_edge(rect):
        return QColor(image.pixel(round(rect.left()), round(rect.center().y())))

    outline = left_edge(rects[3][1])
    assert abs(outline.red() - DECIDING_COLOR.red()) < 40 and outline.green() < 140
    for _, r in rects[:3]:
        assert left_edge(r).name() != outline.name()
    # each crop is painted from its pixels
    assert QColor(image.pixel(rects[0][1].center().toPoint())).green() > 150


def test_bars_grow_with_the_weight(qtbot):
    strip = _strip(qtbot, EVIDENCE)
    image = strip.grab().toImage()
    rects = dict(strip.thumb_rects())
    bar_top = rects[40].bottom() + 4  # where the tallest bar starts

    def lit(frame):  # how many bar pixels are drawn in that column under the thumbnail
        x = round(rects[frame].center().x())
        bg = QColor(image.pixel(x, strip.height() - 1))
        return sum(
            QColor(image.pixel(x, y)) != bg for y in range(round(bar_top), strip.height() - 1)
        )

    assert lit(300) > lit(40) > lit(120) >= lit(210) > 0


def test_tooltip_and_click_name_the_frame(qtbot):
    strip = _strip(qtbot, EVIDENCE)
    for frame, rect in strip.thumb_rects():
        with qtbot.waitSignal(strip.frame_clicked) as clicked:
            qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
        assert clicked.args == [frame]
    rect = dict(strip.thumb_rects())[40]
    assert strip.tooltip_at(rect.center().x(), rect.center().y()) == "frame 40 — weight 23%"
    assert strip.tooltip_at(2, 2) == ""
    seen = []
    strip.frame_clicked.connect(seen.append)
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # the caption
    assert seen == []


def test_more_frames_than_fit_keeps_the_heaviest_in_time_order(qtbot):
    weights = [0.1, 0.9, 0.3, 0.8, 0.2, 1.0, 0.05, 0.7]
    evidence = [(i * 10, w, _crop((100, 100, 100))) for i, w in enumerate(weights)]
    # crops are 56x112, so thumbnails are 28 px wide: 4 fit in 8 + 4*28 + 3*6 + 8 = 146 px
    strip = _strip(qtbot, evidence, width=150)
    frames = [f for f, _ in strip.thumb_rects()]
    assert frames == [10, 30, 50, 70]  # weights 0.9, 0.8, 1.0, 0.7, in time order
    assert strip.frames == [i * 10 for i in range(8)]
    assert strip.sizeHint().width() > strip.width()
    strip.resize(800, strip.height())
    assert [f for f, _ in strip.thumb_rects()] == strip.frames


def test_bad_weights_are_refused(qtbot):
    strip = EvidenceStrip()
    qtbot.addWidget(strip)
    with pytest.raises(ValueError, match="-1"):
        strip.set_evidence([(0, -1.0, _crop((0, 0, 0)))])
    with pytest.raises(ValueError, match="nan"):
        strip.set_evidence([(0, float("nan"), _crop((0, 0, 0)))])
