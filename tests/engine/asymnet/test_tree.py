"""The similarity tree, the VFN and the objective: shapes for trajectories of different
lengths, padding that changes nothing, gradients that reach every part."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.asymnet.frames import sample_frames
from engine.asymnet.model import AsymNet
from engine.asymnet.tree import SimilarityTree, posterior_loss, ranking_loss
from engine.asymnet.vfn import VideoFeatureNetwork

D = 256


def unit(*shape: int) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, D), dim=-1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8])
def test_tree_shapes_and_path_weights_for_every_length(n):
    torch.manual_seed(n)
    tree = SimilarityTree().eval()
    out = tree(unit(2, n), torch.ones(2, n, dtype=torch.bool), unit(2, 6))
    size = 1 << (n - 1).bit_length()
    assert out.score.shape == (2, 6)
    assert out.leaf_logits.shape == out.path_weights.shape == (2, 6, size)
    # the gates make a distribution over the real leaves, none on padding
    torch.testing.assert_close(out.path_weights.sum(-1), torch.ones(2, 6))
    assert torch.all(out.path_weights[..., n:] == 0)
    assert torch.all((out.score > 0) & (out.score < 1))


def test_padding_a_short_trajectory_does_not_change_its_score():
    torch.manual_seed(0)
    tree = SimilarityTree().eval()
    h, m = unit(1, 3), unit(1, 5)
    alone = tree(h, torch.ones(1, 3, dtype=torch.bool), m)
    padded_h = torch.cat([h, unit(1, 5)], dim=1)  # garbage in the padded leaves
    mask = torch.tensor([[True] * 3 + [False] * 5])
    padded = tree(padded_h, mask, m)
    torch.testing.assert_close(alone.score, padded.score)


def test_a_one_clip_trajectory_is_its_leaf():
    tree = SimilarityTree().eval()
    out = tree(unit(1, 1), torch.ones(1, 1, dtype=torch.bool), unit(1, 4))
    torch.testing.assert_close(out.score, torch.sigmoid(out.leaf_logits[..., 0]))


def test_tree_scores_shared_candidates_like_per_trajectory_candidates():
    tree = SimilarityTree().eval()
    h, m = unit(3, 4), unit(7)
    mask = torch.ones(3, 4, dtype=torch.bool)
    shared = tree(h, mask, m).score
    each = tree(h, mask, m.unsqueeze(0).expand(3, -1, -1)).score
    torch.testing.assert_close(shared, each)


def test_vfn_gives_one_state_per_clip():
    vfn = VideoFeatureNetwork(clip_len=4)
    out = vfn(unit(2, 12))
    assert out.shape == (2, 3, D)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(2, 3))
    with pytest.raises(ValueError, match="whole clips"):
        vfn(unit(2, 10))


def test_sample_frames_covers_the_trajectory_in_whole_clips():
    for n in (1, 3, 4, 9, 31, 32, 200):
        pick = sample_frames(n, clip_len=4, max_clips=8)
        assert len(pick) % 4 == 0 and len(pick) <= 32
        assert np.all(np.diff(pick) >= 0) and pick.min() >= 0 and pick.max() < n
        if n >= 32:
            assert pick[0] < n / 16 and pick[-1] > n - n / 16  # spread over all of it
    jittered = sample_frames(100, rng=np.random.default_rng(1))
    assert len(jittered) == 32 and np.all(np.diff(jittered) >= 0)
    with pytest.raises(ValueError):
        sample_frames(0)


def test_gradients_reach_every_part_of_asymnet():
    torch.manual_seed(0)
    model = AsymNet(spp_dim=64, color_dim=10)  # both parts of the IFN's input get gradients
    frames = torch.randn(3, 5 * model.clip_len, 74)
    shop = torch.randn(3, 6, 74)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3, [True] + [False] * 4])
    emb = model.head(frames)
    out = model.score(emb, mask, model.head(shop))
    labels = torch.zeros(3, 6)
    labels[:, 0] = 1
    loss = posterior_loss(out, labels) + ranking_loss(out, torch.zeros(3, dtype=torch.long))
    loss.backward()
    dead = [n for n, p in model.named_parameters()
            if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert dead == []


def test_posterior_loss_gradient_is_the_mixture_likelihoods():
    """One EM step's gradient equals the gradient of the mixture's negative log-likelihood."""
    torch.manual_seed(3)
    tree = SimilarityTree()
    h, m = unit(2, 4), unit(2, 3)
    mask = torch.ones(2, 4, dtype=torch.bool)
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 0]])
    out = tree(h, mask, m)
    posterior_loss(out, labels).backward()
    em = [p.grad.clone() for p in tree.parameters()]
    tree.zero_grad()
    out = tree(h, mask, m)
    p = out.score.clamp(1e-7, 1 - 1e-7)
    nll = -(labels * torch.log(p) + (1 - labels) * torch.log(1 - (out.path_weights * (
        torch.sigmoid(out.leaf_logits))).sum(-1).clamp(1e-7, 1 - 1e-7)))
    # mixture likelihood of a negative is sum pi_i (1 - sigmoid_i) = 1 - score
    (nll[labels > 0].mean() + nll[labels == 0].mean()).backward()
    for a, b in zip(em, (q.grad for q in tree.parameters()), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_vfn_padding_at_the_end_changes_no_real_clip():
    torch.manual_seed(2)
    vfn = VideoFeatureNetwork(clip_len=4).eval()
    real = unit(1, 8)
    alone = vfn(real, torch.ones(1, 2, dtype=torch.bool))
    padded = vfn(torch.cat([real, unit(1, 8)], dim=1),
                 torch.tensor([[True, True, False, False]]))
    torch.testing.assert_close(alone, padded[:, :2])


def test_pair_linear_is_the_linear_layer_on_the_pair_features():
    from engine.asymnet.tree import pair_features, pair_linear

    layer = torch.nn.Linear(4 * D, 32)
    h, m = unit(2, 1, 5), unit(2, 7, 1)
    torch.testing.assert_close(pair_linear(layer, h, m), layer(pair_features(h, m)),
                               rtol=1e-4, atol=1e-5)
