"""The colour-aware re-ranker of the tree's shortlist (engine/asymnet/rerank.py): its
features, its file, its fit, and the engine's use of it with the shipped weights on a real
catalogue."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from engine.asymnet.ifn import COLOR_BINS, COLOR_DIM, COLOR_VERSION
from engine.asymnet.rerank import (
    FEATURES,
    Reranker,
    RerankError,
    features,
    fit_reranker,
    good_frames,
    load_reranker,
    rerank_path,
)

H = COLOR_BINS ** 3


def _color(bin_: int, lab=(0.5, 0.5, 0.5)) -> np.ndarray:
    c = np.zeros(COLOR_DIM, np.float32)
    c[bin_] = 1.0  # all the weight in one bin (square-rooted histograms have unit norm)
    c[H:H + 3] = lab
    return c


def _shortlist(rng, right_bin: int, n: int = 6):
    """A trajectory whose crops are all of colour ``right_bin``, and n products: product 0 of
    that colour, the others not; the tree prefers product 1."""
    d = 16
    frames = rng.normal(size=(8, d)).astype(np.float32)
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    colors = np.stack([_color(right_bin if i == 0 else (right_bin + i) % H) for i in range(n)])
    tree = np.linspace(0.4, -0.4, n)  # log-odds
    tree[[0, 1]] = tree[[1, 0]]  # the tree's card is the wrong product
    f = features(tree, frames, 0, None, np.stack([_color(right_bin)] * 8),
                 [np.array([i]) for i in range(n)], np.arange(n), vectors, colors)
    return f


def test_features_say_what_the_shortlist_shows():
    f = _shortlist(np.random.default_rng(0), 5)
    assert f.shape == (6, len(FEATURES)) and np.isfinite(f).all()
    col = {n: i for i, n in enumerate(FEATURES)}
    assert f[:, col["hist_all"]].argmax() == 0 and f[0, col["hist_all"]] == pytest.approx(1.0)
    assert f[1:, col["hist_all"]].max() == pytest.approx(0.0)
    assert f[:, col["tree_logit"]].argmax() == 1
    # each "_vs_best" column is its feature minus the shortlist's best: 0 at the best, <= 0
    rel = f[:, len(FEATURES) // 2:]
    assert (rel <= 1e-6).all() and np.allclose(rel.max(0), 0)


def test_good_frames_are_the_tallest_most_confident_quarter():
    q = np.array([[0.1, 0.2, 1.0], [0.5, 1.0, 0.9], [0.4, 0.8, 0.2], [0.3, 0.6, 1.0]] * 2)
    assert set(good_frames(q, 8)) == {1, 5}
    assert len(good_frames(None, 5)) == 5


def test_a_fitted_reranker_learns_what_tells_the_right_product_apart():
    """Shortlists where the tree's card is wrong and colour alone says which product is
    right: fitted on some, it puts the right one first on others it never saw."""
    rng = np.random.default_rng(1)
    train = [(_shortlist(rng, int(rng.integers(H))), 0) for _ in range(40)]
    rr = fit_reranker([*train, (train[0][0], -1)], k=6, asymnet_version="asymnet-x")
    assert rr.meta["shortlists"] == 40 and rr.meta["skipped"] == 1
    for _ in range(10):
        order, prob = rr.order(_shortlist(rng, int(rng.integers(H))))
        assert order[0] == 0
        assert prob.sum() == pytest.approx(1.0) and (np.diff(prob) <= 1e-12).all()
    with pytest.raises(RerankError, match="nothing to learn"):
        fit_reranker([(train[0][0], -1)])


def test_a_reranker_file_round_trips_and_bad_ones_say_what_to_do(tmp_path):
    n = len(FEATURES)
    rr = Reranker(np.arange(n) / n, np.zeros(n), np.ones(n), 20, "asymnet-abc", {"a": 1})
    path = rr.save(tmp_path / "m.rerank.json")
    back = load_reranker(path)
    assert back.version == rr.version and back.asymnet_version == "asymnet-abc"
    assert np.array_equal(back.weights, rr.weights) and back.k == 20
    assert rerank_path(tmp_path / "m.pt") == path
    path.write_text("{not json")
    with pytest.raises(RerankError, match="retrain it"):
        load_reranker(path)
    d = rr.to_dict() | {"features": ["tree_logit"]}
    path.write_text(json.dumps(d))
    with pytest.raises(RerankError, match="other features"):
        load_reranker(path)
    path.write_text(json.dumps(rr.to_dict() | {"weights": [1.0]}))
    with pytest.raises(RerankError, match="needs"):
        load_reranker(path)
    with pytest.raises(RerankError, match="spreads positive"):
        Reranker(np.ones(n), np.zeros(n), np.zeros(n))


def test_a_reranker_fitted_on_other_weights_is_not_used(tmp_path, caplog):
    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher, model_version

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("AsymNet weights are not in resources/models")
    weights = tmp_path / "w.pt"
    shutil.copy(DEFAULT_WEIGHTS, weights)
    assert TrajectoryMatcher(weights, device="cpu").reranker is None  # none beside them
    n = len(FEATURES)
    Reranker(np.ones(n), np.zeros(n), np.ones(n), 20, "asymnet-other").save(
        rerank_path(weights))
    m = TrajectoryMatcher(weights, device="cpu")
    assert m.reranker is None and "asymnet-other" in caplog.text
    assert m.ranking_version == m.version
    Reranker(np.ones(n), np.zeros(n), np.ones(n), 20, model_version(weights)).save(
        rerank_path(weights))
    m = TrajectoryMatcher(weights, device="cpu")
    assert m.reranker is not None and m.ranking_version.startswith(m.version + "+rerank-")
    assert TrajectoryMatcher(weights, device="cpu", rerank=False).reranker is None


@pytest.mark.skipif(not rerank_path(
    __import__("engine.asymnet.model", fromlist=["DEFAULT_WEIGHTS"]).DEFAULT_WEIGHTS).is_file(),
    reason="no re-ranker beside the shipped weights")
def test_the_engine_reranks_the_trees_shortlist_with_the_shipped_reranker(tiny_benchmark,
                                                                          tiny_catalog):
    """A real catalogue keeps each image's colour descriptor; the card's matches come in the
    re-ranker's order with its probabilities, and a catalogue embedded before the
    re-ranker gets its descriptors when opened."""
    import copy

    from engine.catalog.retrieval import Catalog
    from engine.matching import Matcher
    from engine.train.data import load_split

    cat = tiny_catalog
    assert cat.matcher.reranker is not None
    assert cat.colors is not None and cat.colors.shape == (len(cat.vectors), COLOR_DIM)
    clip = load_split(tiny_benchmark[0], "all")[0]
    ann = copy.deepcopy(clip.truth)
    times: dict[str, float] = {}
    Matcher(cat).match_video(clip.video, ann, k=5, times=times)
    assert times["rerank"] > 0
    for t in ann.tracks:
        scores = [m.score for m in t.matches]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6
    # a catalogue whose colour descriptors are gone computes them again when opened
    with cat.store.db:
        cat.store.db.execute("DELETE FROM embeddings WHERE model = ?", (COLOR_VERSION,))
    again = Catalog.open(cat.store.dir, cat.matcher)
    try:
        assert again.colors is not None and np.allclose(again.colors, cat.colors, atol=1e-5)
    finally:
        again.close()


def test_the_trees_log_odds_are_its_score_and_keep_their_digits():
    """``RankResult.log_odds`` is log(s / (1 - s)) of the tree's score, computed from the
    leaves in float64: where a float32 score near 1 has lost the digits of 1 - s, the
    log-odds still tell candidates apart, and one or two threads give the same ones (the
    library's workers and `analyze` must write the same card)."""
    import torch

    from engine.asymnet.model import AsymNet, TrajectoryMatcher, mixture_log_odds

    rng = np.random.default_rng(0)
    m = TrajectoryMatcher(device="cpu", model=AsymNet())
    frames = rng.normal(size=(24, 256)).astype(np.float32)
    cands = rng.normal(size=(50, 256)).astype(np.float32)
    res = m.rank(frames, cands)
    s = res.scores.astype(np.float64)
    inside = (s > 1e-4) & (s < 1 - 1e-4)
    assert inside.any()
    assert np.allclose(res.log_odds[inside], np.log(s / (1 - s))[inside], atol=1e-3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = m.rank(frames, cands).log_odds
    finally:
        torch.set_num_threads(threads)
    assert np.allclose(one, res.log_odds, rtol=0, atol=1e-4)
    # saturated leaves: float32 says 1.0 for both, the log-odds still order them
    f = torch.tensor([[[30.0, 30.0]], [[40.0, 40.0]]])
    pi = torch.full((2, 1, 2), 0.5)
    lo = mixture_log_odds(f, pi)[:, 0]
    assert float(lo[1] - lo[0]) == pytest.approx(10.0, abs=1e-6)
    # a padded leaf (weight 0) changes nothing
    padded = mixture_log_odds(torch.tensor([[1.0, -50.0]]), torch.tensor([[1.0, 0.0]]))
    assert float(padded[0]) == pytest.approx(1.0, abs=1e-9)
