import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from ui.boxes import track_color
from ui.timeline import ProductTimeline, TimelineItem, format_moment, rgb_to_qimage


def _thumb(h, w, rgb):
    a = np.zeros((h, w, 3), np.uint8)
    a[:] = rgb
    return a


def _timeline(qtbot, items, frames=1000, width=800):
    tl = ProductTimeline()
    qtbot.addWidget(tl)
    tl.resize(width, tl.height())
    tl.set_frame_count(frames)
    tl.set_fps(25.0)
    tl.set_items(items)
    tl.show()
    qtbot.waitExposed(tl)
    return tl


def _spread_items():
    return [
        TimelineItem(600, 3, "Red coat", _thumb(80, 60, (200, 30, 30))),
        TimelineItem(100, 1, "Blue dress", _thumb(120, 60, (30, 30, 200))),
        TimelineItem(350, 2, "Sneakers", None),
        TimelineItem(900, 4, "Wide scarf", _thumb(40, 160, (30, 180, 30))),
    ]


def test_format_moment():
    assert format_moment(0) == "0:00"
    assert format_moment(72.9) == "1:12"
    assert format_moment(3725) == "1:02:05"


def test_thumbnails_must_be_rgb_uint8():
    assert rgb_to_qimage(_thumb(4, 6, (1, 2, 3))).size().toTuple() == (6, 4)
    with pytest.raises(ValueError, match="float32"):
        rgb_to_qimage(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        rgb_to_qimage(np.zeros((4, 4), np.uint8))


def test_items_are_placed_in_frame_order_at_their_moment(qtbot):
    tl = _timeline(qtbot, _spread_items())
    assert [it.frame for it in tl.items] == [100, 350, 600, 900]
    rects = [tl.item_rect(i) for i in range(4)]
    assert all(not r.isEmpty() for r in rects)
    centres = [r.center().x() for r in rects]
    assert centres == sorted(centres)
    for it, r in zip(tl.items, rects, strict=True):
        if r.left() > 0 and r.right() < tl.width() - 2:  # not pushed in from an edge
            assert abs(r.center().x() - tl.x_of(it.frame)) < 1
    assert all(abs(r.height() - 40) < 1e-6 for r in rects)
    # 40 px high, aspect kept (60x80 -> 30 wide), within 24..72 px for very tall or wide crops
    assert [r.width() for r in rects] == [24, 32, 30, 72]


def test_a_click_on_an_item_emits_its_frame_and_track(qtbot):
    tl = _timeline(qtbot, _spread_items())
    for i, it in enumerate(tl.items):
        centre = tl.item_rect(i).center().toPoint()
        assert tl.item_at(centre.x(), centre.y()) is it
        with qtbot.waitSignal(tl.item_clicked) as clicked:
            qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=centre)
        assert clicked.args == [it.frame, it.track_id]


def test_a_click_on_the_empty_axis_seeks_to_the_frame_under_the_pointer(qtbot):
    tl = _timeline(qtbot, _spread_items())
    x = round(tl.x_of(800))
    y = round(tl.AXIS_Y)
    assert tl.item_at(x, y) is None
    items = []
    tl.item_clicked.connect(lambda *a: items.append(a))
    with qtbot.waitSignal(tl.seek_requested) as seek:
        qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert abs(seek.args[0] - 800) <= 2 and seek.args[0] == tl.frame_at(x)
    assert items == []


def test_tooltips_escape_catalogue_labels(qtbot):
    tl = _timeline(qtbot, [TimelineItem(250, 5, "<b>x</b> & co", None)])
    c = tl.item_rect(0).center()
    text = tl.tooltip_at(c.x(), c.y())
    assert "&lt;b&gt;x&lt;/b&gt; &amp; co" in text and "<b>x</b>" not in text
    assert "0:10" in text  # frame 250 at 25 fps
    assert tl.tooltip_at(tl.x_of(900), tl.AXIS_Y) == ""


def test_items_without_thumbnails_paint_a_placeholder_in_the_track_colour(qtbot):
    tl = _timeline(qtbot, [TimelineItem(500, 2, "sneakers", None)])
    image = tl.grab().toImage()
    r = tl.item_rect(0)
    # inside the placeholder, off the letter: the darkened track colour
    inside = QColor(image.pixel(round(r.left() + 4), round(r.bottom() - 4)))
    assert inside.name() == track_color(2).darker(170).name()
    # a thumbnail is drawn from its pixels
    tl.set_items([TimelineItem(500, 2, "coat", _thumb(40, 40, (10, 200, 10)))])
    image = tl.grab().toImage()
    px = QColor(image.pixel(tl.item_rect(0).center().toPoint()))
    assert px.green() > 150 and px.red() < 60


def test_overlapping_items_fold_under_a_badge_and_stay_reachable(qtbot):
    items = [TimelineItem(f, t, f"item {t}", None) for t, f in enumerate((500, 503, 506, 900))]
    tl = _timeline(qtbot, items)
    assert tl.item_rect(1).isEmpty() and tl.item_rect(2).isEmpty()
    assert tl.hidden_under(0) == [1, 2] and not tl.item_rect(3).isEmpty()
    badge = tl.badge_rect(0)
    assert not badge.isEmpty()
    assert "item 1" in tl.tooltip_at(badge.center().x(), badge.center().y())
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=badge.center().toPoint())
    menu = tl._menu
    assert menu is not None and menu.isVisible()
    actions = menu.actions()
    assert [a.text().split()[1] for a in actions] == ["0", "1", "2"]
    with qtbot.waitSignal(tl.item_clicked) as clicked:
        actions[2].trigger()
    assert clicked.args == [506, 2]
    menu.close()


def test_hover_highlights_and_selection_is_drawn(qtbot):
    tl = _timeline(qtbot, _spread_items())
    centre = tl.item_rect(1).center().toPoint()
    qtbot.mouseMove(tl, centre)
    qtbot.waitUntil(lambda: tl.hovered_index == 1)
    tl.set_selected(3)
    tl.set_position(600)
    assert tl.selected_track == 3 and tl.position == 600
    image = tl.grab().toImage()
    # the playhead crosses the empty space above the axis at its frame
    x = round(tl.x_of(600))
    assert QColor(image.pixel(x, round(tl.AXIS_Y) + 8)).red() > 200
