"""Matching the garment the viewer clicked, off the main thread: its crops, the IFN, FAISS and
AsymNet (engine/matching.py), one job at a time; the newest request wins."""

from __future__ import annotations

import copy

from PySide6.QtCore import QObject, QThread, Signal

from engine.types import Track


class _MatchThread(QThread):
    done = Signal(int, int, list)  # generation, track id, [Match]
    failed = Signal(int, int, str)

    def __init__(self, generation: int, video: str, track: Track, height: int, catalog
                 ) -> None:
        super().__init__()
        self.generation = generation
        self.video, self.track, self.height, self.catalog = video, track, height, catalog

    def run(self) -> None:
        try:
            from engine.annotations import Annotations
            from engine.matching import Matcher

            ann = Annotations(video={"height": self.height}, tracks=[self.track])
            Matcher(self.catalog).match_video(self.video, ann)
            self.done.emit(self.generation, self.track.track_id, list(self.track.matches))
        except Exception as exc:  # reaches the status bar; the player goes on
            self.failed.emit(self.generation, self.track.track_id, f"matching failed: {exc}")


class MatchJobs(QObject):
    """``request(generation, ...)``: results carry the generation they were asked in, so the
    caller drops those of a video, annotations or catalogue it has since replaced."""

    done = Signal(int, int, list)
    failed = Signal(int, int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: _MatchThread | None = None
        self._pending: tuple | None = None
        self._threads: list[_MatchThread] = []

    def request(self, generation: int, video: str, track: Track, height: int, catalog) -> None:
        self._pending = (generation, video, copy.deepcopy(track), height, catalog)
        if self._running is None:
            self._start_next()

    def _start_next(self) -> None:
        if self._pending is None:
            return
        thread = _MatchThread(*self._pending)
        self._pending = None
        self._running = thread
        thread.done.connect(self.done)
        thread.failed.connect(self.failed)
        thread.finished.connect(lambda t=thread: self._finished(t))
        self._threads.append(thread)
        thread.start()

    def _finished(self, thread: _MatchThread) -> None:
        self._threads.remove(thread)
        self._running = None
        self._start_next()

    def wait(self, ms: int = 30000) -> bool:
        self._pending = None
        return all(t.wait(ms) for t in list(self._threads))
