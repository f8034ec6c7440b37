"""Reading a benchmark directory (docs/benchmark.md): splits, clips, ground truth, frames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.annotations import Annotations, load_annotations


class DataError(ValueError):
    """A benchmark directory that is not laid out as docs/benchmark.md says."""


@dataclass
class Clip:
    clip_id: str
    video: Path
    truth: Annotations


def load_split(data: str | Path, split: str) -> list[Clip]:
    """The clips of ``split`` (train, val, test or all), with their ground truth."""
    root = Path(data)
    splits_path = root / "splits.json"
    if not splits_path.is_file():
        raise DataError(f"{root} has no splits.json: is it a benchmark directory? "
                        "(make one with `video2shop synth --out DIR`)")
    splits = json.loads(splits_path.read_text())
    if split == "all":
        ids = sorted({c for v in splits.values() for c in v})
    elif split in splits:
        ids = list(splits[split])
    else:
        raise DataError(f"unknown split {split!r}; {root}/splits.json has {sorted(splits)} "
                        "(or use all)")
    clips = []
    for cid in ids:
        video = root / "clips" / f"{cid}.mp4"
        if not video.is_file():
            raise DataError(f"clip {cid} listed in splits.json has no video at {video}")
        clips.append(Clip(cid, video, load_annotations(root / "clips" / f"{cid}.json")))
    return clips


def boxes_by_frame(truth: Annotations) -> dict[int, list[tuple[int, str, np.ndarray]]]:
    """frame -> [(track id, category, row [frame, x1, y1, x2, y2, visible])]."""
    out: dict[int, list] = {}
    for t in truth.tracks:
        for row in t.boxes:
            out.setdefault(int(row[0]), []).append((t.track_id, t.category, row))
    return out
