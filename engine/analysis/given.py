"""Trajectories that come from a file (an annotations file, ground truth) instead of the
detector: ``GivenTracks`` stands where ``LiveAnalysis`` stands in a ``LiveSession``, so the
player matches a loaded file's tracks through the same session, the same order of work and
the same results (with their deciding frames) as its own analysis' tracks (issue 15: one
matching path). Nothing is detected: every frame counts as analysed, and no track grows."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

from engine.types import Track, VideoInfo


class GivenTracks:
    """``LiveSession``'s view of a file's tracks: all closed, all analysed, never changing."""

    detector = None
    stride = 1
    complete = True
    version = 0

    def __init__(self, path: str | Path, info: VideoInfo, tracks: Sequence[Track],
                 frame_count: int | None = None) -> None:
        self.path = str(path)
        self.info = info
        self.frame_count = int(frame_count if frame_count is not None else info.frame_count)
        # copies: the session fills in matches, the caller's tracks stay as they were
        self._tracks = [(copy.deepcopy(t), True) for t in tracks]
        self.cuts: set[int] = set()

    def tracks(self) -> list[tuple[Track, bool]]:
        return list(self._tracks)

    def next_segment(self, playhead: int, lead: int = 0) -> int | None:
        return None  # nothing to analyse

    def analysed_ranges(self) -> list[tuple[int, int]]:
        return [(0, self.frame_count)] if self.frame_count > 0 else []

    def end_run(self, keep_before: int | None = None) -> None:
        pass
