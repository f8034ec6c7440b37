"""The engine's QThread: analyses the open video ahead of the playhead and matches what it finds,
or (``open_tracks``) matches the tracks of a loaded file the same way.

The main thread only calls the methods below (each takes a lock for a moment and wakes the
thread) and receives values by signal: an ``engine.types.Snapshot`` after a step that changed
the boxes, only the changed tracks' ``TrackResult``s after a step that matched (a snapshot of
an hour of drama, ~2,000 tracks, takes about 0.15 s to build), and messages. The thread owns the
detector, the analysis session and the catalogue it was given, which it closes itself when it
is replaced, so nothing is closed while it is in use. Every exception becomes a ``failed``
signal; after a few in a row on one video the engine stops analysing that video and says so.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from app.memory import trim

MAX_ERRORS_PER_VIDEO = 3
TRIM_EVERY_S = 5.0  # give the analysis' freed heap back this often while it runs (app/memory.py)


class EngineThread(QThread):
    snapshot_ready = Signal(int, object)  # generation, engine.types.Snapshot
    # generation, {track id: engine.types.TrackResult}: the tracks a matching step changed
    tracks_matched = Signal(int, object)
    failed = Signal(int, str)  # generation, message for the status bar
    status = Signal(int, str)
    search_done = Signal(int, list)  # generation, [Match] for a region the viewer drew

    def __init__(self, detector: str = "auto", device: str = "auto", *,
                 detector_factory: Callable[[], object] | None = None,
                 cache_path: str | None = None, stride: int = 3, segment: int = 48,
                 use_cache: bool = True, analyse: bool = True) -> None:
        super().__init__()
        self.detector_name, self.device = detector, device
        # False: the player analyses nothing (play --no-engine); this thread only matches the
        # tracks of a loaded file (``open_tracks``) and answers region searches. It starts on
        # its first piece of work, so a player that never gets one has no thread to stop.
        self.analyse = analyse
        self._factory = detector_factory
        self._cache_path, self.use_cache = cache_path, use_cache
        self.stride, self.segment = stride, segment
        self._cv = threading.Condition()
        self._stopping = False
        # generation, path, frame count, and the tracks of a file (None: analyse the video)
        self._open: tuple[int, str, int, list | None] | None = None
        self._close = False
        self._catalog = None
        self._catalog_new = False
        self._playhead, self._paused = 0, True
        self._urgent: list[int] = []
        self._search: tuple[int, np.ndarray] | None = None
        self.generation = -1
        self.steps = 0

    # --- called from the main thread -------------------------------------------------------
    def open_video(self, generation: int, path: str, frame_count: int) -> None:
        """Analyse ``path`` (and match what is found)."""
        if not self.analyse:
            raise RuntimeError("this engine thread only matches given tracks: open_tracks()")
        self._opening((generation, path, frame_count, None))

    def open_tracks(self, generation: int, path: str, frame_count: int, tracks: list) -> None:
        """Match ``tracks`` (engine.types.Track, a loaded file's) of ``path`` instead of
        analysing it: the same session, order of work and results as the engine's own."""
        self._opening((generation, path, frame_count, list(tracks)))

    def _opening(self, what: tuple) -> None:
        with self._cv:
            self._open = what
            self._urgent.clear()
            self._search = None
            self._cv.notify()
        self._start_if_idle()

    def _start_if_idle(self) -> None:
        if not self.analyse and not self._stopping and not self.isRunning():
            self.start()

    def close_video(self) -> None:
        with self._cv:
            self._open, self._close = None, True
            self._urgent.clear()
            self._cv.notify()

    def set_catalog(self, catalog) -> None:
        """The engine takes ownership: it closes the catalogue it had (between two steps)."""
        with self._cv:
            if self._catalog_new and self._catalog is not None:
                self._catalog.close()  # never used: a newer one came first
            self._catalog, self._catalog_new = catalog, True
            self._cv.notify()
        self._start_if_idle()  # it owns the catalogue now, and closes it when it stops

    def set_playhead(self, frame: int, paused: bool) -> None:
        with self._cv:
            changed = (frame, paused) != (self._playhead, self._paused)
            self._playhead, self._paused = int(frame), bool(paused)
            if changed:
                self._cv.notify()

    def request_match(self, track_id: int) -> None:
        with self._cv:
            if track_id in self._urgent:
                self._urgent.remove(track_id)
            self._urgent.insert(0, track_id)
            self._cv.notify()

    def search_region(self, generation: int, rgb: np.ndarray) -> None:
        with self._cv:
            self._search = (generation, np.ascontiguousarray(rgb).copy())
            self._cv.notify()
        self._start_if_idle()

    def stop(self, wait_ms: int = 30000) -> bool:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        return self.wait(wait_ms)

    # --- the thread ------------------------------------------------------------------------
    def run(self) -> None:
        detector = None
        session = None
        catalog = None
        cache = None
        from engine.device import take_notices

        errors = 0
        cache_warned = ""
        partial = False  # per-track results went out since the last whole snapshot
        idle = False
        trimmed = time.monotonic()
        while True:
            with self._cv:
                while not self._stopping and idle and self._open is None and not self._close \
                        and not self._catalog_new and self._search is None and not self._urgent:
                    self._cv.wait(0.5)
                if self._stopping:
                    break
                opening, self._open = self._open, None
                closing, self._close = self._close, False
                if self._catalog_new:
                    new_catalog, self._catalog_new = self._catalog, False
                else:
                    new_catalog = catalog
                search, self._search = self._search, None
                urgent, self._urgent = self._urgent, []
                playhead, paused = self._playhead, self._paused
            idle = False
            generation = self.generation
            try:
                if new_catalog is not catalog:
                    if catalog is not None:
                        catalog.close()
                    catalog = new_catalog
                    if session is not None:
                        session.set_catalog(catalog)
                        self.snapshot_ready.emit(generation, session.snapshot())
                if closing or opening is not None:
                    if session is not None:
                        session.analysis.end_run()
                    session = None
                if opening is not None and opening[3] is not None:  # a file's tracks
                    generation, path, frame_count, given = opening
                    self.generation = generation
                    errors = 0
                    session = self._given_session(path, frame_count, given, catalog)
                    self.snapshot_ready.emit(generation, session.snapshot())
                elif opening is not None:
                    generation, path, frame_count, _ = opening
                    self.generation = generation
                    errors = 0
                    if detector is None:
                        detector = self._make_detector()
                    if cache is None and self.use_cache:
                        from engine.analysis.cache import AnalysisCache

                        cache = AnalysisCache(self._cache_path)
                        if cache.warning:
                            self.status.emit(generation, cache.warning)
                    session = self._session(path, frame_count, detector, catalog,
                                            cache if self.use_cache else None)
                    self._first_boxes(generation, session)
                    if session.restored:
                        self.status.emit(generation, "Boxes from the analysis cache")
                    self.snapshot_ready.emit(generation, session.snapshot())
                if search is not None:  # the main thread drops answers for another video
                    self._run_search(search[0], search[1], catalog)
                if session is None:
                    idle = True
                    continue
                for tid in reversed(urgent):
                    session.request_match(tid)
                what = session.step(playhead, paused)
                for notice in take_notices():  # a GPU that failed: the engine is on the CPU
                    self.status.emit(generation, notice)
                if cache is not None and cache.warning and cache.warning != cache_warned:
                    cache_warned = cache.warning  # a disk that filled: said once, not per step
                    self.status.emit(generation, cache.warning)
                if what is None:
                    if partial:  # all done: one whole snapshot, so nothing can be missed
                        partial = False
                        self.snapshot_ready.emit(generation, session.snapshot())
                    idle = True
                    continue
                self.steps += 1
                errors = 0
                if time.monotonic() - trimmed >= TRIM_EVERY_S:
                    trim()  # about 10 ms; without it a long video holds 400-500 MB more
                    trimmed = time.monotonic()
                changed = session.take_changed()
                if changed and not session.boxes_changed:
                    partial = True
                    self.tracks_matched.emit(generation, changed)
                else:
                    partial = False
                    self.snapshot_ready.emit(generation, session.snapshot())
            except Exception as exc:  # reported, never fatal to the player
                traceback.print_exc()
                errors += 1
                message = f"Analysis error: {type(exc).__name__}: {exc}"
                if session is not None and errors >= MAX_ERRORS_PER_VIDEO:
                    message += " — analysis of this video stopped; the next file is analysed " \
                               "normally"
                    session.analysis.end_run()
                    session = None
                elif session is None:
                    message += " — this video is not analysed"
                self.failed.emit(generation, message)
                if session is not None:
                    try:
                        self.snapshot_ready.emit(generation, session.snapshot())
                    except Exception:
                        session = None
                time.sleep(0.05)
        if session is not None:
            session.analysis.end_run()
        if catalog is not None:
            catalog.close()
        with self._cv:
            if self._catalog_new and self._catalog is not None and self._catalog is not catalog:
                self._catalog.close()
        if cache is not None:
            cache.close()

    def _first_boxes(self, generation: int, session) -> None:
        """Until the first boxes are out, every batch of frames publishes what it found: the
        viewer sees boxes a few frames into the video, not a whole segment later."""
        if session.analysis.done.any():
            return  # from the cache: there is something to show already

        def on_batch() -> None:
            snapshot = session.snapshot()
            self.snapshot_ready.emit(generation, snapshot)
            if any(len(t.boxes) for t in snapshot.tracks):
                session.analysis.publish_batches = False
                session.on_batch = None

        session.analysis.publish_batches = True
        session.on_batch = on_batch

    def _make_detector(self):
        if self._factory is not None:
            return self._factory()
        from engine.detect import create_detector

        return create_detector(self.detector_name, device=self.device)

    def _session(self, path: str, frame_count: int, detector, catalog, cache):
        from engine.analysis import LiveAnalysis, LiveSession
        from engine.video import probe

        info = probe(path)
        analysis = LiveAnalysis(path, detector, info, frame_count=frame_count,
                                stride=self.stride, segment=self.segment)
        return LiveSession(analysis, catalog=catalog, cache=cache)

    @staticmethod
    def _given_session(path: str, frame_count: int, tracks: list, catalog):
        from engine.analysis import LiveSession
        from engine.analysis.given import GivenTracks
        from engine.video import probe

        return LiveSession(GivenTracks(path, probe(path), tracks, frame_count), catalog=catalog)

    def _run_search(self, generation: int, rgb: np.ndarray, catalog) -> None:
        if catalog is None:
            self.failed.emit(generation, "No catalogue to search: File → Open Catalogue…")
            return
        from engine.matching import Matcher, to_match

        self.search_done.emit(generation, [to_match(m) for m in
                                           Matcher(catalog).search_image(rgb, k=10)])
