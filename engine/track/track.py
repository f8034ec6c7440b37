"""One garment followed through a shot."""

from __future__ import annotations

from collections import Counter

import numpy as np

from engine.track.kalman import KalmanBox

TENTATIVE, CONFIRMED = "tentative", "confirmed"


class GarmentTrack:
    def __init__(self, track_id: int, frame: int, box: np.ndarray, score: float, category: str,
                 feature: np.ndarray) -> None:
        self.track_id = track_id
        self.kf = KalmanBox(box)
        self.state = TENTATIVE
        self.hits = 1
        self.last_update = frame
        self.categories: Counter[str] = Counter({category: score})
        self.feature = feature.copy()
        self.history: dict[int, tuple[np.ndarray, float, bool]] = {frame: (box.copy(), score,
                                                                         True)}
        self.scores = [score]
        # lost longer than the tracker's max_lost: no boxes, no coasting, only remembered
        self.out_of_sight = False

    @property
    def category(self) -> str:
        return self.categories.most_common(1)[0][0]

    def predict(self) -> np.ndarray:
        return self.kf.predict()

    def box(self) -> np.ndarray:
        return self.kf.box()

    def update(self, frame: int, box: np.ndarray, score: float, category: str,
               feature: np.ndarray, min_hits: int) -> None:
        if self.out_of_sight:
            # seen again: a hole where it was hidden (no box over whatever hid it, no crop
            # of that for the matcher), and its motion starts afresh from the new box
            for f in range(self.last_update + 1, frame):
                self.history.pop(f, None)
            self.kf = KalmanBox(box)
            self.out_of_sight = False
        self.kf.update(box)
        self.hits += 1
        self.last_update = frame
        self.categories[category] += score
        if feature.any():
            self.feature = 0.85 * self.feature + 0.15 * feature
            n = np.linalg.norm(self.feature)
            if n > 0:
                self.feature /= n
        self.history[frame] = (box.copy(), score, True)
        self.scores.append(score)
        if self.hits >= min_hits:
            self.state = CONFIRMED

    def coast(self, frame: int) -> None:
        """A frame with no detection for this track: remember the predicted box."""
        self.history[frame] = (self.box(), float(np.mean(self.scores[-3:])) * 0.9, False)
