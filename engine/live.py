"""Analysis of the open video in the order the viewer needs it: the player's engine.

``analyze`` (engine/pipeline.py) reads a file from start to end. A viewer seeks, pauses and steps
back, and wants boxes on the frames about to be shown, so here the video is cut into segments
of ``segment`` frames and analysed one segment at a time, in any order (``LiveAnalysis``).
Consecutive segments analysed in a row share one tracker (a *run*), so trajectories come out as
they do in ``analyze``. Where a run starts next to frames an earlier run analysed (after a
seek), trajectories that continue across the seam are stitched: same shot, the second starting
within a few frames of the first's end, their boxes overlapping.

``LiveSession`` adds matching (the whole trajectory against the catalogue, as
engine/matching.py does) and the order of work: what the viewer is looking at first, then what
is ahead of the playhead, then the rest. Its state is plain values, so the analysis cache
(engine/analysis_cache.py) stores it and a reopened video shows its boxes at once.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from engine.annotations import Annotations
from engine.detect.base import Detector, tracker_settings
from engine.geometry import iou_matrix
from engine.pipeline import StageTimes
from engine.track import GarmentTracker, ShotCutDetector
from engine.types import (
    AnnotationIndex,
    Evidence,
    Snapshot,
    Track,
    TrackResult,
    VideoInfo,
)
from engine.video import FrameStream

if TYPE_CHECKING:
    from engine.analysis_cache import AnalysisCache
    from engine.catalog.retrieval import Catalog

STATE_VERSION = 4  # 2: boxes as base64 float64; 3: shots' and the video's last frames
# detected; 4: also where a shot ends on a batch's last frame


@dataclass
class Piece:
    """A trajectory as one run's tracker saw it (``track.track_id`` is the run's local id)."""

    run: int
    track: Track
    closed: bool  # the tracker has ended it: it will not grow in this run


class _Run:
    """One tracker over consecutive frames, with the decoder positioned at ``next``."""

    def __init__(self, run_id: int, path: str, start: int, fps: float, cut_threshold: float,
                 tracker_kwargs: dict) -> None:
        self.id, self.start, self.next = run_id, start, start
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

    def close(self) -> None:
        self.frames.close()


def _interpolate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows for the frames strictly between box rows ``a`` and ``b`` (linear)."""
    f0, f1 = int(a[0]), int(b[0])
    rows = []
    for f in range(f0 + 1, f1):
        w = (f - f0) / (f1 - f0)
        box = (1 - w) * a[1:5] + w * b[1:5]
        rows.append([f, *box, 0.95 * min(a[5], b[5])])
    return np.array(rows).reshape(-1, 6)


