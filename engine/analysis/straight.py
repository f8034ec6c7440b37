"""Video -> garment trajectories from the first frame to the last, as a generator: the loop the
player runs (``LiveAnalysis``), its segments taken in order.

``analyze(path, detector)`` yields ``Progress`` after every segment and returns the
``Annotations`` at the end (``result = yield from analyze(...)``, or ``run_analysis`` to just
get them). In order, consecutive segments share one run of the tracker, so there are no seams:
the published numbers (`eval`, `bench`, `analyze`) are the player's, measured in the order a
viewer who never seeks would see them. ``max_frames`` stops after that many frames (an
evaluation whose labels end early need not analyse the rest of a long video).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

from engine.analysis.loop import SEGMENT, LiveAnalysis, Progress, StageTimes
from engine.annotations import Annotations
from engine.detect.base import Detector
from engine.video import probe


def analyze(path: str | Path, detector: Detector, *, stride: int = 3, batch: int = 4,
            cut_threshold: float = 0.45, tracker_kwargs: dict | None = None,
            times: StageTimes | None = None, max_frames: int | None = None,
            segment: int = SEGMENT) -> Generator[Progress, None, Annotations]:
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    info = probe(path)
    count = info.frame_count if max_frames is None else min(info.frame_count, max_frames)
    live = LiveAnalysis(path, detector, info, frame_count=count, stride=stride,
                        segment=max(segment, stride), batch=batch, cut_threshold=cut_threshold,
                        tracker_kwargs=tracker_kwargs)
    if times is not None:
        live.times = times
    t_start = time.monotonic()
    try:
        k = 0
        while k < live.segments:  # a truncated file ends (and shortens the list) early
            live.analyse_segment(k)
            closed = sum(1 for p in live.pieces.values() if p.closed)
            yield Progress(min(live.segment_range(k)[1], live.frame_count), info.frame_count,
                           closed, time.monotonic() - t_start)
            k += 1
    finally:
        live.end_run()
    return annotations_of(live)


def annotations_of(live: LiveAnalysis) -> Annotations:
    """An analysis run to its end in the annotations format, as `analyze` writes it (`library
    analyze` too: engine/library)."""
    frames, info = live.frame_count, live.info
    tracks = [t for t, _ in live.tracks()]
    starts = [0, *sorted(c for c in live.cuts if 0 < c < frames)]
    video = {"fps": info.fps, "frame_count": frames, "width": info.width,
             "height": info.height,
             "shots": [[a, b] for a, b in zip(starts, [*starts[1:], frames], strict=True)],
             "detector": getattr(live.detector, "name", "?"),
             "detector_version": getattr(live.detector, "version", "?"), "stride": live.stride}
    return Annotations(video=video, tracks=tracks)


def run_analysis(path: str | Path, detector: Detector, **kw) -> Annotations:
    gen = analyze(path, detector, **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
