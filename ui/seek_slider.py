"""The seek bar: a QSlider over frame indices that also shows how far the analysis has got.

It is a drop-in replacement for the plain ``QSlider`` in ``ControlBar``: values are frame indices
(``setRange(0, frame_count - 1)``) and it emits the usual ``valueChanged``, ``sliderPressed``,
``sliderMoved`` and ``sliderReleased``. On top of that it paints the frame ranges the background
engine has already analysed as a translucent band along the groove, like the "buffered" band of
a web player, and small tick marks (A-B loop points). A click anywhere on the groove jumps there
instead of stepping a page, because viewers aim at a moment, not at a direction.

The slider repaints many times a second during playback, so ranges are merged once in
``set_analysed`` and painting only walks the merged list.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QRegion
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget

ANALYSED_COLOR = QColor(64, 196, 160, 120)  # translucent teal: progress, not position
MARK_COLOR = QColor(255, 196, 64)


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ranges [a, b) sorted and merged where they overlap or touch; empty ones go."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted((int(a), int(b)) for a, b in ranges if b > a):
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


class SeekSlider(QSlider):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._frame_count = 0  # 0: derive from the slider's range
        self._analysed: list[tuple[int, int]] = []
        self._marks: list[int] = []
        self._jump_drag = False  # a press off the handle jumped there and now drags

    # --- state in ---------------------------------------------------------------------------
    def set_frame_count(self, n: int) -> None:
        """Frames in the video: the scale of the analysed band. The slider's range (the values
        it emits) stays what ``setRange`` set; until this is called it is ``maximum() + 1``."""
        if n < 0:
            raise ValueError(f"frame count must be >= 0, got {n}")
        self._frame_count = int(n)
        self.update()

    def set_analysed(self, ranges: list[tuple[int, int]]) -> None:
        """Half-open frame ranges [a, b) the background engine has analysed so far."""
        self._analysed = merge_ranges(ranges)
        self.update()

    def set_marks(self, frames: list[int]) -> None:
        """Frames marked with a small tick (A-B loop points); an empty list removes them."""
        self._marks = sorted({int(f) for f in frames})
        self.update()

    # --- state out --------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        if self._frame_count:
            return self._frame_count
        span = self.maximum() - self.minimum()
        return span + 1 if span > 0 else 0

    @property
    def analysed(self) -> list[tuple[int, int]]:
        return list(self._analysed)

    @property
    def marks(self) -> list[int]:
        return list(self._marks)

    def analysed_fraction(self) -> float:
        """Share of the video analysed, 0.0 to 1.0 (ranges past the end are clipped)."""
        n = self.frame_count
        if n <= 0:
            return 0.0
        done = sum(max(0, min(b, n) - max(a, 0)) for a, b in self._analysed)
        return min(1.0, done / n)

    # --- geometry ---------------------------------------------------------------------------
    def _option(self) -> QStyleOptionSlider:
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        return opt

    def _sub_rect(self, opt: QStyleOptionSlider, control: QStyle.SubControl) -> QRect:
        return self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt, control, self)

    def _track(self, opt: QStyleOptionSlider) -> tuple[float, int]:
        """(x of the handle centre at the minimum, pixels the centre can travel)."""
        groove = self._sub_rect(opt, QStyle.SubControl.SC_SliderGroove)
        handle = self._sub_rect(opt, QStyle.SubControl.SC_SliderHandle)
        return groove.x() + handle.width() / 2, max(1, groove.width() - handle.width())

    def value_at(self, x: float) -> int:
        """The value whose handle centre is nearest widget x (what a click there selects)."""
        opt = self._option()
        x0, span = self._track(opt)
        pos = max(0, min(span, round(x - x0)))
        return QStyle.sliderValueFromPosition(
            self.minimum(), self.maximum(), pos, span, opt.upsideDown
        )

    def x_of(self, value: int, opt: QStyleOptionSlider | None = None) -> float:
        """Widget x of the handle's centre at ``value``."""
        opt = opt or self._option()
        x0, span = self._track(opt)
        return x0 + QStyle.sliderPositionFromValue(
            self.minimum(), self.maximum(), value, span, opt.upsideDown
        )

    def _band_rect(self, groove: QRect) -> QRectF:
        """The strip along the groove the analysed band is drawn in."""
        h = max(4.0, min(8.0, groove.height() * 0.6))
        return QRectF(groove.x(), groove.center().y() + 0.5 - h / 2, groove.width(), h)

    # --- painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        """The style paints the slider in one go, then the band and the marks go over the groove
        with the handle clipped out, so the handle stays on top. (Painting groove and handle in
        two style calls would not do: a style sheet repaints the background on each call.)"""
        super().paintEvent(event)
        p = QPainter(self)
        try:  # a painter left active by an exception takes the process down with it
            self._paint_overlay(p)
        finally:
            p.end()

    def _paint_overlay(self, p: QPainter) -> None:
        n = self.frame_count
        if not (self._analysed and n > 0) and not self._marks:
            return
        opt = self._option()
        groove = self._sub_rect(opt, QStyle.SubControl.SC_SliderGroove)
        handle = self._sub_rect(opt, QStyle.SubControl.SC_SliderHandle)
        p.setClipRegion(QRegion(self.rect()).subtracted(QRegion(handle)))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._analysed and n > 0:
            band = self._band_rect(groove)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(ANALYSED_COLOR)
            radius = band.height() / 2
            for a, b in self._analysed:
                x1 = band.x() + band.width() * max(0, a) / n
                x2 = band.x() + band.width() * min(n, b) / n
                if x2 > x1:
                    # at least a pixel wide, so that a single analysed frame still shows
                    p.drawRoundedRect(
                        QRectF(x1, band.y(), max(1.0, x2 - x1), band.height()), radius, radius
                    )
        if self._marks:
            p.setPen(QPen(MARK_COLOR, 2.0))
            top, bottom = groove.top() - 3.0, groove.bottom() + 4.0
            for frame in self._marks:
                if self.minimum() <= frame <= self.maximum():
                    x = self.x_of(frame, opt)
                    p.drawLine(QPointF(x, top), QPointF(x, bottom))

    # --- input ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A left press off the handle jumps there and keeps dragging from there; a press on the
        handle drags it as usual (no jump by the pointer's offset)."""
        if (
            event.button() == Qt.MouseButton.LeftButton
            and self.isEnabled()
            and self.maximum() > self.minimum()
            and not self._sub_rect(self._option(), QStyle.SubControl.SC_SliderHandle).contains(
                event.position().toPoint()
            )
        ):
            self._jump_drag = True
            self.setSliderDown(True)  # sliderPressed
            self.setSliderPosition(self.value_at(event.position().x()))  # sliderMoved, valueChanged
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._jump_drag:
            self.setSliderPosition(self.value_at(event.position().x()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._jump_drag and event.button() == Qt.MouseButton.LeftButton:
            self._jump_drag = False
            self.setSliderDown(False)  # sliderReleased
            event.accept()
            return
        super().mouseReleaseEvent(event)
