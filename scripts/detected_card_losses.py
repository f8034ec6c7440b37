"""Where the detected card loses to the ground-truth one (docs/asymnet.md, "Where the detected
card is lost"): every clip of a set detected and tracked as `analyze` does, each garment's
best-covering track (as `eval --task end2end` pairs them) and its ground-truth trajectory
matched against the set's own catalogue (like with like, the shipped re-ranker); then the
garments no track covers, the cards right one way only, how well those are covered (IoU with
the truth's boxes, the share of the garment's frames in the track, the tracks that cover it)
and the tracks whose category is of another group than the garment's.

    .venv/bin/python scripts/detected_card_losses.py [SET] [WEIGHTS] [--clips N]
    (default .cache/asymnet-work/q1, made by scripts/train-asymnet.sh, and the shipped weights;
    about 10 minutes for q1's 40 clips on two cores)
"""

from __future__ import annotations

import argparse
import copy
from collections import Counter

import numpy as np

from engine.analysis import run_analysis
from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
from engine.catalog.retrieval import Catalog
from engine.categories import compatible
from engine.detect import create_detector
from engine.matching import Matcher
from engine.train.data import load_split
from engine.train.eval_end2end import best_cover, frame_ious


def coverage(truth, track) -> tuple[float, float]:
    """Mean IoU with the truth's boxes over their common frames, and the share of the
    garment's frames the track holds."""
    ious = frame_ious(truth, track)
    if not len(ious):
        return 0.0, 0.0
    return float(ious.mean()), len(ious) / len(truth.boxes)


def covering(truth, tracks, min_iou: float = 0.5) -> int:
    """How many tracks hold the garment at IoU >= min_iou on more than 30% of the frames they
    share with it."""
    return sum(1 for t in tracks
               if len(ious := frame_ious(truth, t)) and (ious >= min_iou).mean() > 0.3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default=".cache/asymnet-work/q1")
    ap.add_argument("weights", nargs="?", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--clips", type=int, default=0, help="the first N clips only")
    args = ap.parse_args()
    matcher = TrajectoryMatcher(args.weights, device="cpu")
    detector = create_detector("auto", device="cpu")
    catalog = Catalog.open(args.data, matcher)
    rows = []
    try:
        clips = load_split(args.data, "all")
        for clip in clips[:args.clips or None]:
            pred = run_analysis(clip.video, detector, stride=3)
            truth = copy.deepcopy(clip.truth)
            truth.tracks = [t for t in truth.tracks if t.product_id]
            Matcher(catalog).match_video(clip.video, truth, k=20)
            Matcher(catalog).match_video(clip.video, pred, k=20)
            for t in truth.tracks:
                r = {"category": t.category,
                     "gt": bool(t.matches) and t.matches[0].product_id == t.product_id}
                d = best_cover(t, pred.tracks)
                if d is not None:
                    iou, share = coverage(t, d)
                    r |= {"det": bool(d.matches) and d.matches[0].product_id == t.product_id,
                          "iou": iou, "share": share, "tracks": covering(t, pred.tracks),
                          "det_category": d.category,
                          "same_group": compatible(d.category, t.category)}
                rows.append(r)
            print(f"  {clip.clip_id}", flush=True)
    finally:
        catalog.close()
    report(rows)


def report(rows: list[dict]) -> None:
    covered = [r for r in rows if "det" in r]
    lost = [r for r in rows if "det" not in r]
    print(f"{len(rows)} garments; the card right for {sum(r['gt'] for r in rows)} with "
          f"ground-truth trajectories, {sum(r['det'] for r in covered)} with detected ones")
    print(f"no track covers {len(lost)} (the ground-truth card right for "
          f"{sum(r['gt'] for r in lost)}): {dict(Counter(r['category'] for r in lost))}")
    groups = {"right both ways": (True, True), "right with ground truth only": (True, False),
              "right with the detected track only": (False, True), "wrong both": (False, False)}
    for name, key in groups.items():
        g = [r for r in covered if (r["gt"], r["det"]) == key]
        if g:
            print(f"{name}: {len(g)}; mean IoU {np.mean([r['iou'] for r in g]):.2f}, frames "
                  f"held {np.mean([r['share'] for r in g]):.2f}, tracks covering "
                  f"{np.mean([r['tracks'] for r in g]):.2f}, category of another group "
                  f"{sum(not r['same_group'] for r in g)}")
    other = Counter((r["category"], r["det_category"]) for r in covered if not r["same_group"])
    print(f"tracks of another group (garment, track): {dict(other)}")


if __name__ == "__main__":
    main()
