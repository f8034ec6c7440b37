"""QA tools beside the player: an A-B loop while playing, flags on wrong boxes or matches,
exports of the analysis and of the flags (issue 15: a small controller beside the player's).

Holds what QA adds to an open video (the loop, the flag book); the player holds the video,
the frame on screen and the selection, and calls ``reset`` when the video closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.controller import PlayerController


class QATools:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self.loop_range: tuple[int, int] | None = None  # the A-B loop while playing
        self._loop_a: int | None = None
        self.flags = None  # engine.export.FlagBook for the open video

    def reset(self) -> None:
        """The video closed: its loop and its flags go with it."""
        self.loop_range, self._loop_a, self.flags = None, None, None
        self.player.window.controls.set_loop_marks([])

    def set_loop_point(self, which: str) -> None:
        """A-B loop: "a" marks the start at the current frame, "b" the end (and loops),
        "clear" ends it."""
        p = self.player
        if which == "clear" or p.reader is None:
            self.loop_range, self._loop_a = None, None
            p.window.controls.set_loop_marks([])
            p.show_status("Loop cleared")
            return
        if which == "a":
            self._loop_a = p.index
            self.loop_range = None
            p.window.controls.set_loop_marks([p.index])
            p.show_status(f"Loop start at frame {p.index}; set the end with Ctrl+]")
            return
        a = self._loop_a if self._loop_a is not None else 0
        b = p.index
        if b <= a:
            p.show_status(f"The loop's end must come after its start (frame {a})")
            return
        self.loop_range = (a, b)
        p.window.controls.set_loop_marks([a, b])
        p.show_status(f"Looping frames {a}–{b}")

    def _book(self):
        p = self.player
        from engine.export import FlagBook
        from engine.video import fingerprint

        if self.flags is None and p.info is not None:
            self.flags = FlagBook(p.info.path, fingerprint(p.info.path))
        return self.flags

    def flag(self, kind: str, note: str) -> bool:
        """QA: marks the selected box (or its best match) as wrong, with a note."""
        p = self.player
        if p.info is None or p.selected < 0:
            p.show_status("Select a box first, then flag it")
            return False
        track = p.annotations.track(p.selected) if p.annotations else None
        product = track.matches[0].product_id if track is not None and track.matches else None
        if kind == "match" and product is None:
            p.show_status("This garment has no match to flag yet")
            return False
        book = self._book()
        book.add(p.index, p.selected, kind, note, product)
        p.show_status(f"Flagged the {kind} of #{p.selected} at frame {p.index} "
                         f"({len(book.flags)} flags; QA → Export Flags… to save them)")
        return True

    def export_flags(self, path: str) -> bool:
        p = self.player
        from engine.export import ExportError

        if self.flags is None or not self.flags.flags:
            p.show_status("No flags to export")
            return False
        try:
            self.flags.save(path)
        except ExportError as exc:
            p.show_status(str(exc))
            return False
        p.show_status(f"Wrote {len(self.flags.flags)} flags to {path}")
        return True

    def current_analysis(self):
        """The results on screen, in the annotations format."""
        p = self.player
        from engine.annotations import Annotations

        if p.info is None or p.annotations is None:
            return None
        tracks = list(p.annotations.tracks.values())
        video = {"fps": p.info.fps, "frame_count": p.reader.frame_count,
                 "width": p.info.width, "height": p.info.height}
        if p.snapshot is not None:
            video["analysed"] = [list(r) for r in p.snapshot.analysed]
        return Annotations(video=video, tracks=tracks)

    def export_analysis(self, path: str) -> bool:
        """Writes the results as annotations JSON, MOTChallenge text or CVAT video XML, by
        the file's suffix."""
        p = self.player
        from engine.export import ExportError, export_analysis, format_for_path

        ann = self.current_analysis()
        if ann is None:
            p.show_status("Nothing to export yet: open a video and let it be analysed")
            return False
        try:
            written = export_analysis(ann, path, format_for_path(path))
        except (ExportError, ValueError) as exc:
            p.show_status(f"Not exported: {exc}")
            return False
        partial = ""
        if p.snapshot is not None and not p.snapshot.complete:
            partial = f" (analysis {p.analysis_progress():.0%} done)"
        p.show_status(f"Exported {len(ann.tracks)} tracks to {written}{partial}")
        return True
