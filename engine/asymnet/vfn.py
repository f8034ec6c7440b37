"""The Video Feature Network: a two-layer stacked LSTM over the IFN embeddings of a
trajectory's frames, cut into clips of a fixed length; one hidden state per clip.

The LSTM runs over the whole trajectory; clip i's state is the top layer's hidden state after
its last frame, projected to the embedding size, plus two residuals: the mean of the clip's
embeddings and the mean of the whole trajectory's. So every leaf of the similarity tree knows
the whole trajectory (as average pooling does), and what tells leaves apart is their moment of
the shot (the player shows which moments decided a match). An untrained VFN starts close to
average pooling; training learns what to add to it.
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

    def forward(self, frames: torch.Tensor, clip_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """(B, n * clip_len, D) embeddings in time order (padding at the end), clip_mask
        (B, n) -> (B, n, D) clip states, L2-normalised."""
        b, t, d = frames.shape
        if t % self.clip_len:
            raise ValueError(f"{t} frames do not make whole clips of {self.clip_len}")
        n = t // self.clip_len
        if clip_mask is None:
            clip_mask = torch.ones(b, n, dtype=torch.bool, device=frames.device)
        seq, _ = self.lstm(frames)  # causal: padding at the end changes no real state
        ends = seq[:, self.clip_len - 1::self.clip_len]  # (B, n, H): after each clip
        clip_mean = frames.reshape(b, n, self.clip_len, d).mean(dim=2)
        w = clip_mask.to(frames.dtype).unsqueeze(-1)
        traj_mean = (clip_mean * w).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True
                                                                     ).clamp_min(1)
        state = self.out(ends) + clip_mean + traj_mean
        return F.normalize(state, dim=-1)
