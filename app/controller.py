"""The player controller: joins the window (ui/), the playback backend and the engine.

Frame exactness, in one place:
- paused, stepped or scrubbed: the picture is OpenCV's decode of exactly frame N, and the
  boxes are those of frame N. Exact by construction.
- playing: the picture is VLC's; which frame it is comes from engine.framesync (clock estimate,
  corrected by matching the picture against OpenCV thumbnails of the frames around it).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage

from app.catalog_loader import CatalogLoader
from app.match_job import MatchJobs
from app.playback import Backend, create_backend
from app.settings import Settings
from engine.annotations import AnnotationIndex, AnnotationsError, load_annotations
from engine.framesync import FrameLocator, ThumbnailIndexer, ThumbnailStore
from engine.types import Detections, VideoInfo
from engine.video import VideoError, VideoReader
from ui.controls import RATES
from ui.main_window import MainWindow

# Frames from VLC that match nothing near the estimate are dropped (they come from before a
# seek); after this many in a row the clock's estimate is trusted instead.
_MAX_REJECTED_IN_A_ROW = 4


def bgr_to_qimage(bgr: np.ndarray) -> QImage:
    h, w = bgr.shape[:2]
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return QImage(rgb.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()


def bgra_to_qimage(bgra: np.ndarray) -> QImage:
    h, w = bgra.shape[:2]
    return QImage(bgra.data, w, h, w * 4, QImage.Format.Format_RGB32).copy()


class PlayerController(QObject):
    frame_shown = Signal(int)  # a frame index is on screen (tests and automation wait on it)
    video_opened = Signal(str)
    error_shown = Signal(str)
    # from the indexer's thread; queued to the main thread, which shows it in the status bar
    _indexer_failed = Signal(str)

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        use_vlc: bool = True,
        vlc_args: tuple[str, ...] = (),
        loop: bool = False,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.loop = loop
        self._use_vlc = use_vlc
        self._vlc_args = vlc_args
        self.backend: Backend | None = None
        self.backend_warning = ""
        self._backend_path = ""  # the file the backend has opened
        self.info: VideoInfo | None = None
        self.reader: VideoReader | None = None
        self.annotations: AnnotationIndex | None = None
        self.index = -1
        self.playing = False
        self.rate = 1.0
        self.volume = settings.volume
        self.muted = settings.muted
        self._store = ThumbnailStore()
        self._locator = FrameLocator(self._store)
        self._indexer: ThumbnailIndexer | None = None
        self._anchor_index = 0
        self._anchor_time = 0.0
        self._rejected = 0
        # VLC's seeks land near, not on, the target: frames before it are not shown
        self._resume_index = 0
        self.sync_stats = {"matched": 0, "estimated": 0, "rejected": 0}
        self.catalog = None  # engine.catalog.retrieval.Catalog once loaded
        self.catalog_path = ""
        self.catalog_loader = CatalogLoader(self)
        self.catalog_loader.loaded.connect(self._on_catalog_loaded)
        self.catalog_loader.failed.connect(self.show_status)
        self.catalog_loader.progress.connect(self.show_status)
        self.match_jobs = MatchJobs(self)
        self.match_jobs.done.connect(self._on_matches)
        self.match_jobs.failed.connect(
            lambda gen, _t, text: gen == self._match_generation and self.show_status(text))
        self._matches: dict[int, list] = {}  # track id -> [Match], for this generation
        # bumped whenever track ids or the catalogue change: older results are dropped
        self._match_generation = 0
        self._selected = -1
        self._wire()

    def _wire(self) -> None:
        w, c = self.window, self.window.controls
        self._indexer_failed.connect(
            lambda m: self.show_status(f"{m}; boxes follow VLC's clock alone while playing")
        )
        w.open_requested.connect(self.open_video)
        w.annotations_requested.connect(self.load_annotations)
        w.catalog_requested.connect(self.open_catalog)
        w.play_pause_requested.connect(self.toggle_play)
        w.seek_relative_requested.connect(self.seek_relative)
        w.step_requested.connect(self.step)
        w.rate_step_requested.connect(self.rate_step)
        w.mute_toggle_requested.connect(lambda: self.set_muted(not self.muted))
        w.clear_recent_requested.connect(self._clear_recent)
        w.closing.connect(self.shutdown)
        c.play_pause_requested.connect(self.toggle_play)
        c.seek_requested.connect(self.seek_frame)
        c.step_requested.connect(self.step)
        c.rate_requested.connect(self.set_rate)
        c.volume_requested.connect(self.set_volume)
        c.mute_requested.connect(self.set_muted)
        w.video.box_clicked.connect(self.select_track)
        w.panel.card.buy_requested.connect(self.open_product_url)
        w.video.background_clicked.connect(lambda: self.select_track(-1))
        c.set_volume(self.volume)
        c.set_muted(self.muted)
        w.set_recent_files(self.settings.recent_files)

    # --- messages --------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.window.video.set_message(text, error=True)
        self.window.statusBar().showMessage(text)
        self.error_shown.emit(text)

    def show_status(self, text: str) -> None:
        self.window.statusBar().showMessage(text)

    # --- the shop catalogue ------------------------------------------------------------------
    def open_catalog(self, path: str) -> None:
        """Loads a catalogue in the background; the current one stays until the new one is
        ready (or stays for good if it fails)."""
        self.catalog_path = path
        self.show_status(f"Opening the catalogue {path}…")
        self.catalog_loader.load(path)

    def _on_catalog_loaded(self, catalog, summary: str) -> None:
        old, self.catalog = self.catalog, catalog
        if old is not None:
            self.match_jobs.wait()
            old.close()
        self._forget_matches()  # they came from the old catalogue
        self.show_status(summary)
        track = self.annotations.track(self._selected) if (
            self.annotations and self._selected >= 0) else None
        if track is not None and not track.matches:
            self._request_matches(track)  # the panel was waiting for the catalogue

    def open_product_url(self, url: str) -> bool:
        """Opens a product page in the system browser: http and https only, whatever a
        catalogue or an annotations file says."""
        from engine.catalog.validate import RowError, web_url

        try:
            safe = web_url(url, "product link")
        except RowError as exc:
            self.show_status(f"Not opened: {exc}")
            return False
        if not QDesktopServices.openUrl(QUrl(safe)):
            self.show_status(f"No browser could open {safe}")
            return False
        self.show_status(f"Opened {safe} in the browser")
        return True

    def _forget_matches(self) -> None:
        self._matches.clear()
        self._match_generation += 1

    def _request_matches(self, track) -> None:
        if self.catalog is None or self.info is None:
            self.window.panel.set_matches_message(
                "Opening the catalogue…" if self.catalog_loader.busy() else
                "No catalogue: File → Open Catalogue…")
            return
        self.window.panel.set_matches_message("Finding the products…")
        self.match_jobs.request(self._match_generation, self.info.path, track,
                                self.info.height, self.catalog)

    def _on_matches(self, generation: int, track_id: int, matches: list) -> None:
        if generation != self._match_generation:
            return  # asked about another video, annotations or catalogue
        self._matches[track_id] = matches
        if track_id == self._selected:
            self.window.panel.set_matches(matches)

    # --- opening -----------------------------------------------------------------------------
    def open_video(self, path: str) -> bool:
        """Open ``path`` paused on frame 0. A bad file shows a message and leaves the player
        usable (with nothing open) instead of raising."""
        self._close_video()
        try:
            reader = VideoReader(path)
        except VideoError as exc:
            self.show_error(str(exc))
            self.window.video.clear()
            self.window.setWindowTitle("Video2Shop")
            return False
        self.reader, self.info = reader, reader.info
        complete = reader.check_end()
        self.window.video.set_message("")
        self.window.setWindowTitle(f"{Path(path).name} — Video2Shop")
        self.window.controls.set_media(self.info.fps, reader.frame_count)
        self._indexer = ThumbnailIndexer(
            path, self._store, reader.frame_count, on_error=self._indexer_failed.emit
        )
        self._indexer.start()
        if not self.show_frame(0):
            return False
        self.window.set_recent_files(self.settings.add_recent(path))
        status = (
            f"{Path(path).name}: {self.info.width}x{self.info.height}, {self.info.fps:.3g} fps, "
            f"{reader.frame_count} frames"
        )
        if not complete:
            status += (
                f" — the file is truncated: only {reader.frame_count} of "
                f"{self.info.frame_count} frames can be decoded"
            )
        self.show_status(status)
        self.video_opened.emit(path)
        return True

    def _close_video(self) -> None:
        self._forget_matches()  # results for this video's tracks
        self._selected = -1
        if self.playing:  # stop without decoding an exact frame of a video that is closing
            self.playing = False
            if self.backend is not None:
                self.backend.pause()
            self.window.controls.set_playing(False)
        if self._indexer is not None:
            self._indexer.stop()
            self._indexer = None
        self._store = ThumbnailStore()
        self._locator = FrameLocator(self._store)
        if self.backend is not None:
            self.backend.close()
        self._backend_path = ""
        if self.reader is not None:
            self.reader.close()
        self.reader = None
        self.info = None
        self.index = -1
        self.select_track(-1)

    def load_annotations(self, path: str) -> bool:
        try:
            ann = load_annotations(path)
        except AnnotationsError as exc:
            self.show_error(f"Cannot use these annotations: {exc}")
            return False
        self.annotations = ann.index()
        self._forget_matches()  # track ids now name other tracks
        self._selected = -1
        note = ""
        if self.info is not None:
            w, h = ann.video.get("width"), ann.video.get("height")
            if (w, h) != (None, None) and (w, h) != (self.info.width, self.info.height):
                note = (
                    f" — made for {w}x{h}, the video is {self.info.width}x{self.info.height}: "
                    "boxes may be misplaced"
                )
        self.show_status(
            f"Annotations: {len(self.annotations)} tracks from {Path(path).name}{note}"
        )
        if self.index >= 0 and not self.playing:
            self.show_frame(self.index)
        return True

    def detections_at(self, index: int) -> Detections:
        if self.annotations is None:
            return Detections.empty()
        return self.annotations.detections_at(index)

    # --- exact frames (paused) ---------------------------------------------------------------
    def show_frame(self, index: int) -> bool:
        """Decode exactly frame ``index`` with OpenCV and show it with its boxes."""
        if self.reader is None:
            return False
        index = max(0, min(index, self.reader.frame_count - 1))
        try:
            bgr = self.reader.read(index)
        except IndexError:
            index = self.reader.frame_count - 1  # truncated file found out late: show the end
            try:
                bgr = self.reader.read(index)
            except IndexError as exc:
                self.show_error(f"Cannot decode frame {index}: {exc}")
                return False
            self.window.controls.set_media(self.info.fps, self.reader.frame_count)
        self._display(bgr_to_qimage(bgr), index)
        if self._indexer is not None:
            self._indexer.follow(index)
        return True

    def _display(self, image: QImage, index: int) -> None:
        self.index = index
        self.window.video.set_frame(image, index, self.detections_at(index))
        self.window.controls.set_position(index)
        self.frame_shown.emit(index)

    # --- transport ---------------------------------------------------------------------------
    def _ensure_backend(self) -> bool:
        if self.backend is None:
            self.backend, self.backend_warning = create_backend(self._use_vlc, self._vlc_args)
            self.backend.frame_ready.connect(self._on_backend_frame)
            self.backend.ended.connect(self._on_ended)
            self.backend.error.connect(self.show_error)
            if self.backend_warning:
                self.show_status(self.backend_warning)
        if self.info is not None and self._backend_path != self.info.path:
            self.backend.open(self.info.path, self.info.width, self.info.height, self.info.fps)
            self.backend.set_rate(self.rate)
            self.backend.set_volume(self.volume)
            self.backend.set_muted(self.muted)
            self._backend_path = self.info.path
        return True

    def play(self) -> None:
        if self.reader is None or self.playing:
            return
        if self.index >= self.reader.frame_count - 1:
            self.show_frame(0)  # at the end, play starts over
        self._ensure_backend()
        self._anchor(self.index)
        self._resume_index = self.index
        self.playing = True
        self._rejected = 0
        self.window.controls.set_playing(True)
        self.backend.play(self.index)

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        if self.backend is not None:
            self.backend.pause()
        self.window.controls.set_playing(False)
        # replace VLC's picture by the exact decode of the same index: paused is exact
        self.show_frame(self.index)

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def step(self, delta: int) -> None:
        if self.reader is None:
            return
        self.pause()
        self.show_frame(self.index + delta)

    def seek_frame(self, index: int) -> None:
        if self.reader is None:
            return
        index = max(0, min(index, self.reader.frame_count - 1))
        if self.playing:
            self._anchor(index)
            self._resume_index = index
            self._rejected = 0
            if self._indexer is not None:
                self._indexer.follow(index)
            self.backend.seek(index)
            self.window.controls.set_position(index)
        else:
            self.show_frame(index)

    def seek_relative(self, seconds: float) -> None:
        if self.info is not None:
            self.seek_frame(self.index + round(seconds * self.info.fps))

    def set_rate(self, rate: float) -> None:
        self.rate = float(min(max(rate, RATES[0]), RATES[-1]))
        if self.playing:
            self._anchor(self.index)
        if self.backend is not None:
            self.backend.set_rate(self.rate)
        self.window.controls.set_rate(self.rate)
        self.show_status(f"Speed {self.rate:g}x")

    def rate_step(self, direction: int) -> None:
        i = min(range(len(RATES)), key=lambda k: abs(RATES[k] - self.rate))
        self.set_rate(RATES[max(0, min(len(RATES) - 1, i + direction))])

    def set_volume(self, volume: int) -> None:
        self.volume = max(0, min(100, int(volume)))
        self.settings.volume = self.volume
        if self.backend is not None:
            self.backend.set_volume(self.volume)
        self.window.controls.set_volume(self.volume)

    def set_muted(self, muted: bool) -> None:
        self.muted = bool(muted)
        self.settings.muted = self.muted
        if self.backend is not None:
            self.backend.set_muted(self.muted)
        self.window.controls.set_muted(self.muted)
        self.show_status("Muted" if self.muted else f"Volume {self.volume}%")

    # --- frames while playing -------------------------------------------------------------
    def _anchor(self, index: int) -> None:
        self._anchor_index, self._anchor_time = index, time.monotonic()

    def estimate(self) -> float:
        fps = self.info.fps if self.info else 25.0
        return self._anchor_index + (time.monotonic() - self._anchor_time) * fps * self.rate

    def _on_backend_frame(self, bgra: np.ndarray, thumb: np.ndarray | None, exact: int) -> None:
        if not self.playing or self.reader is None:
            return  # a frame still in VLC's pipeline after pause or close
        if exact >= 0:
            index = exact
        else:
            located = self._locator.locate(thumb, self.estimate())
            if located.matched and located.index < self._resume_index:
                self.sync_stats["rejected"] += 1
                return  # VLC's seek landed a few frames early: these were already seen
            if located.matched and located.cost > self._locator.max_cost:
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
        index = max(0, min(index, self.reader.frame_count - 1))
        self._anchor(index)
        if self._indexer is not None:
            self._indexer.follow(index)
        self._display(bgra_to_qimage(bgra), index)

    def _on_ended(self) -> None:
        if not self.playing:
            return
        if self.loop:
            self.playing = False
            self.show_frame(0)
            self.play()
        else:
            self.pause()
            self.show_frame(self.reader.frame_count - 1 if self.reader else 0)

    # --- selection ---------------------------------------------------------------------------
    def select_track(self, track_id: int) -> None:
        self.window.video.set_selected(track_id)
        track = self.annotations.track(track_id) if (self.annotations and track_id >= 0) else None
        self._selected = track.track_id if track is not None else -1
        fps = self.info.fps if self.info else 25.0
        self.window.panel.set_track(track, fps)
        if track is not None and not track.matches:
            cached = self._matches.get(track.track_id)
            if cached is not None:
                self.window.panel.set_matches(cached)
            else:
                self._request_matches(track)
        if track is not None and self.playing:
            self.pause()  # a viewer who clicks a garment wants to look at it

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.window.set_recent_files([])

    def shutdown(self) -> None:
        self.settings.geometry = self.window.saveGeometry()
        self.settings.sync()
        self._close_video()
        self.match_jobs.wait()
        self.catalog_loader.wait()
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        if self.backend is not None:
            release = getattr(self.backend, "release", None)
            if release:
                release()
            self.backend = None
