"""AsymNet on a real (tiny) benchmark: features from the frozen backbone, a short training run
that lowers the loss, the evaluation report, the weights file, and the commands."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from app.cli import main
from engine.asymnet.frames import pick_single_frame
from engine.asymnet.ifn import FEATURE_DIM, ImageFeatureNetwork
from engine.asymnet.model import TrajectoryMatcher, load_asymnet, save_asymnet
from engine.backbone import WeightsError
from engine.train.asymnet import TrainConfig, train_asymnet
from engine.train.eval_matching import (
    KS,
    evaluate_features,
    markdown_table,
    rank_of,
    write_report,
)
from engine.train.matching_data import extract_features

# features of the tiny benchmark and short training runs: minutes, so the mutation check leaves
# this module out (test_parts.py and test_tree.py check the same parts rule by rule)
pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def tiny_features(tiny_benchmark, tmp_path_factory):
    data, _ = tiny_benchmark
    ifn = ImageFeatureNetwork()
    return extract_features(data, "all", ifn, frames_per_track=8, with_flips=True,
                            use_cache=False)


def test_features_cover_every_trajectory_and_product(tiny_benchmark, tiny_features):
    _, card = tiny_benchmark
    assert len(tiny_features.products) == card["counts"]["products"]
    assert len(tiny_features.tracks) == card["counts"]["trajectories"]
    keys = {p.key for p in tiny_features.products}
    for t in tiny_features.tracks:
        assert t.product in keys
        assert t.pooled.shape[1] == FEATURE_DIM and 1 <= len(t.pooled) <= 8
        assert np.all(np.diff(t.frames) > 0)
        assert 0 <= t.best < len(t.pooled)
    for p in tiny_features.products:
        assert p.flipped is not None and p.flipped.shape == p.pooled.shape
        assert not torch.equal(p.flipped, p.pooled)


def test_feature_cache_is_reused(tiny_benchmark, tmp_path, monkeypatch):
    data, _ = tiny_benchmark
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path))
    ifn = ImageFeatureNetwork()
    first = extract_features(data, "test", ifn, frames_per_track=4)
    files = list((tmp_path / "asymnet-features").glob("*.pt"))
    assert len(files) == 1
    again = extract_features(data, "test", ifn, frames_per_track=4)
    assert [t.key for t in again.tracks] == [t.key for t in first.tracks]
    torch.testing.assert_close(again.tracks[0].pooled, first.tracks[0].pooled)
    files[0].write_bytes(b"truncated")  # a broken cache is rebuilt, not trusted
    rebuilt = extract_features(data, "test", ifn, frames_per_track=4)
    torch.testing.assert_close(rebuilt.tracks[0].pooled, first.tracks[0].pooled)


def test_single_frame_pick_is_the_largest_most_visible_box():
    boxes = np.array([[0, 0, 0, 10, 10, 1.0], [1, 0, 0, 30, 30, 0.2], [2, 0, 0, 20, 20, 0.9]])
    assert pick_single_frame(boxes) == 2


def test_rank_counts_ties_against_the_answer():
    assert rank_of(np.array([0.1, 0.9, 0.5]), 1) == 1
    assert rank_of(np.array([0.1, 0.9, 0.5]), 0) == 3
    assert rank_of(np.zeros(5), 2) == 5


def test_a_short_training_run_lowers_the_loss_and_the_report_is_complete(tiny_features,
                                                                         tmp_path):
    cfg = TrainConfig(steps=60, batch=8, same_category=2, random_negatives=3, seed=1)
    model, losses = train_asymnet(tiny_features, cfg)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])

    path = tmp_path / "asymnet.pt"
    version = save_asymnet(model, path, {"seed": 1})
    loaded, meta = load_asymnet(path)
    assert meta == {"seed": 1} and version.startswith("asymnet-")
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b.half().float())  # saved in half precision
    matcher = TrajectoryMatcher(path, device="cpu")
    report = evaluate_features(tiny_features, matcher)
    assert report["queries"] == len(tiny_features.tracks)
    assert report["gallery"] == len(tiny_features.products)
    for m in ("single_frame", "avg_pool", "asymnet"):
        overall = report["methods"][m]["overall"]
        assert list(overall) == [f"top{k}" for k in KS]
        assert all(0 <= overall[f"top{a}"] <= overall[f"top{b}"] <= 1
                   for a, b in itertools.pairwise(KS))
        assert report["methods"][m]["per_category"]
    # the training products are the gallery here: a trained model must beat chance clearly
    chance = 20 / report["gallery"]
    assert report["methods"]["asymnet"]["overall"]["top20"] > chance
    table = markdown_table(report)
    assert "| asymnet |" in table and "top-20" in table
    png = write_report(report, tmp_path / "report.json")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "report.json").read_text())["queries"] == report["queries"]


def test_rank_returns_clip_weights_for_the_card(tiny_features):
    torch.manual_seed(0)
    from engine.asymnet.model import AsymNet

    matcher = TrajectoryMatcher(model=AsymNet(), device="cpu")
    t = tiny_features.tracks[0]
    frames = matcher.model.head(t.pooled.float()).detach().numpy()
    shop = matcher.model.head(torch.cat([p.pooled for p in tiny_features.products]).float())
    res = matcher.rank(frames, shop.detach().numpy())
    assert res.scores.shape == (len(shop),)
    assert res.clip_weights.shape[0] == len(shop)
    np.testing.assert_allclose(res.clip_weights.sum(1), 1, rtol=1e-5)
    assert len(res.frame_indices) == res.clip_weights.shape[1] * matcher.model.clip_len
    with pytest.raises(ValueError, match="unknown method"):
        matcher.rank(frames, shop.detach().numpy(), "nearest")


def test_missing_or_corrupt_weights_say_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match="train asymnet"):
        load_asymnet(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00not a torch file")
    with pytest.raises(WeightsError, match="cannot read"):
        load_asymnet(bad)
    other = tmp_path / "other.pt"
    torch.save({"format": "something else"}, other)
    with pytest.raises(WeightsError, match="not an AsymNet"):
        load_asymnet(other)


def test_train_and_eval_commands(tiny_benchmark, tmp_path, monkeypatch, capsys):
    data, _ = tiny_benchmark
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "a.pt"
    assert main(["train", "asymnet", "--data", str(data), "--split", "all", "--out",
                 str(weights), "--steps", "5", "--batch", "4", "--frames-per-track", "4"]) == 0
    assert weights.is_file()
    out = tmp_path / "m.json"
    assert main(["eval", "--data", str(data), "--split", "test", "--task", "matching",
                 "--weights", str(weights), "--device", "cpu", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["methods"]) == {"single_frame", "avg_pool", "asymnet", "asymnet_top100"}
    assert out.with_suffix(".png").is_file()
    assert "| single_frame |" in capsys.readouterr().out
    assert main(["eval", "--data", str(data), "--task", "matching",
                 "--weights", str(tmp_path / "missing.pt")]) == 2
    assert "train asymnet" in capsys.readouterr().err


def test_distractors_grow_the_gallery_and_only_push_ranks_down(tiny_benchmark, tmp_path,
                                                               monkeypatch, capsys):
    """Products of another seed's catalogue join the gallery as wrong answers: every method
    that scores each product on its own can only fall, and the report says how many there
    were."""
    from bench.synth.generate import generate
    from engine.train.eval_matching import evaluate_matching

    data, _ = tiny_benchmark
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    other = tmp_path / "other"
    card = generate(other, "hard", seed=12, clips=1, products=40, seconds=4, width=320,
                    height=180, workers=1, progress=False)
    matcher = TrajectoryMatcher(device="cpu")
    plain = evaluate_matching(data, "all", matcher)
    grown = evaluate_matching(data, "all", matcher, distractors=[other])
    assert grown["gallery_distractors"] == card["counts"]["products"] == 40
    assert grown["gallery"] == plain["gallery"] + 40
    assert grown["queries"] == plain["queries"]
    for m, r in plain["methods"].items():
        if m in ("asymnet_top100", "asymnet_card"):
            continue  # a shortlist of 100 images: distractors can push a wrong product out
        for k in KS:
            assert grown["methods"][m]["overall"][f"top{k}"] <= r["overall"][f"top{k}"]
    assert "40 of them distractors" in markdown_table(grown)

    # two distractor catalogues (one without clips): one pass measures the growing galleries
    third = tmp_path / "third"
    generate(third, "hard", seed=13, products=24, workers=1, progress=False, catalog_only=True)
    both = evaluate_matching(data, "all", matcher, distractors=[other, third], bootstrap=50)
    assert [g["gallery"] for g in both["galleries"]] == [plain["gallery"], grown["gallery"],
                                                         grown["gallery"] + 24]
    assert [g["distractors"] for g in both["galleries"]] == [[], [str(other)],
                                                             [str(other), str(third)]]
    assert both["gallery"] == both["galleries"][-1]["gallery"]
    for m in ("single_frame", "avg_pool", "asymnet"):  # the same ranks as separate runs
        assert both["galleries"][0]["methods"][m]["ranks"] == plain["methods"][m]["ranks"]
        assert both["galleries"][1]["methods"][m]["ranks"] == grown["methods"][m]["ranks"]
        assert all(a <= b for a, b in zip(grown["methods"][m]["ranks"],
                                          both["methods"][m]["ranks"], strict=True))
        ci = both["methods"][m]["overall"]["ci95"]["top20"]
        assert ci[0] <= both["methods"][m]["overall"]["top20"] <= ci[1]
    same = both["like_with_like"]  # as the engine: only products of the trajectory's kind
    assert [g["gallery"] for g in same["galleries"]] == [g["gallery"] for g in both["galleries"]]
    for m in ("single_frame", "avg_pool", "asymnet"):  # fewer rivals: never a worse rank
        assert all(a <= b for a, b in zip(same["methods"][m]["ranks"],
                                          both["methods"][m]["ranks"], strict=True))
    assert set(both["paired"]["asymnet-avg_pool"]) == {"top1", "top5", "top10", "top20",
                                                      "difference"}
    assert "| asymnet-avg_pool |" in markdown_table(both)
    # the engine's two-stage method alone scores only its shortlists, with the same ranks
    quick = evaluate_matching(data, "all", matcher, distractors=[other, third],
                              methods=("avg_pool", "asymnet_top100"))
    assert set(quick["methods"]) - {"asymnet_card"} == {"avg_pool", "asymnet_top100"}
    if matcher.reranker is not None:  # the card re-orders the tree's top k, and only them
        k = matcher.reranker.k
        for a, b in zip(quick["methods"]["asymnet_top100"]["ranks"],
                        quick["methods"]["asymnet_card"]["ranks"], strict=True):
            assert (a <= k) == (b <= k) and (a > k) <= (a == b)
    for g, h in zip(quick["galleries"], both["galleries"], strict=True):
        assert g["methods"]["asymnet_top100"]["ranks"] == h["methods"]["asymnet_top100"]["ranks"]
    assert main(["eval", "--data", str(data), "--task", "matching", "--device", "cpu",
                 "--distractors", str(third), str(third)]) == 2
    assert "distractor catalogue" in capsys.readouterr().err  # two copies tie with each other

    out = tmp_path / "m.json"
    assert main(["eval", "--data", str(data), "--split", "all", "--task", "matching",
                 "--device", "cpu", "--distractors", str(other), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["gallery_distractors"] == 40
    capsys.readouterr()
    assert main(["eval", "--data", str(data), "--task", "matching", "--device", "cpu",
                 "--distractors", str(data)]) == 2
    assert "shares" in capsys.readouterr().err
    # the same seed with more products starts with the same products: refused as well
    twin = tmp_path / "twin"
    generate(twin, "hard", seed=11, clips=1, products=45, seconds=4, width=320, height=180,
             workers=1, progress=False)
    assert main(["eval", "--data", str(data), "--task", "matching", "--device", "cpu",
                 "--distractors", str(twin)]) == 2
    assert "same seed" in capsys.readouterr().err
    assert main(["eval", "--data", str(data), "--task", "matching", "--device", "cpu",
                 "--distractors", str(tmp_path / "nowhere")]) == 2
    assert "products.jsonl" in capsys.readouterr().err
    assert main(["eval", "--data", str(data), "--distractors", str(other)]) == 2
    assert "--task matching" in capsys.readouterr().err


def test_bootstrap_intervals_cover_the_value_and_pair_the_queries():
    """Method a finds 30 of 40 queries at top-1, b the same 30 but loses 6 of them: the paired
    interval of a - b sits above zero although the two methods' own intervals overlap."""
    from engine.train.eval_matching import bootstrap_intervals

    a = np.array([1] * 30 + [50] * 10)
    b = np.array([1] * 24 + [50] * 16)
    ci, paired = bootstrap_intervals({"b": b, "a": a}, 2000, seed=0)
    assert ci["a"]["top1"][0] < 0.75 < ci["a"]["top1"][1]
    assert ci["b"]["top1"][0] < 0.6 < ci["b"]["top1"][1]
    assert ci["a"]["top1"][0] < ci["b"]["top1"][1]  # overlapping on their own
    assert paired["a-b"]["difference"]["top1"] == pytest.approx(0.15)
    assert 0 < paired["a-b"]["top1"][0] < 0.15 < paired["a-b"]["top1"][1]
    assert paired["a-b"]["top1"][1] <= 0.3  # never more than the 6 queries it won
    assert paired["a-b"]["top20"] == [0.15, 0.15] or paired["a-b"]["top20"][0] > 0
    assert bootstrap_intervals({"b": b, "a": a}, 2000, seed=0) == (ci, paired)  # seeded
    same = bootstrap_intervals({"x": a, "y": a.copy()}, 200)[1]["y-x"]
    assert same["top1"] == [0.0, 0.0] and same["difference"]["top1"] == 0.0


