"""The Video Feature Network: a two-layer stacked LSTM over the IFN embeddings of a
trajectory's frames, cut into clips of a fixed length; one hidden state per clip.

Each clip runs through the LSTM from a zero state, so that leaf i of the similarity tree
describes one moment of the shot (the player shows which moments decided a match). The clip's
state is its last top-layer hidden state projected to the embedding size, plus the mean of the
clip's embeddings (a residual: an untrained VFN starts close to average pooling, and training learns
what to add to it).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.asymnet.ifn import EMBED_DIM

CLIP_LEN = 4
MAX_CLIPS = 8


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


class VideoFeatureNetwork(nn.Module):
    def __init__(self, dim: int = EMBED_DIM, hidden: int = 256, layers: int = 2,
                 clip_len: int = CLIP_LEN, dropout: float = 0.1) -> None:
        super().__init__()
        if clip_len < 1:
            raise ValueError(f"clip_len must be at least 1, got {clip_len}")
        self.clip_len = clip_len
        self.lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.out = nn.Linear(hidden, dim)
        nn.init.normal_(self.out.weight, std=0.01)  # starts close to average pooling
        nn.init.zeros_(self.out.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, n * clip_len, D) embeddings -> (B, n, D) clip states, L2-normalised."""
        b, t, d = frames.shape
        if t % self.clip_len:
            raise ValueError(f"{t} frames do not make whole clips of {self.clip_len}")
        n = t // self.clip_len
        clips = frames.reshape(b * n, self.clip_len, d)
        seq, _ = self.lstm(clips)
        state = self.out(seq[:, -1]) + clips.mean(dim=1)
        return F.normalize(state, dim=-1).reshape(b, n, d)
