"""The similarity network, AsymNet's reconfigurable deep tree.

Leaves: one small network per clip state h_i (two fully connected layers, 256 then 1) that
scores h_i against a shop feature m, added to a scaled cosine a * cos(h_i, m) + b (so that an
untrained tree ranks as cosine similarity does, and the network learns corrections).
Fusion nodes: gating networks that weigh their two children, stacked into a binary tree over
the trajectory's clips, so the tree has as many leaves as the trajectory has clips and
ceil(log2 n) levels. Every node's description is the
gated mix of its children's, and the gates see the shop feature, so a fusion node can prefer
the clip that shows what tells this product apart. The score is the gated sum of the leaves'
match probabilities: s(h, m) = sum_i pi_i sigmoid(f(h_i, m)), pi_i the product of the gates on
the path from the root to leaf i (docs/asymnet.md has the formulas).

Batched: trees of different sizes are padded to a power of two and masked; a masked child gets
gate 0, so a node with one real child passes it up unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.asymnet.ifn import EMBED_DIM


def pair_features(h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """[h, m, h * m, |h - m|] on the last axis (broadcasting h and m)."""
    h, m = torch.broadcast_tensors(h, m)
    return torch.cat([h, m, h * m, (h - m).abs()], dim=-1)


def pair_linear(layer: nn.Linear, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``layer(pair_features(h, m))`` without building the pairs for the parts that do not need
    them: the h and m blocks of the weight apply to h and m alone and broadcast after, so only
    the product and difference blocks cost one matrix product per pair (half the work when
    one trajectory meets many candidates)."""
    d = h.shape[-1]
    w = layer.weight
    out = F.linear(h, w[:, :d]) + F.linear(m, w[:, d:2 * d], layer.bias)
    return out + F.linear(h * m, w[:, 2 * d:3 * d]) + F.linear((h - m).abs(), w[:, 3 * d:])


@dataclass
class TreeOutput:
    score: torch.Tensor  # (B, C) gated sum of leaf probabilities, in (0, 1)
    leaf_logits: torch.Tensor  # (B, C, L) f(h_i, m) per leaf (L padded to a power of two)
    path_weights: torch.Tensor  # (B, C, L) pi_i, summing to 1 over real leaves
    leaf_mask: torch.Tensor  # (B, L) which leaves are real


class SimilarityTree(nn.Module):
    def __init__(self, dim: int = EMBED_DIM, leaf_hidden: int = 256, gate_hidden: int = 128
                 ) -> None:
        super().__init__()
        self.leaf = nn.Sequential(nn.Linear(4 * dim, leaf_hidden), nn.ReLU(),
                                  nn.Linear(leaf_hidden, 1))
        nn.init.normal_(self.leaf[-1].weight, std=1e-3)  # starts as the cosine term alone
        nn.init.zeros_(self.leaf[-1].bias)
        self.cos_scale = nn.Parameter(torch.tensor(10.0))
        self.cos_bias = nn.Parameter(torch.tensor(-5.0))
        self.gate = nn.Sequential(nn.Linear(4 * dim, gate_hidden), nn.Tanh(),
                                  nn.Linear(gate_hidden, 1))

    def forward(self, h: torch.Tensor, leaf_mask: torch.Tensor, m: torch.Tensor) -> TreeOutput:
        """h (B, n, D) clip states, leaf_mask (B, n) bool, m (B, C, D) or (C, D) shop features
        (every trajectory against the same candidates)."""
        b, n, d = h.shape
        if m.dim() == 2:
            m = m.unsqueeze(0).expand(b, -1, -1)
        c = m.shape[1]
        size = 1 << max(0, (n - 1).bit_length())
        if size > n:
            h = F.pad(h, (0, 0, 0, size - n))
            leaf_mask = F.pad(leaf_mask, (0, size - n), value=False)
        if not bool(leaf_mask[:, 0].all()):
            raise ValueError("every trajectory needs its first leaf (at least one clip)")
        hm = h.unsqueeze(1)  # (B, 1, L, D)
        mm = m.unsqueeze(2)  # (B, C, 1, D)
        cos = (hm * mm).sum(dim=-1)  # (B, C, L): embeddings are unit vectors
        leaf_logits = (self.cos_scale * cos + self.cos_bias + self.leaf[2](
            self.leaf[1](pair_linear(self.leaf[0], hm, mm))).squeeze(-1))

        path = torch.ones(b, c, size, dtype=h.dtype, device=h.device)
        nodes = hm.expand(b, c, size, d)
        node_mask = leaf_mask.unsqueeze(1).expand(b, c, size)
        span = 1
        while nodes.shape[2] > 1:
            k = nodes.shape[2]
            logits = self.gate[2](self.gate[1](pair_linear(self.gate[0], nodes, mm))
                                  ).squeeze(-1)  # (B, C, k)
            logits = logits.masked_fill(~node_mask, float("-inf")).reshape(b, c, k // 2, 2)
            weights = torch.softmax(logits, dim=-1)
            weights = torch.nan_to_num(weights, nan=0.0)  # both children masked
            path = path * weights.reshape(b, c, k).repeat_interleave(span, dim=-1)
            nodes = (weights.unsqueeze(-1) * nodes.reshape(b, c, k // 2, 2, d)).sum(dim=3)
            nodes = F.normalize(nodes, dim=-1)
            node_mask = node_mask.reshape(b, c, k // 2, 2).any(dim=-1)
            span *= 2
        path = path * leaf_mask.unsqueeze(1)
        score = (path * torch.sigmoid(leaf_logits)).sum(dim=-1)
        return TreeOutput(score, leaf_logits, path, leaf_mask)


def posterior_loss(out: TreeOutput, labels: torch.Tensor) -> torch.Tensor:
    """The EM-like objective of a mixture of experts (Jordan and Jacobs' HME, as AsymNet trains
    its tree). E-step: each leaf's posterior responsibility for the observed label,
    q_i = pi_i p_i(y) / sum_j pi_j p_j(y), held fixed. M-step: maximise
    sum_i q_i (log pi_i + log p_i(y)) over leaves and gates. Its gradient equals that of the
    mixture's log-likelihood, so one gradient step is one generalised EM step. Positive and
    negative pairs are weighted equally overall. labels: (B, C) in {0, 1}."""
    y = labels.unsqueeze(-1).to(out.leaf_logits.dtype)
    log_p = y * F.logsigmoid(out.leaf_logits) + (1 - y) * F.logsigmoid(-out.leaf_logits)
    mask = out.leaf_mask.unsqueeze(1).expand_as(log_p)
    log_pi = torch.log(out.path_weights.clamp_min(1e-8))
    joint = (log_pi + log_p).masked_fill(~mask, float("-inf"))
    with torch.no_grad():
        q = torch.softmax(joint, dim=-1)
    q_term = (q * torch.where(mask, log_pi + log_p, torch.zeros_like(log_p))).sum(dim=-1)
    pos = labels > 0
    loss = 0.0
    if pos.any():
        loss = loss - q_term[pos].mean()
    if (~pos).any():
        loss = loss - q_term[~pos].mean()
    return loss


def ranking_loss(out: TreeOutput, positive: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over each trajectory's candidates on the score's log-odds:
    the right product must outscore its siblings, not merely pass a threshold.
    positive: (B,) index of the right candidate."""
    s = out.score.clamp(1e-6, 1 - 1e-6)
    return F.cross_entropy(torch.log(s) - torch.log1p(-s), positive)