def test_mining_hands_each_trajectory_the_wrong_products_nearest_to_it(tiny_features):
    """Hard negatives from the whole gallery: the mined ones are the nearest wrong products by
    the current model (never the right one), and the sampler offers them as candidates."""
    from engine.asymnet.model import AsymNet
    from engine.train.asymnet import CandidateSampler

    torch.manual_seed(0)
    model = AsymNet()
    cfg = TrainConfig(mined=3, mine_pool=5, same_category=1, random_negatives=2)
    sampler = CandidateSampler(tiny_features, cfg, np.random.default_rng(0))
    share = sampler.mine(model)
    assert 0 <= share <= 1
    with torch.no_grad():
        images = model.eval().head(torch.cat([p.pooled for p in tiny_features.products]))
    owner = sampler.image_owner
    for t in sampler.tracks:
        mined = sampler.mined[t.key]
        right = sampler.index[t.product]
        assert len(mined) == 5 and right not in mined
        with torch.no_grad():
            mean = torch.nn.functional.normalize(model.head(t.pooled).mean(0), dim=0)
        best = np.full(len(tiny_features.products), -2.0)
        np.maximum.at(best, owner, (images @ mean).numpy())
        best[right] = -3.0
        np.testing.assert_array_equal(np.sort(mined), np.sort(np.argsort(-best)[:5]))
        cand = sampler.candidates(t)
        assert cand[0] == right and len(cand) == len(set(cand)) == 1 + 2 + 1 + 3 + 2
        assert len(set(cand) & set(mined.tolist())) >= 3


