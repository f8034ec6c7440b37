"""The benchmark generator end to end, on a tiny configuration."""

import hashlib
import json
import subprocess
import sys

import pytest

from bench.synth.generate import SynthError, generate, split_counts
from engine.annotations import load_annotations
from engine.video import probe
from tests.conftest import ROOT

TINY = {"clips": 3, "products": 30, "seconds": 4, "width": 320, "height": 180, "workers": 2}


def digest(root):
    """Hashes of everything that must not change for a seed (the card has timings)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "card.json":
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def tiny(tiny_benchmark):
    return tiny_benchmark  # made with TINY and seed 11 (tests/conftest.py)


def test_the_same_seed_gives_the_same_benchmark(tiny, tmp_path):
    out, _ = tiny
    again = tmp_path / "again"
    generate(again, "hard", seed=11, progress=False, **{**TINY, "workers": 1})
    assert digest(out) == digest(again)  # catalogue, images, ground truth, splits, clips


def test_another_seed_gives_another_benchmark(tiny, tmp_path):
    out, _ = tiny
    other = tmp_path / "other"
    generate(other, "hard", seed=12, progress=False, **{**TINY, "clips": 1})
    a = (out / "catalog" / "products.jsonl").read_text()
    b = (other / "catalog" / "products.jsonl").read_text()
    assert a != b


def test_layout_and_formats(tiny):
    out, card = tiny
    lines = (out / "catalog" / "products.jsonl").read_text().splitlines()
    assert len(lines) == 30
    first = json.loads(lines[0])
    for key in (
        "id",
        "title",
        "category",
        "price",
        "currency",
        "shop",
        "url",
        "image",
        "sales",
        "rating",
        "attributes",
    ):
        assert key in first
    assert first["url"].startswith("https://")
    for line in lines:
        p = json.loads(line)
        for image in p["images"]:
            assert (out / "catalog" / image).stat().st_size > 1000
    splits = json.loads((out / "splits.json").read_text())
    clips = sorted(c for v in splits.values() for c in v)
    assert len(clips) == 3
    for clip in clips:
        info = probe(out / "clips" / f"{clip}.mp4")
        assert (info.width, info.height, info.fps, info.codec) == (320, 180, 25.0, "h264")
        assert info.frame_count == 100
        ann = load_annotations(out / "clips" / f"{clip}.json")  # the player's format
        assert ann.tracks and all(t.product_id for t in ann.tracks)
        for t in ann.tracks:
            assert ((t.boxes[:, 5] > 0) & (t.boxes[:, 5] <= 1)).all()
            assert (t.boxes[:, 1] >= 0).all() and (t.boxes[:, 3] <= 320).all()
    assert card["counts"]["clips"] == 3 and card["generator_version"]
    assert card["seconds_per_video_second"] > 0


def test_products_worn_in_test_clips_are_never_worn_in_train_clips(tiny):
    out, _ = tiny
    splits = json.loads((out / "splits.json").read_text())

    def worn(split):
        ids = set()
        for clip in splits[split]:
            ann = json.loads((out / "clips" / f"{clip}.json").read_text())
            ids |= {t["product_id"] for t in ann["tracks"]}
        return ids

    assert splits["train"] and splits["test"]
    assert worn("test").isdisjoint(worn("train"))
    assert worn("val").isdisjoint(worn("train"))


def test_every_worn_product_is_in_the_catalogue(tiny):
    out, _ = tiny
    with (out / "catalog" / "products.jsonl").open() as f:
        ids = {json.loads(line)["id"] for line in f}
    for js in (out / "clips").glob("*.json"):
        for t in json.loads(js.read_text())["tracks"]:
            assert t["product_id"] in ids


def test_split_counts():
    assert split_counts(1) == (0, 0, 1)
    assert split_counts(12) == (8, 2, 2)
    assert sum(split_counts(7)) == 7


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(SynthError, match="unknown preset"):
        generate(tmp_path, "medium")
    with pytest.raises(SynthError, match="even"):
        generate(tmp_path, "easy", width=321)


def test_the_cli_refuses_to_overwrite(tiny):
    out, _ = tiny
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "synth", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "not empty" in r.stderr


def test_catalog_only_writes_the_same_products_without_clips(tiny, tmp_path):
    """``synth --catalog-only``: the catalogue a full set of the same seed starts with (the
    same products and the same image files), no clips, and a card that says so."""
    out, _ = tiny
    shop = tmp_path / "shop"
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "synth", "--catalog-only", "--out", str(shop),
         "--seed", "11", "--products", "45", "--workers", "2"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "45 products" in r.stdout and "no clips" in r.stdout
    assert not (shop / "clips").exists() and not (shop / "splits.json").exists()
    card = json.loads((shop / "card.json").read_text())
    assert card["catalog_only"] and card["counts"]["clips"] == 0
    assert card["counts"]["products"] == 45
    assert card["counts"]["families"] == 15  # families of three: two siblings each
    mine = (shop / "catalog" / "products.jsonl").read_text().splitlines()
    full = (out / "catalog" / "products.jsonl").read_text().splitlines()
    assert len(mine) == 45 and mine[:30] == full  # drawn one product after another
    for line in mine[:30]:
        for rel in json.loads(line)["images"]:
            assert (shop / "catalog" / rel).read_bytes() == (out / "catalog" / rel).read_bytes()
    assert card["counts"]["shop_images"] == len(list((shop / "catalog" / "images").iterdir()))
