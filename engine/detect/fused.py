"""``auto`` (the default): the learned garment detector and the real-footage localiser, one of
them per shot, chosen by evidence.

The garment detector was trained on the synthetic world and is the better of the two there
(finer categories, boxes that hug each garment, a third of the time); on real people it boxes
faces and floors. The localiser (``people``) works on real people, and on the synthetic
world's people too, but coarser. Where the world is synthetic, the two agree: the garment
detector's confident boxes sit on the garments the localiser finds from the body. On real
footage they do not (a "dress" on a face, a "hoodie" on the road). So the first frame of every
shot is a probe that runs both and measures that agreement: the fraction of the garment
detector's boxes on the localiser's people that overlap a body region of the same garment
group (engine/categories.py). The shot is then analysed by the garment detector where they agree and
by the localiser where they do not. Where the localiser sees nobody (the synthetic world's far
or blurred people), there is no evidence against the garment detector and its word stands.

A shot is recognised by its colour histogram (a cut or a seek changes it: the probe runs
again), and probes are repeated every ``reprobe`` frames, with the last three votes deciding,
so that one odd frame does not flip a shot. The choice depends on the frames' content, not on
the order they come in (the live engine analyses segments out of order).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np

from engine.categories import compatible
from engine.geometry import iou_matrix
from engine.types import Detections

WORLDS = ("garment", "people")


def _signature(frame: np.ndarray) -> np.ndarray:
    small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def agreement(garments: Detections, regions: Detections, min_iou: float = 0.25
              ) -> float | None:
    """The fraction of the garment detector's confident boxes (those on a person the
    localiser found) that overlap, at IoU >= ``min_iou``, a body region found for a garment of
    the same group (a "dress" on a face, a "top" on a neck, a "hoodie" on the road is a
    disagreement: engine/categories.py); None when the localiser found nobody.
    A garment detector that finds nothing where the localiser finds clothes scores 0."""
    if not len(regions):
        return None
    if not len(garments):
        return 0.0  # clothes on people, and the garment detector sees none of them
    cx = (garments.xyxy[:, 0] + garments.xyxy[:, 2]) / 2
    cy = (garments.xyxy[:, 1] + garments.xyxy[:, 3]) / 2
    gc = [str(c) for c in garments.data.get("category", [""] * len(garments))]
    rc = [str(c) for c in regions.data.get("category", [""] * len(regions))]
    people = regions.data.get("person_box")
    if people is not None and len(people):
        # only boxes on someone the localiser found are evidence: others may be on people it
        # missed
        on = np.zeros(len(garments), bool)
        for x1, y1, x2, y2 in people:
            on |= (cx >= x1) & (cx <= x2) & (cy >= y1) & (cy <= y2)
        if not on.any():
            return None
        garments, cx, cy = garments[on], cx[on], cy[on]
        gc = [c for c, keep in zip(gc, on, strict=True) if keep]
    iou = iou_matrix(garments.xyxy, regions.xyxy)
    hits = sum(any(iou[i, j] >= min_iou and compatible(gc[i], rc[j])
                   for j in range(len(regions))) for i in range(len(garments)))
    return hits / len(garments)


class FusedDetector:
    name = "auto"

    def __init__(self, garment, people, *, agree: float = 0.3, reprobe: int = 24,
                 cut_distance: float = 0.35) -> None:
        if not 0.0 < agree <= 1.0:
            raise ValueError(f"agree must be in (0, 1], got {agree}")
        if reprobe < 1:
            raise ValueError(f"reprobe must be >= 1 frame, got {reprobe}")
        self.garment, self.people = garment, people
        self.agree, self.reprobe, self.cut_distance = agree, reprobe, cut_distance
        self.categories = list(dict.fromkeys([*garment.categories, *people.categories]))
        self.start_score = float(getattr(garment, "start_score", None) or 0.5)
        self._people_scale = self.start_score / float(getattr(people, "start_score", 0.5))
        self.version = (f"auto-2({garment.version}|{people.version}|a{agree}-r{reprobe})")
        self.backend = getattr(garment, "backend", "")
        self.stage_ms = {"probe": 0.0}
        self.probes = 0
        self.shots: dict[str, int] = dict.fromkeys(WORLDS, 0)  # frames analysed by each
        self.reset()

    def reset(self) -> None:
        self._sig: np.ndarray | None = None
        self._since = 0
        self._votes: deque[str] = deque(maxlen=3)
        self._fallback = "garment"

    def _relabel(self, dets: Detections, source) -> Detections:
        names = [str(c) for c in dets.data.get("category", [])]
        cls = np.array([self.categories.index(n) for n in names], np.int64)
        conf = dets.confidence
        if source is self.people:
            conf = np.minimum(1.0, conf * self._people_scale).astype(np.float32)
        data = dict(dets.data)
        data["source"] = np.array([source.name] * len(dets), dtype=object)
        return Detections(dets.xyxy, conf, cls, data=data)

    def _probe(self, frame: np.ndarray) -> tuple[str, Detections]:
        t0 = time.perf_counter()
        g = self.garment.detect([frame])[0]
        p = self.people.detect([frame])[0]
        g_conf = g[g.confidence >= self.start_score]
        score = agreement(g_conf, p)
        self.probes += 1
        self.stage_ms["probe"] += 1000 * (time.perf_counter() - t0)
        if score is None:
            # nobody the localiser can see (far, small, blurred people): the garment
            # detector's boxes are a vote for it (a weak one: the last three votes decide,
            # so a shot where real people were seen stays with the localiser)
            world = "garment" if len(g_conf) else (self._votes[-1] if self._votes
                                                    else "garment")
            if len(g_conf):
                self._votes.append(world)
        else:
            world = "garment" if score >= self.agree else "people"
            self._votes.append(world)
        votes = list(self._votes) or [world]
        chosen = max(WORLDS, key=lambda w: (votes.count(w), w == world))
        return chosen, (g if chosen == "garment" else p)

    def world_of(self, frame: np.ndarray) -> str:
        """The world the next detection of ``frame`` would use (probing when due)."""
        return self._decide(frame)[0]

    def _decide(self, frame: np.ndarray) -> tuple[str, Detections | None]:
        sig = _signature(frame)
        new_shot = self._sig is None or cv2.compareHist(
            self._sig, sig, cv2.HISTCMP_BHATTACHARYYA) > self.cut_distance
        if new_shot:
            self._votes.clear()
        if new_shot or self._since >= self.reprobe:
            self._sig, self._since = sig, 0
            world, found = self._probe(frame)
            self._fallback = world
            return world, found
        self._since += 1
        votes = list(self._votes) or [self._fallback]
        return max(WORLDS, key=lambda w: (votes.count(w), w == votes[-1])), None

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        out: list[Detections | None] = [None] * len(frames_bgr)
        todo: dict[str, list[int]] = {w: [] for w in WORLDS}
        for i, frame in enumerate(frames_bgr):
            world, found = self._decide(frame)
            self.shots[world] += 1
            if found is not None:
                out[i] = self._relabel(found, self.garment if world == "garment"
                                       else self.people)
            else:
                todo[world].append(i)
        for world, rows in todo.items():
            if not rows:
                continue
            det = self.garment if world == "garment" else self.people
            for i, d in zip(rows, det.detect([frames_bgr[i] for i in rows]), strict=True):
                out[i] = self._relabel(d, det)
        return [d if d is not None else Detections.empty() for d in out]
