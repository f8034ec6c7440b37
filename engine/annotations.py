"""The annotations format: analysis output, ground truth and the player's overlay source.

```
{"video": {"fps": 25.0, "frame_count": 250, "width": 640, "height": 360},
 "tracks": [{"track_id": 1, "category": "dress", "product_id": "p123",
             "boxes": [[frame, x1, y1, x2, y2, score], ...],
             "matches": [{"product_id": "p123", "score": 0.93}, ...]}]}
```
Frames are 0-based decoder indices; coordinates are video pixels; ``product_id`` and
``matches`` are optional. Loading validates everything and names the first problem found, so a
hand-edited file fails with a message that says where to look.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.types import AnnotationIndex, Match, Track


class AnnotationsError(ValueError):
    """An annotations file that cannot be used, with what is wrong in it."""


@dataclass
class Annotations:
    video: dict[str, Any] = field(default_factory=dict)
    tracks: list[Track] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out_tracks = []
        for t in self.tracks:
            item: dict[str, Any] = {"track_id": int(t.track_id), "category": t.category}
            if t.product_id is not None:
                item["product_id"] = t.product_id
            item["boxes"] = [
                [int(b[0]), *(round(float(v), 2) for v in b[1:5]), round(float(b[5]), 4)]
                for b in t.boxes
            ]
            if t.matches:
                item["matches"] = [
                    {"product_id": m.product_id, "score": round(float(m.score), 4)}
                    for m in t.matches
                ]
            out_tracks.append(item)
        return {"video": dict(self.video), "tracks": out_tracks}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash never leaves half a file

    def index(self) -> AnnotationIndex:
        return AnnotationIndex(self.tracks)


def load_annotations(path: str | Path) -> Annotations:
    path = Path(path)
    if not path.is_file():
        raise AnnotationsError(f"annotations file not found: {path}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise AnnotationsError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise AnnotationsError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_annotations(raw, source=str(path))


def parse_annotations(raw: Any, source: str = "annotations") -> Annotations:
    if not isinstance(raw, dict):
        raise AnnotationsError(f"{source}: the top level must be an object with 'tracks'")
    video = raw.get("video", {})
    if not isinstance(video, dict):
        raise AnnotationsError(f"{source}: 'video' must be an object")
    tracks_raw = raw.get("tracks")
    if not isinstance(tracks_raw, list):
        raise AnnotationsError(f"{source}: 'tracks' must be a list")
    tracks: list[Track] = []
    seen: set[int] = set()
    for i, t in enumerate(tracks_raw):
        where = f"{source}: tracks[{i}]"
        if not isinstance(t, dict):
            raise AnnotationsError(f"{where} must be an object")
        tid = t.get("track_id")
        if not isinstance(tid, int) or isinstance(tid, bool):
            raise AnnotationsError(f"{where}: 'track_id' must be an integer, got {tid!r}")
        if not -(2**63) <= tid < 2**63:  # ids are held as int64 (the index, the caches)
            raise AnnotationsError(f"{where}: track_id {tid} is out of range (a 64-bit integer "
                                   "is the most an id may be)")
        if tid in seen:
            raise AnnotationsError(f"{where}: track_id {tid} appears twice")
        seen.add(tid)
        boxes = _parse_boxes(t.get("boxes"), f"{where} (track {tid})")
        matches = []
        matches_raw = t.get("matches")
        if matches_raw is not None and not isinstance(matches_raw, list):
            raise AnnotationsError(f"{where}: 'matches' must be a list, got "
                                   f"{type(matches_raw).__name__}")
        for j, m in enumerate(matches_raw or []):
            if not isinstance(m, dict) or not isinstance(m.get("product_id"), str):
                raise AnnotationsError(f"{where}: matches[{j}] needs a string 'product_id'")
            score = m.get("score", 0.0)
            if not _is_number(score):
                raise AnnotationsError(f"{where}: matches[{j}].score must be a number")
            matches.append(Match(m["product_id"], float(score)))
        product_id = t.get("product_id")
        if product_id is not None and not isinstance(product_id, str):
            product_id = str(product_id)
        category = t.get("category", "")
        tracks.append(
            Track(
                track_id=tid,
                boxes=boxes,
                category=str(category) if category is not None else "",
                product_id=product_id,
                matches=matches,
            )
        )
    return Annotations(video=video, tracks=tracks)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _parse_boxes(raw: Any, where: str) -> np.ndarray:
    if not isinstance(raw, list):
        raise AnnotationsError(f"{where}: 'boxes' must be a list of [frame, x1, y1, x2, y2, score]")
    rows = []
    frames: set[int] = set()
    for k, b in enumerate(raw):
        if not isinstance(b, list) or len(b) not in (5, 6) or not all(_is_number(v) for v in b):
            raise AnnotationsError(
                f"{where}: boxes[{k}] must be [frame, x1, y1, x2, y2, score] numbers, got {b!r}"
            )
        frame = b[0]
        if frame != int(frame) or frame < 0:
            raise AnnotationsError(f"{where}: boxes[{k}] frame must be a whole number >= 0")
        if b[3] < b[1] or b[4] < b[2]:
            raise AnnotationsError(f"{where}: boxes[{k}] has x2 < x1 or y2 < y1: {b!r}")
        if int(frame) in frames:
            raise AnnotationsError(f"{where}: frame {int(frame)} has two boxes")
        frames.add(int(frame))
        rows.append([*b, 1.0] if len(b) == 5 else b)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)
