"""A demo booth that runs itself: the products of the garments on screen one after another
while the demo loops; a visitor's input stops that, a minute without input brings it back
(issue 15: beside the player's controller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from app.controller import PlayerController


class Kiosk(QObject):
    def __init__(self, player: PlayerController) -> None:
        super().__init__(player)
        self.player = player
        self.active = False
        self._last = -1

    @property
    def cycling(self) -> bool:
        """The booth is showing one card after another (no visitor's input lately)."""
        return self.active and self._cycle.isActive()

    def start(self, cycle_ms: int = 6000, idle_ms: int = 60000) -> None:
        """Shows the products of the garments on screen one after another while the demo
        loops; a visitor's input stops that, and a minute without input brings it back."""
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        self.active = True
        self._last = -1
        self._cycle = QTimer(self)
        self._cycle.setInterval(cycle_ms)
        self._cycle.timeout.connect(self._next_card)
        self._cycle.start()
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(idle_ms)
        self._idle.timeout.connect(self._resume)
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        if self.active and event.type() in (
                QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.Wheel):
            self._cycle.stop()  # a visitor is here: the booth stops driving
            self._idle.start()
        return False

    def _resume(self) -> None:
        p = self.player
        p.window.set_kiosk(True)
        if not p.playing:
            p.transport.play()
        self._cycle.start()
        self._next_card()

    def _next_card(self) -> None:
        p = self.player
        if p.reader is None or p.annotations is None:
            return
        dets = p.detections_at(p.index)
        ids = sorted({int(t) for t in dets.tracker_id
                      if (tr := p.annotations.track(int(t))) is not None and tr.matches})
        if not ids:
            return
        later = [t for t in ids if t > self._last]
        self._last = later[0] if later else ids[0]
        p.select_track(self._last, pause=False)

    def stop(self) -> None:
        """The player closes: the booth lets go of the application's input."""
        if self.active:
            from PySide6.QtWidgets import QApplication

            QApplication.instance().removeEventFilter(self)
            self.active = False
