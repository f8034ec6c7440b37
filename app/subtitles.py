"""The player's subtitles: which tracks the open video has, which one is shown, and its text at
each frame. A small controller beside PlayerController (which only asks ``text_at`` when it
shows a frame); the Subtitles menu and File > Load Subtitles talk to it.

On opening a video: the files beside it named after it (engine.subtitles.sidecars) load at
once; the video's own streams are listed and, for the one flagged default, extracted by ffmpeg
in a thread (a film's subtitles take ffmpeg a moment to read). The shown track: a file given
with --subtitles or loaded by hand, else the first file beside the video, else the default
stream, else none.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.subtitles import (
    Stream,
    SubtitleError,
    SubtitleTrack,
    embedded_streams,
    extract,
    load_file,
    sidecars,
)


@dataclass
class Entry:
    name: str
    drawable: bool
    track: SubtitleTrack | None = None  # None: an embedded stream not read yet
    stream: Stream | None = None
    reading: bool = False  # ffmpeg is reading it now


class SubtitleController(QObject):
    changed = Signal()  # the shown text may differ: repaint the frame on screen
    message = Signal(str)  # for the status bar
    tracks_changed = Signal(list, int)  # [(name, drawable)], current (-1: none)
    _found = Signal(int, list, int)  # generation, [Entry] of the video's streams, default
    _extracted = Signal(int, int, object)  # generation, entry index, SubtitleTrack or message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []
        self.current = -1
        self.video = ""
        self._generation = 0
        self._busy = 0  # threads reading the video's own streams
        self._chosen = False  # the viewer (or --subtitles) picked: a late default does not win
        self._found.connect(self._on_found)
        self._extracted.connect(self._on_extracted)

    # --- state out -------------------------------------------------------------------------
    def text_at(self, index: int, fps: float) -> str:
        if not 0 <= self.current < len(self.entries) or fps <= 0:
            return ""
        track = self.entries[self.current].track
        return track.at(index * 1000.0 / fps) if track is not None else ""

    def pending(self) -> bool:
        """The video's own streams are still being read."""
        return self._busy > 0

    def _publish(self) -> None:
        self.tracks_changed.emit([(e.name, e.drawable) for e in self.entries], self.current)
        self.changed.emit()

    # --- a video -------------------------------------------------------------------------
    def open_video(self, path: str) -> None:
        self._generation += 1
        self.video, self.entries, self.current, self._chosen = path, [], -1, False
        for p in sidecars(path):
            try:
                track = load_file(p)
            except SubtitleError as exc:
                self.message.emit(str(exc))
                continue
            self.entries.append(Entry(p.name, True, track))
        if self.entries:
            self.current = 0
        self._publish()
        gen = self._generation
        self._busy += 1
        threading.Thread(target=self._list_streams, args=(gen, path), daemon=True,
                         name="subtitle streams").start()

    def close_video(self) -> None:
        self._generation += 1
        self.video, self.entries, self.current = "", [], -1
        self._publish()

    def _list_streams(self, gen: int, path: str) -> None:
        try:
            streams = embedded_streams(path)
            entries = [Entry(s.name(), s.text, None, s) for s in streams]
            default = next((i for i, s in enumerate(streams) if s.default and s.text), -1)
        except Exception as exc:  # never a traceback from a helper thread
            entries, default = [], -1
            self.message.emit(f"Subtitles of {Path(path).name} not listed: {exc}")
        self._found.emit(gen, entries, default)

    def _on_found(self, gen: int, entries: list, default: int) -> None:
        self._busy -= 1
        if gen != self._generation:
            return
        first = len(self.entries)
        self.entries.extend(entries)
        if self.current < 0 and default >= 0 and not self._chosen:
            self.select(first + default, chosen=False)
        else:
            self._publish()

    def _read(self, gen: int, index: int, video: str, stream: Stream) -> None:
        try:
            result: object = extract(video, stream)
        except SubtitleError as exc:
            result = str(exc)
        except Exception as exc:  # as above
            result = f"Subtitles not read: {exc}"
        self._extracted.emit(gen, index, result)

    def _on_extracted(self, gen: int, index: int, result: object) -> None:
        self._busy -= 1
        if gen != self._generation or index >= len(self.entries):
            return
        self.entries[index].reading = False
        if isinstance(result, SubtitleTrack):
            self.entries[index].track = result
            if not result.cues:
                self.message.emit(f"Subtitles “{result.name}” are empty")
        else:
            self.entries[index].drawable = False
            if self.current == index:
                self.current = -1
            self.message.emit(str(result))
        self._publish()

    # --- choices -------------------------------------------------------------------------
    def select(self, index: int, *, chosen: bool = True) -> None:
        """Show entry ``index`` (-1: none); an embedded stream is read first."""
        self._chosen = self._chosen or chosen
        if index < 0 or index >= len(self.entries):
            self.current = -1
            self._publish()
            return
        entry = self.entries[index]
        if not entry.drawable:
            self.message.emit(f"{entry.name}: cannot be shown")
            return
        self.current = index
        if entry.track is None and entry.stream is not None and not entry.reading:
            entry.reading = True
            self._busy += 1
            threading.Thread(target=self._read,
                             args=(self._generation, index, self.video, entry.stream),
                             daemon=True, name="subtitle extract").start()
        self._publish()

    def load_file(self, path: str) -> bool:
        """A subtitle file for the open video (File > Load Subtitles, a drop, --subtitles)."""
        try:
            track = load_file(path)
        except SubtitleError as exc:
            self.message.emit(str(exc))
            return False
        self.entries.append(Entry(Path(path).name, True, track))
        self.select(len(self.entries) - 1)
        n = len(track.cues)
        self.message.emit(f"Subtitles: {Path(path).name}, {n} line{'s' if n != 1 else ''}")
        return True
