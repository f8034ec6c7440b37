"""Transport controls: they emit intent and show state; the controller does the rest.

Every control has ``NoFocus`` so that Space, the arrows and the other shortcuts always reach the
window's actions instead of moving a focused slider.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import tr
from ui.seek_slider import SeekSlider

RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(seconds, 60.0)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:05.2f}" if h else f"{m:02d}:{s:05.2f}"


class ControlBar(QWidget):
    play_pause_requested = Signal()
    seek_requested = Signal(int)  # frame index
    step_requested = Signal(int)  # +1 / -1 frames
    rate_requested = Signal(float)
    volume_requested = Signal(int)  # 0..100
    mute_requested = Signal(bool)
    fullscreen_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.style()
        self._fps = 25.0
        self._frame_count = 0
        self._updating = False

        self.seek = SeekSlider()  # also shows the frames the engine has analysed
        self.seek.setRange(0, 0)
        self.seek.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.seek.setToolTip(tr("Seek (Left/Right: 5 s, Shift: 1 s)"))
        self.seek.setAccessibleName(tr("Position"))
        self.seek.valueChanged.connect(self._on_seek_value)

        self.play = self._button(QStyle.StandardPixmap.SP_MediaPlay, tr("Play/Pause (Space)"))
        self.play.clicked.connect(self.play_pause_requested)
        self.back = self._button(QStyle.StandardPixmap.SP_MediaSeekBackward,
                                 tr("Previous frame (,)"))
        self.back.clicked.connect(lambda: self.step_requested.emit(-1))
        self.fwd = self._button(QStyle.StandardPixmap.SP_MediaSeekForward,
                                tr("Next frame (. or E)"))
        self.fwd.clicked.connect(lambda: self.step_requested.emit(1))

        self.time_label = QLabel("--:--")
        self.time_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label.setMinimumWidth(260)
        self.time_label.setAccessibleName(tr("Time and frame"))

        self.rate = QComboBox()
        self.rate.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rate.setToolTip(tr("Playback speed ([ slower, ] faster)"))
        self.rate.setAccessibleName(tr("Playback speed"))
        for r in RATES:
            self.rate.addItem(f"{r:g}x", r)
        self.rate.setCurrentIndex(RATES.index(1.0))
        self.rate.currentIndexChanged.connect(self._on_rate_index)

        self.mute = self._button(QStyle.StandardPixmap.SP_MediaVolume, tr("Mute (M)"))
        self.mute.setCheckable(True)
        self.mute.toggled.connect(self._on_mute)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(100)
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.setToolTip(tr("Volume"))
        self.volume.setAccessibleName(tr("Volume"))
        self.volume.valueChanged.connect(self._on_volume)

        self.fullscreen = self._button(QStyle.StandardPixmap.SP_TitleBarMaxButton,
                                       tr("Fullscreen (F)"))
        self.fullscreen.clicked.connect(self.fullscreen_requested)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.play, self.back, self.fwd, self.time_label):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.rate, self.mute, self.volume, self.fullscreen):
            row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(2)
        layout.addWidget(self.seek)
        layout.addLayout(row)

    def _button(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(self.style().standardIcon(icon))
        b.setToolTip(tip)
        b.setAccessibleName(tip.split(" (")[0])  # tr("Play/Pause (Space)") -> "Play/Pause"
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.setAutoRaise(True)
        return b

    # --- intent out -------------------------------------------------------------------------
    def _on_seek_value(self, value: int) -> None:
        if not self._updating:
            self.seek_requested.emit(value)

    def _on_rate_index(self, i: int) -> None:
        if not self._updating:
            self.rate_requested.emit(float(self.rate.itemData(i)))

    def _on_volume(self, v: int) -> None:
        if not self._updating:
            self.volume_requested.emit(v)

    def _on_mute(self, on: bool) -> None:
        self._set_mute_icon(on)
        if not self._updating:
            self.mute_requested.emit(on)

    def _set_mute_icon(self, on: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaVolumeMuted
            if on
            else QStyle.StandardPixmap.SP_MediaVolume
        )
        self.mute.setIcon(self.style().standardIcon(icon))

    # --- state in ---------------------------------------------------------------------------
    def set_media(self, fps: float, frame_count: int) -> None:
        self._fps, self._frame_count = fps, frame_count
        self._updating = True
        self.seek.setRange(0, max(0, frame_count - 1))
        self.seek.set_frame_count(frame_count)
        self.seek.setPageStep(max(1, round(fps * 5)))
        self._updating = False
        self.set_position(0)

    def set_analysed(self, ranges: list[tuple[int, int]]) -> None:
        self.seek.set_analysed(ranges)

    def set_loop_marks(self, frames: list[int]) -> None:
        self.seek.set_marks(frames)

    def set_position(self, index: int) -> None:
        self._updating = True
        if not self.seek.isSliderDown():
            self.seek.setValue(index)
        self._updating = False
        if self._frame_count:
            self.time_label.setText(
                f"{format_time(index / self._fps)} / {format_time(self._frame_count / self._fps)}"
                + "   " + tr("frame {i} / {n}").format(i=index, n=self._frame_count - 1)
            )

    def set_playing(self, playing: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play.setIcon(self.style().standardIcon(icon))

    def set_rate(self, rate: float) -> None:
        self._updating = True
        self.rate.setCurrentIndex(min(range(len(RATES)), key=lambda i: abs(RATES[i] - rate)))
        self._updating = False

    def set_volume(self, volume: int) -> None:
        self._updating = True
        self.volume.setValue(volume)
        self._updating = False

    def set_muted(self, muted: bool) -> None:
        self._updating = True
        self.mute.setChecked(muted)
        self._set_mute_icon(muted)
        self._updating = False
