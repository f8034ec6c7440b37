"""Trajectories -> products: the matching stage of the pipeline.

For each track, up to ``frames_per_track`` of its boxes (spread over it, always with the one a
single-frame matcher would pick) are cropped from the video in one sequential pass, embedded
by the IFN, and matched against the catalogue by two-stage retrieval (FAISS proposes, AsymNet
re-ranks: engine/catalog/retrieval.py). The matches go into ``Track.matches``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.annotations import Annotations
from engine.asymnet.ifn import frame_box
from engine.asymnet.vfn import frame_quality, pick_single_frame, select_rows
from engine.types import Match, Track
from engine.video import FrameStream

if TYPE_CHECKING:
    from engine.catalog.retrieval import Catalog, ProductMatch


@dataclass
class TrackCrops:
    """What the IFN sees of one track: ``views`` of its ``rows`` (rows of ``track.boxes``, in
    time order), ``best`` the position in them of the single-frame pick."""

    rows: list[int]
    best: int
    views: list[np.ndarray]


def track_crops(video: str | Path, tracks: Sequence[Track], frames_per_track: int = 40
                ) -> list[TrackCrops | None]:
    """Up to ``frames_per_track`` crops per track (spread over it, always with the box a
    single-frame matcher would pick), in one pass over the video from the first frame any
    track needs; None for a track with no box or no decodable frame."""
    plans: list[tuple[np.ndarray, int] | None] = []
    wanted: dict[int, list[tuple[int, int]]] = {}
    for ti, t in enumerate(tracks):
        if not len(t.boxes):
            plans.append(None)
            continue
        best = pick_single_frame(t.boxes)
        rows = select_rows(len(t.boxes), frames_per_track, best)
        plans.append((rows, int(rows[np.searchsorted(rows, best)])))
        for r in rows:
            wanted.setdefault(int(t.boxes[r, 0]), []).append((ti, int(r)))
    crops: dict[tuple[int, int], np.ndarray] = {}
    if wanted:
        with FrameStream(video, min(wanted)) as stream:
            last = max(wanted)
            while stream.position <= last:
                f = stream.position
                if f in wanted:
                    frame = stream.read()
                    if frame is None:
                        break
                    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    for ti, r in wanted[f]:
                        crops[(ti, r)] = frame_box(rgb, tracks[ti].boxes[r, 1:5])
                elif not stream.grab():
                    break
    out: list[TrackCrops | None] = []
    for ti, plan in enumerate(plans):
        have = [] if plan is None else [int(r) for r in plan[0] if (ti, int(r)) in crops]
        if not have:
            out.append(None)
            continue
        best_row = plan[1]
        out.append(TrackCrops(have, have.index(best_row) if best_row in have else 0,
                              [crops[(ti, r)] for r in have]))
    return out


def to_match(found: ProductMatch) -> Match:
    """A catalogue's answer as the value the player shows (plain text, first image)."""
    p = found.product
    return Match(p.id, round(float(found.score), 5), p.title, p.price, p.currency, p.shop, p.url,
                 p.images[0] if p.images else "", p.sales, p.rating)


def match_one(track: Track, crops: TrackCrops, catalog: Catalog, *, k: int = 10,
              height: float = 0.0, method: str = "asymnet",
              times: dict[str, float] | None = None,
              like_with_like: bool = True) -> tuple[list[Match], np.ndarray]:
    """The top ``k`` products for one track from its crops, and the weight the similarity
    tree gave each crop for the best of them (zeros where it has none: other methods, or
    frames the VFN did not sample): the card shows them as the frames that decided."""
    t0 = time.perf_counter()
    emb = catalog.matcher.embed_views(crops.views)
    if times is not None:
        times["ifn"] = times.get("ifn", 0.0) + 1000 * (time.perf_counter() - t0)
    boxes = track.boxes[crops.rows]
    pick = np.zeros(len(crops.rows))
    pick[crops.best] = 1
    found = catalog.match_trajectory(
        emb, k, method, weights=pick,
        quality=frame_quality(boxes, height or float(boxes[:, 4].max())), times=times,
        category=track.category if like_with_like else "")
    matches = [to_match(m) for m in found]
    weights = np.zeros(len(crops.rows))
    if found and found[0].clip_weights is not None and found[0].frame_indices is not None:
        per_clip = len(found[0].frame_indices) // max(1, len(found[0].clip_weights))
        for c, w in enumerate(found[0].clip_weights):
            for row in found[0].frame_indices[c * per_clip:(c + 1) * per_clip]:
                weights[int(row)] += float(w) / per_clip
    return matches, weights


def match_tracks(video: str | Path, ann: Annotations, catalog: Catalog, *, k: int = 10,
                 frames_per_track: int = 40, method: str = "asymnet",
                 progress: Callable[[int, int], None] | None = None,
                 times: dict[str, float] | None = None,
                 like_with_like: bool = True) -> Annotations:
    """Fills ``matches`` (best first) of every track of ``ann`` in place and returns it.
    ``times`` accumulates milliseconds per stage: "crops" (decoding and framing), "ifn",
    "faiss", "vfn_tree". ``like_with_like``: a track's category narrows its candidates to the
    products of its garment group (engine/categories.py)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    height = float(ann.video.get("height") or 0)
    t0 = time.perf_counter()
    all_crops = track_crops(video, ann.tracks, frames_per_track)
    if times is not None:
        times["crops"] = times.get("crops", 0.0) + 1000 * (time.perf_counter() - t0)
    for ti, (t, tc) in enumerate(zip(ann.tracks, all_crops, strict=True)):
        t.matches = []
        if tc is not None:
            t.matches, _ = match_one(t, tc, catalog, k=k, height=height, method=method,
                                     times=times, like_with_like=like_with_like)
        if progress:
            progress(ti + 1, len(ann.tracks))
    ann.video["catalog_model"] = catalog.matcher.version
    return ann
