"""Ground truth against the drawing: boxes, visibility and ids come from what was painted."""

import numpy as np
import pytest

from bench.synth.body import Build, Pose
from bench.synth.catalog import make_catalog
from bench.synth.garments import CATEGORIES
from bench.synth.render import Canvas, composite, render_figure

BUILD = Build(skin=(200, 160, 130), hair=(30, 20, 10))


def solid(pid: str, category: str, rgb, **attrs) -> dict:
    return {
        "id": pid,
        "category": category,
        "attributes": attrs,
        "fold_seed": 1,
        "fabric": {"pattern": "solid", "base": list(rgb), "accent": list(rgb)},
    }


def draw(outfit, pose, occluder=None):
    canvas = Canvas.from_image(np.full((360, 640, 3), 128, np.uint8))
    drawn = render_figure(canvas, pose, BUILD, outfit, light_dir=0.0)
    if occluder is not None:
        x0, y0, x1, y1 = occluder
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        mask[:] = 255
        composite(canvas, mask, np.asarray((10, 200, 10), np.float32), np.array([x0, y0]), -2)
    return canvas, drawn


def painted_by(outfit_a, outfit_b, pose, occluder=None):
    """Pixels that change when only the garment's colour changes: where it is visible."""
    a, _ = draw(outfit_a, pose, occluder)
    b, _ = draw(outfit_b, pose, occluder)
    # more than half of the full colour change (~200 levels, 0.58 in the deepest shading):
    # the pixel is mostly garment, as the label map counts it
    return np.abs(a.rgb - b.rgb).max(axis=2) > 60


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_box_and_visibility_match_the_painted_pixels(category):
    pose = Pose(x=320, y=340, scale=300, facing=0.3, walk=0.8, stride=0.6)
    other = solid("o", "trousers" if CATEGORIES[category].slot == "upper" else "top", (40, 40, 40))
    outfit = [(7, solid("p", category, (230, 30, 30))), (8, other)]
    if CATEGORIES[category].slot == "full":
        outfit = outfit[:1]
    canvas, drawn = draw(outfit, pose)
    seen = painted_by(outfit, [(7, solid("p", category, (30, 30, 230))), *outfit[1:]], pose)
    ys, xs = np.nonzero(seen)
    x1, y1, x2, y2 = drawn[7].box
    # the amodal box holds every visible pixel, and is no bigger than the shape
    assert x1 - 1 <= xs.min() and xs.max() + 1 <= x2 + 1
    assert y1 - 1 <= ys.min() and ys.max() + 1 <= y2 + 1
    labelled = int(np.count_nonzero(canvas.label == 7))
    # (jeans: their stitching keeps its colour whatever the fabric, hence 5%)
    assert abs(labelled - int(seen.sum())) <= 0.05 * labelled + 30
    assert labelled <= drawn[7].full_area


def test_an_occluder_lowers_the_visible_fraction_by_what_it_covers():
    pose = Pose(x=320, y=350, scale=320)
    outfit = [(5, solid("d", "dress", (230, 30, 30), sleeve="short", length="knee"))]
    canvas, drawn = draw(outfit, pose)
    full = drawn[5].full_area
    assert np.count_nonzero(canvas.label == 5) == pytest.approx(full, rel=0.02)
    x1, y1, x2, y2 = (int(v) for v in drawn[5].box)
    cover = (x1 - 5, y1 - 5, (x1 + x2) // 2, y2 + 5)  # the left half
    occluded, _ = draw(outfit, pose, occluder=cover)
    visible = np.count_nonzero(occluded.label == 5) / full
    seen = painted_by(
        outfit,
        [(5, solid("d", "dress", (30, 30, 230), sleeve="short", length="knee"))],
        pose,
        occluder=cover,
    )
    assert visible == pytest.approx(seen.sum() / full, abs=0.03)
    assert 0.35 < visible < 0.65


def test_a_garment_half_out_of_frame_counts_as_half_visible():
    pose = Pose(x=0, y=340, scale=300)  # centred on the left edge
    outfit = [(3, solid("t", "trousers", (230, 30, 30)))]
    canvas, drawn = draw(outfit, pose)
    visible = np.count_nonzero(canvas.label == 3) / drawn[3].full_area
    assert 0.4 < visible < 0.6
    assert drawn[3].box[0] == 0.0  # clipped to the frame


def test_every_hard_product_has_two_siblings_differing_in_one_attribute():
    products = make_catalog(np.random.default_rng(5), 90, 3)
    by_family = {}
    for p in products:
        by_family.setdefault(p["family"], []).append(p)
    for fam in by_family.values():
        assert len(fam) >= 3
        for a in fam:
            for b in fam:
                if a is b:
                    continue
                assert (a["category"], a["attributes"]["pattern"]) == (
                    b["category"],
                    b["attributes"]["pattern"],
                )
                diff = [k for k in a["attributes"] if a["attributes"][k] != b["attributes"].get(k)]
                assert len(diff) == 1, (a["id"], b["id"], diff)
    assert len({p["category"] for p in products}) >= 12


def test_the_benchmark_draws_the_engines_shop_categories_in_its_class_order():
    """The garment detector's classes are engine.categories.SHOP_CATEGORIES (training names
    them from there); the benchmark's garments must be the same, in the same order."""
    from engine.categories import SHOP_CATEGORIES

    assert tuple(CATEGORIES) == SHOP_CATEGORIES
