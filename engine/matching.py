"""Trajectories -> products: the matching stage, behind one facade (``Matcher``).

For each track, up to ``frames_per_track`` of its boxes (spread over it, always with the one a
single-frame matcher would pick) are cropped from the video in one sequential pass, embedded
by the IFN, and matched against the catalogue by two-stage retrieval (FAISS proposes, AsymNet
re-ranks). The matches go into ``Track.matches``.
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
from engine.asymnet.frames import frame_quality, pick_single_frame, select_rows
from engine.asymnet.ifn import frame_box
from engine.asymnet.rerank import FEATURES, Reranker
from engine.asymnet.rerank import features as rerank_features
from engine.types import Match, Track
from engine.video import FrameStream

if TYPE_CHECKING:
    from engine.asymnet.model import RankResult, TrajectoryMatcher
    from engine.catalog.retrieval import Catalog, ProductMatch


@dataclass
class TrackCrops:
    """What the IFN sees of one track: ``views`` of its ``rows`` (rows of ``track.boxes``, in
    time order), ``best`` the position in them of the single-frame pick; ``complete``: every
    row asked for was decoded (False when the video ended or broke before some of them)."""

    rows: list[int]
    best: int
    views: list[np.ndarray]
    complete: bool = True


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
                              [crops[(ti, r)] for r in have], len(have) == len(plan[0])))
    return out


def to_match(found: ProductMatch) -> Match:
    """A catalogue's answer as the value the player shows (plain text, first image)."""
    p = found.product
    return Match(p.id, round(float(found.score), 5), p.title, p.price, p.currency, p.shop, p.url,
                 p.images[0] if p.images else "", p.sales, p.rating)


