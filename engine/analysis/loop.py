"""The one detect-and-track loop: a video a segment at a time, in any order (``LiveAnalysis``).

The player runs it in the order the viewer needs (engine/analysis/session.py); ``analyze``
(engine/analysis/straight.py), the evaluations and the benches run the same loop from the first
segment to the last. The detector sees every ``stride``-th frame of a run, a shot's first and
last frames and the video's last; the tracker gives a box on every frame between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis.seams import Piece, stitch
from engine.analysis.state import STATE_VERSION, pack_boxes, unpack_boxes
from engine.detect.base import Detector, tracker_settings
from engine.track import GarmentTracker, ShotCutDetector
from engine.types import Track, VideoInfo
from engine.video import FrameStream

SEGMENT = 48  # frames: about 2 s of video, the unit of work the player schedules
# frames a run started after a seek analyses before its segment (LiveAnalysis.analyse_segment)
WARMUP = 24


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


class _Run:
    """One tracker over consecutive frames, with the decoder positioned at ``next``."""

    def __init__(self, run_id: int, path: str, start: int, fps: float, cut_threshold: float,
                 tracker_kwargs: dict, keep_from: int | None = None) -> None:
        self.id, self.start, self.next = run_id, start, start
        # boxes before this frame are the warm-up's (analyse_segment), not kept
        self.keep_from = start if keep_from is None else keep_from
        # frame ``next`` read ahead (with whether it starts a shot), or None: the decoder is
        # at ``next`` then
        self.carry: tuple[np.ndarray, bool] | None = None
        self.tracker = GarmentTracker(fps, **tracker_kwargs)
        self.cuts = ShotCutDetector(cut_threshold)
        # the frame before primes the shot-cut detector
        self.frames = FrameStream(path, max(0, start - 1))
        if start > 0:
            prev = self.frames.read()
            if prev is not None:
                self.cuts.is_cut(prev)
            else:
                self.frames.seek(start)  # not decodable: the run still starts at ``start``

    def close(self) -> None:
        self.frames.close()


class LiveAnalysis:
    """Detection and tracking of one video, a segment at a time, in any order."""

    def __init__(self, path: str | Path, detector: Detector, info: VideoInfo, *,
                 frame_count: int | None = None, stride: int = 3, segment: int = SEGMENT,
                 batch: int = 4, cut_threshold: float = 0.45, tracker_kwargs: dict | None = None,
                 stitch_iou: float = 0.3, warmup: int = WARMUP) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if segment < stride:
            raise ValueError(f"segment ({segment}) must be at least stride ({stride}) frames")
        self.path, self.detector, self.info = str(path), detector, info
        self.frame_count = int(frame_count if frame_count is not None else info.frame_count)
        if self.frame_count < 1:
            raise ValueError(f"{path} has no frames to analyse")
        self.stride, self.segment, self.batch = stride, segment, batch
        self.cut_threshold = cut_threshold
        self.tracker_kwargs = tracker_settings(detector, tracker_kwargs)
        self.stitch_iou = stitch_iou
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0 frames, got {warmup}")
        self.warmup = warmup
        self.max_gap = 3 * stride + 2
        n = self._segments_for(self.frame_count)
        self.done = np.zeros(n, bool)
        self.failed = np.zeros(n, bool)
        self.pieces: dict[tuple[int, int], Piece] = {}
        self.cuts: set[int] = set()
        self._ids: dict[tuple[int, int], int] = {}  # (run, local id) -> the id viewers see
        self._next_id = 1
        self._next_run = 0
        self._run: _Run | None = None
        self.times = StageTimes()
        self.version = 0  # bumped on every change of the results
        self.publish_batches = False  # publish results between batches, not only segments

    def settings(self) -> str:
        """The parameters besides the detector that decide the result (for the cache key):
        the tracker's, with its defaults, the cut detector's, seam stitching's and the
        warm-up after a seek."""
        import inspect

        params = {k: v.default for k, v in
                  inspect.signature(GarmentTracker.__init__).parameters.items()
                  if v.default is not inspect.Parameter.empty}
        params.update(self.tracker_kwargs)
        return json.dumps({"tracker": params, "cuts": self.cut_threshold,
                           "stitch_iou": self.stitch_iou, "warmup": self.warmup},
                          sort_keys=True)

    # --- segments ----------------------------------------------------------------------------
    def _segments_for(self, frame_count: int) -> int:
        return -(-frame_count // self.segment)

    @property
    def segments(self) -> int:
        return len(self.done)

    def segment_range(self, k: int) -> tuple[int, int]:
        return k * self.segment, min((k + 1) * self.segment, self.frame_count)

    def segment_of(self, frame: int) -> int:
        return int(min(max(frame, 0), self.frame_count - 1) // self.segment)

    def is_analysed(self, frame: int) -> bool:
        return bool(self.done[self.segment_of(frame)])

    @property
    def complete(self) -> bool:
        return bool((self.done | self.failed).all())

    def analysed_ranges(self) -> list[tuple[int, int]]:
        """Half-open frame ranges analysed so far, merged."""
        out: list[tuple[int, int]] = []
        for k in np.flatnonzero(self.done):
            a, b = self.segment_range(int(k))
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
        return out

    def next_segment(self, playhead: int, lead: int = 0) -> int | None:
        """The segment to analyse next: the one under ``playhead + lead`` (what the viewer will
        see when it is done), then those after it, then those before; None when all are."""
        todo = ~(self.done | self.failed)
        if not todo.any():
            return None
        k0 = self.segment_of(playhead + lead)
        after = np.flatnonzero(todo[k0:])
        if len(after):
            return k0 + int(after[0])
        return int(np.flatnonzero(todo)[0])

    # --- analysis ----------------------------------------------------------------------------
    def _advance(self, run: _Run, f: int, stop: int,
                 on_batch: Callable[[], None] | None = None) -> int:
        """Detect and track frames ``f`` to ``stop`` of ``run``, a batch at a time; the frame
        it stopped at (``stop``, or earlier where the file ends)."""
        times = self.times
        while f < stop:
            frames, is_cut = [], []
            if run.carry is not None:
                frames.append(run.carry[0])
                is_cut.append(run.carry[1])
                run.carry = None
            while len(frames) < min(self.stride * self.batch, stop - f):
                t0 = time.perf_counter()
                frame = run.frames.read()
                times.ms["decode"] += (time.perf_counter() - t0) * 1000
                if frame is None:
                    break
                frames.append(frame)
                t0 = time.perf_counter()
                is_cut.append(run.cuts.is_cut(frame))
                times.ms["cuts"] += (time.perf_counter() - t0) * 1000
            if not frames:
                self._truncate(f)
                break
            # one frame ahead (kept for the run's next batch, in this segment or the
            # next): whether it starts a shot decides whether this batch's last frame
            # ends one
            if f + len(frames) < self.frame_count:
                t0 = time.perf_counter()
                frame = run.frames.read()
                times.ms["decode"] += (time.perf_counter() - t0) * 1000
                if frame is not None:
                    t0 = time.perf_counter()
                    run.carry = (frame, run.cuts.is_cut(frame))
                    times.ms["cuts"] += (time.perf_counter() - t0) * 1000
            next_cut = run.carry is not None and run.carry[1]
            ends = len(frames) - 1 if run.carry is None else -1  # the video's real end
            # a shot's last frame and the video's are detected too
            want = [i for i in range(len(frames)) if (f + i - run.start) % self.stride == 0
                    or is_cut[i] or f + i == self.frame_count - 1 or i == ends
                    or (is_cut[i + 1] if i + 1 < len(frames) else next_cut)]
            t0 = time.perf_counter()
            found = dict(zip(want, self.detector.detect([frames[i] for i in want]),
                             strict=True))
            times.ms["detect"] += (time.perf_counter() - t0) * 1000
            times.detected_frames += len(want)
            t0 = time.perf_counter()
            for i, frame in enumerate(frames):
                fi = f + i
                if is_cut[i] and fi > run.start:
                    self._add(run.id, run.tracker.finish(), closed=True, keep_from=run.keep_from)
                    self.cuts.add(fi)
                if i in found:
                    run.tracker.update(fi, found[i], frame)
                else:
                    run.tracker.coast(fi)
            times.ms["track"] += (time.perf_counter() - t0) * 1000
            f += len(frames)
            times.frames += len(frames)
            run.next = f
            if self.publish_batches and f < stop and run.next >= run.keep_from:
                self._publish(run)
                self.version += 1
                if on_batch is not None:
                    on_batch()
        return f

    def analyse_segment(self, k: int, on_batch: Callable[[], None] | None = None) -> None:
        """Detect and track segment ``k``; continues the current run when it ends where ``k``
        starts. An exception leaves the segment to do (``fail_segment`` gives it up).
        While ``publish_batches`` is set, the tracks found so far are published after each
        batch of frames (``tracks()`` shows them) and ``on_batch`` is called: the player's
        first boxes need not wait for a whole segment.

        A new run (after a seek) starts ``warmup`` frames early: the tracker sees the garments
        before the segment, so that one whose detections have fallen under the score that
        may start a trajectory is still followed into it, as a straight pass follows it. The
        boxes of those frames are not kept (they belong to the segment before)."""
        a, b = self.segment_range(k)
        if self._run is None or self._run.next != a:
            self.end_run()
            # no warm-up over a segment that failed: its frames could fail this one too
            warm = 0 if k > 0 and self.failed[k - 1] else self.warmup
            start = max(0, a - warm)
            start -= start % self.stride  # the detector sees the frames a straight pass does
            self._run = _Run(self._next_run, self.path, start, self.info.fps,
                             self.cut_threshold, self.tracker_kwargs, keep_from=a)
            self._next_run += 1
        run = self._run
        try:
            # the warm-up; a file that ends before the segment leaves it nothing to do
            if run.next >= a or self._advance(run, run.next, a) >= a:
                self._advance(run, a, b, on_batch)
        except Exception:
            self.end_run(keep_before=a)  # not continued; nothing of the failed segment kept
            raise
        self._publish(run)
        if k < self.segments:
            self.done[k] = True
        if k + 1 >= self.segments or self.done[k + 1] or self.failed[k + 1]:
            self.end_run()
        self.version += 1

    def fail_segment(self, k: int) -> None:
        """Gives segment ``k`` up (it raised): the others are still analysed."""
        self.end_run()
        self.failed[k] = True
        self.version += 1

    def end_run(self, keep_before: int | None = None) -> None:
        """Ends the current run; with ``keep_before``, its trajectories lose their boxes from
        that frame on (a segment that failed midway leaves nothing half done)."""
        run, self._run = self._run, None
        if run is None:
            return
        try:
            self._add(run.id, run.tracker.finish(), closed=True, keep_from=run.keep_from)
        finally:
            run.close()
        if keep_before is not None:
            for key in [k for k, p in self.pieces.items() if p.run == run.id]:
                t = self.pieces[key].track
                kept = t.boxes[t.boxes[:, 0] < keep_before]
                if len(kept):
                    self.pieces[key].track = Track(t.track_id, kept, t.category)
                else:
                    del self.pieces[key]
        self.version += 1

    def _truncate(self, frame: int) -> None:
        """The file ends before ``frame_count`` (truncated): what follows does not exist."""
        self.frame_count = max(1, min(self.frame_count, frame))
        n = self._segments_for(self.frame_count)
        self.done, self.failed = self.done[:n], self.failed[:n]

    def _publish(self, run: _Run) -> None:
        """The run's trajectories so far become pieces: the ended ones closed, the rest open."""
        finished, active = run.tracker.snapshot()
        self._add(run.id, finished, closed=True, keep_from=run.keep_from)
        self._add(run.id, active, closed=False, keep_from=run.keep_from)

    def _add(self, run: int, tracks: list[Track], closed: bool, keep_from: int = 0) -> None:
        """``tracks`` of run ``run`` become its pieces, less their boxes before ``keep_from``
        (a warm-up's)."""
        for t in tracks:
            if len(t.boxes) and t.boxes[0, 0] < keep_from:
                t = Track(t.track_id, t.boxes[t.boxes[:, 0] >= keep_from], t.category)
                if not len(t.boxes):
                    continue
            key = (run, t.track_id)
            if key not in self._ids:
                self._ids[key] = self._next_id
                self._next_id += 1
            self.pieces[key] = Piece(run, t, closed)

    # --- results -----------------------------------------------------------------------------
    def tracks(self) -> list[tuple[Track, bool]]:
        """(trajectory, closed) with the viewer's ids, pieces stitched across run seams."""
        return stitch(self.pieces, self._ids, self.cuts, self.max_gap, self.stitch_iou)

    # --- state for the cache ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Plain values: segments done, pieces with their runs and ids, shot cuts. The run in
        progress is saved as it is: a later session starts a new run and stitches to it.

        Boxes go in as base64 of their float64 bytes, not as JSON numbers: the state is saved
        after every segment, and ``json.dumps`` of thousands of numbers holds the interpreter
        lock for tens of milliseconds at a time, which the player's main thread felt as a
        stall (133 ms at the end of the demo's analysis). Packed, it takes under a millisecond
        and round-trips exactly."""
        return {
            "version": STATE_VERSION, "frame_count": self.frame_count,
            "segment": self.segment, "stride": self.stride,
            "done": np.flatnonzero(self.done).tolist(), "cuts": sorted(self.cuts),
            "next_id": self._next_id, "next_run": self._next_run,
            "pieces": [{"run": p.run, "id": p.track.track_id, "gid": self._ids[k],
                        "category": p.track.category,
                        "boxes": pack_boxes(p.track.boxes), "columns": p.track.boxes.shape[1]}
                       for k, p in self.pieces.items()],
        }

    def restore(self, state: dict[str, Any]) -> bool:
        """Takes a ``state()`` back; False (and nothing changed) when it does not fit this
        video or these settings, or is damaged."""
        if (state.get("version") != STATE_VERSION or state.get("segment") != self.segment
                or state.get("stride") != self.stride):
            return False
        try:  # read it all before changing anything
            frame_count = int(state["frame_count"])
            n = self._segments_for(frame_count)
            done = np.zeros(n, bool)
            done[[int(k) for k in state["done"] if 0 <= int(k) < n]] = True
            cuts = {int(c) for c in state["cuts"]}
            next_id, next_run = int(state["next_id"]), int(state["next_run"])
            pieces, ids = {}, {}
            for p in state["pieces"]:
                key = (int(p["run"]), int(p["id"]))
                boxes = unpack_boxes(p["boxes"], int(p["columns"]))
                pieces[key] = Piece(key[0], Track(key[1], boxes, str(p["category"])), True)
                ids[key] = int(p["gid"])
        except (KeyError, TypeError, ValueError, IndexError):
            return False
        self.frame_count, self.done, self.failed = frame_count, done, np.zeros(n, bool)
        self.cuts, self._next_id, self._next_run = cuts, next_id, next_run
        self.pieces, self._ids = pieces, ids
        self.version += 1
        return True
