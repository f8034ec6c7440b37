"""Which frames of a trajectory the matcher looks at, and what it knows of each: the
frame-sampling policy, apart from the networks (engine/asymnet/vfn.py runs the LSTM over what
this picks). Plain numpy: the analysis, the matching stage and training share it.

- ``select_rows``: up to k boxes spread over the trajectory, always with the single-frame pick
  (the crops matching cuts from the video);
- ``pick_single_frame``: the box a single-frame matcher uses (the largest, most confident);
- ``sample_frames``: of those crops, the clips of ``CLIP_LEN`` frames that feed the VFN;
- ``frame_quality``: the per-frame cues the VFN may use to trust some frames more.
"""

from __future__ import annotations

import numpy as np

CLIP_LEN = 4
MAX_CLIPS = 8
QUALITY_DIM = 3


def frame_quality(boxes: np.ndarray, frame_height: float) -> np.ndarray:
    """Per-frame cues the VFN may use to trust some frames more, (T, 3) float32: the box's
    height over the frame's, over the trajectory's tallest box, and its score (the detector's
    confidence; in ground truth, the visible fraction). ``boxes``: (T, 6) rows of frame, x1,
    y1, x2, y2, score."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 6)
    h = np.clip(boxes[:, 4] - boxes[:, 2], 1.0, None)
    out = np.stack([h / max(float(frame_height), 1.0), h / h.max(),
                    np.clip(boxes[:, 5], 0.0, 1.0)], axis=1)
    return out.astype(np.float32)


def sample_frames(n_frames: int, clip_len: int = CLIP_LEN, max_clips: int = MAX_CLIPS,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Which of a trajectory's ``n_frames`` frames (in time order) feed the VFN: n clips of
    ``clip_len`` frames, n = ceil(n_frames / clip_len) up to ``max_clips``, spread evenly over
    the whole trajectory (positions jittered when ``rng`` is given, for training). Short
    trajectories repeat frames so that every clip is full."""
    if n_frames <= 0:
        raise ValueError("a trajectory needs at least one frame")
    n_clips = min(max_clips, -(-n_frames // clip_len))
    total = n_clips * clip_len
    if rng is None:
        pos = (np.arange(total) + 0.5) * n_frames / total
    else:
        pos = np.sort(rng.uniform(0, n_frames, total))
    return np.clip(np.floor(pos).astype(np.int64), 0, n_frames - 1)


def pick_single_frame(boxes: np.ndarray) -> int:
    """The row a single-frame matcher uses: the largest box times its score (the detector's
    confidence; in ground truth, the visible fraction). ``boxes``: (T, 6) track rows."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 6)
    w = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    h = np.clip(boxes[:, 4] - boxes[:, 2], 0, None)
    return int(np.argmax(w * h * boxes[:, 5]))


def select_rows(n: int, k: int, best: int) -> np.ndarray:
    """Up to ``k`` of a trajectory's ``n`` rows, spread evenly over it, always with ``best``."""
    if n <= k:
        return np.arange(n)
    rows = np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))
    if best not in rows:
        rows[np.argmin(np.abs(rows - best))] = best
    return np.unique(rows)
