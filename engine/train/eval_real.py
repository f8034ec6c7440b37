"""``video2shop eval --task real``: garment boxes on real people, against labels drawn by eye.

The same analysis as the player and the other evaluations (``run_analysis``: the detector every
``stride`` frames, the tracker in between) runs on each clip of the real-footage set
(``scripts/fetch_real_footage.py``, ``resources/real/README.md``); at each labelled frame all
the tracks' boxes on that frame are compared with the labels:

- a labelled garment (upper, lower, full) is found by an engine box with IoU >= 0.4 (one to
  one, greedy by IoU). The threshold is looser than the synthetic benchmark's 0.5: where a
  garment ends (a hem under a folded arm, a jacket over a shirt) is a matter of judgement on
  real pixels, and boxes drawn by eye differ by that much between two careful labellers;
- a person too small to split into garments ("small") counts as two garments, its upper and
  lower half: a half is found by an engine box whose centre lies in it and which lies mostly
  (>= 0.7 of its area) inside the person box grown by 15%;
- an engine box is true when it found a garment or a half, when at least half of it is on a
  labelled garment (ignored ones too: a garment mostly out of the picture, a coat hem), or when
  it lies mostly inside (>= 0.7, the box grown by 15%) a labelled person whose garments are not
  labelled one by one (small, ignored or partly hidden people). On a person whose garments are
  labelled, a box on the face, the bare arms or the background beside them is false, as is a
  box on a wall, a car or the road.

A still's labels are drawn on the still and mapped into each clip frame through the crop window
the fetch script recorded; a garment that the window shows less than half of is not counted
(but a box on it is true). Stills are scored on ``still_frames`` frames spread over the clip, so
that a still weighs about as much as a video's few labelled frames.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis import run_analysis
from engine.geometry import iou_matrix
from engine.train.realdata import RealDataError, clip_box, load_manifest

IOU = 0.4
SMALL_INSIDE = 0.7  # of an engine box's area, inside a (grown) person box
SMALL_GROW = 0.15
ON_GARMENT = 0.5  # of an engine box's area, on a labelled garment
MIN_VISIBLE = 0.5  # of a still's garment, inside a clip frame, for it to count
GARMENTS = ("upper", "lower", "full")
CATEGORIES = (*GARMENTS, "person")


class LabelsError(ValueError):
    """A labels file that cannot be used, with where the problem is."""


def load_labels(path: str | Path) -> dict[str, Any]:
    """The labels file, checked: every label names a source, a category and a box."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels file not found: {path}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict) or raw.get("version") != 1 or \
            not isinstance(raw.get("labels"), list):
        raise LabelsError(f"{path}: expected {{\"version\": 1, \"labels\": [...]}}")
    for i, lab in enumerate(raw["labels"]):
        where = f"{path}: labels[{i}]"
        if not isinstance(lab, dict) or not isinstance(lab.get("source"), str):
            raise LabelsError(f"{where} needs a 'source'")
        if lab.get("category") not in CATEGORIES:
            raise LabelsError(f"{where}: category {lab.get('category')!r} is not one of "
                              f"{', '.join(CATEGORIES)}")
        box = lab.get("box")
        if not (isinstance(box, list) and len(box) == 4
                and all(isinstance(v, (int, float)) for v in box)
                and box[2] > box[0] and box[3] > box[1]):
            raise LabelsError(f"{where}: box must be [x1, y1, x2, y2] with x2 > x1, y2 > y1, "
                              f"got {box!r}")
        if not isinstance(lab.get("person"), int):
            raise LabelsError(f"{where} needs an integer 'person'")
        frame = lab.get("frame")
        if frame is not None and (not isinstance(frame, int) or frame < 0):
            raise LabelsError(f"{where}: frame must be a whole number >= 0 or null")
    raw.setdefault("empty_frames", {})
    return raw


# ---------------------------------------------------------------------------------- scoring


