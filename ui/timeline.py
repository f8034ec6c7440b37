"""The product timeline: a strip under the video with each product at the moment it appears.

Shoppable players put hotspot markers on the time line so that a viewer can jump to "the coat at
1:12" without scrubbing. Here every ``TimelineItem`` is a small thumbnail standing on a thin time
axis at x proportional to its frame. Where thumbnails would overlap, the earliest stays and
carries a "+N" badge; a click on the badge lists the hidden ones in a menu, so every item stays
reachable, and each item keeps its own tick on the axis at its exact frame.

The widget only shows state and emits intent: ``item_clicked(frame, track_id)`` and
``seek_requested(frame)``. Thumbnails are converted (and copied) to ``QImage`` once in
``set_items``; painting reuses them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from ui.boxes import track_color

BACKGROUND = QColor(18, 18, 22)
AXIS_COLOR = QColor(90, 90, 104)
TEXT_COLOR = QColor(225, 225, 232)
PLAYHEAD_COLOR = QColor(255, 80, 0)


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value; identity is equality
class TimelineItem:
    """One product at one moment: ``thumbnail`` is RGB uint8 (H, W, 3), or None."""

    frame: int
    track_id: int
    label: str
    thumbnail: np.ndarray | None = None


def format_moment(seconds: float) -> str:
    """m:ss, or h:mm:ss past an hour: how shopping players print a hotspot's time."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def rgb_to_qimage(array: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns a copy of the pixels."""
    a = np.asarray(array)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"expected an RGB uint8 array of shape (H, W, 3), got {a.dtype} {a.shape}")
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ProductTimeline(QWidget):
    item_clicked = Signal(int, int)  # frame, track id
    seek_requested = Signal(int)  # frame under a click on the empty axis

    MARGIN = 10.0  # frame 0 and the last frame sit this far from the edges
    THUMB_TOP = 7.0
    THUMB_HEIGHT = 40.0
    THUMB_MIN_WIDTH = 24.0
    THUMB_MAX_WIDTH = 72.0
    AXIS_Y = 58.0
    GAP = 3.0  # thumbnails closer than this join the one before them under a "+N" badge

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFixedHeight(68)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._frame_count = 0
        self._fps = 25.0
        self._position = -1
        self._selected = -1
        self._hover = -1  # index into items, or -1
        self._items: list[TimelineItem] = []
        self._images: list[QImage | None] = []
        # layout, rebuilt when the items, the frame count or the width change
        self._rects: list[QRectF] = []  # empty for an item hidden under a badge
        self._hidden: dict[int, list[int]] = {}  # shown item -> the items under its badge
        self._layout_width = -1
        self._menu: QMenu | None = None
        self._clip: QRectF | None = None  # the part being repainted (None: all of it)

    # --- state in ---------------------------------------------------------------------------
    def set_frame_count(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"frame count must be >= 0, got {n}")
        self._frame_count = int(n)
        self._invalidate()

    def set_fps(self, fps: float) -> None:
        """Frames per second, for the times in tooltips and menus."""
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self._fps = float(fps)

    def set_items(self, items: list[TimelineItem]) -> None:
        """The products and their moments; kept sorted by frame (``items`` shows that order)."""
        ordered = sorted(items, key=lambda it: (it.frame, it.track_id))
        images = []
        for it in ordered:
            if it.thumbnail is None:
                images.append(None)
                continue
            image = rgb_to_qimage(it.thumbnail)
            # scaled once, at the screen's pixel density, so painting never resamples big crops
            dpr = max(1.0, self.devicePixelRatioF())
            image = image.scaledToHeight(
                max(1, round(self.THUMB_HEIGHT * dpr)), Qt.TransformationMode.SmoothTransformation
            )
            image.setDevicePixelRatio(dpr)
            images.append(image)
        self._items, self._images = ordered, images
        self._hover = -1
        self._invalidate()

    def set_position(self, frame: int) -> None:
        """Where the playhead is; -1 hides it."""
        if frame == self._position:
            return
        old = self._position
        self._position = int(frame)
        if self._frame_count <= 0 or old < 0 or frame < 0:
            self.update()
            return
        # during playback only the strip the playhead moved over is repainted
        x0, x1 = self.x_of(old), self.x_of(frame)
        if round(x0) != round(x1):
            left, right = min(x0, x1), max(x0, x1)
            self.update(QRect(int(left) - 8, 0, int(right - left) + 17, self.height()))

    def set_selected(self, track_id: int) -> None:
        """The track shown in the product panel, outlined here; -1 for none."""
        if track_id != self._selected:
            self._selected = int(track_id)
            self.update()

    # --- state out --------------------------------------------------------------------------
    @property
    def items(self) -> list[TimelineItem]:
        return list(self._items)

    @property
    def position(self) -> int:
        return self._position

    @property
    def selected_track(self) -> int:
        return self._selected

    @property
    def hovered_index(self) -> int:
        return self._hover

    def sizeHint(self) -> QSize:
        return QSize(640, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.height())

    # --- geometry ---------------------------------------------------------------------------
    def x_of(self, frame: float) -> float:
        usable = max(1.0, self.width() - 2 * self.MARGIN)
        return self.MARGIN + usable * frame / max(1, self._frame_count - 1)

    def frame_at(self, x: float) -> int:
        if self._frame_count <= 0:
            return 0
        usable = max(1.0, self.width() - 2 * self.MARGIN)
        frame = round((x - self.MARGIN) / usable * (self._frame_count - 1))
        return max(0, min(self._frame_count - 1, frame))

    def _thumb_width(self, i: int) -> float:
        image = self._images[i]
        if image is None:
            return 32.0
        aspect = image.width() / max(1, image.height())
        return max(self.THUMB_MIN_WIDTH, min(self.THUMB_MAX_WIDTH, self.THUMB_HEIGHT * aspect))

    def _invalidate(self) -> None:
        self._layout_width = -1
        self.update()

    def _ensure_layout(self) -> None:
        if self._layout_width == self.width() and len(self._rects) == len(self._items):
            return
        self._layout_width = self.width()
        self._rects, self._hidden = [], {}
        last = -1  # the last item shown
        for i, it in enumerate(self._items):
            w = self._thumb_width(i)
            x = self.x_of(it.frame) - w / 2
            x = max(2.0, min(self.width() - 2.0 - w, x))
            rect = QRectF(x, self.THUMB_TOP, w, self.THUMB_HEIGHT)
            if last >= 0 and rect.left() < self._rects[last].right() + self.GAP:
                self._rects.append(QRectF())
                self._hidden.setdefault(last, []).append(i)
            else:
                self._rects.append(rect)
                last = i

    def item_rect(self, i: int) -> QRectF:
        """Where item ``i`` of ``items`` is drawn; an empty rect when it is hidden under the
        "+N" badge of an earlier item (``badge_rect``)."""
        self._ensure_layout()
        return QRectF(self._rects[i])

    def hidden_under(self, i: int) -> list[int]:
        """Indices of the items folded under item ``i``'s "+N" badge."""
        self._ensure_layout()
        return list(self._hidden.get(i, []))

    def badge_rect(self, i: int) -> QRectF:
        """The "+N" badge on item ``i``; empty when nothing is folded under it."""
        self._ensure_layout()
        if i not in self._hidden:
            return QRectF()
        r = self._rects[i]
        text = f"+{len(self._hidden[i])}"
        w = 8.0 + 6.0 * len(text)
        return QRectF(r.right() - w + 4, r.top() - 3, w, 14.0)

    def _index_at(self, x: float, y: float) -> int:
        self._ensure_layout()
        p = QPointF(x, y)
        hit = -1
        for i, r in enumerate(self._rects):
            if not r.isEmpty() and r.contains(p):
                hit = i  # later items are painted over earlier ones
        return hit

    def _badge_at(self, x: float, y: float) -> int:
        p = QPointF(x, y)
        for i in self._hidden:
            if self.badge_rect(i).contains(p):
                return i
        return -1

    def item_at(self, x: float, y: float) -> TimelineItem | None:
        i = self._index_at(x, y)
        return self._items[i] if i >= 0 else None

    def tooltip_at(self, x: float, y: float) -> str:
        """Rich text for the tooltip at (x, y); catalogue labels are escaped."""
        badge = self._badge_at(x, y)
        if badge >= 0:
            rows = [self._items[j] for j in (badge, *self._hidden[badge])]
            lines = "<br>".join(self._tooltip_line(it) for it in rows)
            return f"{lines}<br><i>click to choose</i>"
        i = self._index_at(x, y)
        if i < 0:
            return ""
        text = self._tooltip_line(self._items[i])
        if i in self._hidden:
            text += f"<br><i>+{len(self._hidden[i])} more here</i>"
        return text

    def _tooltip_line(self, it: TimelineItem) -> str:
        label = html.escape(it.label or f"#{it.track_id}")
        return f"<b>{label}</b> &nbsp;{format_moment(it.frame / self._fps)}"

    # --- painting ---------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._layout_width = -1
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._ensure_layout()
        rect = event.rect()
        self._clip = None if rect.contains(self.rect()) else QRectF(rect)
        p = QPainter(self)
        try:  # a painter left active by an exception takes the process down with it
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), BACKGROUND)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        axis_y = self.AXIS_Y
        p.setPen(QPen(AXIS_COLOR, 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(self.MARGIN, axis_y), QPointF(self.width() - self.MARGIN, axis_y))
        if self._frame_count > 0:
            for i, it in enumerate(self._items):  # every item has its tick, hidden ones too
                p.setPen(QPen(track_color(it.track_id), 2.0))
                x = self.x_of(it.frame)
                p.drawLine(QPointF(x, axis_y - 4), QPointF(x, axis_y + 4))
                if not self._rects[i].isEmpty():
                    stem = QColor(track_color(it.track_id))
                    stem.setAlpha(110)
                    p.setPen(QPen(stem, 1.0))
                    p.drawLine(QPointF(x, self._rects[i].bottom()), QPointF(x, axis_y - 4))
        # hovered and selected last, so that they sit on top
        order = sorted(
            (i for i, r in enumerate(self._rects) if not r.isEmpty()),
            key=lambda i: (i == self._hover, self._items[i].track_id == self._selected),
        )
        clip = self._clip
        for i in order:
            if clip is None or self._rects[i].intersects(clip):
                self._paint_item(p, i)
        for i in self._hidden:
            self._paint_badge(p, i)
        if self._frame_count > 0 and 0 <= self._position < self._frame_count:
            x = self.x_of(self._position)
            p.setPen(QPen(PLAYHEAD_COLOR, 2.0))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            head = QPainterPath()
            head.moveTo(x - 5, 0)
            head.lineTo(x + 5, 0)
            head.lineTo(x, 6)
            head.closeSubpath()
            p.fillPath(head, PLAYHEAD_COLOR)
        if not self._items:
            p.setPen(QColor(130, 130, 142))
            p.drawText(
                QRectF(0, 0, self.width(), axis_y - 6),
                Qt.AlignmentFlag.AlignCenter,
                "Products appear here as the video is analysed",
            )

    def _paint_item(self, p: QPainter, i: int) -> None:
        it, r = self._items[i], self._rects[i]
        color = track_color(it.track_id)
        hot = i == self._hover
        selected = it.track_id == self._selected
        if hot:
            r = r.adjusted(-2, -2, 2, 2)  # a small lift under the pointer
        clip = QPainterPath()
        clip.addRoundedRect(r, 5, 5)
        p.save()
        p.setClipPath(clip)
        image = self._images[i]
        if image is None:
            fill = QColor(color).darker(170)
            p.fillRect(r, fill)
            font = QFont(self.font())
            font.setBold(True)
            font.setPixelSize(18)
            p.setFont(font)
            p.setPen(TEXT_COLOR)
            letter = (it.label.strip()[:1] or "#").upper()
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, letter)
        else:
            p.fillRect(r, QColor(30, 30, 36))
            size = image.deviceIndependentSize()
            scale = min(r.width() / size.width(), r.height() / size.height())
            w, h = size.width() * scale, size.height() * scale
            target = QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h)
            p.drawImage(target, image)
        if not hot and not selected and self._selected >= 0:
            p.fillRect(r, QColor(18, 18, 22, 90))  # others step back while one is selected
        p.restore()
        p.setBrush(Qt.BrushStyle.NoBrush)
        if selected:
            p.setPen(QPen(color, 3.0))
        elif hot:
            p.setPen(QPen(QColor(255, 255, 255), 2.0))
        else:
            p.setPen(QPen(color, 1.5))
        p.drawRoundedRect(r, 5, 5)

    def _paint_badge(self, p: QPainter, i: int) -> None:
        r = self.badge_rect(i)
        hidden_selected = any(self._items[j].track_id == self._selected for j in self._hidden[i])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(PLAYHEAD_COLOR if hidden_selected else QColor(60, 60, 72))
        p.drawRoundedRect(r, r.height() / 2, r.height() / 2)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(10)
        p.setFont(font)
        p.setPen(TEXT_COLOR)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, f"+{len(self._hidden[i])}")

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

    def _set_hover(self, i: int) -> None:
        if i != self._hover:
            self._hover = i
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x, y = event.position().x(), event.position().y()
        i = self._index_at(x, y)
        self._set_hover(i)
        on_target = i >= 0 or self._badge_at(x, y) >= 0
        self.setCursor(
            Qt.CursorShape.PointingHandCursor if on_target else Qt.CursorShape.ArrowCursor
        )
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hover(-1)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        x, y = event.position().x(), event.position().y()
        badge = self._badge_at(x, y)
        if badge >= 0:
            self.show_folded_menu(badge, event.globalPosition().toPoint())
            return
        i = self._index_at(x, y)
        if i >= 0:
            it = self._items[i]
            self.item_clicked.emit(it.frame, it.track_id)
        elif self._frame_count > 0:
            self.seek_requested.emit(self.frame_at(x))

    def show_folded_menu(self, i: int, global_pos: QPoint | None = None) -> QMenu:
        """Pops up a menu of item ``i`` and the items folded under its badge; choosing one
        emits ``item_clicked``. Returned (and not blocking) so that tests can drive it."""
        if self._menu is None:
            self._menu = QMenu(self)  # one menu, refilled: no menus to delete on close
        menu = self._menu
        menu.clear()
        for j in (i, *self._hidden.get(i, [])):
            it = self._items[j]
            # QMenu shows action text as plain text; only '&' would turn into a shortcut
            label = (it.label or f"#{it.track_id}").replace("&", "&&")
            action = menu.addAction(f"{label}    {format_moment(it.frame / self._fps)}")
            action.triggered.connect(
                lambda _=False, f=it.frame, t=it.track_id: self.item_clicked.emit(f, t)
            )
        if global_pos is None:
            global_pos = self.mapToGlobal(self.badge_rect(i).bottomLeft().toPoint())
        menu.popup(global_pos)
        return menu