class LiveAnalysis:
    """Detection and tracking of one video, a segment at a time, in any order."""

    def __init__(self, path: str | Path, detector: Detector, info: VideoInfo, *,
                 frame_count: int | None = None, stride: int = 3, segment: int = 48,
                 batch: int = 4, cut_threshold: float = 0.45, tracker_kwargs: dict | None = None,
                 stitch_iou: float = 0.3) -> None:
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
        the tracker's, with its defaults, and the cut detector's and seam stitching's."""
        import inspect

        params = {k: v.default for k, v in
                  inspect.signature(GarmentTracker.__init__).parameters.items()
                  if v.default is not inspect.Parameter.empty}
        params.update(self.tracker_kwargs)
        return json.dumps({"tracker": params, "cuts": self.cut_threshold,
                           "stitch_iou": self.stitch_iou}, sort_keys=True)

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
    def analyse_segment(self, k: int, on_batch: Callable[[], None] | None = None) -> None:
        """Detect and track segment ``k``; continues the current run when it ends where ``k``
        starts. An exception leaves the segment to do (``fail_segment`` gives it up).
        While ``publish_batches`` is set, the tracks found so far are published after each
        batch of frames (``tracks()`` shows them) and ``on_batch`` is called: the player's
        first boxes need not wait for a whole segment."""
        a, b = self.segment_range(k)
        if self._run is None or self._run.next != a:
            self.end_run()
            self._run = _Run(self._next_run, self.path, a, self.info.fps, self.cut_threshold,
                             self.tracker_kwargs)
            self._next_run += 1
        run, times = self._run, self.times
        try:
            f = a
            while f < b:
                frames, is_cut = [], []
                if run.carry is not None:
                    frames.append(run.carry[0])
                    is_cut.append(run.carry[1])
                    run.carry = None
                while len(frames) < min(self.stride * self.batch, b - f):
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
                # as in pipeline.analyze: a shot's last frame and the video's are detected too
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
                        self._add(run.id, run.tracker.finish(), closed=True)
                        self.cuts.add(fi)
                    if i in found:
                        run.tracker.update(fi, found[i], frame)
                    else:
                        run.tracker.coast(fi)
                times.ms["track"] += (time.perf_counter() - t0) * 1000
                f += len(frames)
                times.frames += len(frames)
                run.next = f
                if self.publish_batches and f < b:
                    self._publish(run)
                    self.version += 1
                    if on_batch is not None:
                        on_batch()
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
            self._add(run.id, run.tracker.finish(), closed=True)
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
        self.frame_count = max(1, frame)
        n = self._segments_for(self.frame_count)
        self.done, self.failed = self.done[:n], self.failed[:n]

    def _publish(self, run: _Run) -> None:
        """The run's trajectories so far become pieces: the ended ones closed, the rest open."""
        finished, active = run.tracker.snapshot()
        self._add(run.id, finished, closed=True)
        self._add(run.id, active, closed=False)

    def _add(self, run: int, tracks: list[Track], closed: bool) -> None:
        for t in tracks:
            key = (run, t.track_id)
            if key not in self._ids:
                self._ids[key] = self._next_id
                self._next_id += 1
            self.pieces[key] = Piece(run, t, closed)

    # --- results -----------------------------------------------------------------------------
    def tracks(self) -> list[tuple[Track, bool]]:
        """(trajectory, closed) with the viewer's ids, pieces stitched across run seams."""
        keys = sorted(self.pieces, key=lambda k: self.pieces[k].track.first_frame)
        cuts = np.array(sorted(self.cuts), np.int64)
        edges = []
        for ka in keys:
            pa = self.pieces[ka]
            if not pa.closed or not len(pa.track.boxes):
                continue
            end = pa.track.boxes[-1]
            for kb in keys:
                pb = self.pieces[kb]
                if pb.run == pa.run or not len(pb.track.boxes):
                    continue
                start = pb.track.boxes[0]
                gap = int(start[0]) - int(end[0])
                if not 1 <= gap <= self.max_gap:
                    continue
                if len(cuts) and ((cuts > end[0]) & (cuts <= start[0])).any():
                    continue  # a shot cut between them: another shot, another trajectory
                iou = float(iou_matrix(end[None, 1:5], start[None, 1:5])[0, 0])
                if iou >= self.stitch_iou:
                    edges.append((iou, ka, kb))
        succ: dict[tuple[int, int], tuple[int, int]] = {}
        pred: set[tuple[int, int]] = set()
        for _, ka, kb in sorted(edges, reverse=True):
            if ka not in succ and kb not in pred:
                succ[ka] = kb
                pred.add(kb)
        out = []
        for k in keys:
            if k in pred:
                continue
            chain = [k]
            while chain[-1] in succ:
                chain.append(succ[chain[-1]])
            parts = [self.pieces[c] for c in chain]
            rows = [parts[0].track.boxes]
            for prev, nxt in itertools.pairwise(parts):
                rows.append(_interpolate(prev.track.boxes[-1], nxt.track.boxes[0]))
                rows.append(nxt.track.boxes)
            longest = max(parts, key=lambda p: len(p.track.boxes))
            track = Track(track_id=min(self._ids[c] for c in chain), boxes=np.concatenate(rows),
                          category=longest.track.category)
            out.append((track, all(p.closed for p in parts)))
        return out

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
                        "boxes": _pack_boxes(p.track.boxes), "columns": p.track.boxes.shape[1]}
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
                boxes = _unpack_boxes(p["boxes"], int(p["columns"]))
                pieces[key] = Piece(key[0], Track(key[1], boxes, str(p["category"])), True)
                ids[key] = int(p["gid"])
        except (KeyError, TypeError, ValueError, IndexError):
            return False
        self.frame_count, self.done, self.failed = frame_count, done, np.zeros(n, bool)
        self.cuts, self._next_id, self._next_run = cuts, next_id, next_run
        self.pieces, self._ids = pieces, ids
        self.version += 1
        return True


def _pack_boxes(boxes: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(boxes, dtype="<f8").tobytes()).decode("ascii")


def _unpack_boxes(text: str, columns: int) -> np.ndarray:
    flat = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f8")
    if columns <= 0 or flat.size % columns:
        raise ValueError(f"{flat.size} numbers do not make rows of {columns}")
    return flat.reshape(-1, columns).astype(np.float64)


def track_key(track: Track) -> str:
    """Names a trajectory's extent: its matches are redone when stitching changes it."""
    return f"{track.first_frame}-{track.last_frame}-{len(track.boxes)}"