class Matcher:
    """Trajectories -> products, in one place: ``Matcher(catalog, model).match(track, crops)``.

    The catalogue proposes (FAISS over its shop images' vectors: the products nearest to the
    trajectory's mean embedding, those of the garment's group when it has one), the model
    re-ranks (AsymNet's VFN and similarity tree over every image of those products; a
    product's score is its best image's). ``model`` defaults to the one the catalogue's
    vectors come from: a model of another version could not compare with them."""

    def __init__(self, catalog: Catalog, model: TrajectoryMatcher | None = None) -> None:
        self.catalog = catalog
        self.model = model if model is not None else catalog.matcher
        if self.model.version != catalog.matcher.version:
            raise ValueError(f"the catalogue's vectors come from {catalog.matcher.version}, "
                             f"not {self.model.version}: open it with that model")

    @property
    def version(self) -> str:
        return self.model.version

    def rank(self, frames: np.ndarray, k: int = 10, method: str = "asymnet",
             weights: np.ndarray | None = None, quality: np.ndarray | None = None,
             times: dict[str, float] | None = None,
             category: str = "", colors: np.ndarray | None = None) -> list[ProductMatch]:
        """frames (T, D): the trajectory's crop embeddings in time order -> top-k products,
        re-ranked by ``method`` (asymnet by default) among the catalogue's candidates, those
        of the garment's ``category`` group when it has one (``Catalog.like_with_like``);
        ``quality`` (T, 3): per-frame cues (engine.asymnet.frames.frame_quality). With
        ``colors`` (T, COLOR_DIM), the crops' colour descriptors, the model's re-ranker (when
        it has one) orders the tree's shortlist (engine/asymnet/rerank.py); ``weights`` (T,)
        marks the single-frame pick. ``times`` accumulates milliseconds per stage ("faiss",
        "vfn_tree", "rerank") for the benchmarks."""
        from engine.catalog.retrieval import ProductMatch

        cat = self.catalog
        frames = np.asarray(frames, np.float32)
        found = self._scored(frames, method, weights, quality, category, times)
        if found is None:
            return []
        pos, res = found
        rr = self.model.reranker
        if (method == "asymnet" and rr is not None and colors is not None
                and cat.colors is not None):
            t2 = time.perf_counter()
            ranked = self._rerank(rr, cat.rank_products(res.scores, pos, max(k, rr.k)), pos,
                                  res, frames, weights, quality, colors)[:k]
            if times is not None:
                times["rerank"] = times.get("rerank", 0.0) + 1000 * (time.perf_counter() - t2)
        else:
            ranked = cat.rank_products(res.scores, pos, k)
        prods = cat.products([p for p, _, _ in ranked])
        out = []
        for p, (_, s, j) in zip(prods, ranked, strict=True):
            cw = res.clip_weights[j] if res.clip_weights is not None else None
            out.append(ProductMatch(p, s, cw, res.frame_indices))
        return out

    def _scored(self, frames: np.ndarray, method: str, weights: np.ndarray | None,
                quality: np.ndarray | None, category: str,
                times: dict[str, float] | None) -> tuple[np.ndarray, RankResult] | None:
        """The catalogue's candidates (positions into its vectors) and the model's scores of
        them; None when there are none."""
        cat = self.catalog
        t0 = time.perf_counter()
        mean = frames.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        pos = cat.like_with_like(cat.candidates(mean.reshape(1, -1)), category)
        t1 = time.perf_counter()
        if times is not None:
            times["faiss"] = times.get("faiss", 0.0) + 1000 * (t1 - t0)
        if len(pos) == 0:
            return None
        res = self.model.rank(frames, cat.vectors[pos], method, weights=weights,
                              quality=quality)
        if times is not None:
            times["vfn_tree"] = times.get("vfn_tree", 0.0) + 1000 * (time.perf_counter() - t1)
        return pos, res

    def tree_shortlist(self, track: Track, crops: TrackCrops, *, k: int = 20,
                       height: float = 0.0, like_with_like: bool = True
                       ) -> tuple[list[int], np.ndarray]:
        """What the re-ranker sees for one track, as the engine computes it: the tree's top
        ``k`` products (catalogue rows, best first) and their features (K, F) (fitting the
        re-ranker on detected trajectories, engine/train/rerank.py)."""
        emb, colors, pick, quality = self._inputs(track, crops, height)
        found = self._scored(emb, "asymnet", pick, quality,
                             track.category if like_with_like else "", None)
        if found is None or self.catalog.colors is None:
            return [], np.zeros((0, len(FEATURES)), np.float32)
        pos, res = found
        ranked = self.catalog.rank_products(res.scores, pos, k)
        return [p for p, _, _ in ranked], self._features(ranked, pos, res, emb, pick, quality,
                                                         colors)

    def _inputs(self, track: Track, crops: TrackCrops, height: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A track's crops as the ranking takes them: embeddings, colour descriptors, the
        single-frame pick (one-hot) and the per-frame quality cues."""
        emb, colors = self.model.embed_views_and_colors(crops.views)
        boxes = track.boxes[crops.rows]
        pick = np.zeros(len(crops.rows))
        pick[crops.best] = 1
        return emb, colors, pick, frame_quality(boxes, height or float(boxes[:, 4].max()))

    def _features(self, ranked: list[tuple[int, float, int]], pos: np.ndarray,
                  res: RankResult, frames: np.ndarray, weights: np.ndarray | None,
                  quality: np.ndarray | None, colors: np.ndarray) -> np.ndarray:
        cat = self.catalog
        owners = cat.image_products[pos]
        images = [pos[owners == p] for p, _, _ in ranked]
        best = int(np.argmax(weights)) if weights is not None else len(frames) // 2
        return rerank_features(res.log_odds[[j for _, _, j in ranked]], frames, best, quality,
                               colors, images, np.array([pos[j] for _, _, j in ranked]),
                               cat.vectors, cat.colors)

    def _rerank(self, rr: Reranker, ranked: list[tuple[int, float, int]], pos: np.ndarray,
                res: RankResult, frames: np.ndarray, weights: np.ndarray | None,
                quality: np.ndarray | None, colors: np.ndarray) -> list[tuple[int, float, int]]:
        """The tree's shortlist (product row, score, best image's position in ``pos``) in the
        re-ranker's order, each with the re-ranker's probability as its score."""
        if len(ranked) < 2:
            return ranked
        order, prob = rr.order(self._features(ranked, pos, res, frames, weights, quality,
                                              colors))
        return [(ranked[i][0], float(p), ranked[i][2]) for i, p in zip(order, prob, strict=True)]

    def match(self, track: Track, crops: TrackCrops, *, k: int = 10, height: float = 0.0,
              method: str = "asymnet", times: dict[str, float] | None = None,
              like_with_like: bool = True) -> tuple[list[Match], np.ndarray]:
        """The top ``k`` products for one track from its crops, and the weight the similarity
        tree gave each crop for the best of them (zeros where it has none: other methods, or
        frames the VFN did not sample): the card shows them as the frames that decided."""
        t0 = time.perf_counter()
        emb, colors, pick, quality = self._inputs(track, crops, height)
        if times is not None:
            times["ifn"] = times.get("ifn", 0.0) + 1000 * (time.perf_counter() - t0)
        found = self.rank(emb, k, method, weights=pick, quality=quality, times=times,
                          category=track.category if like_with_like else "", colors=colors)
        matches = [to_match(m) for m in found]
        weights = np.zeros(len(crops.rows))
        if found and found[0].clip_weights is not None and found[0].frame_indices is not None:
            per_clip = len(found[0].frame_indices) // max(1, len(found[0].clip_weights))
            for c, w in enumerate(found[0].clip_weights):
                for row in found[0].frame_indices[c * per_clip:(c + 1) * per_clip]:
                    weights[int(row)] += float(w) / per_clip
        return matches, weights

    def match_video(self, video: str | Path, ann: Annotations, *, k: int = 10,
                    frames_per_track: int = 40, method: str = "asymnet",
                    progress: Callable[[int, int], None] | None = None,
                    times: dict[str, float] | None = None,
                    like_with_like: bool = True) -> Annotations:
        """Fills ``matches`` (best first) of every track of ``ann`` in place and returns it.
        ``times`` accumulates milliseconds per stage: "crops" (decoding and framing), "ifn",
        "faiss", "vfn_tree". ``like_with_like``: a track's category narrows its candidates to
        the products of its garment group (engine/categories.py)."""
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
                t.matches, _ = self.match(t, tc, k=k, height=height, method=method,
                                          times=times, like_with_like=like_with_like)
            if progress:
                progress(ti + 1, len(ann.tracks))
        ann.video["catalog_model"] = self.version
        return ann

    def search_image(self, image_rgb: np.ndarray, k: int = 10) -> list[ProductMatch]:
        """Products for a picture (a photo, a drawn region): its embedding, FAISS, cosine."""
        return self.catalog.search_embedding(self.model.embed_shop([image_rgb])[0], k)
