"""The main window: layout, menus and keyboard shortcuts. Emits intent; app/ wires it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.types import Track
from ui.carousel import ProductCarousel
from ui.controls import ControlBar
from ui.i18n import tr
from ui.saved_panel import SavedPanel
from ui.timeline import ProductTimeline
from ui.track_panel import TrackPanel
from ui.video_view import VideoView

EXPORT_FILTER = ("Annotations JSON (*.json);;MOTChallenge text (*.txt);;"
                 "CVAT for video XML (*.xml)")

SUBTITLE_SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
PHOTO_FILTER = "Pictures (*.jpg *.jpeg *.png *.webp *.bmp);;All files (*)"
SUBTITLE_FILTER = "Subtitles (*.srt *.ass *.ssa *.vtt);;All files (*)"
VIDEO_FILTER = (
    "Videos (*.mp4 *.m4v *.mkv *.mov *.avi *.webm *.wmv *.flv *.mpg *.mpeg *.ts *.3gp);;"
    "All files (*)"
)


class MainWindow(QMainWindow):
    open_requested = Signal(str)  # a video path
    annotations_requested = Signal(str)
    subtitles_requested = Signal(str)  # a subtitle file to load and show
    audio_track_chosen = Signal(int)  # the file's audio track (its position)
    photo_search_requested = Signal(str)  # a photo file to search the catalogue with
    photo_pasted = Signal(QImage)  # a picture from the clipboard, to search with
    subtitle_track_chosen = Signal(int)  # an index into the tracks of set_subtitle_tracks; -1 none
    catalog_requested = Signal(str)  # a catalogue directory (or a benchmark directory)
    play_pause_requested = Signal()
    seek_relative_requested = Signal(float)  # seconds
    step_requested = Signal(int)  # frames
    rate_step_requested = Signal(int)  # -1 slower, +1 faster
    mute_toggle_requested = Signal()
    clear_recent_requested = Signal()
    closing = Signal()
    # QA
    qa_toggled = Signal(bool)
    goto_frame_requested = Signal(int)
    loop_point_requested = Signal(str)  # "a", "b" or "clear"
    flag_requested = Signal(str, str)  # kind ("box" or "match"), note
    export_analysis_requested = Signal(str)  # a path: .json, .txt (MOT) or .xml (CVAT)
    export_flags_requested = Signal(str)
    track_activated = Signal(int)  # a track picked in the QA track list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Video2Shop")
        self.resize(1180, 720)
        self.setAcceptDrops(True)
        self.video = VideoView()
        self.carousel = ProductCarousel(self.video)  # over the picture when a video ends
        self.video.overlay = self.carousel
        self.controls = ControlBar()
        self.panel = TrackPanel()
        self.timeline = ProductTimeline()  # the products of the video at their moments
        self.timeline.hide()  # until there are products to show
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.video, 1)
        lay.addWidget(self.timeline)
        lay.addWidget(self.controls)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([900, 280])
        self.setCentralWidget(self.splitter)
        self.statusBar().showMessage("Ready")
        self.engine_label = QLabel()  # the engine's progress, beside the messages
        self.statusBar().addPermanentWidget(self.engine_label)
        self.track_list = QListWidget()
        self.track_list.itemActivated.connect(self._on_track_item)
        self.track_list.itemClicked.connect(self._on_track_item)
        self.track_dock = QDockWidget(tr("Tracks"), self)
        self.track_dock.setObjectName("tracks")
        self.track_dock.setWidget(self.track_list)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.track_dock)
        self.track_dock.hide()
        self.saved = SavedPanel()
        self.saved_dock = QDockWidget(tr("Saved"), self)
        self.saved_dock.setObjectName("saved")
        self.saved_dock.setWidget(self.saved)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.saved_dock)
        self.saved_dock.hide()
        self._qa = False
        self._kiosk = False
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.setInterval(3000)
        self._hide_timer.timeout.connect(self._hide_chrome)
        self.video.files_dropped.connect(self._on_dropped)
        self.video.double_clicked.connect(self.toggle_fullscreen)
        self.video.mouse_activity.connect(self._on_mouse_activity)
        self.controls.fullscreen_requested.connect(self.toggle_fullscreen)
        self._build_menus()

    # --- menus and shortcuts ------------------------------------------------------------------
    def _action(self, text: str, keys, slot, menu: QMenu | None = None) -> QAction:
        act = QAction(text, self)
        if keys:
            seqs = keys if isinstance(keys, list) else [keys]
            act.setShortcuts([QKeySequence(k) for k in seqs])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        self.addAction(act)  # the shortcut works even when the menu bar is hidden (fullscreen)
        if menu is not None:
            menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("&File"))
        self.open_action = self._action(
            tr("&Open Video…"), QKeySequence.StandardKey.Open, self.show_open_dialog, file_menu
        )
        self.recent_menu = file_menu.addMenu(tr("Open &Recent"))
        self._action(tr("Load &Annotations…"), None, self.show_annotations_dialog, file_menu)
        self._action(tr("Load &Subtitles…"), None, self.show_subtitles_dialog, file_menu)
        self._action(tr("Search by &Photo…"), "Ctrl+Shift+F", self.show_photo_dialog, file_menu)
        self._action(tr("Search &Pasted Picture"), QKeySequence.StandardKey.Paste, self.paste_photo,
                     file_menu)
        self.catalog_action = self._action(tr("Open &Catalogue…"), None, self.show_catalog_dialog,
                                           file_menu)
        file_menu.addSeparator()
        self._action(tr("&Quit"), QKeySequence.StandardKey.Quit, self.close, file_menu)

        play = bar.addMenu(tr("&Playback"))
        self._action(tr("Play/Pause"), Qt.Key.Key_Space, self.play_pause_requested.emit, play)
        play.addSeparator()
        self._action(
            tr("Forward 5 s"), Qt.Key.Key_Right, lambda: self.seek_relative_requested.emit(5.0),
            play
        )
        self._action(
            tr("Back 5 s"), Qt.Key.Key_Left, lambda: self.seek_relative_requested.emit(-5.0), play
        )
        self._action(
            tr("Forward 1 s"), "Shift+Right", lambda: self.seek_relative_requested.emit(1.0), play
        )
        self._action(
            tr("Back 1 s"), "Shift+Left", lambda: self.seek_relative_requested.emit(-1.0), play
        )
        play.addSeparator()
        self._action(
            tr("Next Frame"),
            [Qt.Key.Key_Period, Qt.Key.Key_E],
            lambda: self.step_requested.emit(1),
            play,
        )
        self._action(tr("Previous Frame"), Qt.Key.Key_Comma,
                     lambda: self.step_requested.emit(-1), play)
        play.addSeparator()
        self._action(
            tr("Slower"), Qt.Key.Key_BracketLeft, lambda: self.rate_step_requested.emit(-1), play
        )
        self._action(
            tr("Faster"), Qt.Key.Key_BracketRight, lambda: self.rate_step_requested.emit(1), play
        )
        self._action(tr("Mute"), Qt.Key.Key_M, self.mute_toggle_requested.emit, play)

        self.audio_menu = bar.addMenu(tr("&Audio"))
        self._audio_group = QActionGroup(self)
        self._audio_group.setExclusive(True)
        self.set_audio_tracks([], -1, True)
        self.subtitles_menu = bar.addMenu(tr("&Subtitles"))
        self._subtitle_group = QActionGroup(self)
        self._subtitle_group.setExclusive(True)
        self.set_subtitle_tracks([], -1)

        view = bar.addMenu(tr("&View"))
        self.fullscreen_action = self._action(
            tr("&Fullscreen"), Qt.Key.Key_F, self.toggle_fullscreen, view
        )
        self._action(tr("Leave Fullscreen"), Qt.Key.Key_Escape, self.leave_fullscreen)
        self.panel_action = QAction(tr("Side &Panel"), self, checkable=True, checked=True)
        self.panel_action.toggled.connect(self.panel.setVisible)
        view.addAction(self.panel_action)
        self.saved_action = self.saved_dock.toggleViewAction()
        self.saved_action.setText(tr("&Saved Products"))
        self.saved_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        view.addAction(self.saved_action)
        self.addAction(self.saved_action)

        qa = bar.addMenu(tr("&QA"))
        self.qa_action = QAction(tr("&QA Mode"), self, checkable=True)
        self.qa_action.setShortcut(QKeySequence("Ctrl+Shift+Q"))
        self.qa_action.toggled.connect(self.set_qa)
        qa.addAction(self.qa_action)
        self.addAction(self.qa_action)
        qa.addSeparator()
        self._action(tr("&Go to Frame…"), "Ctrl+G", self.show_goto_dialog, qa)
        self._action(tr("Loop Start (&A)"), "Ctrl+[",
                     lambda: self.loop_point_requested.emit("a"), qa)
        self._action(tr("Loop End (&B)"), "Ctrl+]",
                     lambda: self.loop_point_requested.emit("b"), qa)
        self._action(tr("&Clear Loop"), "Ctrl+\\", lambda: self.loop_point_requested.emit("clear"),
                     qa)
        qa.addSeparator()
        self._action(tr("Flag Wrong &Box…"), "Ctrl+B", lambda: self.show_flag_dialog("box"), qa)
        self._action(tr("Flag Wrong &Match…"), "Ctrl+M", lambda: self.show_flag_dialog("match"), qa)
        qa.addSeparator()
        self._action(tr("&Export Analysis…"), "Ctrl+E", self.show_export_dialog, qa)
        self._action(tr("Export &Flags…"), None, self.show_export_flags_dialog, qa)

    def set_recent_files(self, paths: list[str]) -> None:
        self.recent_menu.clear()
        for i, path in enumerate(paths):
            label = f"&{i + 1}  {Path(path).name}" if i < 9 else Path(path).name
            act = self.recent_menu.addAction(label)
            act.setToolTip(path)
            act.setData(path)
            act.triggered.connect(lambda _=False, p=path: self.open_requested.emit(p))
        if not paths:
            empty = self.recent_menu.addAction(tr("(none)"))
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(tr("Clear Menu")).triggered.connect(
                self.clear_recent_requested.emit
            )

    def show_open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.open_requested.emit(path)

    def _fill_choices(self, menu: QMenu, group: QActionGroup, choices: list[tuple[str, bool]],
                      current: int, emit, first: int = 0) -> None:
        """``menu``'s items become one checkable action per (name, enabled) choice, exclusive
        in ``group``; the i-th emits ``first + i``, and ``current`` is checked."""
        menu.clear()
        for act in group.actions():
            group.removeAction(act)
        for i, (name, ok) in enumerate(choices):
            act = QAction(name.replace("&", "&&"), menu, checkable=True)  # clear() frees it
            act.setEnabled(ok)
            act.setChecked(first + i == current)
            act.triggered.connect(lambda _=False, n=first + i: emit(n))
            group.addAction(act)
            menu.addAction(act)

    @staticmethod
    def _choices(group: QActionGroup) -> list[tuple[str, bool, bool]]:
        return [(a.text().replace("&&", "&"), a.isEnabled(), a.isChecked())
                for a in group.actions()]

    def set_subtitle_tracks(self, tracks: list[tuple[str, bool]], current: int) -> None:
        """The Subtitles menu: None, then each (name, drawable) track; ``current`` checked."""
        menu = self.subtitles_menu
        self._fill_choices(menu, self._subtitle_group, [(tr("None"), True), *tracks], current,
                           self.subtitle_track_chosen.emit, first=-1)
        menu.addSeparator()
        menu.addAction(tr("Load Subtitles…")).triggered.connect(self.show_subtitles_dialog)

    def set_audio_tracks(self, names: list[str], current: int, playable: bool) -> None:
        """The Audio menu: the file's audio tracks, ``current`` checked; greyed when the
        backend cannot switch them (OpenCV plays no sound)."""
        menu = self.audio_menu
        self._fill_choices(menu, self._audio_group, [(n, playable) for n in names], current,
                           self.audio_track_chosen.emit)
        if not names:
            menu.addAction(tr("(no audio tracks)")).setEnabled(False)
        elif not playable:
            menu.addSeparator()
            menu.addAction(tr("Sound needs VLC (the player runs without it)")).setEnabled(False)

    def audio_menu_entries(self) -> list[tuple[str, bool, bool]]:
        return self._choices(self._audio_group)

    def subtitle_menu_entries(self) -> list[tuple[str, bool, bool]]:
        """(text, enabled, checked) of the Subtitles menu's tracks, None first."""
        return self._choices(self._subtitle_group)

    def show_subtitles_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load subtitles", "", SUBTITLE_FILTER)
        if path:
            self.subtitles_requested.emit(path)

    def show_photo_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Search the catalogue by photo", "",
                                              PHOTO_FILTER)
        if path:
            self.photo_search_requested.emit(path)

    def paste_photo(self) -> None:
        """Ctrl+V: a picture on the clipboard (or a copied image file) searches the
        catalogue."""
        data = QApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            image = QImage(data.imageData())
            if not image.isNull():
                self.photo_pasted.emit(image)
                return
        if data is not None and data.hasUrls():
            files = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
            photos = [f for f in files if f.lower().endswith(PHOTO_SUFFIXES)]
            if photos:
                self.photo_search_requested.emit(photos[0])
                return
        self.statusBar().showMessage("Nothing to search on the clipboard: copy a picture, "
                                     "then press Ctrl+V")

    def show_annotations_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load annotations", "", "JSON (*.json)")
        if path:
            self.annotations_requested.emit(path)

    def show_catalog_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a shop catalogue (a catalogue or "
                                                "benchmark directory)")
        if path:
            self.catalog_requested.emit(path)

    # --- QA ------------------------------------------------------------------------------
    def set_qa(self, on: bool) -> None:
        """Frame numbers, ids and scores on the video, and the track list."""
        if on != self.qa_action.isChecked():
            self.qa_action.setChecked(on)  # calls back here
            return
        self._qa = on
        self.video.set_qa(on)
        self.track_dock.setVisible(on)
        self.qa_toggled.emit(on)

    @property
    def qa(self) -> bool:
        return self._qa

    def set_tracks(self, tracks: list[Track], fps: float) -> None:
        """The QA track list: id, category, extent, detection and match scores."""
        current = self.track_list.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.track_list.clear()
        for t in sorted(tracks, key=lambda t: t.first_frame):
            det = float(t.boxes[:, 5].mean()) if len(t.boxes) else 0.0
            best = (f"  match {t.matches[0].score:.2f} {t.matches[0].product_id}"
                    if t.matches else "")
            item = QListWidgetItem(
                f"#{t.track_id} {t.category or 'garment'}  {t.first_frame}–{t.last_frame} "
                f"({len(t.boxes) / max(fps, 1e-6):.1f} s)  det {det:.2f}{best}")
            item.setData(Qt.ItemDataRole.UserRole, t.track_id)
            self.track_list.addItem(item)
            if t.track_id == keep:
                self.track_list.setCurrentItem(item)

    def _on_track_item(self, item: QListWidgetItem) -> None:
        self.track_activated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def show_goto_dialog(self) -> None:
        top = max(0, self.controls.seek.maximum())
        value, ok = QInputDialog.getInt(self, "Go to frame", f"Frame (0–{top}):",
                                        self.controls.seek.value(), 0, top)
        if ok:
            self.goto_frame_requested.emit(value)

    def show_flag_dialog(self, kind: str) -> None:
        what = "box" if kind == "box" else "match"
        note, ok = QInputDialog.getMultiLineText(
            self, f"Flag a wrong {what}", f"What is wrong with the selected {what}?")
        if ok:
            self.flag_requested.emit(kind, note)

    def show_export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the analysis", "", EXPORT_FILTER)
        if path:
            self.export_analysis_requested.emit(path)

    def show_export_flags_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the flags", "", "JSON (*.json)")
        if path:
            self.export_flags_requested.emit(path)

    # --- fullscreen and kiosk -----------------------------------------------------------------
    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            self.menuBar().hide()
            self.statusBar().hide()
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen() and not self._kiosk:
            self.showNormal()
            self.menuBar().show()
            self.statusBar().show()
            self.controls.show()

    def set_kiosk(self, on: bool) -> None:
        """Fullscreen, no chrome; the controls come back while the mouse moves."""
        self._kiosk = on
        self.panel.card.set_can_save(not on)  # a booth keeps nothing of its visitors
        if on:
            self.saved_dock.hide()
            self.menuBar().hide()
            self.statusBar().hide()
            self.timeline.hide()
            self.showFullScreen()  # the side panel stays: the booth shows product cards
            self._hide_chrome()

    @property
    def kiosk(self) -> bool:
        return self._kiosk

    def _hide_chrome(self) -> None:
        if self._kiosk:
            self.controls.hide()
            self.setCursor(Qt.CursorShape.BlankCursor)

    def _on_mouse_activity(self) -> None:
        if self._kiosk:
            self.controls.show()
            self.unsetCursor()
            self._hide_timer.start()

    # --- drag and drop and close ----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        self.video.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        self.video.dropEvent(event)

    def _on_dropped(self, paths: list[str]) -> None:
        json_paths = [p for p in paths if p.lower().endswith(".json")]
        subs = [p for p in paths if p.lower().endswith(SUBTITLE_SUFFIXES)]
        photos = [p for p in paths if p.lower().endswith(PHOTO_SUFFIXES)]
        others = [p for p in paths if p not in json_paths and p not in subs and p not in photos]
        if photos and not others:  # a photo dropped alone: what is it in the shop?
            self.photo_search_requested.emit(photos[0])
        if others:
            self.open_requested.emit(others[0])
        if json_paths:
            self.annotations_requested.emit(json_paths[0])
        if subs:  # after the video: its own sidecars are found first, the dropped one wins
            self.subtitles_requested.emit(subs[0])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)
