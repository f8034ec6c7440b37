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
from app.memory import trim
from app.playback import Backend, create_backend
from app.settings import Settings
from app.subtitles import SubtitleController
from engine.annotations import AnnotationsError, load_annotations
from engine.framesync import FrameLocator, ThumbnailIndexer, ThumbnailStore
from engine.types import AnnotationIndex, Detections, VideoInfo
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


def qimage_to_rgb(image: QImage) -> np.ndarray | None:
    """A QImage (a pasted picture) -> (H, W, 3) uint8 RGB, or None when it is empty."""
    if image.isNull():
        return None
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def bgra_to_qimage(bgra: np.ndarray) -> QImage:
    h, w = bgra.shape[:2]
    return QImage(bgra.data, w, h, w * 4, QImage.Format.Format_RGB32).copy()


class PlayerController(QObject):
    frame_shown = Signal(int)  # a frame index is on screen (tests and automation wait on it)
    video_opened = Signal(str)
    error_shown = Signal(str)
    analysis_updated = Signal()  # the engine sent new results for the open video
    card_shown = Signal(int)  # the panel shows a track's products (-1: a drawn region's)
    # from the indexer's thread; queued to the main thread, which shows it in the status bar
    _indexer_failed = Signal(str)

    def __init__(
        self,
        window: MainWindow,
        settings: Settings,
        use_vlc: bool = True,
        vlc_args: tuple[str, ...] = (),
        loop: bool = False,
        engine=None,
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
        self._catalog_gone_said = ""  # the removed catalogue folder the viewer was told of
        self._closed = False  # shut down: nothing new starts (a late timer, a queued result)
        self.subtitles = SubtitleController(self)
        self.saved = None  # engine.saved.SavedStore, opened by _refresh_saved at start-up
        self.audio_streams: list = []  # engine.video.AudioStream of the open file
        self.audio_current = -1
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
        # the live engine (app.engine_thread.EngineThread): when there is one, its results are
        # the boxes, and loaded annotations are ground truth drawn beside them
        self.engine = engine
        self.kiosk_mode = False
        self.snapshot = None  # the engine's latest engine.types.Snapshot for this video
        self.reference: AnnotationIndex | None = None
        self._video_generation = 0
        self._region_generation = 0
        self._image: QImage | None = None  # the picture on screen
        self.loop_range: tuple[int, int] | None = None  # QA: A-B loop while playing
        self._loop_a: int | None = None
        self.flags = None  # engine.export.FlagBook for the open video
        self._thumbs: dict[str, np.ndarray | None] = {}  # product image -> timeline thumbnail
        self._timeline_key: list | None = None  # what the timeline shows now
        self._wire()
        if engine is not None:
            engine.snapshot_ready.connect(self._on_snapshot)
            engine.failed.connect(lambda gen, text: gen == self._video_generation
                                  and self.show_status(text))
            engine.status.connect(lambda gen, text: gen == self._video_generation
                                  and self.show_status(text))
            engine.search_done.connect(self._on_region_matches)
            engine.start()

    def _wire(self) -> None:
        w, c = self.window, self.window.controls
        self._indexer_failed.connect(
            lambda m: self.show_status(f"{m}; boxes follow VLC's clock alone while playing")
        )
        w.open_requested.connect(self.open_video)
        w.annotations_requested.connect(self.load_annotations)
        w.subtitles_requested.connect(self.load_subtitles)
        w.photo_search_requested.connect(self.search_photo)
        w.photo_pasted.connect(lambda image: self.search_picture(
            qimage_to_rgb(image), "A pasted picture"))
        w.subtitle_track_chosen.connect(self.subtitles.select)
        w.audio_track_chosen.connect(self.set_audio_track)
        self.subtitles.tracks_changed.connect(w.set_subtitle_tracks)
        self.subtitles.message.connect(self.show_status)
        self.subtitles.changed.connect(self._show_subtitle)
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
        w.video.region_selected.connect(self.search_region)
        w.goto_frame_requested.connect(self.goto_frame)
        w.loop_point_requested.connect(self.set_loop_point)
        w.flag_requested.connect(self.flag)
        w.export_analysis_requested.connect(self.export_analysis)
        w.export_flags_requested.connect(self.export_flags)
        w.track_activated.connect(self.jump_to_track)
        w.qa_toggled.connect(lambda _on: self._refresh_lists())
        w.timeline.item_clicked.connect(lambda frame, tid: self.jump_to_track(tid, frame))
        w.timeline.seek_requested.connect(self.seek_frame)
        w.panel.evidence.frame_clicked.connect(self._show_evidence_frame)
        w.carousel.product_clicked.connect(lambda tid: self.select_track(tid, pause=False))
        w.panel.card.save_toggled.connect(self.save_card)
        w.saved.moment_requested.connect(self.go_to_saved)
        w.saved.remove_requested.connect(self.forget_saved)
        w.saved.export_requested.connect(self.export_saved)
        self.card_shown.connect(lambda _tid: self._show_heart())
        self._refresh_saved()
        w.carousel.moment_requested.connect(lambda frame, tid: self.jump_to_track(tid, frame))
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
        if self._closed:
            return
        self.catalog_path = path
        self.show_status(f"Opening the catalogue {path}…")
        self.catalog_loader.load(path)

    def _on_catalog_loaded(self, catalog, summary: str) -> None:
        if self._closed:  # loaded while the player was closing
            catalog.close()
            return
        old, self.catalog = self.catalog, catalog
        if self.engine is not None:
            self.engine.set_catalog(catalog)  # the engine closes the old one when it is free
        elif old is not None:
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
        if self.engine is not None:
            self.engine.request_match(track.track_id)
            return
        self.match_jobs.request(self._match_generation, self.info.path, track,
                                self.info.height, self.catalog)

    def _on_matches(self, generation: int, track_id: int, matches: list) -> None:
        if generation != self._match_generation:
            return  # asked about another video, annotations or catalogue
        self._matches[track_id] = matches
        if track_id == self._selected:
            self.window.panel.set_matches(matches)
            self.card_shown.emit(track_id)

    # --- opening -----------------------------------------------------------------------------
    def open_video(self, path: str) -> bool:
        """Open ``path`` paused on frame 0. A bad file shows a message and leaves the player
        usable (with nothing open) instead of raising."""
        self._close_video()
        trim()  # the last video's frames, thumbnails and analysis state are free now
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
        if self.engine is not None:
            self.engine.open_video(self._video_generation, path, reader.frame_count)
        self.subtitles.open_video(path)
        self._open_audio(path)
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
        self.window.carousel.dismiss()
        self._forget_matches()  # results for this video's tracks
        self._video_generation += 1  # the engine's results for the old video are dropped
        self.snapshot = None
        self.flags = None
        self._timeline_key = None
        self.window.timeline.set_items([])
        self.window.timeline.hide()
        self.loop_range, self._loop_a = None, None
        self.window.controls.set_loop_marks([])
        self.window.engine_label.setText("")
        if self.engine is not None:
            self.engine.close_video()
            self.annotations = None
            self.window.controls.set_analysed([])
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
        self.subtitles.close_video()
        self.select_track(-1)

    def load_annotations(self, path: str) -> bool:
        try:
            ann = load_annotations(path)
        except AnnotationsError as exc:
            self.show_error(f"Cannot use these annotations: {exc}")
            return False
        if self.engine is not None:
            self.reference = ann.index()  # ground truth beside the engine's results
        else:
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
        what = "Ground truth" if self.engine is not None else "Annotations"
        self.show_status(f"{what}: {len(ann.tracks)} tracks from {Path(path).name}{note}")
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

    def reference_at(self, index: int) -> Detections | None:
        return self.reference.detections_at(index) if self.reference is not None else None

    def _display(self, image: QImage, index: int) -> None:
        self.index = index
        self._image = image
        self.window.video.set_frame(image, index, self.detections_at(index),
                                    self.reference_at(index))
        self.window.controls.set_position(index)
        self._show_subtitle()
        if self.engine is not None:
            self.engine.set_playhead(index, not self.playing)
        self.window.video.set_region_search(self.engine is not None and not self.playing)
        self.window.video.set_playing(self.playing)
        self.window.timeline.set_position(index)
        self.frame_shown.emit(index)

    def _open_audio(self, path: str) -> None:
        """The Audio menu for a new file: its tracks, the one chosen last time for it, else
        the one it flags as default, else the first."""
        from engine.video import audio_streams

        self.audio_streams = audio_streams(path)
        remembered = self.settings.audio_track(path)
        default = next((s.position for s in self.audio_streams if s.default), 0)
        current = remembered if remembered is not None and \
            0 <= remembered < len(self.audio_streams) else default
        self.audio_current = current if self.audio_streams else -1
        if self.backend is not None and self.audio_current >= 0:
            self.backend.set_audio_track(self.audio_current)
        self._publish_audio()

    def _publish_audio(self) -> None:
        playable = (self.backend is None and self._use_vlc) or bool(
            self.backend is not None and self.backend.has_audio_tracks)
        self.window.set_audio_tracks([s.name() for s in self.audio_streams],
                                     self.audio_current, playable)

    def set_audio_track(self, position: int) -> bool:
        """Audio ▸ a track: played from now on, and remembered for this file."""
        if self.info is None or not 0 <= position < len(self.audio_streams):
            return False
        self.audio_current = position
        self.settings.set_audio_track(self.info.path, position)
        if self.backend is not None:
            self.backend.set_audio_track(position)
        self._publish_audio()
        self.show_status(f"Audio: {self.audio_streams[position].name()}")
        return True

    def _show_subtitle(self) -> None:
        fps = self.info.fps if self.info else 0.0
        self.window.video.set_subtitle(self.subtitles.text_at(self.index, fps)
                                       if self.index >= 0 else "")

    def load_subtitles(self, path: str) -> bool:
        """Show the subtitles in ``path`` over the open video."""
        if self.info is None:
            self.show_status("Open a video first, then its subtitles")
            return False
        return self.subtitles.load_file(path)

    # --- the live engine --------------------------------------------------------------------
    def _on_snapshot(self, generation: int, snap) -> None:
        if generation != self._video_generation or self.reader is None:
            return  # about a video that is closed
        self.snapshot = snap
        self.annotations = snap.index
        self.window.controls.set_analysed(snap.analysed)
        if self.index >= 0:
            self.window.video.set_overlay(self.detections_at(self.index),
                                          self.reference_at(self.index))
        self._refresh_lists()
        self._show_engine_progress()
        self.analysis_updated.emit()
        if self._selected >= 0:
            track = snap.index.track(self._selected)
            if track is not None and track.matches:
                self._show_matches(track)

    def _show_engine_progress(self) -> None:
        snap = self.snapshot
        if snap is None:
            self.window.engine_label.setText("")
            return
        done = "analysed" if snap.complete else f"analysing {self.analysis_progress():.0%}"
        self.window.engine_label.setText(
            f"{done} · {len(snap.tracks)} garments · {snap.matched} matched")

    def _refresh_lists(self) -> None:
        """The timeline of products (and, in QA mode, the track list) from the latest results."""
        snap, fps = self.snapshot, self.info.fps if self.info else 25.0
        tracks = snap.tracks if snap is not None else (
            list(self.annotations.tracks.values()) if self.annotations else [])
        if self.window.qa:
            self.window.set_tracks(tracks, fps)
        from ui.timeline import TimelineItem

        matched = [t for t in tracks if t.matches]
        key = [(t.first_frame, t.track_id, t.matches[0].product_id) for t in matched]
        if key == self._timeline_key:
            return  # most snapshots change boxes, not products: keep the timeline as it is
        self._timeline_key = key
        items = [TimelineItem(t.first_frame, t.track_id,
                              f"{t.matches[0].title or t.matches[0].product_id} "
                              f"({t.category or 'garment'} #{t.track_id})",
                              self._thumbnail(t.matches[0].image))
                 for t in matched]
        tl = self.window.timeline
        if self.reader is not None:
            tl.set_frame_count(self.reader.frame_count)
            tl.set_fps(fps)
        tl.set_items(items)
        tl.setVisible(bool(items) and not self.window.kiosk)

    def _thumbnail(self, image_path: str) -> np.ndarray | None:
        if image_path not in self._thumbs:
            thumb = None
            bgr = cv2.imread(image_path, cv2.IMREAD_COLOR) if image_path else None
            if bgr is not None and bgr.size:
                h, w = bgr.shape[:2]
                size = (max(1, round(w * 80 / h)), 80)
                thumb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA),
                                     cv2.COLOR_BGR2RGB)
            self._thumbs[image_path] = thumb
        return self._thumbs[image_path]

    # --- QA tools ------------------------------------------------------------------------------
    def goto_frame(self, index: int) -> None:
        if self.reader is None:
            return
        self.pause()
        self.show_frame(index)

    def jump_to_track(self, track_id: int, frame: int | None = None) -> None:
        """Seeks to a track (its first frame, or ``frame``) and selects it."""
        track = self.annotations.track(track_id) if self.annotations else None
        if track is None or self.reader is None:
            return
        self.pause()
        self.show_frame(track.first_frame if frame is None else frame)
        self.select_track(track_id)

    def _show_evidence_frame(self, frame: int) -> None:
        selected = self._selected
        self.pause()
        self.show_frame(frame)
        self.select_track(selected)

    def set_loop_point(self, which: str) -> None:
        """A-B loop: "a" marks the start at the current frame, "b" the end (and loops),
        "clear" ends it."""
        if which == "clear" or self.reader is None:
            self.loop_range, self._loop_a = None, None
            self.window.controls.set_loop_marks([])
            self.show_status("Loop cleared")
            return
        if which == "a":
            self._loop_a = self.index
            self.loop_range = None
            self.window.controls.set_loop_marks([self.index])
            self.show_status(f"Loop start at frame {self.index}; set the end with Ctrl+]")
            return
        a = self._loop_a if self._loop_a is not None else 0
        b = self.index
        if b <= a:
            self.show_status(f"The loop's end must come after its start (frame {a})")
            return
        self.loop_range = (a, b)
        self.window.controls.set_loop_marks([a, b])
        self.show_status(f"Looping frames {a}–{b}")

    def _flag_book(self):
        from engine.export import FlagBook
        from engine.video import fingerprint

        if self.flags is None and self.info is not None:
            self.flags = FlagBook(self.info.path, fingerprint(self.info.path))
        return self.flags

    def flag(self, kind: str, note: str) -> bool:
        """QA: marks the selected box (or its best match) as wrong, with a note."""
        if self.info is None or self._selected < 0:
            self.show_status("Select a box first, then flag it")
            return False
        track = self.annotations.track(self._selected) if self.annotations else None
        product = track.matches[0].product_id if track is not None and track.matches else None
        if kind == "match" and product is None:
            self.show_status("This garment has no match to flag yet")
            return False
        book = self._flag_book()
        book.add(self.index, self._selected, kind, note, product)
        self.show_status(f"Flagged the {kind} of #{self._selected} at frame {self.index} "
                         f"({len(book.flags)} flags; QA → Export Flags… to save them)")
        return True

    def export_flags(self, path: str) -> bool:
        from engine.export import ExportError

        if self.flags is None or not self.flags.flags:
            self.show_status("No flags to export")
            return False
        try:
            self.flags.save(path)
        except ExportError as exc:
            self.show_status(str(exc))
            return False
        self.show_status(f"Wrote {len(self.flags.flags)} flags to {path}")
        return True

    def current_analysis(self):
        """The results on screen, in the annotations format."""
        from engine.annotations import Annotations

        if self.info is None or self.annotations is None:
            return None
        tracks = list(self.annotations.tracks.values())
        video = {"fps": self.info.fps, "frame_count": self.reader.frame_count,
                 "width": self.info.width, "height": self.info.height}
        if self.snapshot is not None:
            video["analysed"] = [list(r) for r in self.snapshot.analysed]
        return Annotations(video=video, tracks=tracks)

    def export_analysis(self, path: str) -> bool:
        """Writes the results as annotations JSON, MOTChallenge text or CVAT video XML, by
        the file's suffix."""
        from engine.export import ExportError, export_analysis, format_for_path

        ann = self.current_analysis()
        if ann is None:
            self.show_status("Nothing to export yet: open a video and let it be analysed")
            return False
        try:
            written = export_analysis(ann, path, format_for_path(path))
        except (ExportError, ValueError) as exc:
            self.show_status(f"Not exported: {exc}")
            return False
        partial = ""
        if self.snapshot is not None and not self.snapshot.complete:
            partial = f" (analysis {self.analysis_progress():.0%} done)"
        self.show_status(f"Exported {len(ann.tracks)} tracks to {written}{partial}")
        return True

    def _show_matches(self, track) -> None:
        panel = self.window.panel
        if panel.shown_matches() != list(track.matches):
            panel.set_matches(track.matches)
        evidence = self.snapshot.evidence.get(track.track_id, []) if self.snapshot else []
        panel.set_evidence([(e.frame, e.weight, e.crop) for e in evidence])
        self.card_shown.emit(track.track_id)

    def card_summary(self) -> dict:
        """What the side panel shows, as values (automation and QA scripts read it)."""
        panel = self.window.panel
        match = panel.card.match
        track = self.annotations.track(self._selected) if (
            self.annotations is not None and self._selected >= 0) else None
        return {"frame": self.index, "track": track.track_id if track else None,
                "category": track.category if track else None,
                "product": match.product_id if match else None,
                "title": match.title if match else None,
                "score": match.score if match else None,
                "matches": [m.product_id for m in panel.shown_matches()]}

    def analysis_progress(self) -> float:
        if self.snapshot is None or not self.snapshot.frame_count:
            return 0.0
        return sum(b - a for a, b in self.snapshot.analysed) / self.snapshot.frame_count

    def search_region(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        """Searches the catalogue with a box the viewer drew on the paused frame."""
        if self.reader is None or self.engine is None:
            return False
        if self.catalog is None:
            self.show_status("No catalogue to search: File → Open Catalogue…")
            return False
        try:
            bgr = self.reader.read(self.index)
        except IndexError as exc:
            self.show_status(f"Cannot search: {exc}")
            return False
        h, w = bgr.shape[:2]
        a, b = int(max(0, min(x1, x2))), int(max(0, min(y1, y2)))
        c, d = int(min(w, max(x1, x2))), int(min(h, max(y1, y2)))
        if c - a < 4 or d - b < 4:
            return False
        self._selected = -1
        self.window.video.set_selected(-1)
        self._region_generation += 1
        self.window.panel.set_region(f"Your selection at frame {self.index}",
                                     f"{c - a}x{d - b} pixels")
        self.window.panel.set_matches_message("Searching the catalogue…")
        self.engine.search_region(self._video_generation,
                                  cv2.cvtColor(bgr[b:d, a:c], cv2.COLOR_BGR2RGB))
        return True

    def search_photo(self, path: str) -> bool:
        """File > Search by Photo, a dropped picture: the products that look like it."""
        from engine.catalog.fetch import FetchError, read_local_image

        try:
            checked = read_local_image(Path(path))  # size, type and bomb checks first
        except FetchError as exc:
            self.show_status(f"Cannot search with that picture: {exc}")
            return False
        bgr = cv2.imdecode(np.frombuffer(checked.data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            self.show_status(f"Cannot search with {Path(path).name}: not a readable picture")
            return False
        return self.search_picture(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
                                   f"Your photo {Path(path).name}")

    def search_picture(self, rgb: np.ndarray | None, title: str) -> bool:
        """Shows the products that look like ``rgb`` (H, W, 3) in the card panel."""
        if rgb is None or rgb.ndim != 3 or min(rgb.shape[:2]) < 8:
            self.show_status("Cannot search: the picture is empty or too small")
            return False
        if self.catalog is None:
            self.show_status("Opening the catalogue… search again in a moment"
                             if self.catalog_loader.busy() else
                             "No catalogue to search: File → Open Catalogue…")
            return False
        self._selected = -1
        self.window.video.set_selected(-1)
        self._region_generation += 1
        h, w = rgb.shape[:2]
        self.window.panel.set_region(title, f"{w}x{h} pixels")
        self.window.panel.set_matches_message("Searching the catalogue…")
        if self.engine is not None:
            self.engine.search_region(self._video_generation, rgb)
            return True
        from engine.matching import to_match

        try:  # no engine thread (--no-engine): one embedding and one FAISS query, here
            matches = [to_match(m) for m in self.catalog.search_image(rgb, k=10)]
        except Exception as exc:  # a bad picture must never take the player down
            self.show_status(f"Search failed: {type(exc).__name__}: {exc}")
            return False
        self._on_region_matches(self._video_generation, matches)
        return True

    def _on_region_matches(self, generation: int, matches: list) -> None:
        if generation == self._video_generation and self._selected < 0:
            self.window.panel.set_matches(matches)
            self.card_shown.emit(-1)

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
            if self.audio_current >= 0:
                self.backend.set_audio_track(self.audio_current)
            self._backend_path = self.info.path
            self._publish_audio()  # the backend is known now: can it switch tracks?
        return True

    def play(self) -> None:
        if self.reader is None or self.playing:
            return
        self.window.carousel.dismiss()
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
        self.window.carousel.dismiss()
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
        if self.loop_range is not None and index >= self.loop_range[1]:
            self.seek_frame(self.loop_range[0])  # QA's A-B loop
            return
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
            trim()  # VLC's threads of the last pass have gone: give their heap back
            self.play()
        else:
            self.pause()
            self.show_frame(self.reader.frame_count - 1 if self.reader else 0)
            self.show_carousel()

    # --- saved products -----------------------------------------------------------------
    def _saved_store(self):
        if self.saved is None:
            from engine.saved import SavedError, SavedStore

            try:
                self.saved = SavedStore()
            except SavedError as exc:
                self.show_status(str(exc))
                return None
        return self.saved

    def _refresh_saved(self) -> None:
        from engine.saved import SavedError

        store = self._saved_store()
        try:
            self.window.saved.set_items(store.items() if store is not None else [])
        except SavedError as exc:
            self.show_status(str(exc))

    def _show_heart(self) -> None:
        match = self.window.panel.card.match
        store = self._saved_store() if match is not None else None
        video = self.info.path if self.info else ""
        self.window.panel.card.set_saved(bool(store is not None and match is not None
                                              and store.contains(match.product_id, video)))

    def save_card(self, on: bool = True) -> bool:
        """The heart on the card: keep the product shown with this video and moment (or
        forget it). Kiosk mode saves nothing."""
        from engine.saved import SavedError

        match = self.window.panel.card.match
        store = self._saved_store()
        if match is None or store is None or self.info is None or self.window.kiosk:
            self.window.panel.card.set_saved(False)
            return False
        try:
            if on:
                store.save(match, self.info.path, self.index, self.info.fps, self._selected)
                self.show_status(f"Saved {match.title or match.product_id} (View ▸ Saved "
                                 "Products)")
            else:
                store.remove(match.product_id, self.info.path)
                self.show_status(f"Removed {match.title or match.product_id} from Saved")
        except SavedError as exc:
            self.show_status(str(exc))
            self._show_heart()
            return False
        self._refresh_saved()
        return True

    def go_to_saved(self, video: str, frame: int, track_id: int, product_id: str) -> bool:
        """A saved product's moment: its video (opened if another is open), its frame."""
        if self.info is None or Path(self.info.path).resolve() != Path(video).resolve():
            if not Path(video).is_file():
                self.show_status(f"The video of that product is gone: {video}")
                return False
            if not self.open_video(video):
                return False
        self.pause()
        self.show_frame(min(frame, self.reader.frame_count - 1) if self.reader else frame)
        if self.annotations is not None and self.annotations.track(track_id) is not None:
            self.select_track(track_id, pause=False)
        return True

    def forget_saved(self, product_id: str, video: str) -> None:
        from engine.saved import SavedError

        store = self._saved_store()
        if store is not None:
            try:
                store.remove(product_id, video)
            except SavedError as exc:
                self.show_status(str(exc))
            self._refresh_saved()
            self._show_heart()

    def export_saved(self, path: str) -> bool:
        from engine.export import ExportError

        store = self._saved_store()
        if store is None:
            return False
        try:
            written = store.export_csv(path)
        except ExportError as exc:
            self.show_status(str(exc))
            return False
        self.show_status(f"Wrote the saved products to {written}")
        return True

    def carousel_items(self) -> list:
        """Every product matched in this video, once, in the order they first appear."""
        from ui.carousel import CarouselItem
        from ui.product_card import format_price

        snap = self.snapshot
        tracks = snap.tracks if snap is not None else (
            list(self.annotations.tracks.values()) if self.annotations else [])
        seen, items = set(), []
        for t in sorted((t for t in tracks if t.matches and len(t.boxes)),
                        key=lambda t: t.first_frame):
            m = t.matches[0]
            if m.product_id in seen:
                continue
            seen.add(m.product_id)
            items.append(CarouselItem(t.track_id, t.first_frame, m.product_id,
                                      m.title or m.product_id,
                                      format_price(m.price, m.currency or ""),
                                      self._thumbnail(m.image)))
        return items

    def show_carousel(self) -> bool:
        """The end screen: the products seen in the video (not in kiosk mode, which loops)."""
        items = self.carousel_items()
        car = self.window.carousel
        if not items or self.window.kiosk:
            car.dismiss()
            return False
        car.set_items(items)
        car.place(self.window.video.video_rect())
        car.show()
        car.raise_()
        return True

    # --- selection ---------------------------------------------------------------------------
    # --- kiosk: a demo booth that runs itself ----------------------------------------------
    def start_kiosk(self, cycle_ms: int = 6000, idle_ms: int = 60000) -> None:
        """Shows the products of the garments on screen one after another while the demo
        loops; a visitor's input stops that, and a minute without input brings it back."""
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        self.kiosk_mode = True
        self._kiosk_last = -1
        self._kiosk_cycle = QTimer(self)
        self._kiosk_cycle.setInterval(cycle_ms)
        self._kiosk_cycle.timeout.connect(self._kiosk_next_card)
        self._kiosk_cycle.start()
        self._kiosk_idle = QTimer(self)
        self._kiosk_idle.setSingleShot(True)
        self._kiosk_idle.setInterval(idle_ms)
        self._kiosk_idle.timeout.connect(self._kiosk_resume)
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        if self.kiosk_mode and event.type() in (
                QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.Wheel):
            self._kiosk_cycle.stop()  # a visitor is here: the booth stops driving
            self._kiosk_idle.start()
        return False

    def _kiosk_resume(self) -> None:
        self.window.set_kiosk(True)
        if not self.playing:
            self.play()
        self._kiosk_cycle.start()
        self._kiosk_next_card()

    def _kiosk_next_card(self) -> None:
        if self.reader is None or self.annotations is None:
            return
        dets = self.detections_at(self.index)
        ids = sorted({int(t) for t in dets.tracker_id
                      if (tr := self.annotations.track(int(t))) is not None and tr.matches})
        if not ids:
            return
        later = [t for t in ids if t > self._kiosk_last]
        self._kiosk_last = later[0] if later else ids[0]
        self.select_track(self._kiosk_last, pause=False)

    def _catalog_still_there(self) -> bool:
        """False (and said once) when the open catalogue's folder was removed under the player:
        what was loaded (vectors, the open database) still answers, pictures may be gone."""
        if self.catalog is None:
            return True
        where = self.catalog.store.dir
        if where.is_dir() and self.catalog.store.path.is_file():
            return True
        if self._catalog_gone_said != str(where):
            self._catalog_gone_said = str(where)
            self.show_status(f"The catalogue folder {where} was removed while playing: products "
                             "found so far still show, some pictures may be missing; open a "
                             "catalogue again with File → Open Catalogue…")
        return False

    def select_track(self, track_id: int, pause: bool = True) -> None:
        self._catalog_still_there()
        self.window.video.set_selected(track_id)
        track = self.annotations.track(track_id) if (self.annotations and track_id >= 0) else None
        self._selected = track.track_id if track is not None else -1
        fps = self.info.fps if self.info else 25.0
        self.window.panel.set_track(track, fps)
        if track is not None and track.matches:
            self._show_matches(track)
            if self.engine is not None and self.snapshot is not None \
                    and track.track_id not in self.snapshot.evidence:
                # its deciding frames were let go to bound memory: the engine reads them back
                self.engine.request_match(track.track_id)
        elif track is not None:
            cached = self._matches.get(track.track_id)
            if cached is not None:
                self.window.panel.set_matches(cached)
                self.card_shown.emit(track.track_id)
            else:
                self._request_matches(track)
        if track is not None and self.playing and pause:
            self.pause()  # a viewer who clicks a garment wants to look at it

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.window.set_recent_files([])

    def shutdown(self) -> None:
        self._closed = True
        self.settings.geometry = self.window.saveGeometry()
        self.settings.sync()
        self._close_video()
        self.match_jobs.wait()
        self.catalog_loader.wait()
        if self.kiosk_mode:
            from PySide6.QtWidgets import QApplication

            QApplication.instance().removeEventFilter(self)
            self.kiosk_mode = False
        if self.engine is not None:
            self.engine.stop()  # closes the catalogue it holds
            self.engine = None
        elif self.catalog is not None:
            self.catalog.close()
        self.catalog = None
        if self.saved is not None:
            self.saved.close()
            self.saved = None
        if self.backend is not None:
            release = getattr(self.backend, "release", None)
            if release:
                release()
            self.backend = None
