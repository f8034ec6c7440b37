"""The carousel shown when a video ends: every product seen in it, once, in the order they first
appeared, as a row of cards over the last frame (a shoppable player's end screen). A click
opens the product's card in the side panel; a double click goes back to the moment it was
worn. Plain text only (titles come from shop feeds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import tr
from ui.lists import on_choice

CARD_W, THUMB_H = 132, 120


@dataclass(frozen=True, eq=False)
class CarouselItem:
    track_id: int
    frame: int
    product_id: str
    title: str
    price: str  # formatted, with its currency
    thumb: np.ndarray | None = None  # (H, W, 3) uint8 RGB


def _pixmap(rgb: np.ndarray | None) -> QPixmap:
    pix = QPixmap(CARD_W - 12, THUMB_H)
    if rgb is None:
        pix.fill(Qt.GlobalColor.lightGray)
        return pix
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1],
                   QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(CARD_W - 12, THUMB_H,
                                           Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)


class ProductCarousel(QFrame):
    product_clicked = Signal(int)  # track id
    moment_requested = Signal(int, int)  # frame, track id
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("carousel")
        self.setStyleSheet(
            "#carousel { background: rgba(20, 20, 24, 225); border-radius: 8px; }"
            "QLabel { color: white; } QListWidget { background: transparent; border: none;"
            " color: white; } QListWidget::item { background: rgba(255,255,255,28);"
            " border-radius: 6px; margin: 3px; padding: 4px; }"
            "QListWidget::item:selected { background: rgba(255,80,0,150); }")
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName(tr("Close the products of this video"))
        close.setAutoRaise(True)
        close.setStyleSheet("color: white;")
        close.clicked.connect(self.dismiss)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(CARD_W - 12, THUMB_H))
        self.list.setGridSize(QSize(CARD_W, THUMB_H + 58))
        self.list.setWordWrap(True)
        self.list.setFixedHeight(THUMB_H + 78)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.list.setAccessibleName(tr("Products seen in this video"))
        on_choice(self.list, lambda it: self.product_clicked.emit(it.data(ROLE)[0]))
        self.list.itemDoubleClicked.connect(self._on_double)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(close)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.list)
        self.items: list[CarouselItem] = []
        self.hide()

    def set_items(self, items: list[CarouselItem]) -> None:
        self.items = list(items)
        self.list.clear()
        for it in self.items:
            text = f"{it.title}\n{it.price}" if it.price else it.title
            entry = QListWidgetItem(_pixmap(it.thumb), _elide(text))
            entry.setData(ROLE, (it.track_id, it.frame))
            entry.setToolTip(tr("{title} — double-click to see it worn").format(title=it.title))
            entry.setSizeHint(QSize(CARD_W - 6, THUMB_H + 52))
            self.list.addItem(entry)
        n = len(self.items)
        self.heading.setText(tr("Seen in this video: {n} products").format(n=n) if n != 1
                             else tr("Seen in this video: 1 product"))

    def _on_double(self, item: QListWidgetItem) -> None:
        tid, frame = item.data(ROLE)
        self.dismiss()
        self.moment_requested.emit(frame, tid)

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def place(self, area) -> None:
        """Along the bottom of ``area`` (the picture, in the parent's pixels)."""
        h = THUMB_H + 78 + 44
        self.setGeometry(int(area.x() + 12), int(area.bottom() - h - 12),
                         int(max(200, area.width() - 24)), h)


ROLE = Qt.ItemDataRole.UserRole


def _elide(text: str, line: int = 19) -> str:
    """Two short lines under the picture: the title cut to one line, then the price."""
    title, _, price = text.partition("\n")
    if len(title) > line:
        title = title[: line - 1].rstrip() + "…"
    return f"{title}\n{price}" if price else title