def test_attribute_targets_teach_the_embedding_what_shops_say(tiny_benchmark, tiny_features):
    """With each product's visible attributes as targets, the classifiers on the embedding
    learn them: on the training gallery's shop images, category, pattern and colour are told
    apart (measured 0.93 to 1.0 with seeds 1 and 2, against a majority share of 0.1 to 0.2) and
    no attribute does worse than always answering its most common value (shade, the hardest,
    0.77 against 0.73)."""
    from collections import Counter
    from dataclasses import replace

    from engine.train.attributes import visible_attributes
    from engine.train.matching_data import read_products

    data, _ = tiny_benchmark
    rows = {p["id"]: visible_attributes(p) for p in read_products(data)}
    feats = replace(tiny_features, attributes=rows)
    logs, stats = [], {}
    cfg = TrainConfig(steps=120, batch=8, same_category=2, random_negatives=3, seed=1,
                      attributes=1.0)
    train_asymnet(feats, cfg, log=logs.append, stats=stats)
    assert any(line.startswith("attribute targets: category (") for line in logs)
    acc = stats["attribute_accuracy"]
    assert {"category", "pattern", "color"} <= set(acc)
    for name in ("category", "pattern", "color"):
        assert acc[name] >= 0.8, (name, acc[name])
    for name, value in acc.items():
        values = [r[name] for r in (rows[p.key] for p in feats.products) if name in r]
        majority = Counter(values).most_common(1)[0][1] / len(values)
        assert value >= majority, (name, value, majority)
    # without targets, nothing is reported and nothing else changes
    stats_off: dict = {}
    train_asymnet(feats, replace(cfg, steps=2, attributes=0.0), stats=stats_off)
    assert stats_off == {}


