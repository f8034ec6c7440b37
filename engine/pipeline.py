"""Video -> garment trajectories (and, when a catalogue is given, matches), as a generator.

``analyze(path, detector)`` yields ``Progress`` values while it works and returns the
``Annotations`` at the end (``result = yield from analyze(...)``, or ``run_analysis`` to just
get them). The detector runs every ``stride``-th frame, and on the first frame of every shot;
the tracker gives a box on every frame in between. ``max_frames`` stops after that many frames
(an evaluation whose labels end early need not analyse the rest of a long video).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.annotations import Annotations
from engine.detect.base import Detector, tracker_settings
from engine.track import GarmentTracker, ShotCutDetector
from engine.types import Track
from engine.video import FrameStream, probe


@dataclass
class Progress:
    frame: int
    frame_count: int
    tracks: int
    seconds: float


@dataclass
class StageTimes:
    """Wall time per stage, for `video2shop bench` and the analysis report."""

    ms: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "cuts": 0.0,
                                                          "detect": 0.0, "track": 0.0})
    frames: int = 0
    detected_frames: int = 0

    def per_frame(self) -> dict[str, float]:
        return {k: v / max(1, self.frames) for k, v in self.ms.items()}


def analyze(path: str | Path, detector: Detector, *, stride: int = 3, batch: int = 4,
            cut_threshold: float = 0.45, tracker_kwargs: dict | None = None,
            times: StageTimes | None = None, max_frames: int | None = None
            ) -> Generator[Progress, None, Annotations]:
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    info = probe(path)
    stream = FrameStream(path)
    tracker = GarmentTracker(info.fps, **tracker_settings(detector, tracker_kwargs))
    cuts = ShotCutDetector(cut_threshold)
    times = times or StageTimes()
    tracks: list[Track] = []
    shots = [0]
    t_start = time.monotonic()
    index = 0
    last = (info.frame_count if max_frames is None else min(info.frame_count, max_frames)) - 1
    carry: tuple[np.ndarray, bool] | None = None  # the next batch's first frame, read ahead
    try:
        while True:
            frames: list[np.ndarray] = []
            is_cut: list[bool] = []
            want_frames = stride * batch
            if max_frames is not None:
                want_frames = min(want_frames, max_frames - index)
            if carry is not None:
                frames.append(carry[0])
                is_cut.append(carry[1])
                carry = None
            while len(frames) < want_frames:
                t0 = time.perf_counter()
                frame = stream.read()
                times.ms["decode"] += (time.perf_counter() - t0) * 1000
                if frame is None:
                    break
                frames.append(frame)
                t0 = time.perf_counter()
                is_cut.append(cuts.is_cut(frame))
                times.ms["cuts"] += (time.perf_counter() - t0) * 1000
            if not frames:
                break
            # one frame ahead: whether the next batch starts a shot decides whether this
            # batch's last frame ends one
            if max_frames is None or index + len(frames) < max_frames:
                t0 = time.perf_counter()
                frame = stream.read()
                times.ms["decode"] += (time.perf_counter() - t0) * 1000
                if frame is not None:
                    t0 = time.perf_counter()
                    carry = (frame, cuts.is_cut(frame))
                    times.ms["cuts"] += (time.perf_counter() - t0) * 1000
            next_cut = carry is not None and carry[1]
            # every stride-th frame, a shot's first and last frames and the video's last: a
            # trajectory keeps its boxes up to its last detection, so the frames after the
            # last detection of a shot would otherwise have none
            ends = len(frames) - 1 if carry is None else -1  # no frame follows: the video's last
            want = [i for i in range(len(frames))
                    if (index + i) % stride == 0 or is_cut[i] or (index + i) == 0
                    or (index + i) == last or i == ends
                    or (is_cut[i + 1] if i + 1 < len(frames) else next_cut)]
            t0 = time.perf_counter()
            found = dict(zip(want, detector.detect([frames[i] for i in want]), strict=True))
            times.ms["detect"] += (time.perf_counter() - t0) * 1000
            times.detected_frames += len(want)
            t0 = time.perf_counter()
            for i, frame in enumerate(frames):
                fi = index + i
                if is_cut[i] and fi > 0:
                    tracks += tracker.finish()
                    shots.append(fi)
                if i in found:
                    tracker.update(fi, found[i], frame)
                else:
                    tracker.coast(fi)
            times.ms["track"] += (time.perf_counter() - t0) * 1000
            index += len(frames)
            times.frames = index
            yield Progress(index, info.frame_count, len(tracks), time.monotonic() - t_start)
    finally:
        stream.close()
    tracks += tracker.finish()
    video = {"fps": info.fps, "frame_count": index, "width": info.width, "height": info.height,
             "shots": [[a, b] for a, b in zip(shots, [*shots[1:], index], strict=True)],
             "detector": getattr(detector, "name", "?"),
             "detector_version": getattr(detector, "version", "?"), "stride": stride}
    return Annotations(video=video, tracks=tracks)


def run_analysis(path: str | Path, detector: Detector, **kw) -> Annotations:
    gen = analyze(path, detector, **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
