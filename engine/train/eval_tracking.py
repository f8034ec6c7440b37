"""``video2shop eval --task tracking``: detection and tracking quality, and speed.

Runs the real pipeline (detector every ``stride`` frames, tracker, cut detection) on each clip
of a split, then scores its boxes against the ground truth: detection recall and precision at
IoU 0.5 and AP50 (ground truth at least half visible; less visible garments are "don't care"),
MOTA, IDF1 and ID switches (motmetrics), and the real-time factor (seconds of video analysed
per second of wall time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import motmetrics as mm
import numpy as np

from engine.analysis import StageTimes, run_analysis
from engine.annotations import Annotations
from engine.geometry import iou_matrix
from engine.train.data import boxes_by_frame, load_split
from engine.train.metrics import average_precision, match_frame

MIN_VISIBLE = 0.5


def _by_frame(ann: Annotations) -> dict[int, list[tuple[int, np.ndarray]]]:
    out: dict[int, list] = {}
    for t in ann.tracks:
        for row in t.boxes:
            out.setdefault(int(row[0]), []).append((t.track_id, row))
    return out


def score_clip(truth: Annotations, pred: Annotations, frame_count: int) -> dict[str, Any]:
    gt_frames = boxes_by_frame(truth)
    pr_frames = _by_frame(pred)
    acc = mm.MOTAccumulator(auto_id=False)
    tp = fn = fp = 0
    scores, outcomes = [], []
    for f in range(frame_count):
        gt = gt_frames.get(f, [])
        gt_ids = np.array([g[0] for g in gt], np.int64)
        gt_boxes = np.array([g[2][1:5] for g in gt]).reshape(-1, 4)
        vis = np.array([g[2][5] for g in gt])
        pr = pr_frames.get(f, [])
        pr_ids = np.array([p[0] for p in pr], np.int64)
        pr_boxes = np.array([p[1][1:5] for p in pr]).reshape(-1, 4)
        pr_scores = np.array([p[1][5] for p in pr])
        a, b, c, outcome = match_frame(pr_boxes, gt_boxes, vis, MIN_VISIBLE)
        tp, fn, fp = tp + a, fn + b, fp + c
        scores += pr_scores.tolist()
        outcomes += outcome.tolist()
        # tracking: don't-care ground truth and the predictions on them leave the frame
        care = vis >= MIN_VISIBLE
        keep = outcome != -1
        iou = iou_matrix(gt_boxes[care], pr_boxes[keep])
        dist = np.where(iou >= 0.5, 1 - iou, np.nan)
        acc.update(gt_ids[care].tolist(), pr_ids[keep].tolist(), dist, frameid=f)
    return {"tp": tp, "fn": fn, "fp": fp, "scores": scores, "outcomes": outcomes, "acc": acc}


def evaluate_tracking(data: str | Path, split: str, detector, *, stride: int = 3,
                      batch: int = 4, log: Callable[[str], None] = lambda m: None
                      ) -> dict[str, Any]:
    clips = load_split(data, split)
    per_clip: dict[str, Any] = {}
    accs, names = [], []
    totals = {"tp": 0, "fn": 0, "fp": 0, "scores": [], "outcomes": []}
    wall = video_s = 0.0
    times_all = StageTimes()
    for clip in clips:
        times = StageTimes()
        t0 = time.monotonic()
        pred = run_analysis(clip.video, detector, stride=stride, batch=batch, times=times)
        seconds = time.monotonic() - t0
        n = int(pred.video["frame_count"])
        fps = float(pred.video["fps"])
        s = score_clip(clip.truth, pred, n)
        accs.append(s["acc"])
        names.append(clip.clip_id)
        for k in ("tp", "fn", "fp"):
            totals[k] += s[k]
        totals["scores"] += s["scores"]
        totals["outcomes"] += s["outcomes"]
        wall += seconds
        video_s += n / fps
        for k, v in times.ms.items():
            times_all.ms[k] += v
        times_all.frames += times.frames
        times_all.detected_frames += times.detected_frames
        per_clip[clip.clip_id] = {
            "recall": s["tp"] / max(1, s["tp"] + s["fn"]),
            "precision": s["tp"] / max(1, s["tp"] + s["fp"]),
            "ap50": average_precision(np.array(s["scores"]), np.array(s["outcomes"]),
                                      s["tp"] + s["fn"]),
            "realtime_factor": (n / fps) / max(seconds, 1e-9),
            "tracks": len(pred.tracks),
            "truth_tracks": len(clip.truth.tracks),
        }
        log(f"  {clip.clip_id}: recall {per_clip[clip.clip_id]['recall']:.3f} precision "
            f"{per_clip[clip.clip_id]['precision']:.3f} ({seconds:.1f} s)")
    mh = mm.metrics.create()
    summary = mh.compute_many(accs, names=names, generate_overall=True,
                              metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                       "num_misses", "mostly_tracked", "num_unique_objects"])
    for name in names:
        row = summary.loc[name]
        per_clip[name].update({"mota": float(row["mota"]), "idf1": float(row["idf1"]),
                               "id_switches": int(row["num_switches"])})
    overall_row = summary.loc["OVERALL"]
    overall = {
        "recall": totals["tp"] / max(1, totals["tp"] + totals["fn"]),
        "precision": totals["tp"] / max(1, totals["tp"] + totals["fp"]),
        "ap50": average_precision(np.array(totals["scores"]), np.array(totals["outcomes"]),
                                  totals["tp"] + totals["fn"]),
        "mota": float(overall_row["mota"]),
        "idf1": float(overall_row["idf1"]),
        "id_switches": int(overall_row["num_switches"]),
        "realtime_factor": video_s / max(wall, 1e-9),
        "stage_ms_per_frame": {k: round(v, 2) for k, v in times_all.per_frame().items()},
    }
    return {"task": "tracking", "split": split, "data": str(data), "stride": stride,
            "detector": getattr(detector, "name", "?"),
            "detector_version": getattr(detector, "version", "?"),
            "clips": per_clip, "overall": overall}


def markdown_table(report: dict[str, Any]) -> str:
    cols = ["recall", "precision", "ap50", "mota", "idf1", "id_switches", "realtime_factor"]
    lines = ["| clip | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]

    def fmt(v):
        return str(v) if isinstance(v, int) else f"{v:.3f}"

    for name, row in [*report["clips"].items(), ("**overall**", report["overall"])]:
        lines.append(f"| {name} | " + " | ".join(fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines)