class LiveSession:
    """One open video: analysis, matching against the catalogue, and the order of the work.

    ``step(playhead, paused)`` does one unit of work (a segment, or matching one trajectory) and
    says what it did, or returns None when nothing is left. Matching a trajectory the viewer
    clicked comes first (``request_match``)."""

    def __init__(self, analysis: LiveAnalysis, *, catalog: Catalog | None = None,
                 cache: AnalysisCache | None = None, k: int = 10, frames_per_track: int = 40,
                 lookahead_s: float = 8.0, evidence_frames: int = 12,
                 evidence_tracks: int = 200) -> None:
        self.analysis = analysis
        self.k, self.frames_per_track = k, frames_per_track
        self.evidence_frames = evidence_frames
        # Deciding frames are kept in memory for the tracks matched (or asked for) last, about
        # 180 kB a track; the others are read back from the cache, or matched again, when the
        # viewer asks (an hour of drama has ~2,000 tracks: 350 MB otherwise).
        self.evidence_tracks = evidence_tracks
        self._evidence_held: OrderedDict[int, None] = OrderedDict()
        self._evidence_dropped: set[int] = set()
        self.lookahead = int(lookahead_s * analysis.info.fps)
        self.results: dict[int, TrackResult] = {}
        self.urgent: list[int] = []
        self.errors: list[str] = []
        self._tracks: list[tuple[Track, bool]] = []
        self._tracks_version = -1
        # called between batches of a segment while analysis.publish_batches is set (the
        # engine thread sets it until the first boxes are on screen)
        self.on_batch: Callable[[], None] | None = None
        self.cache = cache if cache is not None and cache.usable else None
        self.key = ""
        self.restored = False
        if self.cache is not None:
            from engine.analysis_cache import analysis_key
            from engine.video import fingerprint

            d = analysis.detector
            self.key = analysis_key(fingerprint(analysis.path), getattr(d, "name", "?"),
                                    # the weights' hash too: a retrained model can keep its name
                                    f'{getattr(d, "version", "?")}:{getattr(d, "weights_id", "")}',
                                    analysis.stride,
                                    analysis.segment, analysis.settings())
            state = self.cache.load_state(self.key)
            self.restored = state is not None and analysis.restore(state)
        self.catalog: Catalog | None = None
        self.set_catalog(catalog)

    @staticmethod
    def catalog_key(catalog: Catalog) -> str:
        return f"{catalog.store.dir}:{catalog.store.fingerprint()}:{catalog.matcher.version}"

    def set_catalog(self, catalog: Catalog | None) -> None:
        """Another catalogue: its cached matches, if any, replace the old ones."""
        self.catalog = catalog
        self.results = {}
        self._catalog_key = self.catalog_key(catalog) if catalog is not None else ""
        self._evidence_held.clear()
        self._evidence_dropped.clear()
        if catalog is not None and self.cache is not None:
            self.results = self.cache.load_matches(self.key, self._catalog_key, evidence=False)
            self._evidence_dropped.update(self.results)  # read when a track is asked for

    def request_match(self, track_id: int) -> None:
        if track_id in self.urgent:
            self.urgent.remove(track_id)
        self.urgent.insert(0, track_id)
        del self.urgent[8:]  # the viewer's latest clicks; older ones are matched in turn

    def tracks(self) -> list[tuple[Track, bool]]:
        if self._tracks_version != self.analysis.version:
            self._tracks = self.analysis.tracks()
            self._tracks_version = self.analysis.version
        return self._tracks

    def _needs_match(self, track: Track) -> bool:
        """No products yet, or found for a shorter extent (the trajectory grew since)."""
        r = self.results.get(track.track_id)
        return r is None or r.key != track_key(track)

    def _unmatched(self, closed_only: bool) -> list[Track]:
        return [t for t, closed in self.tracks()
                if (closed or not closed_only) and self._needs_match(t)]

    def step(self, playhead: int, paused: bool) -> str | None:
        a = self.analysis
        if self.catalog is not None and self.urgent:
            # a request for a trajectory not found yet (its segment is still to come) waits
            tracks = {t.track_id: t for t, _ in self.tracks()}
            for tid in list(self.urgent):
                track = tracks.get(tid)
                if track is None:
                    continue
                self.urgent.remove(tid)
                if self._needs_match(track):
                    self.match(track)
                    return f"matched track {tid}"
                if tid in self._evidence_dropped:
                    return self._bring_back_evidence(track)
        lead = 0 if paused else int(0.5 * a.info.fps)
        k = a.next_segment(playhead, lead)
        near = k is not None and a.segment_range(k)[0] <= playhead + self.lookahead
        if k is not None and (near or self.catalog is None):
            return self._analyse(k)
        if self.catalog is not None:
            todo = self._unmatched(closed_only=True)
            if not todo and k is None:
                todo = self._unmatched(closed_only=False)
            if todo:  # what is on screen or comes next first
                track = min(todo, key=lambda t: (t.last_frame < playhead,
                                                 abs(t.first_frame - playhead)))
                self.match(track)
                return f"matched track {track.track_id}"
        if k is not None:
            return self._analyse(k)
        return None

    def _analyse(self, k: int) -> str:
        try:
            self.analysis.analyse_segment(k, self.on_batch)
        except Exception as exc:
            self.analysis.fail_segment(k)
            a, b = self.analysis.segment_range(k)
            self.errors.append(f"frames {a}-{b - 1} could not be analysed: {exc}")
            raise
        if self.cache is not None:
            self.cache.save_state(self.key, self.analysis.path, self.analysis.state())
        return f"analysed segment {k}"

    def match(self, track: Track) -> TrackResult:
        from engine.matching import match_one, track_crops

        crops = track_crops(self.analysis.path, [track], self.frames_per_track)[0]
        if crops is None:
            result = TrackResult(track_key(track), [])
        else:
            matches, weights = match_one(track, crops, self.catalog, k=self.k,
                                         height=float(self.analysis.info.height))
            frames = track.boxes[crops.rows, 0].astype(int)
            keep = np.sort(np.argsort(-weights, kind="stable")[:self.evidence_frames])
            evidence = [Evidence(int(frames[i]), float(weights[i]),
                                 cv2.resize(crops.views[i], (64, 80),
                                            interpolation=cv2.INTER_AREA))
                        for i in keep if weights[i] > 0]
            result = TrackResult(track_key(track), matches, evidence)
        self.results[track.track_id] = result
        self._hold_evidence(track.track_id)
        if self.cache is not None:
            self.cache.save_match(self.key, self._catalog_key, track.track_id, result)
        return result

    def _hold_evidence(self, track_id: int) -> None:
        """``track_id``'s deciding frames stay in memory; the longest-held beyond
        ``evidence_tracks`` are let go (their matches stay)."""
        self._evidence_dropped.discard(track_id)
        self._evidence_held[track_id] = None
        self._evidence_held.move_to_end(track_id)
        while len(self._evidence_held) > max(self.evidence_tracks, 1):
            old, _ = self._evidence_held.popitem(last=False)
            r = self.results.get(old)
            if r is not None and r.evidence:
                self.results[old] = TrackResult(r.key, r.matches, [])
                self._evidence_dropped.add(old)

    def _bring_back_evidence(self, track: Track) -> str:
        """A track whose deciding frames were let go: from the cache, else matched again."""
        r = self.results[track.track_id]
        evidence = (self.cache.load_evidence(self.key, self._catalog_key, track.track_id, r.key)
                    if self.cache is not None else None)
        if evidence is None:
            self.match(track)
            return f"matched track {track.track_id}"
        self.results[track.track_id] = TrackResult(r.key, r.matches, evidence)
        self._hold_evidence(track.track_id)
        return f"evidence of track {track.track_id}"

    def snapshot(self) -> Snapshot:
        a = self.analysis
        tracks = []
        evidence = {}
        for t, _ in self.tracks():
            r = self.results.get(t.track_id)
            matches = list(r.matches) if r is not None else []
            tracks.append(Track(t.track_id, t.boxes, t.category, matches=matches))
            if r is not None and r.evidence:
                evidence[t.track_id] = r.evidence
        return Snapshot(AnnotationIndex(tracks), tracks, a.analysed_ranges(), a.frame_count,
                        evidence, a.complete, sum(1 for t in tracks if t.matches))

    def annotations(self) -> Annotations:
        """The analysis in the annotations format (for export)."""
        a = self.analysis
        bounds = sorted({0, *a.cuts})
        shots = [[x, y] for x, y in zip(bounds, [*bounds[1:], a.frame_count], strict=True)]
        video = {"fps": a.info.fps, "frame_count": a.frame_count, "width": a.info.width,
                 "height": a.info.height, "shots": shots,
                 "detector": getattr(a.detector, "name", "?"),
                 "detector_version": getattr(a.detector, "version", "?"), "stride": a.stride,
                 "analysed": [list(r) for r in a.analysed_ranges()]}
        if self.catalog is not None:
            video["catalog_model"] = self.catalog.matcher.version
        return Annotations(video=video, tracks=self.snapshot().tracks)


def run_to_end(session: LiveSession, playhead: int = 0,
               on_step: Callable[[str], None] | None = None) -> None:
    """Works until nothing is left (tests, benchmarks and the CLI use it)."""
    while (what := session.step(playhead, paused=True)) is not None:
        if on_step:
            on_step(what)
