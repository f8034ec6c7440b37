"""The Video Feature Network: a two-layer stacked LSTM over the IFN embeddings of a
trajectory's frames, cut into clips of a fixed length; one hidden state per clip.

The LSTM runs over the whole trajectory (each frame's embedding with three quality cues: its
box's size and score); clip i's state is the top layer's hidden state after its last frame,
projected to the embedding size, plus two residuals: the attention-weighted mean of the clip's
embeddings and of the whole trajectory's (the attention sees the same cues, so it can learn
to trust large, unoccluded frames). So every leaf of the similarity tree knows
the whole trajectory (as average pooling does), and what tells leaves apart is their moment of
the shot (the player shows which moments decided a match). An untrained VFN starts close to
average pooling; training learns what to add to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.asymnet.frames import CLIP_LEN, QUALITY_DIM
from engine.asymnet.ifn import EMBED_DIM


class VideoFeatureNetwork(nn.Module):
    def __init__(self, dim: int = EMBED_DIM, hidden: int = 256, layers: int = 2,
                 clip_len: int = CLIP_LEN, dropout: float = 0.1) -> None:
        super().__init__()
        if clip_len < 1:
            raise ValueError(f"clip_len must be at least 1, got {clip_len}")
        self.clip_len = clip_len
        self.lstm = nn.LSTM(dim + QUALITY_DIM, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout)
        self.out = nn.Linear(hidden, dim)
        nn.init.normal_(self.out.weight, std=0.01)  # starts close to average pooling
        nn.init.zeros_(self.out.bias)
        # attention over frames: which frames to trust (sharp, large, unoccluded)
        # no bias on the last layer: a softmax ignores a constant, so it could never learn
        self.attn = nn.Sequential(nn.Linear(dim + QUALITY_DIM, 64), nn.Tanh(),
                                  nn.Linear(64, 1, bias=False))
        nn.init.normal_(self.attn[-1].weight, std=0.01)  # starts as the plain mean

    def forward(self, frames: torch.Tensor, clip_mask: torch.Tensor | None = None,
                quality: torch.Tensor | None = None) -> torch.Tensor:
        """(B, n * clip_len, D) embeddings in time order (padding at the end), clip_mask
        (B, n), quality (B, n * clip_len, QUALITY_DIM) or None (all ones) -> (B, n, D) clip
        states, L2-normalised."""
        b, t, d = frames.shape
        if t % self.clip_len:
            raise ValueError(f"{t} frames do not make whole clips of {self.clip_len}")
        n = t // self.clip_len
        if clip_mask is None:
            clip_mask = torch.ones(b, n, dtype=torch.bool, device=frames.device)
        if quality is None:
            quality = torch.ones(b, t, QUALITY_DIM, dtype=frames.dtype, device=frames.device)
        x = torch.cat([frames, quality.to(frames.dtype)], dim=-1)
        seq, _ = self.lstm(x)  # causal: padding at the end changes no real state
        ends = seq[:, self.clip_len - 1::self.clip_len]  # (B, n, H): after each clip
        frame_mask = clip_mask.repeat_interleave(self.clip_len, dim=1)
        logits = self.attn(x).squeeze(-1).masked_fill(~frame_mask, float("-inf"))
        clip_w = torch.softmax(logits.reshape(b, n, self.clip_len), dim=-1)
        clip_w = torch.nan_to_num(clip_w, nan=0.0)  # padded clips
        clip_mean = (clip_w.unsqueeze(-1) * frames.reshape(b, n, self.clip_len, d)).sum(dim=2)
        traj_w = torch.softmax(logits, dim=-1).unsqueeze(-1)
        traj_mean = (traj_w * frames).sum(dim=1, keepdim=True)
        state = self.out(ends) + clip_mean + traj_mean
        return F.normalize(state, dim=-1)