def _area(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def _inside_fraction(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    """For each box (N, 4): the fraction of its area inside ``region`` (4,)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x1 = np.maximum(boxes[:, 0], region[0])
    y1 = np.maximum(boxes[:, 1], region[1])
    x2 = np.minimum(boxes[:, 2], region[2])
    y2 = np.minimum(boxes[:, 3], region[3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / np.maximum(_area(boxes), 1e-9)


def _grow(box: np.ndarray, by: float = SMALL_GROW) -> np.ndarray:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = (box[2] - box[0]) * (1 + by), (box[3] - box[1]) * (1 + by)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


@dataclass
class FrameScore:
    """One frame's outcome. ``found`` has one entry per target: (label index, part, found),
    part "" for a garment, "upper"/"lower" for a half of a small person."""

    found: list[tuple[int, str, bool]] = field(default_factory=list)
    true_box: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def score_frame(boxes: np.ndarray, labels: list[dict], *, iou: float = IOU) -> FrameScore:
    """Scores the engine's boxes (N, 4) on one frame against that frame's labels (dicts with
    ``box`` in this frame's pixels, ``category``, ``person`` and the optional ``small`` and
    ``ignore``). Labels keep their position in ``labels`` as their index in the result."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    used = np.zeros(n, bool)
    out = FrameScore(true_box=np.zeros(n, bool))
    lab_boxes = [np.asarray(lab["box"], np.float64) for lab in labels]

    # garments: one to one, greedy by IoU
    garments = [i for i, lab in enumerate(labels)
                if lab["category"] in GARMENTS and not lab.get("ignore")]
    found = dict.fromkeys(garments, False)
    if garments and n:
        m = iou_matrix(np.array([lab_boxes[i] for i in garments]), boxes)
        while m.size and m.max() >= iou:
            g, b = np.unravel_index(int(np.argmax(m)), m.shape)
            found[garments[g]] = True
            used[b] = True
            m[g, :] = -1
            m[:, b] = -1
    out.found += [(i, "", found[i]) for i in garments]

    # small people: each half found by a box centred in it, mostly inside the grown person
    halves = []
    for i, lab in enumerate(labels):
        if lab["category"] == "person" and lab.get("small") and not lab.get("ignore"):
            p = lab_boxes[i]
            g = _grow(p)
            mid = (p[1] + p[3]) / 2
            halves += [(i, "upper", np.array([g[0], g[1], g[2], mid]), g),
                       (i, "lower", np.array([g[0], mid, g[2], g[3]]), g)]
    pairs = []
    if n:
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        for h, (_, _, half, grown) in enumerate(halves):
            ok = ((cx >= half[0]) & (cx <= half[2]) & (cy >= half[1]) & (cy <= half[3])
                  & (_inside_fraction(boxes, grown) >= SMALL_INSIDE))
            overlap = iou_matrix(half[None], boxes)[0]
            pairs += [(overlap[b], h, b) for b in np.flatnonzero(ok)]
    half_found = [False] * len(halves)
    for _, h, b in sorted(pairs, key=lambda t: -t[0]):
        if not half_found[h] and not used[b]:
            half_found[h] = True
            used[b] = True
    out.found += [(i, part, half_found[h]) for h, (i, part, _, _) in enumerate(halves)]

    # precision: what is not a hit may still be on a garment or on a person seen as a whole
    true = used.copy()
    split = {lab["person"] for lab in labels if lab["category"] in GARMENTS}
    for i, lab in enumerate(labels):
        if not n:
            break
        if lab["category"] in GARMENTS:
            true |= _inside_fraction(boxes, lab_boxes[i]) >= ON_GARMENT
        elif lab["person"] not in split or lab.get("ignore"):
            true |= _inside_fraction(boxes, _grow(lab_boxes[i])) >= SMALL_INSIDE
    out.true_box = true
    return out


# ------------------------------------------------------------------------------ evaluation


def _frames_of(src, labels: list[dict], empty: list[int], still_frames: int) -> list[int]:
    if src.kind == "still":
        return sorted({int(round(v)) for v in np.linspace(0, src.frames - 1, still_frames)})
    frames = {int(lab["frame"] or 0) for lab in labels} | {int(f) for f in empty}
    bad = [f for f in frames if f >= src.frames]
    if bad:
        raise LabelsError(f"{src.name}: labelled frame {bad[0]} is past its end "
                          f"({src.frames} frames)")
    return sorted(frames)


def _labels_at(src, labels: list[tuple[int, dict]], frame: int) -> list[dict]:
    """The labels on ``frame`` in its pixels, each with ``_label``, its index in the file: a
    still's mapped through the crop window and clipped to the frame (a garment mostly outside
    it is kept, but ignored); a video's as they are."""
    out = []
    for k, lab in labels:
        if src.kind == "still":
            box, visible = clip_box(src.to_frame(lab["box"], frame), src.size)
            if visible <= 0:
                continue
            lab = {**lab, "box": box.tolist()}
            if visible < MIN_VISIBLE:
                lab["ignore"] = True
        elif int(lab["frame"] or 0) != frame:
            continue
        out.append({**lab, "_label": k})
    return out


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    row["recall"] = row["found"] / max(1, row["garments"])
    row["precision"] = row["true_boxes"] / max(1, row["boxes"])
    return row


def evaluate_real(labels_path: str | Path, detector, *, data_dir: str | Path, stride: int = 3,
                  still_frames: int = 9, sources: list[str] | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Runs the analysis on every labelled source (or only ``sources``) and scores it."""
    log = log or (lambda m: None)
    raw = load_labels(labels_path)
    manifest = load_manifest(data_dir)
    by_source: dict[str, list[tuple[int, dict]]] = {}
    for k, lab in enumerate(raw["labels"]):
        by_source.setdefault(lab["source"], []).append((k, lab))
    missing = sorted(set(by_source) - set(manifest))
    if missing:
        raise RealDataError(f"{data_dir} has no {', '.join(missing)}: run "
                            "scripts/fetch_real_footage.py again")
    names = [s for s in by_source if sources is None or s in sources]
    per_source: dict[str, Any] = {}
    t0 = time.monotonic()
    for name in names:
        src, labels = manifest[name], by_source[name]
        frames = _frames_of(src, [lab for _, lab in labels],
                            raw["empty_frames"].get(name, []), still_frames)
        t1 = time.monotonic()
        # past the last labelled frame by a few detector runs, so that its boxes lie between
        # two detections, as they do in the player (the tracker keeps a trajectory up to its
        # last detection: an analysis stopped right after a labelled frame would not show it)
        ann = run_analysis(src.video, detector, stride=stride,
                           max_frames=frames[-1] + 3 * stride + 1)
        index = ann.index()
        row: dict[str, Any] = {"garments": 0, "found": 0, "boxes": 0, "true_boxes": 0,
                               "frames": len(frames)}
        tally: dict[tuple[int, str], list[int]] = {}
        false_boxes = []
        for f in frames:
            here = _labels_at(src, labels, f)
            boxes = index.detections_at(f).xyxy
            score = score_frame(boxes, here)
            row["garments"] += len(score.found)
            row["found"] += sum(ok for _, _, ok in score.found)
            row["boxes"] += len(boxes)
            row["true_boxes"] += int(score.true_box.sum())
            for i, part, ok in score.found:
                counts = tally.setdefault((here[i]["_label"], part), [0, 0])
                counts[0] += int(ok)
                counts[1] += 1
            false_boxes += [[f, *np.round(b, 1).tolist()] for b in boxes[~score.true_box]]
        row["misses"] = [
            {"label": k, "frame": raw["labels"][k].get("frame"),
             "category": raw["labels"][k]["category"] + (f" ({part} half)" if part else ""),
             "person": raw["labels"][k]["person"], "note": raw["labels"][k].get("note", ""),
             "missed": n - hit, "of": n}
            for (k, part), (hit, n) in sorted(tally.items()) if hit < n]
        row["false_boxes"] = false_boxes[:20]
        row["tracks"] = len(ann.tracks)
        row["seconds"] = round(time.monotonic() - t1, 1)
        per_source[name] = _rates(row)
        log(f"  {name}: recall {row['recall']:.3f} ({row['found']}/{row['garments']}), "
            f"precision {row['precision']:.3f} ({row['true_boxes']}/{row['boxes']}) on "
            f"{len(frames)} frames ({row['seconds']} s)")
    overall = _rates({k: sum(r[k] for r in per_source.values())
                      for k in ("garments", "found", "boxes", "true_boxes", "frames")})
    return {"task": "real", "labels": str(labels_path), "data": str(data_dir),
            "detector": getattr(detector, "name", "?"),
            "detector_version": getattr(detector, "version", "?"), "stride": stride,
            "iou": IOU, "still_frames": still_frames, "sources": per_source,
            "overall": overall, "seconds": round(time.monotonic() - t0, 1)}


def markdown_table(report: dict[str, Any]) -> str:
    cols = ["frames", "garments", "found", "recall", "boxes", "true_boxes", "precision"]
    lines = [f"Real footage ({report['detector']}, stride {report['stride']}, IoU "
             f"{report['iou']}): garments found and boxes that are on people's clothes", "",
             "| source | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]

    def fmt(v):
        return str(v) if isinstance(v, int) else f"{v:.3f}"

    for name, row in [*report["sources"].items(), ("**overall**", report["overall"])]:
        lines.append(f"| {name} | " + " | ".join(fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines)
