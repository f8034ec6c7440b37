"""The video surface: one QPainter draws the frame and the boxes of that same frame.

A native VLC window cannot carry clickable Qt overlays, and painting the frame and its boxes in
two places lets them drift apart by a frame. Here both arrive together in ``set_frame(image,
index, detections)`` and are painted together.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.types import Detections
from ui.boxes import hit_test, track_color
from ui.i18n import tr

DESCRIPTION = ("On a paused frame, Tab moves from garment to garment and Enter opens its "
               "product; a click does the same")


class VideoView(QWidget):
    box_clicked = Signal(int)  # track id of the clicked box
    background_clicked = Signal()  # a click on the video outside every box
    hovered_track_changed = Signal(int)  # -1 when the pointer leaves every box
    files_dropped = Signal(list)  # local paths
    mouse_activity = Signal()  # any pointer movement (kiosk mode shows its controls)
    double_clicked = Signal()
    region_selected = Signal(float, float, float, float)  # a box drawn by dragging (video px)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._frame_index = -1
        self._dets = Detections.empty()
        self._hover = -1
        self._selected = -1
        self._message = ""
        self._message_is_error = False
        self._placeholder = tr("Open a video with Ctrl+O, or drop a file here")
        self._reference = Detections.empty()  # ground truth, drawn dashed beside the results
        self._qa = False
        self._regions = False  # dragging draws a search box (while paused)
        self._fast = False  # playing: frames are scaled without smoothing
        self._press: QPointF | None = None
        self._drag: QRectF | None = None  # in widget pixels
        self._subtitle = ""
        self._focus_tid = -1  # the box Tab moved to on a paused frame
        self.overlay = None  # a child kept over the picture (the end carousel): has place()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Video")
        self.setAccessibleDescription(DESCRIPTION)

    # --- state in -------------------------------------------------------------------------
    def set_frame(self, image: QImage, index: int, detections: Detections | None = None,
                  reference: Detections | None = None) -> None:
        self._image = image
        self._frame_index = index
        self.set_overlay(detections, reference)

    def set_overlay(self, detections: Detections | None,
                    reference: Detections | None = None) -> None:
        """New boxes for the frame on screen (the engine found them after it was shown)."""
        self._dets = detections if detections is not None else Detections.empty()
        self._reference = reference if reference is not None else Detections.empty()
        if self._focus_tid >= 0 and self._focus_tid not in set(self._dets.tracker_id.tolist()):
            self._set_focus_box(-1)
        self._update_hover(self.mapFromGlobal(self.cursor().pos()))
        self.update()

    def set_playing(self, playing: bool) -> None:
        """While playing, frames are drawn with fast scaling (see paintEvent)."""
        if playing != self._fast:
            self._fast = playing
            self.update()

    def set_qa(self, on: bool) -> None:
        """QA mode: frame index, track ids and scores on the boxes."""
        self._qa = on
        self.update()

    def set_region_search(self, on: bool) -> None:
        """While on, dragging on the video draws a box to search the catalogue with."""
        if on == self._regions:
            return
        self._regions = on
        if not on:
            self._press, self._drag = None, None
        self.update()

    def set_selected(self, track_id: int) -> None:
        self._selected = track_id
        self.update()

    def set_subtitle(self, text: str) -> None:
        """The subtitle text of the frame on screen ("" for none), drawn over the video's
        bottom as plain text."""
        if text != self._subtitle:
            self._subtitle = text
            self.update()

    @property
    def subtitle(self) -> str:
        return self._subtitle

    def set_message(self, text: str, error: bool = True) -> None:
        """A message drawn over the video (an error, or a hint); empty text removes it."""
        self._message = text
        self._message_is_error = error
        self.update()

    def clear(self) -> None:
        self._subtitle = ""
        self._image = None
        self._frame_index = -1
        self._dets = Detections.empty()
        self._hover = -1
        self.update()

    # --- state out (tests and the controller read these) -----------------------------------
    @property
    def frame_index(self) -> int:
        return self._frame_index

    @property
    def detections(self) -> Detections:
        return self._dets

    @property
    def hovered_track(self) -> int:
        return self._hover

    @property
    def selected_track(self) -> int:
        return self._selected

    @property
    def reference(self) -> Detections:
        return self._reference

    @property
    def message(self) -> str:
        return self._message

    @property
    def image(self) -> QImage | None:
        return self._image

    # --- geometry ---------------------------------------------------------------------------
    def video_rect(self) -> QRectF:
        """Where the frame is drawn: as large as fits, aspect kept, centred (letterboxed)."""
        if self._image is None or self._image.isNull():
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def _scale(self) -> float:
        r = self.video_rect()
        return r.width() / self._image.width() if self._image is not None and r.width() else 1.0

    def video_to_widget(self, x: float, y: float) -> QPointF:
        r, s = self.video_rect(), self._scale()
        return QPointF(r.x() + x * s, r.y() + y * s)

    def widget_to_video(self, p: QPointF) -> tuple[float, float] | None:
        r = self.video_rect()
        if r.isEmpty() or not r.contains(p):
            return None
        s = self._scale()
        return (p.x() - r.x()) / s, (p.y() - r.y()) / s

    def track_at(self, x: float, y: float) -> int:
        """Track id of the box under video point (x, y), or -1."""
        row = hit_test(self._dets.xyxy, x, y, margin=2.0 / max(self._scale(), 1e-6))
        return int(self._dets.tracker_id[row]) if row >= 0 else -1

    # --- painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(12, 12, 14))
        if self._image is not None and not self._image.isNull():
            # smooth scaling costs the main thread milliseconds a frame: paused frames (the
            # ones viewers and QA look at) get it, moving ones are drawn fast
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self._fast)
            p.drawImage(self.video_rect(), self._image)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._paint_reference(p)
            self._paint_boxes(p)
            if self._subtitle:
                self._paint_subtitle(p)
            if self._qa:
                self._paint_frame_number(p)
            if self._drag is not None:
                p.setPen(QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
                p.fillRect(self._drag, QColor(255, 255, 255, 40))
                p.drawRect(self._drag)
        elif not self._message:
            p.setPen(QColor(160, 160, 170))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
        if self._message:
            self._paint_message(p)
        p.end()

    def _paint_boxes(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        font.setBold(True)
        p.setFont(font)
        fm = QFontMetricsF(font)
        s = self._scale()
        r = self.video_rect()
        categories = self._dets.data.get("category")
        # paint hovered and selected last so that they sit on top
        order = sorted(
            range(len(self._dets)),
            key=lambda i: int(self._dets.tracker_id[i]) in (self._hover, self._selected),
        )
        for i in order:
            tid = int(self._dets.tracker_id[i])
            x1, y1, x2, y2 = (float(v) for v in self._dets.xyxy[i])
            box = QRectF(r.x() + x1 * s, r.y() + y1 * s, (x2 - x1) * s, (y2 - y1) * s)
            color = track_color(tid)
            hot = tid in (self._hover, self._selected, self._focus_tid)
            if tid == self._focus_tid and self.hasFocus():  # the keyboard's place: a ring
                p.setPen(QPen(QColor(255, 255, 255), 2.0, Qt.PenStyle.DashLine))
                p.drawRect(box.adjusted(-4, -4, 4, 4))
            if hot:
                fill = QColor(color)
                fill.setAlpha(70)
                p.fillRect(box, fill)
            p.setPen(QPen(color, 3.5 if hot else 2.0))
            p.drawRect(box)
            label = str(categories[i]) if categories is not None and categories[i] else ""
            label = f"{label} #{tid}" if label else f"#{tid}"
            if self._qa:
                label += f"  det {float(self._dets.confidence[i]):.2f}"
                match = self._dets.data.get("match_score")
                if match is not None and np.isfinite(match[i]):
                    label += f"  match {float(match[i]):.2f}"
            tw, th = fm.horizontalAdvance(label) + 8, fm.height() + 2
            ty = box.top() - th if box.top() - th >= r.top() else box.top()
            tag = QRectF(box.left(), ty, tw, th)
            p.fillRect(tag, color)
            p.setPen(QColor(0, 0, 0))
            p.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_reference(self, p: QPainter) -> None:
        if not len(self._reference):
            return
        s, r = self._scale(), self.video_rect()
        pen = QPen(QColor(80, 230, 255), 1.5, Qt.PenStyle.DashLine)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        p.setFont(font)
        for i in range(len(self._reference)):
            x1, y1, x2, y2 = (float(v) for v in self._reference.xyxy[i])
            box = QRectF(r.x() + x1 * s, r.y() + y1 * s, (x2 - x1) * s, (y2 - y1) * s)
            p.setPen(pen)
            p.drawRect(box)
            p.drawText(box.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignLeft
                       | Qt.AlignmentFlag.AlignBottom, f"GT {int(self._reference.tracker_id[i])}")

    def _paint_frame_number(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        text = f"frame {self._frame_index}  ·  {len(self._dets)} boxes"
        if len(self._reference):
            text += f"  ·  {len(self._reference)} ground truth"
        rect = QRectF(self.video_rect().topLeft() + QPointF(8, 8),
                      QFontMetricsF(font).size(0, text) + QSizeF(14, 8))
        p.fillRect(rect, QColor(0, 0, 0, 170))
        p.setPen(QColor(255, 255, 255))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_subtitle(self, p: QPainter) -> None:
        """White text with a dark outline, centred low on the picture, its size a share of
        the picture's height (as players do), wrapped within 90% of its width."""
        video = self.video_rect()
        font = QFont(self.font())
        font.setPixelSize(max(12, round(video.height() / 18)))
        font.setBold(True)
        fm = QFontMetricsF(font)
        width = video.width() * 0.9
        lines: list[str] = []
        for line in self._subtitle.split("\n"):
            words, cur = line.split(" "), ""
            for w in words:
                trial = f"{cur} {w}" if cur else w
                if cur and fm.horizontalAdvance(trial) > width:
                    lines.append(cur)
                    cur = w
                else:
                    cur = trial
            lines.append(cur)
        lines = lines[-4:]  # never a wall of text over the picture
        step = fm.lineSpacing()
        y = video.bottom() - video.height() * 0.06 - step * (len(lines) - 1)
        path = QPainterPath()
        for line in lines:
            x = video.center().x() - fm.horizontalAdvance(line) / 2
            path.addText(QPointF(x, y), font, line)
            y += step
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.strokePath(path, QPen(QColor(0, 0, 0, 230), max(2.0, font.pixelSize() / 8),
                                Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
        p.fillPath(path, QColor(255, 255, 255))

    def _paint_message(self, p: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        p.setFont(font)
        margin = 24
        area = self.rect().adjusted(margin, margin, -margin, -margin)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        bounds = p.boundingRect(area, int(flags), self._message).adjusted(-16, -12, 16, 12)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(120, 24, 24, 225) if self._message_is_error else QColor(30, 30, 40, 215))
        p.drawRoundedRect(bounds, 8, 8)
        p.setPen(QColor(255, 255, 255))
        p.drawText(bounds, int(flags), self._message)

    # --- the keyboard: Tab from box to box, Enter opens the card ---------------------------------
    @property
    def focused_track(self) -> int:
        return self._focus_tid

    def _reading_order(self) -> list[int]:
        xyxy = self._dets.xyxy
        order = sorted(range(len(self._dets)), key=lambda i: (float(xyxy[i][0]),
                                                                float(xyxy[i][1])))
        return [int(self._dets.tracker_id[i]) for i in order]

    def _set_focus_box(self, tid: int) -> None:
        self._focus_tid = tid
        if tid < 0:
            self.setAccessibleDescription(DESCRIPTION)
        else:
            tids = self._reading_order()
            i = tids.index(tid)
            cats = self._dets.data.get("category")
            name = str(cats[self._dets.tracker_id.tolist().index(tid)]) if cats is not None \
                else "garment"
            self.setAccessibleDescription(f"{name} #{tid}, box {i + 1} of {len(tids)}; Enter "
                                          "opens its product")
        self.update()

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab on a paused frame with boxes walk the boxes in reading order
        (left to right); past the last one, focus leaves the video as usual."""
        tids = self._reading_order()
        if self._fast or not tids or not self.hasFocus():
            return super().focusNextPrevChild(next)
        if self._focus_tid not in tids:
            target = 0 if next else len(tids) - 1
        else:
            target = tids.index(self._focus_tid) + (1 if next else -1)
        if not 0 <= target < len(tids):
            self._set_focus_box(-1)
            return super().focusNextPrevChild(next)
        self._set_focus_box(tids[target])
        return True

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._focus_tid >= 0:
            self._selected = self._focus_tid
            self.box_clicked.emit(self._focus_tid)
            self.update()
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.overlay is not None and self.overlay.isVisible():
            self.overlay.place(self.video_rect())

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()  # the ring is only drawn while the video has the focus

    # --- input ------------------------------------------------------------------------------
    def _update_hover(self, pos: QPointF) -> None:
        v = self.widget_to_video(QPointF(pos))
        tid = self.track_at(*v) if v is not None else -1
        if tid != self._hover:
            self._hover = tid
            self.setCursor(
                Qt.CursorShape.PointingHandCursor if tid >= 0 else Qt.CursorShape.ArrowCursor
            )
            self.hovered_track_changed.emit(tid)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None:
            self._drag = QRectF(self._press, event.position()).normalized().intersected(
                self.video_rect())
            self.update()
        else:
            self._update_hover(event.position())
        self.mouse_activity.emit()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, drag = self._press, self._drag
        self._press, self._drag = None, None
        if drag is not None and drag.width() >= 8 and drag.height() >= 8:
            a = self.widget_to_video(drag.topLeft())
            b = self.widget_to_video(drag.bottomRight() - QPointF(0.01, 0.01))
            if a is not None and b is not None:
                self.region_selected.emit(a[0], a[1], b[0], b[1])
            self.update()
            return
        if press is not None and event.button() == Qt.MouseButton.LeftButton:
            v = self.widget_to_video(press)
            if v is not None:
                self.click_video_point(*v)  # no drag: an ordinary click
        self.update()
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        if self._hover != -1:
            self._hover = -1
            self.hovered_track_changed.emit(-1)
            self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.mouse_activity.emit()
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        v = self.widget_to_video(event.position())
        if v is None:
            return
        if self._regions and self.track_at(*v) < 0:
            self._press = event.position()  # a drag draws a search box; a click is a click
            return
        self.click_video_point(*v)

    def click_video_point(self, x: float, y: float) -> int:
        """Acts as a click at video pixel (x, y): the automation flag ``--click`` uses it.
        Returns the clicked track id, or -1."""
        tid = self.track_at(x, y)
        if tid >= 0:
            self.box_clicked.emit(tid)
        else:
            self.background_clicked.emit()
        return tid

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
