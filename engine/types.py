"""The values that pass between stages and across the engine/UI boundary.

Plain dataclasses of numpy arrays, in the style of supervision's ``Detections``: parallel arrays
validated in ``__post_init__`` and sliceable with a boolean mask. The UI imports this module and
nothing else from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What the engine knows about an opened video. Frame indices are 0-based decoder indices,
    counted as OpenCV counts them; times are derived from them, never the other way round."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    codec: str = ""

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    def frame_to_seconds(self, index: int) -> float:
        return index / self.fps if self.fps > 0 else 0.0

    def seconds_to_frame(self, seconds: float) -> int:
        index = round(seconds * self.fps)
        return max(0, min(self.frame_count - 1, index))


@dataclass
class Detections:
    """Boxes of one frame: ``xyxy`` (N, 4) in video pixels, ``confidence`` (N,),
    ``class_id`` (N,), ``tracker_id`` (N,) (-1 when untracked), and ``data`` for per-row extras
    such as ``data["category"]`` (N,) strings. ``dets[dets.confidence > 0.5]`` slices every
    array at once."""

    xyxy: np.ndarray
    confidence: np.ndarray | None = None
    class_id: np.ndarray | None = None
    tracker_id: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = _column(self.confidence, n, np.float32, 1.0, "confidence")
        self.class_id = _column(self.class_id, n, np.int64, -1, "class_id")
        self.tracker_id = _column(self.tracker_id, n, np.int64, -1, "tracker_id")
        for key, value in list(self.data.items()):
            value = np.asarray(value)
            if len(value) != n:
                raise ValueError(f"data[{key!r}] has {len(value)} rows, expected {n}")
            self.data[key] = value

    @classmethod
    def empty(cls) -> Detections:
        return cls(xyxy=np.zeros((0, 4), np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=self.tracker_id[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    @property
    def area(self) -> np.ndarray:
        w = np.clip(self.xyxy[:, 2] - self.xyxy[:, 0], 0, None)
        h = np.clip(self.xyxy[:, 3] - self.xyxy[:, 1], 0, None)
        return w * h


def _column(value: Any, n: int, dtype: Any, default: Any, name: str) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value, dtype=dtype).reshape(-1)
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows, expected {n} (one per box)")
    return arr


@dataclass(frozen=True)
class Match:
    """One shop product proposed for a track, with its score (higher is better). The display
    fields are filled when the match comes from a catalogue (plain text; ``image`` a path)."""

    product_id: str
    score: float
    title: str = ""
    price: float | None = None
    currency: str = ""
    shop: str = ""
    url: str = ""
    image: str = ""
    sales: int | None = None
    rating: float | None = None


@dataclass
class Track:
    """One garment followed through a shot. ``boxes`` is (N, 6): frame, x1, y1, x2, y2, score
    (in ground truth the 6th number is the visible fraction). Frames are sorted, unique."""

    track_id: int
    boxes: np.ndarray
    category: str = ""
    product_id: str | None = None
    matches: list[Match] = field(default_factory=list)

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 6)
        order = np.argsort(boxes[:, 0], kind="stable")
        self.boxes = boxes[order]

    @property
    def frames(self) -> np.ndarray:
        return self.boxes[:, 0].astype(np.int64)

    @property
    def first_frame(self) -> int:
        return int(self.boxes[0, 0]) if len(self.boxes) else -1

    @property
    def last_frame(self) -> int:
        return int(self.boxes[-1, 0]) if len(self.boxes) else -1


class AnnotationIndex:
    """Per-frame lookup of the boxes of many tracks: ``detections_at(frame)``.

    Built with a few numpy operations (all boxes sorted by frame), so that the engine can make
    a new one after every step without holding the interpreter for long (the player's main
    thread waits for it); a lookup is a binary search, cheap enough for every painted frame.
    """

    def __init__(self, tracks: list[Track]) -> None:
        self.tracks = {t.track_id: t for t in tracks}
        kept = [t for t in tracks if len(t.boxes)]
        if kept:
            rows = np.concatenate([t.boxes for t in kept])
            owner = np.repeat(np.arange(len(kept)), [len(t.boxes) for t in kept])
            order = np.argsort(rows[:, 0], kind="stable")  # within a frame: track order
            self._rows, self._owner = rows[order], owner[order]
        else:
            self._rows, self._owner = np.zeros((0, 6)), np.zeros(0, np.int64)
        self._frames = self._rows[:, 0].astype(np.int64)
        self._ids = np.array([t.track_id for t in kept], np.int64)
        self._categories = np.array([t.category for t in kept], dtype=object)
        self._match = np.array([t.matches[0].score if t.matches else np.nan for t in kept],
                               np.float64)

    def detections_at(self, frame: int) -> Detections:
        lo, hi = np.searchsorted(self._frames, [int(frame), int(frame) + 1])
        if lo == hi:
            return Detections.empty()
        rows, owner = self._rows[lo:hi], self._owner[lo:hi]
        return Detections(
            xyxy=rows[:, 1:5].astype(np.float32),
            confidence=rows[:, 5].astype(np.float32),
            tracker_id=self._ids[owner],
            data={"category": self._categories[owner], "match_score": self._match[owner]},
        )

    def track(self, track_id: int) -> Track | None:
        return self.tracks.get(track_id)

    def set_matches(self, track_id: int, matches: list[Match]) -> bool:
        """One track's products changed (its boxes did not): the track and the boxes' match
        score follow. False for a track this index does not hold."""
        track = self.tracks.get(track_id)
        if track is None:
            return False
        track.matches = list(matches)
        row = np.flatnonzero(self._ids == track_id)
        if len(row):
            self._match[row[0]] = matches[0].score if matches else np.nan
        return True

    def __len__(self) -> int:
        return len(self.tracks)


@dataclass
class Evidence:
    """One frame of a trajectory and the weight the similarity tree gave it for the best
    match; ``crop`` is what the IFN saw (RGB)."""

    frame: int
    weight: float
    crop: np.ndarray


@dataclass
class TrackResult:
    key: str
    matches: list[Match]
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Snapshot:
    """What the player shows, as values: built off the main thread and handed over. After a
    step that only matched tracks, the engine sends their ``TrackResult``s instead of a new
    snapshot, and the main thread applies them to the one it holds (``apply``)."""

    index: AnnotationIndex
    tracks: list[Track]
    analysed: list[tuple[int, int]]
    frame_count: int
    evidence: dict[int, list[Evidence]]
    complete: bool
    matched: int

    def apply(self, results: dict[int, TrackResult]) -> list[int]:
        """Per-track results (matches, deciding frames) into this snapshot; returns the ids
        it holds (a track it does not know waits for the next snapshot)."""
        applied = []
        for tid, r in results.items():
            if not self.index.set_matches(tid, r.matches):
                continue
            if r.evidence:
                self.evidence[tid] = r.evidence
            else:
                self.evidence.pop(tid, None)
            applied.append(tid)
        if applied:
            self.matched = sum(1 for t in self.tracks if t.matches)
        return applied
