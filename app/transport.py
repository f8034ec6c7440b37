"""Transport and sync: play, pause, step, seek, speed and sound, and which decoder frame VLC
is showing while it plays (issue 15: beside the player's controller).

Paused, stepped or scrubbed, the player shows OpenCV's decode of exactly frame N
(``PlayerController.show_frame``). Playing, the picture is VLC's; which frame it is comes from
engine.framesync: the clock's estimate, corrected by matching the picture against OpenCV
thumbnails of the frames around it. The player holds the state (playing, rate, volume, the
backend); this holds the clock's anchor and the sync's counts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from app.images import bgra_to_qimage
from app.memory import trim
from app.playback import create_backend
from ui.controls import RATES

if TYPE_CHECKING:
    from app.controller import PlayerController

# Frames from VLC that match nothing near the estimate are dropped (they come from before a
# seek); after this many in a row the clock's estimate is trusted instead.
_MAX_REJECTED_IN_A_ROW = 4


class Transport:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self._anchor_index = 0
        self._anchor_time = 0.0
        self._rejected = 0
        # VLC's seeks land near, not on, the target: frames before it are not shown
        self._resume_index = 0
        self.sync_stats = {"matched": 0, "estimated": 0, "rejected": 0}

    def ensure_backend(self) -> bool:
        p = self.player
        if p.backend is None:
            p.backend, p.backend_warning = create_backend(p.use_vlc, p.vlc_args)
            p.backend.frame_ready.connect(self._on_frame)
            p.backend.ended.connect(self._on_ended)
            p.backend.error.connect(p.show_error)
            if p.backend_warning:
                p.show_status(p.backend_warning)
        if p.info is not None and p.backend_path != p.info.path:
            p.backend.open(p.info.path, p.info.width, p.info.height, p.info.fps)
            p.backend.set_rate(p.rate)
            p.backend.set_volume(p.volume)
            p.backend.set_muted(p.muted)
            if p.audio.current >= 0:
                p.backend.set_audio_track(p.audio.current)
            p.backend_path = p.info.path
            p.audio.publish()  # the backend is known now: can it switch tracks?
        return True

    def play(self) -> None:
        p = self.player
        if p.reader is None or p.playing:
            return
        p.window.carousel.dismiss()
        if p.index >= p.reader.frame_count - 1:
            p.show_frame(0)  # at the end, play starts over
        self.ensure_backend()
        self._anchor(p.index)
        self._resume_index = p.index
        p.playing = True
        self._rejected = 0
        p.backend.play(p.index)

    def pause(self) -> None:
        p = self.player
        if not p.playing:
            return
        p.playing = False
        if p.backend is not None:
            p.backend.pause()
        # replace VLC's picture by the exact decode of the same index: paused is exact
        p.show_frame(p.index)

    def toggle_play(self) -> None:
        p = self.player
        if p.playing:
            self.pause()
        else:
            self.play()

    def step(self, delta: int) -> None:
        p = self.player
        if p.reader is None:
            return
        self.pause()
        p.show_frame(p.index + delta)

    def seek_frame(self, index: int) -> None:
        p = self.player
        if p.reader is None:
            return
        p.window.carousel.dismiss()
        index = max(0, min(index, p.reader.frame_count - 1))
        if p.playing:
            self._anchor(index)
            self._resume_index = index
            self._rejected = 0
            if p.indexer is not None:
                p.indexer.follow(index)
            p.backend.seek(index)
            p.window.controls.set_position(index)
        else:
            p.show_frame(index)

    def seek_relative(self, seconds: float) -> None:
        p = self.player
        if p.info is not None:
            self.seek_frame(p.index + round(seconds * p.info.fps))

    def set_rate(self, rate: float) -> None:
        p = self.player
        if p.playing:
            self._anchor(p.index)  # the clock's estimate restarts at the new speed
        p.rate = float(min(max(rate, RATES[0]), RATES[-1]))  # the controls and VLC follow
        p.show_status(f"Speed {p.rate:g}x")

    def rate_step(self, direction: int) -> None:
        p = self.player
        i = min(range(len(RATES)), key=lambda k: abs(RATES[k] - p.rate))
        self.set_rate(RATES[max(0, min(len(RATES) - 1, i + direction))])

    def set_volume(self, volume: int) -> None:
        p = self.player
        p.volume = volume  # clamped to 0..100; the controls, VLC and the settings follow

    def set_muted(self, muted: bool) -> None:
        p = self.player
        p.muted = muted  # the controls, VLC and the settings follow
        p.show_status("Muted" if p.muted else f"Volume {p.volume}%")

    def _anchor(self, index: int) -> None:
        self._anchor_index, self._anchor_time = index, time.monotonic()

    def estimate(self) -> float:
        p = self.player
        fps = p.info.fps if p.info else 25.0
        return self._anchor_index + (time.monotonic() - self._anchor_time) * fps * p.rate

    def _on_frame(self, bgra: np.ndarray, thumb: np.ndarray | None, exact: int) -> None:
        p = self.player
        if not p.playing or p.reader is None:
            return  # a frame still in VLC's pipeline after pause or close
        if exact >= 0:
            index = exact
        else:
            located = p.locator.locate(thumb, self.estimate())
            if located.matched and located.index < self._resume_index:
                self.sync_stats["rejected"] += 1
                return  # VLC's seek landed a few frames early: these were already seen
            if located.matched and located.cost > p.locator.max_cost:
                self._rejected += 1
                self.sync_stats["rejected"] += 1
                if self._rejected < _MAX_REJECTED_IN_A_ROW:
                    return
                index = round(self.estimate())
            else:
                index = located.index
                self.sync_stats["matched" if located.matched else "estimated"] += 1
            self._rejected = 0
            self._resume_index = 0
        index = max(0, min(index, p.reader.frame_count - 1))
        if p.qa.loop_range is not None and index >= p.qa.loop_range[1]:
            self.seek_frame(p.qa.loop_range[0])  # QA's A-B loop
            return
        self._anchor(index)
        if p.indexer is not None:
            p.indexer.follow(index)
        p.display(bgra_to_qimage(bgra), index)

    def _on_ended(self) -> None:
        p = self.player
        if not p.playing:
            return
        if p.loop:
            p.playing = False
            p.show_frame(0)
            trim()  # VLC's threads of the last pass have gone: give their heap back
            self.play()
        else:
            self.pause()
            p.show_frame(p.reader.frame_count - 1 if p.reader else 0)
            p.end_screen.show()