def test_train_rerank_fits_a_reranker_beside_the_weights_and_measures_it(
        tiny_benchmark, tmp_path, monkeypatch, capsys):
    """`train rerank` writes NAME.rerank.json beside the weights, tied to their version,
    which the matcher then uses; --measure prints the card's top-1 with and without it."""
    import shutil

    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
    from engine.asymnet.rerank import load_reranker

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("AsymNet weights are not in resources/models")
    data, _ = tiny_benchmark
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "w.pt"
    shutil.copy(DEFAULT_WEIGHTS, weights)
    assert main(["train", "rerank", "--data", str(data), "--weights", str(weights),
                 "--k", "5", "--detected", "--measure", str(data)]) == 0
    rr = load_reranker(tmp_path / "w.rerank.json")
    matcher = TrajectoryMatcher(weights, device="cpu")
    assert rr.asymnet_version == matcher.version and rr.k == 5
    assert matcher.reranker is not None and matcher.reranker.version == rr.version
    report = json.loads(capsys.readouterr().out)
    assert report["trajectories"] >= 12
    # fitted on the ground-truth trajectories and the detected ones that cover their garments
    assert rr.meta["detector"]
    assert report["trajectories"] < rr.meta["trajectories"] <= 2 * report["trajectories"]
    assert 0 <= report["tree_top1"] <= 1 and 0 <= report["reranked_top1"] <= 1
    lo, hi = report["paired_ci95"]
    assert lo <= report["reranked_top1"] - report["tree_top1"] <= hi
    assert main(["train", "rerank", "--data", str(data), "--k", "1"]) == 2
