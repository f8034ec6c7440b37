"""The player's state as an evented model: each value says when it changes (napari's pattern:
set a value, a signal tells every widget that shows it).

The controllers set values here; widgets and the playback backend subscribe once
(``PlayerController._subscribe``), so no controller has to know every widget that shows the
playhead, the speed or the selection. A value set to what it already is emits nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.types import AnnotationIndex


class PlayerState(QObject):
    frame_changed = Signal(int)  # the frame on screen (-1: none)
    playing_changed = Signal(bool)
    rate_changed = Signal(float)
    volume_changed = Signal(int)  # 0..100
    muted_changed = Signal(bool)
    selection_changed = Signal(int)  # the selected track (-1: none)
    results_changed = Signal()  # the boxes: the engine's latest results or a loaded file

    def __init__(self, volume: int = 100, muted: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._index = -1
        self._playing = False
        self._rate = 1.0
        self._volume = max(0, min(100, int(volume)))
        self._muted = bool(muted)
        self._selected = -1
        self._annotations: AnnotationIndex | None = None

    @property
    def index(self) -> int:
        return self._index

    @index.setter
    def index(self, value: int) -> None:
        if int(value) != self._index:
            self._index = int(value)
            self.frame_changed.emit(self._index)

    @property
    def playing(self) -> bool:
        return self._playing

    @playing.setter
    def playing(self, value: bool) -> None:
        if bool(value) != self._playing:
            self._playing = bool(value)
            self.playing_changed.emit(self._playing)

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        if float(value) <= 0:
            raise ValueError(f"playback rate must be above 0, got {value}")
        if float(value) != self._rate:
            self._rate = float(value)
            self.rate_changed.emit(self._rate)

    @property
    def volume(self) -> int:
        return self._volume

    @volume.setter
    def volume(self, value: int) -> None:
        value = max(0, min(100, int(value)))
        if value != self._volume:
            self._volume = value
            self.volume_changed.emit(value)

    @property
    def muted(self) -> bool:
        return self._muted

    @muted.setter
    def muted(self, value: bool) -> None:
        if bool(value) != self._muted:
            self._muted = bool(value)
            self.muted_changed.emit(self._muted)

    @property
    def selected(self) -> int:
        return self._selected

    @selected.setter
    def selected(self, value: int) -> None:
        if int(value) != self._selected:
            self._selected = int(value)
            self.selection_changed.emit(self._selected)

    @property
    def annotations(self) -> AnnotationIndex | None:
        return self._annotations

    @annotations.setter
    def annotations(self, value: AnnotationIndex | None) -> None:
        if value is not self._annotations:
            self._annotations = value
            self.results_changed.emit()
