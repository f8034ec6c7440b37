"""``GarmentTracker``: ByteTrack-style two-stage association with a Kalman motion model and
colour appearance, that keeps identities through occlusions of up to ``max_lost_s`` seconds and
finds a garment again by place and colour after up to ``memory_s`` seconds out of sight.

Per frame, ``update(frame_index, detections, frame)`` on frames the detector ran on and
``coast(frame_index)`` on the others (the detector may run every k-th frame); both return the
boxes of the confirmed tracks on that frame. ``finish()`` ends every track (a shot cut, the end
of the video) and returns the finished trajectories. State lives on the instance: two trackers
never share ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.track.matching import (
    INF,
    appearance,
    appearance_distance,
    assign,
    center_distance,
    iou_matrix,
)
from engine.track.track import CONFIRMED, GarmentTrack
from engine.types import Detections, Track


@dataclass
class TrackBox:
    track_id: int
    box: np.ndarray
    score: float
    category: str
    detected: bool


class GarmentTracker:
    def __init__(self, fps: float = 25.0, *, high_score: float = 0.35, low_score: float = 0.2,
                 max_lost_s: float = 1.0, min_hits: int = 2, appearance_weight: float = 0.35,
                 category_penalty: float = 0.15, min_track_frames: int = 5,
                 memory_s: float = 3.0, duplicate_iou: float = 0.5) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if not 0 <= low_score <= high_score <= 1:
            raise ValueError(f"need 0 <= low_score <= high_score <= 1, got {low_score}, "
                             f"{high_score}")
        if max_lost_s < 0:
            raise ValueError(f"max_lost_s must be >= 0, got {max_lost_s}")
        if memory_s < 0:
            raise ValueError(f"memory_s must be >= 0, got {memory_s}")
        if not 0 < duplicate_iou <= 1:
            raise ValueError(f"duplicate_iou must be in (0, 1], got {duplicate_iou}")
        self.fps = fps
        self.high_score, self.low_score = high_score, low_score
        self.max_lost = int(round(max_lost_s * fps))
        # lost longer than max_lost, a track is out of sight: no boxes, no motion model, but
        # remembered (its motion model and colours) until memory frames, so that a garment hidden
        # for a few seconds (someone walks in front) comes back as the same trajectory
        self.memory = max(self.max_lost, int(round(memory_s * fps)))
        self.duplicate_iou = duplicate_iou
        self.min_hits = min_hits
        self.appearance_weight = appearance_weight
        self.category_penalty = category_penalty
        self.min_track_frames = min_track_frames
        self._next_id = 1
        self._tracks: list[GarmentTrack] = []
        self._finished: list[Track] = []

    def reset(self) -> None:
        """Forget everything: a new video. Track ids start again at 1."""
        self.__init__(self.fps, high_score=self.high_score, low_score=self.low_score,
                      max_lost_s=self.max_lost / self.fps, min_hits=self.min_hits,
                      appearance_weight=self.appearance_weight,
                      category_penalty=self.category_penalty,
                      min_track_frames=self.min_track_frames, memory_s=self.memory / self.fps,
                      duplicate_iou=self.duplicate_iou)

    # --- per frame ------------------------------------------------------------------------
    def coast(self, frame: int) -> list[TrackBox]:
        """A frame the detector skipped: tracks move on their motion model."""
        out = []
        for t in self._tracks:
            t.predict()
            if frame - t.last_update <= self.max_lost:
                t.coast(frame)
            if t.state == CONFIRMED and frame - t.last_update <= self.max_lost // 2:
                out.append(TrackBox(t.track_id, t.box(), t.history[frame][1], t.category, False))
        return out

    def update(self, frame: int, dets: Detections, frame_bgr: np.ndarray | None = None
               ) -> list[TrackBox]:
        for t in self._tracks:
            t.predict()
        cats = dets.data.get("category")
        cats = cats if cats is not None else np.array([""] * len(dets), dtype=object)
        feats = (appearance(frame_bgr, dets.xyxy) if frame_bgr is not None
                 else np.zeros((len(dets), 128), np.float32))
        high = np.flatnonzero(dets.confidence >= self.high_score)
        low = np.flatnonzero((dets.confidence >= self.low_score)
                             & (dets.confidence < self.high_score))
        tracks = self._tracks
        boxes = np.array([t.box() for t in tracks]).reshape(-1, 4)
        recent = np.array([frame - t.last_update <= max(2, self.max_lost // 5) for t in tracks],
                          bool)

        # 1) confident detections against every track: IoU for the recent ones, position and
        #    colour for the ones lost a while (re-association after occlusion)
        cost = self._cost(tracks, boxes, recent, dets.xyxy[high], feats[high], cats[high])
        # a box on a garment a recent track follows is not a lost one coming back: a second
        # box on that garment (another category's, now and then) would keep the lost
        # track alive beside it
        if recent.any() and not recent.all() and len(high):
            crowded = iou_matrix(dets.xyxy[high], boxes[recent]).max(1) >= self.duplicate_iou
            cost[np.ix_(~recent, crowded)] = INF
        pairs, un_t, un_h = assign(cost, 0.8)
        for ti, di in pairs:
            d = high[di]
            tracks[ti].update(frame, dets.xyxy[d], float(dets.confidence[d]), str(cats[d]),
                              feats[d], self.min_hits)
        # 2) weak detections against the recent tracks left, by IoU alone
        left = [ti for ti in un_t if recent[ti]]
        if len(left) and len(low):
            iou = iou_matrix(boxes[left], dets.xyxy[low])
            pairs2, _, _ = assign(1 - iou, 0.5)
            for a, b in pairs2:
                d = low[b]
                tracks[left[a]].update(frame, dets.xyxy[d], float(dets.confidence[d]),
                                       str(cats[d]), feats[d], self.min_hits)
        # 3) confident detections nobody claimed start tracks
        for di in un_h:
            d = high[di]
            self._tracks.append(GarmentTrack(self._next_id, frame, dets.xyxy[d],
                                             float(dets.confidence[d]), str(cats[d]), feats[d]))
            self._next_id += 1
        # 4) tracks with nothing this frame coast, or end
        alive = []
        for t in self._tracks:
            if t.last_update != frame:
                if frame - t.last_update > self.memory or (t.state != CONFIRMED
                                                           and frame - t.last_update > 2):
                    self._end(t)
                    continue
                if frame - t.last_update > self.max_lost:
                    t.out_of_sight = True  # remembered, not shown
                else:
                    t.coast(frame)
            alive.append(t)
        self._tracks = alive
        return [TrackBox(t.track_id, t.history[frame][0], t.history[frame][1], t.category,
                         t.last_update == frame)
                for t in self._tracks if t.state == CONFIRMED
                and frame - t.last_update <= self.max_lost // 2]

    def _cost(self, tracks, boxes, recent, det_boxes, det_feats, det_cats) -> np.ndarray:
        n, m = len(tracks), len(det_boxes)
        cost = np.full((n, m), INF)
        if not n or not m:
            return cost
        iou = iou_matrix(boxes, det_boxes)
        feats = np.stack([t.feature for t in tracks])
        app = appearance_distance(feats, det_feats)
        # no colour signature (no frame given, or a box too small to crop): neutral
        known = (np.abs(feats).sum(1) > 0)[:, None] & (np.abs(det_feats).sum(1) > 0)[None, :]
        app = np.where(known, app, 0.25)
        dist = center_distance(boxes, det_boxes)
        same = np.array([[t.category == c for c in det_cats] for t in tracks])
        w = self.appearance_weight
        motion = 1 - iou
        # lost tracks: their prediction has drifted, trust position loosely and colour more
        lost_motion = np.clip(dist / 2.0, 0, 1)
        motion = np.where(recent[:, None], motion, lost_motion)
        c = (1 - w) * motion + w * app + self.category_penalty * (~same)
        gate = np.where(recent[:, None], iou > 0.05, (dist < 2.0) & (app < 0.35))
        cost[gate] = c[gate]
        return cost

    # --- endings --------------------------------------------------------------------------
    def _end(self, t: GarmentTrack) -> None:
        track = self._as_track(t)
        if track is not None:
            self._finished.append(track)

    def _as_track(self, t: GarmentTrack) -> Track | None:
        """The trajectory of ``t`` up to its last detection, or None when it is too short or
        was never confirmed."""
        if t.state != CONFIRMED:
            return None
        frames = sorted(f for f in t.history if f <= t.last_update)
        if len(frames) < self.min_track_frames:
            return None
        detected = np.array([f for f in frames if t.history[f][2]])
        rows = []
        # Analysis runs ahead of the playhead, so the boxes of frames the detector skipped
        # (or lost the garment on) are interpolated between the detections around them,
        # which beats the motion model's extrapolation. A track starts and (here) ends on a
        # detection, so every other frame lies strictly between two (frames it was out of
        # sight on are not in its history: a hole, see GarmentTrack.update).
        for f in frames:
            box, score, was_detected = t.history[f]
            if not was_detected:
                k = int(np.searchsorted(detected, f))
                a, b = int(detected[k - 1]), int(detected[k])
                w = (f - a) / (b - a)
                box = (1 - w) * t.history[a][0] + w * t.history[b][0]
                score = 0.95 * min(t.history[a][1], t.history[b][1])
            rows.append([f, *np.asarray(box).tolist(), score])
        return Track(track_id=t.track_id, boxes=np.array(rows), category=t.category)

    def snapshot(self) -> tuple[list[Track], list[Track]]:
        """(finished, active): the trajectories ended so far (handed over once, as ``finish``
        does) and those still going, up to their last detection. Analysis that shows results
        while it runs (the player's engine) calls this between frames; the active ones may
        still grow, and keep their ids."""
        done, self._finished = self._finished, []
        active = [tr for tr in (self._as_track(t) for t in self._tracks) if tr is not None]
        return done, active

    def finish(self) -> list[Track]:
        """Ends every track (cut or end of video) and returns all trajectories so far."""
        for t in self._tracks:
            self._end(t)
        self._tracks = []
        done, self._finished = self._finished, []
        return done
