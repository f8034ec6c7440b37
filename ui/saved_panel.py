"""The Saved panel: the products a viewer kept with the heart, newest first, each with the video
and the moment it came from. A click (or Enter) goes back to that moment; Remove forgets the
selected one; Export writes the list as CSV."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import tr
from ui.lists import on_choice

ROLE = Qt.ItemDataRole.UserRole


def _moment(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


class SavedPanel(QWidget):
    moment_requested = Signal(str, int, int, str)  # video, frame, track id, product id
    remove_requested = Signal(str, str)  # product id, video
    export_requested = Signal(str)  # a .csv path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAccessibleName("Saved products")
        self.list.setWordWrap(True)
        on_choice(self.list, self._go)
        self.empty = QLabel(tr("Nothing saved yet: the ♡ on a product's card keeps it here, "
                               "with the moment it came from."))
        self.empty.setWordWrap(True)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.remove = QPushButton(tr("Remove"))
        self.remove.setAccessibleName("Remove the selected saved product")
        self.remove.clicked.connect(self._remove)
        self.export = QPushButton(tr("Export CSV…"))
        self.export.setAccessibleName("Export the saved products as CSV")
        self.export.clicked.connect(self.show_export_dialog)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        buttons.addWidget(self.export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.set_items([])

    def set_items(self, items: list) -> None:
        """``items``: engine.saved.SavedProduct, newest first."""
        self.list.clear()
        for s in items:
            price = f"{s.price:,.2f} {s.currency}" if s.price is not None else ""
            text = f"{s.title}\n{price}  ·  " + tr("{video} at {moment}").format(
                video=Path(s.video).name, moment=_moment(s.seconds))
            it = QListWidgetItem(text)
            it.setData(ROLE, (s.video, s.frame, s.track_id, s.product_id))
            it.setToolTip(f"{s.product_id} — click to go back to that moment")
            self.list.addItem(it)
        self.empty.setVisible(not items)
        self.list.setVisible(bool(items))
        self.remove.setEnabled(bool(items))
        self.export.setEnabled(bool(items))

    def _go(self, item: QListWidgetItem) -> None:
        video, frame, tid, pid = item.data(ROLE)
        self.moment_requested.emit(video, frame, tid, pid)

    def _remove(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            video, _frame, _tid, pid = item.data(ROLE)
            self.remove_requested.emit(pid, video)

    def show_export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export saved products", "saved.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_requested.emit(path)
