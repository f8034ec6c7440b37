"""AsymNet's parts one at a time, each against its rule written out in the test: the IFN's
framing of a box, its spatial pyramid and colour descriptor, the VFN's clip states and frame
sampling, the similarity tree node by node, both losses, the weights file and the matcher's
three methods. A changed constant, a shifted slice or a flipped mask fails here, not only as a
slightly lower top-20 after a training run (docs/testing.md, the mutation check)."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.asymnet.frames import (
    QUALITY_DIM,
    frame_quality,
    pick_single_frame,
    sample_frames,
    select_rows,
)
from engine.asymnet.ifn import (
    COLOR_DIM,
    EMBED_DIM,
    FEATURE_DIM,
    FILL,
    INPUT_H,
    INPUT_W,
    SPP_DIM,
    IFNHead,
    ImageFeatureNetwork,
    _centre_weights,
    color_descriptor,
    frame_box,
    shop_view,
    spatial_pyramid_pool,
)
from engine.asymnet.model import (
    FORMAT,
    FORMAT_VERSION,
    AsymNet,
    TrajectoryMatcher,
    load_asymnet,
    model_version,
    save_asymnet,
)
from engine.asymnet.tree import (
    SimilarityTree,
    TreeOutput,
    pair_features,
    posterior_loss,
    ranking_loss,
)
from engine.asymnet.vfn import VideoFeatureNetwork
from engine.backbone import WeightsError


def unit(*shape: int, d: int = EMBED_DIM) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, d), dim=-1)


# --- the IFN: framing, pyramid, colour ---------------------------------------------------
def ramp_frame() -> np.ndarray:
    """240 x 256 RGB whose red is the column and green the row: a pixel's value says where in
    the frame it was read from."""
    f = np.zeros((240, 256, 3), np.uint8)
    f[..., 0] = np.arange(256)[None, :]
    f[..., 1] = np.arange(240)[:, None]
    return f


def expected_source(box, shape=(240, 256)):
    """Where each output column and row of ``frame_box`` reads the frame, by the rule: the box
    grown by 8 %, widened (or heightened) to 4:5 about its centre, scaled to 128 x 160."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 2.0) * 1.08, max(y2 - y1, 2.0) * 1.08
    if w / h < 0.8:
        w = h * 0.8
    else:
        h = w / 0.8
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    xs = np.arange(INPUT_W) * w / INPUT_W + cx - w / 2
    ys = np.arange(INPUT_H) * h / INPUT_H + cy - h / 2
    return xs, ys


@pytest.mark.parametrize("box, tol", [
    ((100.0, 80.0, 150.0, 142.5), 1.0),  # already 4:5, enlarged: the linear path
    ((100.0, 50.0, 120.0, 150.0), 1.0),  # tall and thin: widened to 4:5
    ((20.0, 100.0, 220.0, 140.0), 2.0),  # wide, shrunk (the area path), rows beyond the frame
])
def test_frame_box_reads_the_frame_where_the_rule_says(box, tol):
    out = frame_box(ramp_frame(), np.array(box))
    assert out.shape == (INPUT_H, INPUT_W, 3) and out.dtype == np.uint8
    xs, ys = expected_source(box)
    inside_x = (xs > 1) & (xs < 254)
    inside_y = (ys > 1) & (ys < 238)
    got_x = out[inside_y][:, inside_x, 0].astype(float)
    got_y = out[inside_y][:, inside_x, 1].astype(float)
    assert np.abs(got_x - xs[inside_x][None, :]).max() <= tol
    assert np.abs(got_y - ys[inside_y][:, None]).max() <= tol
    outside = (ys < -2) | (ys > 242)
    if outside.any():  # beyond the frame's edge: the grey that scales to 0
        assert np.all(out[outside] == FILL)


