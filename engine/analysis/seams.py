"""Seam stitching: trajectories that one run of the tracker ended at a segment's edge and
another run continued after a seek, joined into one (a pure function of the pieces).

Consecutive segments analysed in a row share one tracker (a *run*), so an in-order pass has no
seams. Where a run starts next to frames an earlier run analysed, a trajectory that continues
across the seam is two pieces: same shot, the second starting within a few frames of the
first's end, their boxes overlapping.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.geometry import iou_matrix
from engine.types import Track


@dataclass
class Piece:
    """A trajectory as one run's tracker saw it (``track.track_id`` is the run's local id)."""

    run: int
    track: Track
    closed: bool  # the tracker has ended it: it will not grow in this run


def interpolate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows for the frames strictly between box rows ``a`` and ``b`` (linear)."""
    f0, f1 = int(a[0]), int(b[0])
    rows = []
    for f in range(f0 + 1, f1):
        w = (f - f0) / (f1 - f0)
        box = (1 - w) * a[1:5] + w * b[1:5]
        rows.append([f, *box, 0.95 * min(a[5], b[5])])
    return np.array(rows).reshape(-1, 6)


def stitch(pieces: dict[tuple[int, int], Piece], ids: dict[tuple[int, int], int],
           cuts: Iterable[int], max_gap: int, min_iou: float) -> list[tuple[Track, bool]]:
    """(trajectory, closed) with the viewer's ids (``ids``: (run, local id) -> id): pieces
    of different runs joined where one ends and the next starts within ``max_gap`` frames
    in the same shot (no cut of ``cuts`` between them), their boxes overlapping by at least
    ``min_iou``; the best overlaps first, each piece joined at most once each way, the
    frames between them interpolated."""
    keys = sorted(pieces, key=lambda k: pieces[k].track.first_frame)
    cuts = np.array(sorted(cuts), np.int64)
    edges = []
    for ka in keys:
        pa = pieces[ka]
        if not pa.closed or not len(pa.track.boxes):
            continue
        end = pa.track.boxes[-1]
        for kb in keys:
            pb = pieces[kb]
            if pb.run == pa.run or not len(pb.track.boxes):
                continue
            start = pb.track.boxes[0]
            gap = int(start[0]) - int(end[0])
            if not 1 <= gap <= max_gap:
                continue
            if len(cuts) and ((cuts > end[0]) & (cuts <= start[0])).any():
                continue  # a shot cut between them: another shot, another trajectory
            iou = float(iou_matrix(end[None, 1:5], start[None, 1:5])[0, 0])
            if iou >= min_iou:
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
        parts = [pieces[c] for c in chain]
        rows = [parts[0].track.boxes]
        for prev, nxt in itertools.pairwise(parts):
            rows.append(interpolate(prev.track.boxes[-1], nxt.track.boxes[0]))
            rows.append(nxt.track.boxes)
        longest = max(parts, key=lambda p: len(p.track.boxes))
        track = Track(track_id=min(ids[c] for c in chain), boxes=np.concatenate(rows),
                      category=longest.track.category)
        out.append((track, all(p.closed for p in parts)))
    return out
