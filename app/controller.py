"""The player controller: joins the window (ui/), the playback backend and the engine.

Frame exactness, in one place:
- paused, stepped or scrubbed: the picture is OpenCV's decode of exactly frame N, and the
  boxes are those of frame N. Exact by construction.
- playing: the picture is VLC's; which frame it is comes from engine.framesync (clock estimate,
  corrected by matching the picture against OpenCV thumbnails of the frames around it), in
  app/transport.py.

It holds the open video and the engine's latest results. The values the widgets show (the
frame on screen, playing, speed, sound, the selection, the boxes) live in an evented model,
``self.state`` (app/state.py): setting one tells its subscribers (``_subscribe``). What each
feature adds lives in a small controller beside it (``self.transport``, ``qa``,
``search``, ``saved``, ``kiosk``, ``end_screen``, ``lists``, ``audio``, ``catalogue``,
``subtitles``), each with a reference to this one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.audio import AudioTracks
from app.catalogue import CatalogueControl
from app.end_screen import EndScreen
from app.engine_thread import EngineThread
from app.images import bgr_to_qimage, qimage_to_rgb
from app.kiosk import Kiosk
from app.lists import ProductLists
from app.memory import trim
from app.playback import Backend
from app.qa import QATools
from app.saved_products import SavedProducts
from app.search import Search
from app.settings import Settings
from app.state import PlayerState, follow_state
from app.subtitles import SubtitleController
from app.transport import Transport
from engine.annotations import AnnotationsError, load_annotations
from engine.framesync import FrameLocator, ThumbnailIndexer, ThumbnailStore
from engine.types import AnnotationIndex, Detections, VideoInfo
from engine.video import VideoError, VideoReader
from ui.main_window import MainWindow


def _from_state(name: str) -> property:
    return property(lambda self: getattr(self.state, name),
                    lambda self, value: setattr(self.state, name, value))


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
        self.use_vlc = use_vlc
        self.vlc_args = vlc_args
        self.backend: Backend | None = None
        self.backend_warning = ""
        self.backend_path = ""  # the file the backend has opened
        self.info: VideoInfo | None = None
        self.reader: VideoReader | None = None
        self.state = PlayerState(settings.volume, settings.muted, self)
        self._store = ThumbnailStore()
        self.locator = FrameLocator(self._store)
        self.indexer: ThumbnailIndexer | None = None
        self.catalog = None  # engine.catalog.retrieval.Catalog once loaded
        self.catalog_path = ""
        self.closed = False  # shut down: nothing new starts (a late timer, a queued result)
        self.subtitles = SubtitleController(self)
        self.audio = AudioTracks(self)  # the Audio menu
        self.catalogue = CatalogueControl(self)  # loading, opening product pages
        # the engine thread (app.engine_thread.EngineThread). ``live``: it analyses the video,
        # its results are the boxes and loaded annotations are ground truth drawn beside them.
        # Otherwise (play --no-engine) a loaded file's tracks are the boxes, and a thread that
        # analyses nothing matches them through the same session (engine/analysis/given.py)
        self.live = engine is not None
        self.engine = engine if engine is not None else EngineThread(analyse=False)
        self.given: list | None = None  # the loaded file's tracks, when not live
        self.snapshot = None  # the engine's latest engine.types.Snapshot: boxes and products
        self.reference: AnnotationIndex | None = None
        self.video_generation = 0
        self._image: QImage | None = None  # the picture on screen
        # small controllers beside this one, each with what it adds to the player
        self.transport = Transport(self)  # play, pause, seek, speed, sound, VLC's sync
        self.qa = QATools(self)  # the A-B loop, flags and exports
        self.lists = ProductLists(self)  # the products' timeline, the QA track list
        self.search = Search(self)  # by a drawn region, a photo, a pasted picture
        self.saved = SavedProducts(self)  # the heart on the card and the Saved panel
        self.kiosk = Kiosk(self)  # the booth that runs itself
        self.end_screen = EndScreen(self)  # the products of the video, when it ends
        self._wire()
        self._subscribe()
        engine = self.engine
        engine.snapshot_ready.connect(self._on_snapshot)
        engine.tracks_matched.connect(self._on_tracks_matched)
        engine.failed.connect(lambda gen, text: gen == self.video_generation
                              and self.show_status(text))
        engine.status.connect(lambda gen, text: gen == self.video_generation
                              and self.show_status(text))
        engine.search_done.connect(self.search._on_matches)
        if self.live:
            engine.start()  # the other starts on its first piece of work

    def _wire(self) -> None:
        w, c = self.window, self.window.controls
        self._indexer_failed.connect(
            lambda m: self.show_status(f"{m}; boxes follow VLC's clock alone while playing")
        )
        w.open_requested.connect(self.open_video)
        w.annotations_requested.connect(self.load_annotations)
        w.subtitles_requested.connect(self.load_subtitles)
        w.photo_search_requested.connect(self.search.photo)
        w.photo_pasted.connect(lambda image: self.search.picture(
            qimage_to_rgb(image), "A pasted picture"))
        w.subtitle_track_chosen.connect(self.subtitles.select)
        w.audio_track_chosen.connect(self.audio.select)
        self.subtitles.tracks_changed.connect(w.set_subtitle_tracks)
        self.subtitles.message.connect(self.show_status)
        self.subtitles.changed.connect(self._show_subtitle)
        w.catalog_requested.connect(self.open_catalog)
        w.play_pause_requested.connect(self.transport.toggle_play)
        w.seek_relative_requested.connect(self.transport.seek_relative)
        w.step_requested.connect(self.transport.step)
        w.rate_step_requested.connect(self.transport.rate_step)
        w.mute_toggle_requested.connect(lambda: self.transport.set_muted(not self.muted))
        w.clear_recent_requested.connect(self._clear_recent)
        w.closing.connect(self.shutdown)
        c.play_pause_requested.connect(self.transport.toggle_play)
        c.seek_requested.connect(self.transport.seek_frame)
        c.step_requested.connect(self.transport.step)
        c.rate_requested.connect(self.transport.set_rate)
        c.volume_requested.connect(self.transport.set_volume)
        c.mute_requested.connect(self.transport.set_muted)
        w.video.box_clicked.connect(self.select_track)
        w.panel.card.buy_requested.connect(self.catalogue.open_url)
        w.video.background_clicked.connect(lambda: self.select_track(-1))
        w.video.region_selected.connect(self.search.region)
        w.goto_frame_requested.connect(self.goto_frame)
        w.loop_point_requested.connect(self.qa.set_loop_point)
        w.flag_requested.connect(self.qa.flag)
        w.export_analysis_requested.connect(self.qa.export_analysis)
        w.export_flags_requested.connect(self.qa.export_flags)
        w.track_activated.connect(self.jump_to_track)
        w.qa_toggled.connect(lambda _on: self.lists.refresh())
        w.timeline.item_clicked.connect(lambda frame, tid: self.jump_to_track(tid, frame))
        w.timeline.seek_requested.connect(self.transport.seek_frame)
        w.panel.evidence.frame_clicked.connect(self._show_evidence_frame)
        w.carousel.product_clicked.connect(lambda tid: self.select_track(tid, pause=False))
        w.panel.card.save_toggled.connect(self.saved.save_card)
        w.saved.moment_requested.connect(self.saved.go_to)
        w.saved.remove_requested.connect(self.saved.forget)
        w.saved.export_requested.connect(self.saved.export)
        self.card_shown.connect(lambda _tid: self.saved.show_heart())
        self.saved.refresh()
        w.carousel.moment_requested.connect(lambda frame, tid: self.jump_to_track(tid, frame))
        w.set_recent_files(self.settings.recent_files)

    def _subscribe(self) -> None:
        follow_state(self.state, self.window, self.settings, lambda: self.backend)
        self.state.results_changed.connect(self._on_results)

    # --- the state's values, by their old names (the small controllers and tests use them) --
    index = _from_state("index")
    playing = _from_state("playing")
    rate = _from_state("rate")
    volume = _from_state("volume")
    muted = _from_state("muted")
    selected = _from_state("selected")
    annotations = _from_state("annotations")

    # --- messages --------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.window.video.set_message(text, error=True)
        self.window.statusBar().showMessage(text)
        self.error_shown.emit(text)

    def show_status(self, text: str) -> None:
        self.window.statusBar().showMessage(text)

    # --- the shop catalogue ------------------------------------------------------------------
    def open_catalog(self, path: str) -> None:
        self.catalogue.open(path)

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
        self.indexer = ThumbnailIndexer(
            path, self._store, reader.frame_count, on_error=self._indexer_failed.emit
        )
        self.indexer.start()
        if self.live:
            self.engine.open_video(self.video_generation, path, reader.frame_count)
        elif self.given is not None:
            self.engine.open_tracks(self.video_generation, path, reader.frame_count, self.given)
        self.subtitles.open_video(path)
        self.audio.open(path)
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
        self.video_generation += 1  # the engine's results for the old video are dropped
        self.snapshot = None
        self.lists.reset()
        self.qa.reset()
        self.window.engine_label.setText("")
        if self.engine is not None:
            self.engine.close_video()
        self.window.controls.set_analysed([])
        if self.live:
            self.annotations = None
        elif self.given is not None:
            self.annotations = AnnotationIndex(self.given)  # the file's, without this video's
        self.selected = -1
        if self.playing:  # stop without decoding an exact frame of a video that is closing
            self.playing = False
            if self.backend is not None:
                self.backend.pause()
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None
        self._store = ThumbnailStore()
        self.locator = FrameLocator(self._store)
        if self.backend is not None:
            self.backend.close()
        self.backend_path = ""
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
        if self.live:
            self.reference = ann.index()  # ground truth beside the engine's results
        else:
            self.given = list(ann.tracks)
            self.annotations = ann.index()
            self.snapshot = None
            self.video_generation += 1  # track ids now name other tracks: drop their results
            self.selected = -1
            if self.reader is not None:
                self.engine.open_tracks(self.video_generation, self.info.path,
                                        self.reader.frame_count, self.given)
        note = ""
        if self.info is not None:
            w, h = ann.video.get("width"), ann.video.get("height")
            if (w, h) != (None, None) and (w, h) != (self.info.width, self.info.height):
                note = (
                    f" — made for {w}x{h}, the video is {self.info.width}x{self.info.height}: "
                    "boxes may be misplaced"
                )
        what = "Ground truth" if self.live else "Annotations"
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
            self.window.controls.set_position(index)  # the new length, even on the same frame
        self.display(bgr_to_qimage(bgr), index)
        if self.indexer is not None:
            self.indexer.follow(index)
        return True

    def reference_at(self, index: int) -> Detections | None:
        return self.reference.detections_at(index) if self.reference is not None else None

    def display(self, image: QImage, index: int) -> None:
        self.index = index
        self._image = image
        self.window.video.set_frame(image, index, self.detections_at(index),
                                    self.reference_at(index))
        self._show_subtitle()
        if self.engine is not None:
            self.engine.set_playhead(index, not self.playing)
        self.window.video.set_region_search(not self.playing)
        self.frame_shown.emit(index)

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
        if generation != self.video_generation or self.reader is None:
            return  # about a video that is closed
        self.snapshot = snap
        self.window.controls.set_analysed(snap.analysed)
        self.annotations = snap.index  # the boxes on screen and the lists follow
        self._results_told(card=True)

    def _on_tracks_matched(self, generation: int, results: dict) -> None:
        """A matching step's tracks, into the snapshot on screen (the boxes are the same)."""
        if generation != self.video_generation or self.snapshot is None:
            return
        applied = self.snapshot.apply(results)
        if not applied:
            return
        self.state.results_changed.emit()  # the same index, its products changed
        self._results_told(card=self.selected in applied)

    def _results_told(self, card: bool) -> None:
        """After new results: the progress, the listeners and (``card``) the selected track's
        products and deciding frames."""
        self.lists.show_progress()
        self.analysis_updated.emit()
        track = self.snapshot.index.track(self.selected) if card and self.selected >= 0 else None
        if track is not None and track.matches:
            self._show_matches(track)

    def _on_results(self) -> None:
        """New boxes (the engine's results, or a loaded file): the frame on screen shows
        them, and the timeline and the QA track list list them."""
        if self.index >= 0:
            self.window.video.set_overlay(self.detections_at(self.index),
                                          self.reference_at(self.index))
        self.lists.refresh()

    # --- QA tools ------------------------------------------------------------------------------
    def goto_frame(self, index: int) -> None:
        if self.reader is None:
            return
        self.transport.pause()
        self.show_frame(index)

    def jump_to_track(self, track_id: int, frame: int | None = None) -> None:
        """Seeks to a track (its first frame, or ``frame``) and selects it."""
        track = self.annotations.track(track_id) if self.annotations else None
        if track is None or self.reader is None:
            return
        self.transport.pause()
        self.show_frame(track.first_frame if frame is None else frame)
        self.select_track(track_id)

    def _show_evidence_frame(self, frame: int) -> None:
        selected = self.selected
        self.transport.pause()
        self.show_frame(frame)
        self.select_track(selected)

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
        track = self.annotations.track(self.selected) if (
            self.annotations is not None and self.selected >= 0) else None
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

    # --- transport ---------------------------------------------------------------------------
    # --- frames while playing -------------------------------------------------------------
    # --- selection ---------------------------------------------------------------------------
    def select_track(self, track_id: int, pause: bool = True) -> None:
        self.catalogue.still_there()
        track = self.annotations.track(track_id) if (self.annotations and track_id >= 0) else None
        self.selected = track.track_id if track is not None else -1
        fps = self.info.fps if self.info else 25.0
        self.window.panel.set_track(track, fps)
        if track is not None and track.matches:
            self._show_matches(track)
            if self.catalog is not None and self.snapshot is not None \
                    and track.track_id not in self.snapshot.evidence:
                # its deciding frames were let go to bound memory: the engine reads them back
                self.engine.request_match(track.track_id)
        elif track is not None:
            self.catalogue.request(track)
        if track is not None and self.playing and pause:
            self.transport.pause()  # a viewer who clicks a garment wants to look at it

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.window.set_recent_files([])

    def shutdown(self) -> None:
        self.closed = True
        self.settings.geometry = self.window.saveGeometry()
        self.settings.sync()
        self._close_video()
        self.catalogue.wait()
        self.kiosk.stop()
        if self.engine is not None:  # not shut down before
            self.engine.stop()  # closes the catalogue it holds
            self.engine = None
        self.catalog = None
        self.saved.close()
        if self.backend is not None:
            release = getattr(self.backend, "release", None)
            if release:
                release()
            self.backend = None
