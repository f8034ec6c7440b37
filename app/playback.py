"""Playback backends: VLC through its video callbacks, or OpenCV when libVLC is missing.

VLC decodes and keeps the clock (and plays the sound); its frames arrive on a VLC thread
through ``lock``/``unlock``/``display`` callbacks into one RV32 buffer. The display callback
copies the buffer, reduces it to a sync thumbnail, and emits a signal: nothing else happens on
VLC's thread. Which decoder frame it was is decided on the main thread (engine.framesync).
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.framesync import thumbnail
from engine.video import VideoReader

VLC_PACKAGES = "libvlc5 vlc-plugin-base"
VLC_ARGS = (
    "--quiet",
    "--no-xlib",
    "--intf=dummy",
    "--no-video-title-show",
    "--no-osd",
    "--no-snapshot-preview",
    "--no-sub-autodetect-file",
    "--no-spu",  # the player draws subtitles itself, paused and playing alike
    "--no-stats",
)


def audio_args() -> tuple[str, ...]:
    """VLC's audio output for this machine. With no sound card and no sound server (a
    headless box, a container, CI) ALSA prints a screen of errors for every file; the dummy
    output keeps the clock and stays quiet."""
    if os.environ.get("VIDEO2SHOP_AOUT"):
        return (f"--aout={os.environ['VIDEO2SHOP_AOUT']}",)
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    has_server = bool(os.environ.get("PULSE_SERVER")) or any(
        Path(runtime, name).exists() for name in ("pulse/native", "pipewire-0") if runtime
    )
    if not Path("/dev/snd").exists() and not has_server:
        return ("--aout=dummy",)
    return ()


class PlaybackUnavailable(RuntimeError):
    """The playback engine cannot start; the message names what to install."""


_vlc_module: Any = None
_vlc_error: str | None = None


def load_vlc() -> Any:
    """Import python-vlc once, turning every way libVLC can be missing into one message."""
    global _vlc_module, _vlc_error
    if _vlc_module is not None:
        return _vlc_module
    if _vlc_error is not None:
        raise PlaybackUnavailable(_vlc_error)
    try:
        import vlc

        vlc.libvlc_get_version()
    except (Exception, SystemExit) as exc:  # python-vlc raises or even exits when it fails
        _vlc_error = (
            f"libVLC was not found ({type(exc).__name__}: {exc}). Install the Debian packages "
            f"{VLC_PACKAGES} (make setup does it), then restart the player. "
            "Playing without sound until then."
        )
        raise PlaybackUnavailable(_vlc_error) from None
    _vlc_module = vlc
    return vlc


class Backend(QObject):
    """What the controller needs from a player. ``frame_ready(bgra, thumb, index)``: index is
    the exact decoder index when the backend knows it, else -1."""

    frame_ready = Signal(object, object, int)
    ended = Signal()
    error = Signal(str)
    name = "backend"

    def open(self, path: str, width: int, height: int, fps: float) -> None: ...
    def play(self, from_index: int) -> None: ...
    def pause(self) -> None: ...
    def seek(self, index: int) -> None: ...
    def set_rate(self, rate: float) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def close(self) -> None: ...
    has_audio_tracks = False

    def set_audio_track(self, position: int) -> None:
        """The ``position``-th audio track of the file (ffprobe's order)."""

    def audio_track(self) -> int:
        """The audio track playing now (its position), -1 when none or unknown."""
        return -1


class VlcBackend(Backend):
    name = "vlc"
    has_audio_tracks = True

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        super().__init__()
        vlc = load_vlc()
        self._vlc = vlc
        self._instance = vlc.Instance([*VLC_ARGS, *audio_args(), *extra_args])
        if self._instance is None:
            raise PlaybackUnavailable(
                f"libVLC could not start (its plugins are missing?): install {VLC_PACKAGES}"
            )
        self._player = self._instance.media_player_new()
        self._media = None
        self._path = ""
        self._fps = 25.0
        self._w = self._h = 0
        self._buf: ctypes.Array | None = None
        self._buf_lock = threading.Lock()
        self._started = False
        self._volume = 80
        self._audio_track = -1
        self._muted = False
        # ctypes callbacks must stay referenced as long as VLC may call them
        self._lock_cb = vlc.CallbackDecorators.VideoLockCb(self._on_lock)
        self._unlock_cb = vlc.CallbackDecorators.VideoUnlockCb(self._on_unlock)
        self._display_cb = vlc.CallbackDecorators.VideoDisplayCb(self._on_display)
        self._player.video_set_callbacks(self._lock_cb, self._unlock_cb, self._display_cb, None)
        events = self._player.event_manager()
        events.event_attach(vlc.EventType.MediaPlayerEndReached, self._on_end)
        events.event_attach(vlc.EventType.MediaPlayerEncounteredError, self._on_error)

    # --- VLC threads: copy, emit, nothing else ---------------------------------------------
    def _on_lock(self, opaque, planes):
        self._buf_lock.acquire()
        planes[0] = ctypes.cast(self._buf, ctypes.c_void_p)
        return None

    def _on_unlock(self, opaque, picture, planes) -> None:
        self._buf_lock.release()

    def _on_display(self, opaque, picture) -> None:
        with self._buf_lock:
            frame = np.frombuffer(self._buf, np.uint8).reshape(self._h, self._w, 4).copy()
        self.frame_ready.emit(frame, thumbnail(frame), -1)

    def _on_end(self, event) -> None:
        self.ended.emit()

    def _on_error(self, event) -> None:
        self.error.emit(f"VLC could not play {self._path}")

    # --- controls (main thread) -------------------------------------------------------------
    def open(self, path: str, width: int, height: int, fps: float) -> None:
        self.close()
        self._path, self._w, self._h, self._fps = path, width, height, fps
        self._buf = (ctypes.c_ubyte * (width * height * 4))()
        self._player.video_set_format("RV32", width, height, width * 4)
        self._started = False
        self._audio_track = -1

    def _audio_ids(self) -> list[int]:
        """VLC's ids of the file's audio tracks, in the file's order (without "Disable")."""
        try:
            return [int(i) for i, _name in (self._player.audio_get_track_description() or [])
                    if int(i) >= 0]
        except Exception:  # python-vlc raises odd things before the input has started
            return []

    def set_audio_track(self, position: int) -> None:
        self._audio_track = int(position)
        ids = self._audio_ids() if self._started else []
        if 0 <= position < len(ids):
            self._player.audio_set_track(ids[position])

    def audio_track(self) -> int:
        ids = self._audio_ids()
        current = self._player.audio_get_track() if self._started else -1
        return ids.index(current) if current in ids else -1

    def play(self, from_index: int) -> None:
        ms = round(from_index / self._fps * 1000)
        state = self._player.get_state()
        if not self._started or state in (
            self._vlc.State.Ended,
            self._vlc.State.Stopped,
            self._vlc.State.Error,
        ):
            self._player.stop()
            media = self._instance.media_new_path(self._path)
            media.add_option(f":start-time={ms / 1000:.3f}")
            if self._audio_track >= 0:  # chosen before VLC knew the tracks: from the start
                media.add_option(f":audio-track={self._audio_track}")
            self._player.set_media(media)
            if self._media is not None:  # a loop starts over with a new media: free the old
                self._media.release()
            self._media = media
            self._player.play()
            self._started = True
            self._apply_audio()
        else:
            self._player.set_time(ms)
            self._player.set_pause(0)

    def pause(self) -> None:
        if self._started:
            self._player.set_pause(1)

    def seek(self, index: int) -> None:
        if self._started:
            self._player.set_time(round(index / self._fps * 1000))

    def set_rate(self, rate: float) -> None:
        self._player.set_rate(float(rate))

    def set_volume(self, volume: int) -> None:
        self._volume = volume
        self._apply_audio()

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self._apply_audio()

    def _apply_audio(self) -> None:
        self._player.audio_set_volume(int(self._volume))
        self._player.audio_set_mute(bool(self._muted))

    def close(self) -> None:
        if self._started:
            self._player.stop()  # joins VLC's decoder and video threads
        self._started = False
        if self._media is not None:
            self._media.release()
            self._media = None

    def release(self) -> None:
        self.close()
        self._player.release()
        self._instance.release()


class OpenCvBackend(Backend):
    """Silent playback with OpenCV and a timer: the fallback when libVLC is missing. It knows
    each frame's exact index, so the overlay stays exact."""

    name = "opencv (no sound)"

    def __init__(self) -> None:
        super().__init__()
        self._reader: VideoReader | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._index = 0
        self._fps = 25.0
        self._rate = 1.0

    def open(self, path: str, width: int, height: int, fps: float) -> None:
        self.close()
        self._reader = VideoReader(path)
        self._fps = fps

    def play(self, from_index: int) -> None:
        self._index = from_index
        self._timer.start(max(1, round(1000 / (self._fps * self._rate))))

    def pause(self) -> None:
        self._timer.stop()

    def seek(self, index: int) -> None:
        self._index = index

    def set_rate(self, rate: float) -> None:
        self._rate = rate
        if self._timer.isActive():
            self._timer.start(max(1, round(1000 / (self._fps * self._rate))))

    def set_volume(self, volume: int) -> None:
        pass  # no audio without VLC

    def set_muted(self, muted: bool) -> None:
        pass

    def _tick(self) -> None:
        if self._reader is None:
            return
        try:
            bgr = self._reader.read(self._index)
        except IndexError:
            self._timer.stop()
            self.ended.emit()
            return
        bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
        self.frame_ready.emit(bgra, None, self._index)
        self._index += 1

    def close(self) -> None:
        self._timer.stop()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def release(self) -> None:
        self.close()


def create_backend(prefer_vlc: bool = True, vlc_args: tuple[str, ...] = ()) -> tuple[Backend, str]:
    """The best backend available, and a warning ('' when none) for the status bar."""
    if prefer_vlc:
        try:
            return VlcBackend(vlc_args), ""
        except PlaybackUnavailable as exc:
            return OpenCvBackend(), str(exc)
    return OpenCvBackend(), ""
