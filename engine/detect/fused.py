"""``auto`` (the default): the learned garment detector and the real-footage localiser, one of
them per shot, chosen by what the shot looks like.

The garment detector was trained on the synthetic world and is the better of the two there
(finer categories, boxes that hug each garment, a third of the time); on real people it boxes
faces and floors. The localiser (``people``) works on real people but finds few of the
synthetic world's (its rendered bodies are not what BlazePose was trained on): on the hard
test seed it recalls under a third of the garments. Each is only right in its own world, so
the first frame of every shot is a probe that asks the world classifier
(engine/detect/world.py) whether the renderer made it, and the shot goes to the garment
detector when it did and to the localiser otherwise.

(An earlier probe measured whether the two detectors' boxes agreed on the body. On real
people the garment detector's whole-person "jumpsuit" and "coat" boxes overlap the
localiser's upper-body regions often enough to pass for agreement, and on the synthetic
world the localiser's misses look like disagreement: the two overlapped, frame by frame.
The classifier separates the worlds with a wide margin: docs/detection.md.)

A shot is recognised by its colour histogram (a cut or a seek changes it: the probe runs
again), and probes are repeated every ``reprobe`` frames, the mean of the last three answers
deciding, so that one odd frame does not flip a shot. The choice depends on the frames'
content, not on the order they come in (the live engine analyses segments out of order).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np

from engine.types import Detections

WORLDS = ("garment", "people")


def shot_signature(frame: np.ndarray) -> np.ndarray:
    small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


class FusedDetector:
    name = "auto"

    def __init__(self, garment, people, world, *, reprobe: int = 24,
                 cut_distance: float = 0.35, threshold: float | None = None) -> None:
        if reprobe < 1:
            raise ValueError(f"reprobe must be >= 1 frame, got {reprobe}")
        threshold = world.threshold if threshold is None else threshold
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.garment, self.people, self.world = garment, people, world
        self.reprobe, self.cut_distance, self.threshold = reprobe, cut_distance, threshold
        self.categories = list(dict.fromkeys([*garment.categories, *people.categories]))
        self.start_score = float(getattr(garment, "start_score", None) or 0.5)
        self._people_scale = self.start_score / float(getattr(people, "start_score", 0.5))
        self.version = (f"auto-3({garment.version}|{people.version}|{world.version}"
                        f"-t{threshold:g}-r{reprobe})")
        self.backend = getattr(garment, "backend", "")
        self.stage_ms = {"probe": 0.0}
        self.probes = 0
        self.shots: dict[str, int] = dict.fromkeys(WORLDS, 0)  # frames analysed by each
        self.reset()

    def reset(self) -> None:
        self._sig: np.ndarray | None = None
        self._since = 0
        self._votes: deque[float] = deque(maxlen=3)  # the last probes' p(synthetic)

    def _relabel(self, dets: Detections, source) -> Detections:
        names = [str(c) for c in dets.data.get("category", [])]
        cls = np.array([self.categories.index(n) for n in names], np.int64)
        conf = dets.confidence
        if source is self.people:
            conf = np.minimum(1.0, conf * self._people_scale).astype(np.float32)
        data = dict(dets.data)
        data["source"] = np.array([source.name] * len(dets), dtype=object)
        return Detections(dets.xyxy, conf, cls, data=data)

    def _world(self) -> str:
        return "garment" if float(np.mean(self._votes)) >= self.threshold else "people"

    def world_of(self, frame: np.ndarray) -> str:
        """The world the next detection of ``frame`` would use (probing when due)."""
        sig = shot_signature(frame)
        new_shot = self._sig is None or cv2.compareHist(
            self._sig, sig, cv2.HISTCMP_BHATTACHARYYA) > self.cut_distance
        if new_shot:
            self._votes.clear()
        if new_shot or self._since >= self.reprobe:
            self._sig, self._since = sig, 0
            t0 = time.perf_counter()
            self._votes.append(float(self.world.p_synthetic([frame])[0]))
            self.probes += 1
            self.stage_ms["probe"] += 1000 * (time.perf_counter() - t0)
        else:
            self._since += 1
        return self._world()

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        out: list[Detections] = [Detections.empty()] * len(frames_bgr)
        todo: dict[str, list[int]] = {w: [] for w in WORLDS}
        for i, frame in enumerate(frames_bgr):
            world = self.world_of(frame)
            self.shots[world] += 1
            todo[world].append(i)
        for world, rows in todo.items():
            if not rows:
                continue
            det = self.garment if world == "garment" else self.people
            for i, d in zip(rows, det.detect([frames_bgr[i] for i in rows]), strict=True):
                out[i] = self._relabel(d, det)
        return out
