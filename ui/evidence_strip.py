"""Why this match: the frames of a trajectory that the similarity tree leaned on.

The matcher gates each frame of a trajectory (a blurred or occluded crop gets little say); this
strip shows those crops in time order, each with a bar for its weight (normalised to the largest)
and the deciding frame outlined, so a viewer who doubts a match can see what it rests on and click
a frame to seek there. When more frames arrive than fit, the heaviest ones that fit are kept, and
shown in time order.

Like every widget here it only shows state (``set_evidence``, ``clear``) and emits intent
(``frame_clicked``). Empty, it hides itself so that it takes no room.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui.i18n import tr
from ui.timeline import BACKGROUND, rgb_to_qimage

CAPTION_COLOR = QColor(200, 200, 210)
BORDER_COLOR = QColor(70, 70, 82)
BAR_COLOR = QColor(64, 196, 160)
DECIDING_COLOR = QColor(255, 80, 0)  # the outline of the heaviest frame
CAPTION = "Why: the deciding frames"


class EvidenceStrip(QWidget):
    frame_clicked = Signal(int)  # frame index: the player seeks there

    MARGIN = 8.0
    CAPTION_HEIGHT = 16.0
    THUMB_TOP = 28.0
    THUMB_HEIGHT = 56.0
    THUMB_MIN_WIDTH = 28.0
    THUMB_MAX_WIDTH = 100.0
    GAP = 6.0
    BAR_MAX = 10.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFixedHeight(int(self.THUMB_TOP + self.THUMB_HEIGHT + 4 + self.BAR_MAX + 6))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._frames: list[int] = []  # in time order
        self._weights: list[float] = []  # normalised to the largest, 0..1
        self._shares: list[float] = []  # share of the total weight, 0..1
        self._images: list[QImage] = []
        self._widths: list[float] = []
        self._top = -1  # index of the heaviest frame
        self._hover = -1
        self._shown: list[tuple[int, QRectF]] = []  # (index into _frames, rect), time order
        self._layout_width = -1
        self.setVisible(False)

    # --- state in ---------------------------------------------------------------------------
    def set_evidence(self, frames: list[tuple[int, float, np.ndarray]]) -> None:
        """(frame index, weight >= 0, RGB uint8 crop (H, W, 3)) per frame; an empty list clears."""
        if not frames:
            self.clear()
            return
        rows = []
        for frame, weight, crop in frames:
            w = float(weight)
            if not math.isfinite(w) or w < 0:
                raise ValueError(f"evidence weight must be finite and >= 0, got {weight!r}")
            rows.append((int(frame), w, crop))
        rows.sort(key=lambda r: r[0])
        dpr = max(1.0, self.devicePixelRatioF())
        images = []
        for _, _, crop in rows:
            # converted and scaled once: crops can be large and painting happens often
            image = rgb_to_qimage(crop).scaledToHeight(
                max(1, round(self.THUMB_HEIGHT * dpr)), Qt.TransformationMode.SmoothTransformation
            )
            image.setDevicePixelRatio(dpr)
            images.append(image)
        top_weight = max(w for _, w, _ in rows)
        total = sum(w for _, w, _ in rows)
        self._frames = [f for f, _, _ in rows]
        self._weights = [w / top_weight if top_weight > 0 else 0.0 for _, w, _ in rows]
        self._shares = [w / total if total > 0 else 0.0 for _, w, _ in rows]
        self._images = images
        self._widths = [self._thumb_width(image) for image in images]
        # the heaviest; the earliest of equals, so the choice is stable
        self._top = max(range(len(rows)), key=lambda i: (rows[i][1], -i))
        self._hover = -1
        self._layout_width = -1
        self.updateGeometry()
        self.setVisible(True)
        self.update()

    def clear(self) -> None:
        self._frames, self._weights, self._shares = [], [], []
        self._images, self._widths, self._shown = [], [], []
        self._top = self._hover = -1
        self._layout_width = -1
        self.setVisible(False)

    # --- state out --------------------------------------------------------------------------
    @property
    def frames(self) -> list[int]:
        """Every frame given, in time order (shown or not)."""
        return list(self._frames)

    @property
    def deciding_frame(self) -> int:
        """The heaviest frame (the outlined one), or -1 when empty."""
        return self._frames[self._top] if self._top >= 0 else -1

    def thumb_rects(self) -> list[tuple[int, QRectF]]:
        """(frame, rect) of each thumbnail drawn, in time order."""
        self._ensure_layout()
        return [(self._frames[i], QRectF(r)) for i, r in self._shown]

    def tooltip_at(self, x: float, y: float) -> str:
        i = self._index_at(x, y)
        if i < 0:
            return ""
        return tr("frame {f} — weight {w}%").format(f=self._frames[i],
                                                    w=f"{self._shares[i] * 100:.0f}")

    def sizeHint(self) -> QSize:
        width = sum(self._widths) + self.GAP * max(0, len(self._widths) - 1) + 2 * self.MARGIN
        return QSize(max(240, math.ceil(width)), self.height())

    def minimumSizeHint(self) -> QSize:
        widest = max(self._widths, default=self.THUMB_MIN_WIDTH)
        return QSize(math.ceil(widest + 2 * self.MARGIN), self.height())

    # --- geometry ---------------------------------------------------------------------------
    def _thumb_width(self, image: QImage) -> float:
        size = image.deviceIndependentSize()
        aspect = size.width() / max(1.0, size.height())
        return max(self.THUMB_MIN_WIDTH, min(self.THUMB_MAX_WIDTH, self.THUMB_HEIGHT * aspect))

    def _ensure_layout(self) -> None:
        if self._layout_width == self.width():
            return
        self._layout_width = self.width()
        room = self.width() - 2 * self.MARGIN
        by_weight = sorted(range(len(self._frames)), key=lambda i: (-self._weights[i], i))
        chosen: list[int] = []
        used = 0.0
        for i in by_weight:
            need = self._widths[i] + (self.GAP if chosen else 0.0)
            if chosen and used + need > room:
                break  # the heaviest ones that fit, not a lighter one squeezed in after a gap
            chosen.append(i)
            used += need
        x = self.MARGIN
        self._shown = []
        for i in sorted(chosen):  # _frames is in time order, so index order is time order
            self._shown.append((i, QRectF(x, self.THUMB_TOP, self._widths[i], self.THUMB_HEIGHT)))
            x += self._widths[i] + self.GAP

    def _index_at(self, x: float, y: float) -> int:
        self._ensure_layout()
        p = QPointF(x, y)
        for i, r in self._shown:
            # the bar under a thumbnail belongs to it too
            if r.adjusted(0, 0, 0, 4 + self.BAR_MAX).contains(p):
                return i
        return -1

    # --- painting ---------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout_width = -1
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:  # a painter left active by an exception takes the process down with it
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), BACKGROUND)
        if not self._frames:
            return
        self._ensure_layout()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        font = QFont(self.font())
        font.setPixelSize(12)
        p.setFont(font)
        line = QRectF(self.MARGIN, 6, self.width() - 2 * self.MARGIN, self.CAPTION_HEIGHT)
        fm = QFontMetricsF(font)
        if len(self._shown) < len(self._frames):
            # the count stays whole at the right; the caption gives way to it
            count = tr("top {k} of {n}").format(k=len(self._shown), n=len(self._frames))
            p.setPen(QColor(130, 130, 142))
            p.drawText(line, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, count)
            line.setWidth(max(0.0, line.width() - fm.horizontalAdvance(count) - 10))
        p.setPen(CAPTION_COLOR)
        caption = fm.elidedText(tr("Why: the deciding frames"), Qt.TextElideMode.ElideRight,
                                line.width())
        p.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption)
        baseline = self.THUMB_TOP + self.THUMB_HEIGHT + 4 + self.BAR_MAX
        for i, r in self._shown:
            self._paint_thumb(p, i, r, baseline)

    def _paint_thumb(self, p: QPainter, i: int, r: QRectF, baseline: float) -> None:
        clip = QPainterPath()
        clip.addRoundedRect(r, 4, 4)
        p.save()
        p.setClipPath(clip)
        p.fillRect(r, QColor(30, 30, 36))
        image = self._images[i]
        size = image.deviceIndependentSize()
        scale = min(r.width() / size.width(), r.height() / size.height())
        w, h = size.width() * scale, size.height() * scale
        p.drawImage(QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h), image)
        p.restore()
        p.setBrush(Qt.BrushStyle.NoBrush)
        if i == self._top:
            p.setPen(QPen(DECIDING_COLOR, 2.5))
        elif i == self._hover:
            p.setPen(QPen(QColor(235, 235, 240), 2.0))
        else:
            p.setPen(QPen(BORDER_COLOR, 1.0))
        p.drawRoundedRect(r, 4, 4)
        # the weight: a bar standing on a common baseline, taller and more opaque when heavier
        weight = self._weights[i]
        bar = QColor(DECIDING_COLOR if i == self._top else BAR_COLOR)
        bar.setAlpha(round(80 + 175 * weight))
        height = 2.0 + (self.BAR_MAX - 2.0) * weight
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bar)
        p.drawRoundedRect(QRectF(r.x() + 3, baseline - height, r.width() - 6, height), 1.5, 1.5)

    # --- input ------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos().x(), event.pos().y())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        i = self._index_at(event.position().x(), event.position().y())
        if i != self._hover:
            self._hover = i
            self.setCursor(
                Qt.CursorShape.PointingHandCursor if i >= 0 else Qt.CursorShape.ArrowCursor
            )
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._hover != -1:
            self._hover = -1
            self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        i = self._index_at(event.position().x(), event.position().y())
        if i >= 0:
            self.frame_clicked.emit(self._frames[i])
