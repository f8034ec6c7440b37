"""Side panel: what the viewer clicked, and the shop products that match it (best first)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from engine.types import Match, Track
from ui.evidence_strip import EvidenceStrip
from ui.i18n import tr
from ui.product_card import ProductCard


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
        self.matches.setWordWrap(True)  # shop titles are long: wrap, never scroll sideways
        self.matches.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.matches.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.card = ProductCard()
        # why: the trajectory's frames weighted by the similarity tree's gates
        self.evidence = EvidenceStrip()
        self.matches.currentRowChanged.connect(self._show_row)
        self._shown: list[Match] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(self.card)
        layout.addWidget(self.evidence)
        self.matches_label = QLabel(tr("Matches"))
        layout.addWidget(self.matches_label)
        layout.addWidget(self.matches, 1)
        layout.addStretch(0)
        self.set_track(None)

    def set_track(self, track: Track | None, fps: float = 25.0) -> None:
        self.matches.clear()
        self._shown = []
        self.card.set_match(None)
        self.evidence.clear()
        self._show_list(track is not None)
        if track is None:
            self.title.setText(tr("No garment selected"))
            self.details.setText(tr("Click a box on the video to see the garment here."))
            return
        self.title.setText(f"{track.category or 'garment'}  #{track.track_id}")
        lines = [
            tr("Frames {a}–{b} ({n} boxes, {s} s)").format(
                a=track.first_frame, b=track.last_frame, n=len(track.boxes),
                s=f"{len(track.boxes) / fps:.1f}"),
        ]
        if track.product_id:
            lines.append(tr("Product: {id}").format(id=track.product_id))
        self.details.setText("\n".join(lines))
        if track.matches:
            self.set_matches(track.matches)
        else:
            self.matches.addItem("(no matches yet)")

    def _show_list(self, on: bool) -> None:
        self.matches_label.setVisible(on)
        self.matches.setVisible(on)

    def set_region(self, title: str, details: str) -> None:
        """The panel is about a box the viewer drew, not a tracked garment."""
        self.set_track(None)
        self.title.setText(title)
        self.details.setText(details)

    def set_evidence(self, frames: list) -> None:
        if frames:
            self.evidence.set_evidence(frames)
        else:
            self.evidence.clear()

    def shown_matches(self) -> list[Match]:
        return list(self._shown)

    def set_matches_message(self, text: str) -> None:
        self._show_list(True)
        self.matches.clear()
        self._shown = []
        self.card.set_match(None)
        self.matches.addItem(text)

    def set_matches(self, matches: list[Match]) -> None:
        """Products best first: title, price and score as plain text (titles come from shops:
        QListWidget items never interpret markup)."""
        self._show_list(True)
        self.matches.clear()
        self._shown = list(matches)
        if not matches:
            self.card.set_match(None)
            self.matches.addItem("(no matching products)")
        for i, m in enumerate(matches, 1):
            price = f"{m.price:.2f} {m.currency}" if m.price is not None else ""
            title = m.title or m.product_id
            item = QListWidgetItem(f"{i}. {title}\n    {price}    "
                                   + tr("score {s}").format(s=f"{m.score:.2f}"))
            # tooltips guess rich text: escape what came from files and say it is markup
            item.setToolTip(f"<p>{html.escape(f'{m.product_id}  {m.shop}'.strip())}</p>")
            self.matches.addItem(item)
        if matches:
            self.matches.setCurrentRow(0)  # the best match on the card

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(self._shown):
            self.card.set_match(self._shown[row])

    @property
    def shown_text(self) -> str:
        return f"{self.title.text()}\n{self.details.text()}"
