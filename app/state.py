"""The player's state as an evented model: each value says when it changes (napari's pattern:
set a value, a signal tells every widget that shows it).

The controllers set values here; widgets and the playback backend subscribe once
(``follow_state``), so no controller has to know every widget that shows the
playhead, the speed or the selection. A value set to what it already is emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from engine.types import AnnotationIndex

if TYPE_CHECKING:
    from app.playback import Backend
    from app.settings import Settings
    from ui.main_window import MainWindow


def _volume(value: int) -> int:
    return max(0, min(100, int(value)))


def _rate(value: float) -> float:
    if float(value) <= 0:
        raise ValueError(f"playback rate must be above 0, got {value}")
    return float(value)


class _Value:
    """A value of the state: reading gives it, setting converts it and, when it changed, emits
    the signal named ``signal`` with the new value."""

    def __init__(self, signal: str, convert: Callable[[Any], Any]) -> None:
        self.signal, self.convert = signal, convert

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.attr)

    def __set__(self, obj: Any, value: Any) -> None:
        value = self.convert(value)
        if value != getattr(obj, self.attr):
            setattr(obj, self.attr, value)
            getattr(obj, self.signal).emit(value)


class PlayerState(QObject):
    frame_changed = Signal(int)  # the frame on screen (-1: none)
    playing_changed = Signal(bool)
    rate_changed = Signal(float)
    volume_changed = Signal(int)  # 0..100
    muted_changed = Signal(bool)
    selection_changed = Signal(int)  # the selected track (-1: none)
    results_changed = Signal()  # the boxes: the engine's latest results or a loaded file

    index = _Value("frame_changed", int)
    playing = _Value("playing_changed", bool)
    rate = _Value("rate_changed", _rate)
    volume = _Value("volume_changed", _volume)
    muted = _Value("muted_changed", bool)
    selected = _Value("selection_changed", int)

    def __init__(self, volume: int = 100, muted: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._index = -1
        self._playing = False
        self._rate = 1.0
        self._volume = _volume(volume)
        self._muted = bool(muted)
        self._selected = -1
        self._annotations: AnnotationIndex | None = None

    @property
    def annotations(self) -> AnnotationIndex | None:
        return self._annotations

    @annotations.setter
    def annotations(self, value: AnnotationIndex | None) -> None:
        if value is not self._annotations:  # a new index, even of equal boxes, is news
            self._annotations = value
            self.results_changed.emit()


def follow_state(state: PlayerState, window: MainWindow, settings: Settings,
                 backend: Callable[[], Backend | None]) -> None:
    """Subscribes what shows each value: the window's widgets, the settings (sound is
    remembered) and the playback backend (``backend()``: the one open now, if any)."""
    w, c, s = window, window.controls, state

    def to_backend(name: str):
        return lambda value: (b := backend()) is not None and getattr(b, name)(value)

    s.frame_changed.connect(lambda i: i >= 0 and (c.set_position(i), w.timeline.set_position(i)))
    s.playing_changed.connect(c.set_playing)
    s.playing_changed.connect(w.video.set_playing)
    s.rate_changed.connect(c.set_rate)
    s.rate_changed.connect(to_backend("set_rate"))
    s.volume_changed.connect(c.set_volume)
    s.volume_changed.connect(to_backend("set_volume"))
    s.volume_changed.connect(lambda v: setattr(settings, "volume", v))
    s.muted_changed.connect(c.set_muted)
    s.muted_changed.connect(to_backend("set_muted"))
    s.muted_changed.connect(lambda m: setattr(settings, "muted", m))
    s.selection_changed.connect(w.video.set_selected)
    s.selection_changed.connect(w.timeline.set_selected)
    c.set_volume(s.volume)
    c.set_muted(s.muted)
