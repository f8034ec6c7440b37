from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from ui.seek_slider import SeekSlider, merge_ranges


def _slider(qtbot, frames=1000, width=600):
    slider = SeekSlider()
    qtbot.addWidget(slider)
    slider.setRange(0, frames - 1)  # as ControlBar.set_media does
    slider.set_frame_count(frames)
    slider.resize(width, 30)
    slider.show()
    qtbot.waitExposed(slider)
    return slider


def test_ranges_are_sorted_merged_and_empty_ones_dropped():
    assert merge_ranges([(50, 60), (0, 10), (10, 20), (15, 18), (30, 30), (40, 35)]) == [
        (0, 20),
        (50, 60),
    ]
    assert merge_ranges([(0, 5), (3, 9), (9, 12)]) == [(0, 12)]
    assert merge_ranges([]) == []


def test_analysed_fraction_counts_merged_frames_within_the_video(qtbot):
    slider = _slider(qtbot)
    assert slider.analysed_fraction() == 0.0
    slider.set_analysed([(0, 100), (50, 250), (900, 1200)])  # overlap, and past the end
    assert slider.analysed == [(0, 250), (900, 1200)]
    assert slider.analysed_fraction() == (250 + 100) / 1000
    slider.set_analysed([(0, 1000)])
    assert slider.analysed_fraction() == 1.0


def test_frame_count_defaults_to_the_slider_range(qtbot):
    slider = SeekSlider()
    qtbot.addWidget(slider)
    slider.setRange(0, 199)
    slider.set_analysed([(0, 50)])
    assert slider.frame_count == 200 and slider.analysed_fraction() == 0.25


def test_the_analysed_band_is_painted_along_the_groove(qtbot):
    slider = _slider(qtbot)
    slider.setValue(0)
    before = slider.grab().toImage()
    slider.set_analysed([(400, 700)])
    after = slider.grab().toImage()
    y = slider.height() // 2
    inside = QPoint(round(slider.x_of(550)), y)
    outside = QPoint(round(slider.x_of(850)), y)
    assert QColor(after.pixel(inside)) != QColor(after.pixel(outside))
    assert QColor(after.pixel(inside)) != QColor(before.pixel(inside))
    assert QColor(after.pixel(outside)) == QColor(before.pixel(outside))


def test_marks_paint_and_keep_the_handle_on_top(qtbot):
    slider = _slider(qtbot)
    slider.setValue(200)
    before = slider.grab().toImage()
    slider.set_marks([700, 200, 200])
    assert slider.marks == [200, 700]
    after = slider.grab().toImage()
    x, y = round(slider.x_of(700)), slider.height() // 2
    tick = QColor(after.pixel(x, y))
    assert tick != QColor(before.pixel(x, y))
    assert tick.red() > 200 and tick.blue() < 150  # the amber tick
    # the mark under the handle is covered by it
    hx = round(slider.x_of(200))
    assert QColor(after.pixel(hx, y)) == QColor(before.pixel(hx, y))


def test_a_click_on_the_groove_jumps_there_and_emits_the_slider_signals(qtbot):
    slider = _slider(qtbot)
    slider.setPageStep(10)
    seen, pressed, released = [], [], []
    slider.valueChanged.connect(seen.append)
    slider.sliderPressed.connect(lambda: pressed.append(True))
    slider.sliderReleased.connect(lambda: released.append(True))
    target = QPoint(round(slider.x_of(750)), slider.height() // 2)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=target)
    assert abs(slider.value() - 750) <= 2  # straight there, not one page step
    assert seen == [slider.value()] and pressed == [True] and released == [True]
    assert not slider.isSliderDown()
    # and back again, to the left of the handle
    qtbot.mouseClick(
        slider, Qt.MouseButton.LeftButton, pos=QPoint(round(slider.x_of(100)), slider.height() // 2)
    )
    assert abs(slider.value() - 100) <= 2


def test_a_jump_keeps_dragging_until_release(qtbot):
    slider = _slider(qtbot)
    y = slider.height() // 2
    moved = []
    slider.sliderMoved.connect(moved.append)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(round(slider.x_of(300)), y))
    assert slider.isSliderDown()
    qtbot.mouseMove(slider, QPoint(round(slider.x_of(600)), y))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(round(slider.x_of(600)), y))
    assert abs(slider.value() - 600) <= 2 and not slider.isSliderDown()
    assert len(moved) >= 2
