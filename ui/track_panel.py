"""Side panel: what the viewer clicked. The product card replaces its lower half later."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QVBoxLayout, QWidget

from engine.types import Track


class TrackPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(220)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # names come from files: never rich text
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.matches = QListWidget()
        self.matches.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(QLabel("Matches"))
        layout.addWidget(self.matches, 1)
        self.set_track(None)

    def set_track(self, track: Track | None, fps: float = 25.0) -> None:
        self.matches.clear()
        if track is None:
            self.title.setText("No garment selected")
            self.details.setText("Click a box on the video to see the garment here.")
            return
        self.title.setText(f"{track.category or 'garment'}  #{track.track_id}")
        lines = [
            f"Frames {track.first_frame}–{track.last_frame} "
            f"({len(track.boxes)} boxes, {len(track.boxes) / fps:.1f} s)",
        ]
        if track.product_id:
            lines.append(f"Product: {track.product_id}")
        self.details.setText("\n".join(lines))
        for m in track.matches:
            self.matches.addItem(f"{m.product_id}    {m.score:.3f}")
        if not track.matches:
            self.matches.addItem("(no matches yet)")

    @property
    def shown_text(self) -> str:
        return f"{self.title.text()}\n{self.details.text()}"