def test_a_degenerate_box_is_framed_around_its_point():
    out = frame_box(ramp_frame(), (60.0, 70.0, 60.0, 70.0))  # zero size: at least 2 px
    assert out.shape == (INPUT_H, INPUT_W, 3)
    centre = out[INPUT_H // 2, INPUT_W // 2].astype(int)
    assert abs(centre[0] - 60) <= 1 and abs(centre[1] - 70) <= 1


def test_shop_view_is_the_image_at_the_ifn_size_averaged_when_shrunk():
    stripes = np.zeros((480, 384, 3), np.uint8)
    stripes[:, ::3] = 255  # one column in three: 85 on average over every 3 x 3 block
    view = shop_view(stripes)
    assert view.shape == (INPUT_H, INPUT_W, 3)
    assert np.abs(view.astype(int) - 85).max() <= 1  # an area filter, not a point sample
    small = np.full((80, 64, 3), 40, np.uint8)
    assert np.all(shop_view(small) == 40)


def test_spatial_pyramid_is_the_grid_maxima_level_by_level():
    fmap = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    fmap = fmap[..., torch.randperm(4, generator=torch.Generator().manual_seed(0))]
    out = spatial_pyramid_pool(fmap)
    assert out.shape == (1, 2 * (1 + 4 + 16))
    a = fmap[0].numpy()
    level1 = a.max(axis=(1, 2))
    level2 = a.reshape(2, 2, 2, 2, 2).max(axis=(2, 4)).reshape(2, 4)
    level4 = a.reshape(2, 16)
    np.testing.assert_array_equal(out[0].numpy(),
                                  np.concatenate([level1, level2.ravel(), level4.ravel()]))


def test_centre_weights_are_the_stated_gaussian():
    w = _centre_weights().reshape(INPUT_H // 4, INPUT_W // 4)
    assert w.dtype == np.float32
    assert w.sum() == pytest.approx(1.0, abs=1e-5)
    y = (np.arange(40) + 0.5) / 40 - 0.5
    x = (np.arange(32) + 0.5) / 32 - 0.5
    g = np.exp(-0.5 * ((y[:, None] / 0.28) ** 2 + (x[None, :] / 0.22) ** 2))
    np.testing.assert_allclose(w, g / g.sum(), rtol=1e-5)


def reference_color(view: np.ndarray) -> np.ndarray:
    """The colour descriptor written out pixel by pixel: a soft 4 x 4 x 4 CIELAB histogram
    (each pixel split over the 8 nearest bin centres), centre-weighted, Hellinger, then the
    weighted mean and twice the weighted standard deviation of L, a, b in [0, 1]."""
    small = cv2.resize(view, (32, 40), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64) / 255
    y = (np.arange(40) + 0.5) / 40 - 0.5
    x = (np.arange(32) + 0.5) / 32 - 0.5
    w = np.exp(-0.5 * ((y[:, None] / 0.28) ** 2 + (x[None, :] / 0.22) ** 2)).ravel()
    w /= w.sum()
    hist = np.zeros((4, 4, 4))
    for p, wp in zip(lab, w, strict=True):
        pos = np.clip(p * 4 - 0.5, 0, 3 - 1e-4)
        lo = np.floor(pos).astype(int)
        fr = pos - lo
        for corner in np.ndindex(2, 2, 2):
            idx = tuple(min(lo[c] + corner[c], 3) for c in range(3))
            hist[idx] += wp * np.prod([fr[c] if corner[c] else 1 - fr[c] for c in range(3)])
    mean = (lab * w[:, None]).sum(0)
    std = np.sqrt(((lab - mean) ** 2 * w[:, None]).sum(0))
    return np.concatenate([np.sqrt(hist.ravel() / hist.sum()), mean, 2 * std])


def test_colour_descriptor_is_its_rule_written_out():
    rng = np.random.default_rng(4)
    noisy = rng.integers(0, 256, (INPUT_H, INPUT_W, 3), dtype=np.uint8)
    halves = np.zeros((INPUT_H, INPUT_W, 3), np.uint8)
    halves[:, : INPUT_W // 2] = (200, 30, 30)
    halves[:, INPUT_W // 2:] = (20, 60, 220)
    for view in (noisy, halves, np.full((INPUT_H, INPUT_W, 3), 255, np.uint8)):
        got = color_descriptor(view)
        assert got.shape == (COLOR_DIM,) and got.dtype == np.float32
        np.testing.assert_allclose(got, reference_color(view), atol=2e-5)
    # one colour: no spread, its Lab as the mean
    flat = np.full((INPUT_H, INPUT_W, 3), (90, 140, 60), np.uint8)
    got = color_descriptor(flat)
    lab = cv2.cvtColor(flat[:1, :1], cv2.COLOR_RGB2LAB)[0, 0] / 255
    np.testing.assert_allclose(got[-6:-3], lab, atol=1e-5)
    np.testing.assert_allclose(got[-3:], 0, atol=1e-3)


def test_ifn_head_is_two_branches_summed_then_projected():
    torch.manual_seed(0)
    head = IFNHead(in_dim=12, hidden=8, out_dim=5, color_dim=4).eval()
    assert head.spp[1].p == 0.5 and IFNHead().spp[1].p == 0.5
    x = torch.randn(3, 16 + 2)  # two extra columns beyond the colour block: ignored
    spp, col = head.spp, head.color
    ref = F.normalize(head.out[1](F.relu(spp[2](spp[0](x[:, :12])) + col[1](col[0](x[:, 12:16])))),
                      dim=-1)
    torch.testing.assert_close(head(x), ref)
    torch.testing.assert_close(head(x).norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(head(x[:, :16]), head(x))
    # the colour columns count; without a colour branch they do not
    y = x.clone()
    y[:, 12] += 1
    assert not torch.allclose(head(x), head(y))
    plain = IFNHead(in_dim=12, hidden=8, out_dim=5, color_dim=0).eval()
    assert plain.color is None
    torch.testing.assert_close(plain(x), plain(y))
    z = x.clone()
    z[:, 11] += 1  # the SPP block's last column
    assert not torch.allclose(plain(x), plain(z))


@pytest.fixture(scope="module")
def ifn():
    return ImageFeatureNetwork()


def test_pooled_is_the_pyramid_of_two_maps_then_the_colour(ifn):
    assert not ifn.backbone.training
    assert not any(p.requires_grad for p in ifn.backbone.parameters())
    rng = np.random.default_rng(1)
    views = [rng.integers(0, 256, (INPUT_H, INPUT_W, 3), dtype=np.uint8) for _ in range(3)]
    out = ifn.pooled(views)
    assert out.shape == (3, FEATURE_DIM) and FEATURE_DIM == SPP_DIM + COLOR_DIM
    # batched differently, the convolutions sum in another order: float rounding only
    torch.testing.assert_close(ifn.pooled(views, batch=2), out, atol=1e-4, rtol=1e-4)
    from engine.backbone import to_tensor
    with torch.no_grad():
        maps = ifn.backbone(to_tensor(views))
    spp = torch.cat([spatial_pyramid_pool(maps[16]), spatial_pyramid_pool(maps[32])], 1)
    torch.testing.assert_close(out[:, :SPP_DIM], spp, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(out[:, SPP_DIM:].numpy(),
                               np.stack([color_descriptor(v) for v in views]))
    assert ifn.pooled([]).shape == (0, FEATURE_DIM)


def test_embed_images_is_the_head_in_eval_mode_and_keeps_its_mode(ifn):
    rng = np.random.default_rng(2)
    views = [rng.integers(0, 256, (INPUT_H, INPUT_W, 3), dtype=np.uint8) for _ in range(2)]
    ifn.head.train()
    got = ifn.embed_images(views)
    assert ifn.head.training  # put back as it was
    ifn.head.eval()
    want = ifn.head(ifn.pooled(views)).detach().numpy()
    assert got.dtype == np.float32 and got.shape == (2, EMBED_DIM)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert not ifn.head.training
    empty = ifn.embed_images([])
    assert empty.shape == (0, EMBED_DIM) and empty.dtype == np.float32


def test_an_untrained_backbone_is_not_the_imagenet_one(ifn):
    raw = ImageFeatureNetwork(pretrained=False)
    name, w = next(iter(ifn.backbone.state_dict().items()))
    assert not torch.equal(raw.backbone.state_dict()[name], w)


# --- the VFN ------------------------------------------------------------------------------
def test_frame_quality_is_relative_height_and_score():
    boxes = np.array([[0, 10, 20, 30, 60, 0.9],    # height 40
                      [1, 10, 20, 30, 100, 1.5],   # height 80, score clipped to 1
                      [2, 10, 20, 30, 20.5, -1]])  # height 0.5: at least 1 px, score 0
    q = frame_quality(boxes, 200)
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, [[0.2, 0.5, 0.9], [0.4, 1.0, 1.0], [0.005, 1 / 80, 0.0]],
                               rtol=1e-6)
    np.testing.assert_allclose(frame_quality(boxes[:1], 0.5)[0, 0], 40.0)  # a frame of 1 px


def test_sample_frames_positions_by_hand():
    # 10 frames: 3 clips of 4, centres (i + 0.5) * 10 / 12
    np.testing.assert_array_equal(sample_frames(10), [0, 1, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9])
    np.testing.assert_array_equal(sample_frames(3), [0, 1, 1, 2])  # one clip, repeats
    np.testing.assert_array_equal(sample_frames(4), [0, 1, 2, 3])
    np.testing.assert_array_equal(sample_frames(5), [0, 0, 1, 2, 2, 3, 4, 4])  # 2 clips: x 5 / 8
    many = sample_frames(100)  # capped at 8 clips: (i + 0.5) * 100 / 32
    np.testing.assert_array_equal(many, np.floor((np.arange(32) + 0.5) * 100 / 32))
    assert len(sample_frames(100, max_clips=2)) == 8
    np.testing.assert_array_equal(sample_frames(6, clip_len=3), [0, 1, 2, 3, 4, 5])
    jit = sample_frames(100, rng=np.random.default_rng(5))
    want = np.floor(np.sort(np.random.default_rng(5).uniform(0, 100, 32))).astype(np.int64)
    np.testing.assert_array_equal(jit, want)
    with pytest.raises(ValueError, match="at least one frame"):
        sample_frames(-1)


def test_single_frame_pick_and_row_selection_by_hand():
    boxes = np.array([[0, 0, 0, 10, 10, 1.0],     # 100
                      [1, 0, 0, 20, 10, 0.4],     # 80
                      [2, 0, 0, 12, 10, 0.9],     # 108
                      [3, 10, 0, 0, 100, 1.0]])   # negative width: 0
    assert pick_single_frame(boxes) == 2
    np.testing.assert_array_equal(select_rows(3, 4, 1), [0, 1, 2])
    np.testing.assert_array_equal(select_rows(4, 4, 1), [0, 1, 2, 3])
    np.testing.assert_array_equal(select_rows(10, 4, 3), [0, 3, 6, 9])
    np.testing.assert_array_equal(select_rows(10, 4, 4), [0, 4, 6, 9])  # nearest (3) gives way
    np.testing.assert_array_equal(select_rows(10, 4, 5), [0, 3, 5, 9])  # nearest (6) gives way


def reference_vfn(vfn, frames, mask, quality):
    """The VFN written out: the LSTM's top state after each clip, projected, plus the
    attention-weighted means of the clip's frames and of the whole trajectory's real ones."""
    b, t, d = frames.shape
    c = vfn.clip_len
    x = torch.cat([frames, quality], -1)
    seq, _ = vfn.lstm(x)
    logits = vfn.attn(x).squeeze(-1)
    out = torch.zeros(b, t // c, d)
    for i in range(b):
        real = [j for j in range(t) if mask[i, j // c]]
        traj_w = torch.softmax(logits[i, real], 0)
        traj = (traj_w[:, None] * frames[i, real]).sum(0)
        for k in range(t // c):
            clip = torch.zeros(d)
            if mask[i, k]:
                w = torch.softmax(logits[i, k * c:(k + 1) * c], 0)
                clip = (w[:, None] * frames[i, k * c:(k + 1) * c]).sum(0)
            out[i, k] = F.normalize(vfn.out(seq[i, (k + 1) * c - 1]) + clip + traj, dim=0)
    return out


def test_vfn_is_its_rule_written_out():
    torch.manual_seed(5)
    vfn = VideoFeatureNetwork(dim=16, hidden=12, clip_len=3).eval()
    torch.nn.init.normal_(vfn.out.weight, std=0.3)  # as after training: every term counts
    torch.nn.init.normal_(vfn.attn[-1].weight, std=0.5)
    frames = unit(2, 9, d=16)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    quality = torch.rand(2, 9, QUALITY_DIM)
    with torch.no_grad():
        torch.testing.assert_close(vfn(frames, mask, quality),
                                   reference_vfn(vfn, frames, mask, quality))
        ones = torch.ones(2, 9, QUALITY_DIM)
        full = torch.ones(2, 3, dtype=torch.bool)
        torch.testing.assert_close(vfn(frames), vfn(frames, full, ones))
        torch.testing.assert_close(vfn(frames, full), reference_vfn(vfn, frames, full, ones))


def test_vfn_starts_as_average_pooling_with_the_stated_layers():
    vfn = VideoFeatureNetwork()
    lstm = vfn.lstm
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.dropout) == (
        EMBED_DIM + QUALITY_DIM, 256, 2, 0.1)
    assert lstm.batch_first
    assert vfn.clip_len == 4 and vfn.out.out_features == EMBED_DIM
    assert 0.005 < float(vfn.out.weight.detach().std()) < 0.02 and torch.all(vfn.out.bias == 0)
    assert vfn.attn[0].out_features == 64 and vfn.attn[-1].bias is None
    assert float(vfn.attn[-1].weight.detach().std()) < 0.02
    torch.manual_seed(1)
    frames = unit(1, 8)
    with torch.no_grad():
        state = vfn.eval()(frames)
    mean = frames.reshape(1, 2, 4, -1).mean(2) + frames.mean(1, keepdim=True)
    cos = (state * F.normalize(mean, dim=-1)).sum(-1)
    assert torch.all(cos > 0.98)
    with pytest.raises(ValueError, match="clip_len must be at least 1, got 0"):
        VideoFeatureNetwork(clip_len=0)
    with pytest.raises(ValueError, match="10 frames do not make whole clips of 4"):
        vfn(unit(1, 10))


# --- the similarity tree ------------------------------------------------------------------
def test_pair_features_order():
    h, m = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 5.0])
    torch.testing.assert_close(pair_features(h, m), torch.tensor([1.0, 2, 3, 5, 3, 10, 2, 3]))
    assert pair_features(torch.zeros(2, 1, 3), torch.zeros(1, 4, 3)).shape == (2, 4, 12)


def reference_tree(tree, h, n_real, m):
    """One trajectory against one candidate, node by node: leaves score cos and a small
    network; each fusion node softmaxes its real children's gates (a lone real child passes
    up unchanged), its description is the normalised gated mix; the score is the gated sum of
    the leaves' probabilities."""
    size = 1 << max(0, (len(h) - 1).bit_length())
    nodes = [h[i] for i in range(len(h))] + [torch.zeros_like(h[0])] * (size - len(h))
    real = [i < n_real for i in range(size)]
    groups = [[i] for i in range(size)]
    path = [1.0] * size
    logits = [tree.cos_scale * (nodes[i] @ m) + tree.cos_bias
              + tree.leaf(pair_features(nodes[i], m)).squeeze() for i in range(size)]
    while len(nodes) > 1:
        nn_, nr, ng = [], [], []
        for j in range(0, len(nodes), 2):
            ga = tree.gate(pair_features(nodes[j], m)).squeeze()
            gb = tree.gate(pair_features(nodes[j + 1], m)).squeeze()
            if real[j] and real[j + 1]:
                wa, wb = torch.softmax(torch.stack([ga, gb]), 0)
            else:
                wa, wb = float(real[j]), float(real[j + 1])
            for leaf in groups[j]:
                path[leaf] = path[leaf] * wa
            for leaf in groups[j + 1]:
                path[leaf] = path[leaf] * wb
            nn_.append(F.normalize(wa * nodes[j] + wb * nodes[j + 1], dim=0))
            nr.append(real[j] or real[j + 1])
            ng.append(groups[j] + groups[j + 1])
        nodes, real, groups = nn_, nr, ng
    path = torch.stack([torch.as_tensor(p) * (i < n_real) for i, p in enumerate(path)])
    score = sum(path[i] * torch.sigmoid(logits[i]) for i in range(n_real))
    return score, path, torch.stack(logits)


def test_tree_is_its_rule_written_out_node_by_node():
    torch.manual_seed(6)
    tree = SimilarityTree(dim=8, leaf_hidden=6, gate_hidden=5).eval()
    torch.nn.init.normal_(tree.leaf[-1].weight, std=0.5)  # as after training
    h = unit(2, 5, d=8)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    m = unit(2, 3, d=8)
    with torch.no_grad():
        out = tree(h, mask, m)
        assert bool(torch.equal(out.leaf_mask[:, 5:], torch.zeros(2, 3, dtype=torch.bool)))
        for b, n_real in enumerate((5, 3)):
            for c in range(3):
                score, path, logits = reference_tree(tree, h[b], n_real, m[b, c])
                torch.testing.assert_close(out.score[b, c], score)
                torch.testing.assert_close(out.path_weights[b, c], path.to(torch.float32))
                torch.testing.assert_close(out.leaf_logits[b, c, :n_real], logits[:n_real])


def test_an_untrained_tree_is_the_scaled_cosine():
    tree = SimilarityTree()
    assert tree.cos_scale.item() == 10.0 and tree.cos_bias.item() == -5.0
    assert tree.leaf[0].out_features == 256 and tree.gate[0].out_features == 128
    assert isinstance(tree.gate[1], torch.nn.Tanh) and torch.all(tree.leaf[-1].bias == 0)
    torch.manual_seed(2)
    h, m = unit(1, 4), unit(1, 6)
    with torch.no_grad():
        out = tree(h, torch.ones(1, 4, dtype=torch.bool), m)
    cos = torch.einsum("bld,bcd->bcl", h, m)
    torch.testing.assert_close(out.leaf_logits, 10 * cos - 5, atol=0.05, rtol=0)
    with pytest.raises(ValueError, match="first leaf"):
        tree(h, torch.tensor([[False, True, True, True]]), m)


def tree_output(logits, weights, mask):
    logits = torch.tensor(logits)
    weights = torch.tensor(weights)
    score = (weights * torch.sigmoid(logits)).sum(-1)
    return TreeOutput(score, logits, weights, torch.tensor(mask))


def reference_posterior(out, labels):
    terms = {True: [], False: []}
    for b in range(labels.shape[0]):
        real = out.leaf_mask[b]
        for c in range(labels.shape[1]):
            y = float(labels[b, c])
            z = out.leaf_logits[b, c, real]
            log_p = y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)
            log_pi = torch.log(out.path_weights[b, c, real].clamp_min(1e-8))
            q = torch.softmax(log_pi + log_p, 0)
            terms[y > 0].append((q * (log_pi + log_p)).sum())
    loss = torch.tensor(0.0)
    for side in terms.values():
        if side:
            loss = loss - torch.stack(side).mean()
    return loss


def test_posterior_loss_value_by_its_rule():
    out = tree_output([[[2.0, -1.0, 0.5, 9.0], [-3.0, 1.0, 0.0, -9.0]]],
                      [[[0.5, 0.3, 0.2, 0.0], [0.1, 0.6, 0.3, 0.0]]],
                      [[True, True, True, False]])
    for labels in ([[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]):
        labels = torch.tensor(labels)
        torch.testing.assert_close(posterior_loss(out, labels), reference_posterior(out, labels))
    # positives and negatives weigh equally: one positive counts as much as the mean of many
    many = tree_output([[[2.0], [-1.0], [-2.0], [-3.0]]], [[[1.0]] * 4], [[True]])
    labels = torch.tensor([[1.0, 0, 0, 0]])
    pos = -F.logsigmoid(torch.tensor(2.0))
    neg = -F.logsigmoid(torch.tensor([1.0, 2.0, 3.0])).mean()
    torch.testing.assert_close(posterior_loss(many, labels), pos + neg)


def test_ranking_loss_is_cross_entropy_on_the_log_odds():
    score = torch.tensor([[0.9, 0.2, 1.0], [0.0, 0.5, 0.25]])
    out = TreeOutput(score, torch.zeros(2, 3, 1), torch.ones(2, 3, 1),
                     torch.ones(2, 1, dtype=torch.bool))
    positive = torch.tensor([0, 1])
    s = score.clamp(1e-6, 1 - 1e-6)
    logit = torch.log(s / (1 - s))
    want = -(torch.log_softmax(logit, -1)[[0, 1], positive]).mean()
    torch.testing.assert_close(ranking_loss(out, positive), want)
    assert torch.isfinite(ranking_loss(out, positive))


# --- the weights file ---------------------------------------------------------------------
def small_model(color_dim: int = 6) -> AsymNet:
    torch.manual_seed(7)
    return AsymNet(spp_dim=20, dim=16, head_hidden=12, color_dim=color_dim).eval()


def outputs(model: AsymNet) -> torch.Tensor:
    torch.manual_seed(8)
    x = torch.randn(2, 8, model.config["spp_dim"] + model.config["color_dim"])
    shop = torch.randn(3, model.config["spp_dim"] + model.config["color_dim"])
    with torch.no_grad():
        return model.score(model.head(x), torch.ones(2, 2, dtype=torch.bool),
                           model.head(shop)).score


def test_the_weights_file_round_trips_in_half_precision(tmp_path):
    model = small_model()
    assert model.config == {"spp_dim": 20, "dim": 16, "head_hidden": 12, "clip_len": 4,
                            "max_clips": 8, "head_dropout": 0.5, "color_dim": 6}
    assert (model.clip_len, model.max_clips) == (4, 8)
    path = tmp_path / "sub" / "a.pt"
    version = save_asymnet(model, path, {"seed": 3})
    assert version == "asymnet-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert version == model_version(path)
    payload = torch.load(path, weights_only=True)
    assert (payload["format"], payload["format_version"]) == (FORMAT, FORMAT_VERSION)
    assert payload["config"] == model.config
    assert all(v.dtype == torch.float16 for v in payload["state"].values())
    loaded, meta = load_asymnet(path)
    assert meta == {"seed": 3} and not loaded.training
    assert all(v.dtype == torch.float32 for v in loaded.state_dict().values())
    torch.testing.assert_close(outputs(loaded), outputs(model), atol=2e-3, rtol=0)
    save_asymnet(model, tmp_path / "b.pt")  # no metadata: an empty dict back
    assert load_asymnet(tmp_path / "b.pt")[1] == {}


def test_a_version_2_file_loads_as_the_head_without_colour(tmp_path):
    model = small_model(color_dim=0)
    renames = {"head.spp.0.": "head.net.0.", "head.spp.2.": "head.net.2.",
               "head.out.1.": "head.net.4."}
    state = {}
    for k, v in model.state_dict().items():
        old = next((o for o in renames if k.startswith(o)), None)
        state[renames[old] + k[len(old):] if old else k] = v.half()
    state["vfn.attn.2.bias"] = torch.zeros(1, dtype=torch.float16)
    config = {k: v for k, v in model.config.items() if k != "color_dim"}
    path = tmp_path / "v2.pt"
    torch.save({"format": FORMAT, "format_version": 2, "config": config, "state": state}, path)
    loaded, meta = load_asymnet(path)
    assert loaded.config["color_dim"] == 0 and meta == {}
    torch.testing.assert_close(outputs(loaded), outputs(model), atol=2e-3, rtol=0)


def test_bad_weights_files_say_what_is_wrong(tmp_path):
    missing = tmp_path / "none.pt"
    with pytest.raises(WeightsError) as e:
        load_asymnet(missing)
    assert str(e.value) == (f"no AsymNet weights at {missing}: train them with `video2shop "
                            "train asymnet --data DIR` (resources/models/asymnet.md)")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match=f"^cannot read AsymNet weights {junk}: "):
        load_asymnet(junk)
    for i, payload in enumerate(([1, 2], {"format": "other"})):
        foreign = tmp_path / f"foreign{i}.pt"
        torch.save(payload, foreign)
        with pytest.raises(WeightsError) as e:
            load_asymnet(foreign)
        assert str(e.value) == f"{foreign} is not an AsymNet weights file"
    old = tmp_path / "old.pt"
    torch.save({"format": FORMAT, "format_version": 1, "config": {}, "state": {}}, old)
    with pytest.raises(WeightsError) as e:
        load_asymnet(old)
    assert str(e.value) == (f"{old} has format version 1; this build reads versions 2 and "
                            f"{FORMAT_VERSION}: retrain or update")
    model = small_model()
    state = {k: v.half() for k, v in model.state_dict().items()}
    state.pop("tree.cos_scale")
    odd = tmp_path / "odd.pt"
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config,
                "state": state}, odd)
    with pytest.raises(WeightsError, match=f"^{odd} does not fit the AsymNet model: "):
        load_asymnet(odd)


# --- the matcher's three methods ----------------------------------------------------------
@pytest.fixture(scope="module")
def matcher():
    torch.manual_seed(9)
    model = AsymNet()
    torch.nn.init.normal_(model.tree.leaf[-1].weight, std=0.5)
    torch.nn.init.normal_(model.vfn.out.weight, std=0.3)
    return TrajectoryMatcher(model=model, device="cpu")


def test_the_matcher_without_a_file_is_untrained_on_the_cpu(matcher):
    assert matcher.meta == {} and matcher.version == "untrained"
    assert matcher.device == torch.device("cpu") and not matcher.model.training
    assert matcher.ifn.head is matcher.model.head


def test_single_frame_and_average_pooling_are_dot_products(matcher):
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(5, EMBED_DIM)).astype(np.float32)
    cand = rng.normal(size=(7, EMBED_DIM)).astype(np.float32)
    got = matcher.rank(frames, cand, "single_frame", weights=np.array([0, 3, 1, 2, 0.5]))
    np.testing.assert_allclose(got.scores, cand @ frames[1], rtol=1e-6)
    assert got.clip_weights is None and got.frame_indices is None
    middle = matcher.rank(frames[:4], cand, "single_frame")
    np.testing.assert_allclose(middle.scores, cand @ frames[2], rtol=1e-6)
    mean = frames.mean(0) / np.linalg.norm(frames.mean(0))
    np.testing.assert_allclose(matcher.rank(frames, cand, "avg_pool").scores, cand @ mean,
                               rtol=1e-5)
    with pytest.raises(ValueError) as e:
        matcher.rank(frames, cand, "best")
    assert str(e.value) == "unknown method 'best'; choose one of single_frame, avg_pool, asymnet"
    with pytest.raises(ValueError, match="a trajectory needs at least one frame"):
        matcher.rank(frames[:0], cand, "avg_pool")


def test_asymnet_ranks_through_the_vfn_and_the_tree_in_chunks(matcher):
    rng = np.random.default_rng(4)
    frames = F.normalize(torch.randn(10, EMBED_DIM), dim=-1).numpy()
    cand = F.normalize(torch.randn(1030, EMBED_DIM), dim=-1).numpy()  # two chunks of 1,024
    quality = rng.uniform(0.1, 1, (10, 3)).astype(np.float32)
    got = matcher.rank(frames, cand, "asymnet", quality=quality)
    pick = sample_frames(10)
    np.testing.assert_array_equal(got.frame_indices, pick)
    n = len(pick) // 4
    model = matcher.model
    with torch.no_grad():
        mask = torch.ones(1, n, dtype=torch.bool)
        states = model.vfn(torch.from_numpy(frames[pick])[None], mask,
                           torch.from_numpy(quality[pick])[None])
        out = model.tree(states, mask, torch.from_numpy(cand))
    np.testing.assert_allclose(got.scores, out.score[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.clip_weights, out.path_weights[0, :, :n].numpy(),
                               rtol=1e-5, atol=1e-6)
    assert got.scores.shape == (1030,) and got.clip_weights.shape == (1030, n)
    plain = matcher.rank(frames, cand[:5], "asymnet")
    ones = matcher.rank(frames, cand[:5], "asymnet", quality=np.ones((10, 3), np.float32))
    np.testing.assert_allclose(plain.scores, ones.scores, rtol=1e-6)
    assert not np.allclose(plain.scores, got.scores[:5])


def test_crops_and_shop_images_go_through_their_framing(matcher):
    frame = ramp_frame()
    boxes = np.array([[100.0, 80, 150, 142.5], [10, 10, 60, 90]])
    got = matcher.embed_crops([frame, frame], boxes)
    want = matcher.ifn.embed_images([frame_box(frame, b) for b in boxes])
    np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError):
        matcher.embed_crops([frame], boxes)
    shop = np.random.default_rng(0).integers(0, 256, (300, 240, 3), dtype=np.uint8)
    np.testing.assert_allclose(matcher.embed_shop([shop]),
                               matcher.ifn.embed_images([shop_view(shop)]), atol=1e-6)


# --- rules the mutation check found unpinned (docs/testing.md) ------------------------------
def test_a_tiny_box_is_framed_as_at_least_two_pixels_each_way():
    box = (60.0, 70.0, 60.5, 70.25)  # under 2 px both ways: framed as 2 px, then to 4:5
    out = frame_box(ramp_frame(), np.array(box))
    xs, ys = expected_source((59.25, 69.125, 61.25, 71.125))  # the same centre, 2 x 2
    # a linear ramp is read back exactly (up to the uint8 rounding and the warp's 1/32 px)
    assert np.abs(out[0, :, 0].astype(float) - xs).max() <= 0.6
    assert np.abs(out[:, 0, 1].astype(float) - ys).max() <= 0.6


def test_a_box_that_is_enlarged_is_grey_beyond_the_frame():
    out = frame_box(ramp_frame(), np.array((-30.0, -20.0, 20.0, 42.5)))  # enlarged 2.4x
    xs, ys = expected_source((-30.0, -20.0, 20.0, 42.5))
    assert np.all(out[ys < -1][:, xs < -1] == FILL)
    inside_x, inside_y = xs > 1, ys > 1
    assert np.abs(out[inside_y][:, inside_x, 0] - xs[inside_x][None, :]).max() <= 0.6


def test_a_shrunk_box_is_area_averaged_not_point_sampled():
    stripes = np.zeros((480, 768, 3), np.uint8)
    stripes[:, ::3] = 255  # one column in three: 85 on average over every 3 columns
    for box in ((0.0, 0.0, 355.5, 444.4),):
        out = frame_box(stripes, np.array(box))  # shrunk about 3x
        # inside the frame every pixel is the stripes' mean; a point sample would read 0 or 255
        inner = out[10:-10, 10:-10].astype(int)
        assert np.abs(inner - 85).max() <= 12, (box, inner.min(), inner.max())


def test_upscaled_shop_images_are_interpolated_linearly():
    ramp = np.zeros((80, 64, 3), np.uint8)
    ramp[..., 0] = (np.arange(64) * 4)[None, :]
    view = shop_view(ramp)
    want = cv2.resize(ramp, (INPUT_W, INPUT_H), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(view, want)


def test_the_head_normalises_each_vector_whatever_the_batch_shape():
    torch.manual_seed(3)
    head = IFNHead(in_dim=12, hidden=8, out_dim=5, color_dim=4).eval()
    x = torch.randn(2, 3, 16)
    with torch.no_grad():
        torch.testing.assert_close(head(x), head(x.reshape(6, 16)).reshape(2, 3, 5))
        torch.testing.assert_close(head(x).norm(dim=-1), torch.ones(2, 3))


def test_the_default_image_network_is_the_imagenet_one_with_a_fresh_head():
    a, b = ImageFeatureNetwork(), ImageFeatureNetwork()
    for (name, wa), wb in zip(a.backbone.state_dict().items(),
                              b.backbone.state_dict().values(), strict=True):
        assert torch.equal(wa, wb), name  # the packaged weights, not a random start
    assert isinstance(a.head, IFNHead)


def test_frame_quality_and_the_single_frame_read_integer_boxes_as_numbers():
    # uint8 boxes: x2 < x1 must be a width of 0, not 246 after wrapping around
    boxes = np.array([[0, 10, 0, 0, 10, 1], [1, 0, 0, 30, 40, 1]], np.uint8)
    assert pick_single_frame(boxes) == 1
    np.testing.assert_allclose(frame_quality(np.array([[0, 0, 250, 10, 4, 1]], np.uint8), 100),
                               [[0.01, 1.0, 1.0]])  # height 4 - 250: below 1 px, so 1 px


def test_the_single_frame_is_the_largest_visible_confident_box():
    boxes = np.array([
        [0, 0, 50, 100, 60, 1.0],            # 100 x 10 = 1,000 (wide: w / h would win)
        [1, 0, 0, 30, 40, 1.0],              # 30 x 40 = 1,200: the pick
        [2, 10, 0, 0, 10_000, 1.0],          # no width: 0 (1 x 10,000 if widths were >= 1)
        [3, 0, 10, 10_000, 0, 1.0],          # no height: 0
        [4, 100, 0, 0, 50, -1.0],            # -100 x 50 x -1 = 5,000 unless widths are >= 0
        [5, 0, 100, 50, 0, -1.0],            # 50 x -100 x -1 = 5,000 unless heights are >= 0
        [6, 0, -1000, 10, -990, 1.0],        # 10 x 10 (x2 - y1 would make it 1,010 wide)
    ])
    w = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    h = np.clip(boxes[:, 4] - boxes[:, 2], 0, None)
    assert int(np.argmax(w * h * boxes[:, 5])) == 1 == pick_single_frame(boxes)


def test_row_selection_gives_integer_rows():
    rows = select_rows(10, 4, 3)
    assert rows.dtype.kind == "i"
    assert select_rows(4, 4, 0).dtype.kind == "i"


def test_the_errors_say_exactly_what_is_wrong():
    with pytest.raises(ValueError, match=r"^a trajectory needs at least one frame$"):
        sample_frames(0)
    tree = SimilarityTree(dim=8)
    with pytest.raises(ValueError,
                       match=r"^every trajectory needs its first leaf \(at least one clip\)$"):
        tree(unit(1, 2, d=8), torch.tensor([[False, True]]), unit(1, 3, d=8))


def test_one_frame_clips_are_allowed_and_the_attention_has_its_tanh():
    vfn = VideoFeatureNetwork(dim=16, hidden=8, clip_len=1).eval()
    with torch.no_grad():
        assert vfn(unit(1, 3, d=16)).shape == (1, 3, 16)
    attn = VideoFeatureNetwork().attn
    assert len(attn) == 3 and isinstance(attn[1], torch.nn.Tanh)


def test_bool_labels_give_the_same_posterior_loss():
    out = tree_output([[[2.0, -1.0], [-3.0, 1.0]]], [[[0.5, 0.5], [0.4, 0.6]]], [[True, True]])
    labels = torch.tensor([[1.0, 0.0]])
    torch.testing.assert_close(posterior_loss(out, labels.bool()), posterior_loss(out, labels))


def test_a_positive_scored_zero_still_gives_a_finite_ranking_loss():
    score = torch.tensor([[0.0, 0.5, 0.9]])
    out = TreeOutput(score, torch.zeros(1, 3, 1), torch.ones(1, 3, 1),
                     torch.ones(1, 1, dtype=torch.bool))
    loss = ranking_loss(out, torch.tensor([0]))
    s = score.clamp(1e-6, 1 - 1e-6)
    want = -torch.log_softmax(torch.log(s / (1 - s)), -1)[0, 0]
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, want)


def test_asymnet_passes_its_settings_to_its_parts():
    model = AsymNet(spp_dim=20, dim=16, head_hidden=12, clip_len=2, head_dropout=0.25,
                    color_dim=6)
    assert model.head.spp[1].p == 0.25
    assert model.head.color is not None and model.head.color_dim == 6
    assert model.vfn.clip_len == 2 and model.clip_len == 2


def test_asymnet_score_is_the_vfn_then_the_tree_with_the_mask_and_quality():
    torch.manual_seed(10)
    model = AsymNet(spp_dim=20, dim=16, head_hidden=12, color_dim=0).eval()
    torch.nn.init.normal_(model.vfn.out.weight, std=0.3)
    torch.nn.init.normal_(model.vfn.attn[-1].weight, std=0.5)
    frames = unit(2, 8, d=16)
    mask = torch.tensor([[True, True], [True, False]])
    quality = torch.rand(2, 8, QUALITY_DIM)
    shop = unit(3, d=16)
    with torch.no_grad():
        got = model.score(frames, mask, shop, quality)
        want = model.tree(model.vfn(frames, mask, quality), mask, shop)
        torch.testing.assert_close(got.score, want.score)
        assert not torch.allclose(got.score, model.score(frames, mask, shop).score)


def test_the_weights_file_makes_its_folders_and_refuses_pickled_code(tmp_path):
    model = small_model()
    path = tmp_path / "a" / "b" / "c.pt"
    save_asymnet(model, path)
    assert path.is_file()
    payload = torch.load(path, weights_only=True)
    payload["meta"] = {"note": Pickled()}  # an object a weights file never holds
    evil = tmp_path / "evil.pt"
    torch.save(payload, evil)
    with pytest.raises(WeightsError, match=f"^cannot read AsymNet weights {evil}: "):
        load_asymnet(evil)


class Pickled:
    """A class of this module: loading it would run this module's code."""


def test_the_matcher_reads_a_weights_file_and_picks_its_device(tmp_path):
    model = small_model()
    path = tmp_path / "m.pt"
    version = save_asymnet(model, path, {"seed": 4})
    m = TrajectoryMatcher(weights=path, device="cpu")
    assert m.meta == {"seed": 4} and m.version == version
    torch.testing.assert_close(outputs(m.model), outputs(load_asymnet(path)[0]))
    auto = TrajectoryMatcher(model=small_model())  # "auto": CUDA if torch sees it, else CPU
    assert auto.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    frames = unit(6, d=16).numpy()
    cand = unit(4, d=16).numpy()
    np.testing.assert_array_equal(auto.rank(frames, cand).scores,
                                  auto.rank(frames, cand, "asymnet").scores)


def test_a_device_failure_moves_the_matcher_to_the_cpu_and_says_so(monkeypatch):
    from engine.device import INJECT_ENV, take_notices

    take_notices()
    monkeypatch.setenv(INJECT_ENV, "1")
    m = TrajectoryMatcher(model=small_model(), device="cpu")
    frames, cand = unit(6, d=16).numpy(), unit(4, d=16).numpy()
    got = m.rank(frames, cand)  # the first call fails as a CUDA error would, then runs again
    assert m.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in m.model.parameters())
    assert m.guard.fell_back.startswith("AsymNet: the CPU device failed (CUDA error: ")
    assert m.guard.fell_back.endswith("; run again on the CPU")
    assert take_notices() == [m.guard.fell_back]
    np.testing.assert_array_equal(got.scores, m.rank(frames, cand).scores)
