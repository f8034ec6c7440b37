"""Garment categories and their shapes on a posed body.

Each category says which part of the body it covers (upper, lower or full), which attributes
vary (sleeve, collar, length, fit), and how its shape follows the joints: torso panels, sleeves
and trouser legs are built from the same joints that draw the body, so garments bend, swing and
sit with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.synth.body import Joints, Pose, draw_parts, parts_bounds, torso_outline


@dataclass(frozen=True)
class Category:
    name: str
    slot: str  # upper, lower, full
    sleeves: tuple[str, ...] = ()
    collars: tuple[str, ...] = ()
    lengths: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ("solid", "stripes", "checks", "plaid", "dots", "floral", "print")
    fit: float = 1.0  # looseness around the body
    price: tuple[int, int] = (59, 299)  # CNY
    knit: bool = False


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category(
            "top",
            "upper",
            ("sleeveless", "short"),
            ("round", "v-neck"),
            patterns=("solid", "stripes", "dots", "floral", "print"),
            price=(39, 159),
        ),
        Category(
            "shirt",
            "upper",
            ("short", "long"),
            ("shirt collar",),
            patterns=("solid", "stripes", "checks", "plaid", "dots", "floral"),
            price=(69, 299),
        ),
        Category(
            "sweater",
            "upper",
            ("long",),
            ("round", "v-neck"),
            patterns=("solid", "stripes", "print", "checks"),
            fit=1.08,
            price=(99, 459),
            knit=True,
        ),
        Category(
            "hoodie",
            "upper",
            ("long",),
            ("hood",),
            patterns=("solid", "print", "stripes"),
            fit=1.12,
            price=(89, 329),
        ),
        Category(
            "vest",
            "upper",
            ("sleeveless",),
            ("v-neck",),
            patterns=("solid", "checks", "plaid"),
            price=(59, 259),
        ),
        Category(
            "jacket",
            "upper",
            ("long",),
            ("lapel",),
            patterns=("solid", "checks", "plaid", "denim"),
            fit=1.1,
            price=(199, 899),
        ),
        Category(
            "coat",
            "upper",
            ("long",),
            ("lapel",),
            ("knee", "midi"),
            patterns=("solid", "checks", "plaid"),
            fit=1.14,
            price=(399, 1899),
        ),
        Category(
            "dress",
            "full",
            ("sleeveless", "short"),
            ("round", "v-neck"),
            ("mini", "knee", "midi"),
            patterns=("solid", "stripes", "dots", "floral", "checks", "print"),
            price=(129, 699),
        ),
        Category(
            "jumpsuit",
            "full",
            ("sleeveless", "short", "long"),
            ("round", "v-neck"),
            patterns=("solid", "stripes", "dots", "floral", "denim"),
            price=(159, 599),
        ),
        Category(
            "suit",
            "full",
            ("long",),
            ("lapel",),
            patterns=("solid", "stripes", "checks"),
            price=(599, 2999),
        ),
        Category(
            "skirt",
            "lower",
            lengths=("mini", "knee", "midi"),
            patterns=("solid", "stripes", "checks", "plaid", "dots", "floral", "denim"),
            price=(59, 329),
        ),
        Category(
            "trousers",
            "lower",
            lengths=("full", "cropped"),
            patterns=("solid", "stripes", "checks", "plaid"),
            price=(99, 459),
        ),
        Category(
            "jeans", "lower", lengths=("full", "cropped"), patterns=("denim",), price=(99, 499)
        ),
        Category(
            "shorts",
            "lower",
            patterns=("solid", "stripes", "checks", "floral", "denim"),
            price=(49, 199),
        ),
    )
}

SKIRT_LENGTH = {"mini": 0.13, "knee": 0.23, "midi": 0.33}
COAT_LENGTH = {"knee": 0.25, "midi": 0.33}


@dataclass
class GarmentShape:
    """Shapes to fill (``parts``), cut-outs (``cuts``: necklines), and details to paint on top,
    all in image pixels. ``center`` anchors the fabric's coordinates to the body."""

    parts: list[tuple[str, tuple]]
    cuts: list[tuple[str, tuple]]
    details: list[tuple[str, dict[str, Any]]]
    center: np.ndarray
    hem_y: float

    def bounds(self) -> tuple[float, float, float, float]:
        return parts_bounds(self.parts)


def _sleeves(j: Joints, sleeve: str, fit: float, parts: list) -> None:
    if sleeve == "sleeveless":
        return
    s = j.scale
    for k in ("r", "l"):
        sh, el, wr = j[f"shoulder_{k}"], j[f"elbow_{k}"], j[f"wrist_{k}"]
        r_sh, r_el, r_wr = 0.036 * s * fit, 0.031 * s * fit, 0.026 * s * fit
        if sleeve == "short":
            end = sh + 0.5 * (el - sh)
            parts.append(("capsule", (sh, end, r_sh, r_sh * 0.97)))
        else:
            parts.append(("capsule", (sh, el, r_sh, r_el)))
            end = el + (0.5 if sleeve == "three-quarter" else 0.93) * (wr - el)
            parts.append(("capsule", (el, end, r_el, r_wr)))


def _legs(j: Joints, length: str, fit: float, parts: list) -> None:
    s = j.scale
    for k in ("r", "l"):
        hp, kn, an = j[f"hip_{k}"], j[f"knee_{k}"], j[f"ankle_{k}"]
        r_hp, r_kn, r_an = 0.054 * s * fit, 0.042 * s * fit, 0.035 * s * fit
        if length == "shorts":
            parts.append(("capsule", (hp, hp + 0.55 * (kn - hp), r_hp, r_hp * 0.98)))
            continue
        parts.append(("capsule", (hp, kn, r_hp, r_kn)))
        end = kn + (0.75 if length == "cropped" else 0.97) * (an - kn)
        parts.append(("capsule", (kn, end, r_kn, r_an)))


def _pelvis(j: Joints, fit: float) -> np.ndarray:
    s, lat = j.scale, j.lateral
    wc = j["waist"]
    hc = (j["hip_r"] + j["hip_l"]) / 2
    wh, hh = 0.082 * s * lat * fit, 0.1 * s * lat * fit
    crotch = hc + np.array([0, 0.07 * s])
    return np.array(
        [
            [wc[0] - wh, wc[1]],
            [wc[0] + wh, wc[1]],
            [hc[0] + hh, hc[1]],
            [hc[0] + hh * 0.6, crotch[1]],
            crotch,
            [hc[0] - hh * 0.6, crotch[1]],
            [hc[0] - hh, hc[1]],
        ]
    )


def _skirt(
    j: Joints, pose: Pose, length: str, flare: float, lengths: dict[str, float] = SKIRT_LENGTH
) -> tuple[np.ndarray, float]:
    s, lat = j.scale, j.lateral
    wc = j["waist"]
    hc = (j["hip_r"] + j["hip_l"]) / 2
    knees = (j["knee_r"] + j["knee_l"]) / 2
    drop = lengths[length] * s * (1 - 0.55 * pose.sit)
    hem_y = hc[1] + drop
    # the hem swings with the legs
    hem_x = hc[0] + 0.5 * (knees[0] - hc[0])
    wh = 0.082 * s * lat * (1.1 if lengths is COAT_LENGTH else 1.0)
    hh = (0.1 + flare) * s * lat
    pts = np.array(
        [
            [wc[0] - wh, wc[1]],
            [wc[0] + wh, wc[1]],
            [hc[0] + 0.1 * s * lat, hc[1]],
            [hem_x + hh, hem_y],
            [hem_x - hh, hem_y],
            [hc[0] - 0.1 * s * lat, hc[1]],
        ]
    )
    return pts, hem_y


def garment_shape(category: str, attrs: dict[str, Any], j: Joints, pose: Pose) -> GarmentShape:
    """The garment's shapes for this pose. ``attrs`` holds sleeve, collar, length, fit."""
    cat = CATEGORIES[category]
    s = j.scale
    fit = cat.fit * attrs.get("fit", 1.0)
    sleeve = attrs.get("sleeve", "long")
    collar = attrs.get("collar", "round")
    length = attrs.get("length", "")
    parts: list = []
    cuts: list = []
    details: list = []
    hip_y = (j["hip_r"][1] + j["hip_l"][1]) / 2
    neck = (j["shoulder_r"] + j["shoulder_l"]) / 2
    front = not pose.facing_back

    def upper(bottom_y: float, flare: float = 0.0) -> None:
        parts.append(("poly", (torso_outline(j, bottom_y, flare, width=fit),)))
        _sleeves(j, sleeve, fit, parts)

    if category in ("top", "shirt", "sweater", "hoodie", "vest"):
        upper(hip_y + (0.035 if category != "vest" else 0.0) * s)
        hem = hip_y + 0.035 * s
    elif category == "jacket":
        upper(hip_y + 0.05 * s, 0.01)
        hem = hip_y + 0.05 * s
    elif category == "coat":
        sk, hem = _skirt(j, pose, "knee" if length != "midi" else "midi", 0.06, COAT_LENGTH)
        upper(hip_y + 0.02 * s, 0.0)
        parts.append(("poly", (sk,)))
    elif category == "dress":
        waist_y = j["waist"][1]
        parts.append(("poly", (torso_outline(j, waist_y + 0.02 * s, width=1.0),)))
        _sleeves(j, sleeve, 1.0, parts)
        sk, hem = _skirt(j, pose, length or "knee", 0.05)
        parts.append(("poly", (sk,)))
    elif category == "jumpsuit":
        upper(hip_y)
        parts.append(("poly", (_pelvis(j, 1.02),)))
        _legs(j, "full", 1.05, parts)
        hem = hip_y
    elif category == "suit":
        upper(hip_y + 0.05 * s, 0.01)
        parts.append(("poly", (_pelvis(j, 1.0),)))
        _legs(j, "full", 1.0, parts)
        hem = hip_y + 0.05 * s
    elif category == "skirt":
        sk, hem = _skirt(j, pose, length or "knee", 0.045)
        parts.append(("poly", (sk,)))
    elif category in ("trousers", "jeans", "shorts"):
        parts.append(("poly", (_pelvis(j, 1.0),)))
        _legs(
            j,
            "shorts" if category == "shorts" else (length or "full"),
            1.0 if category != "jeans" else 0.95,
            parts,
        )
        hem = hip_y
        if category != "shorts" and attrs.get("belt"):
            details.append(
                (
                    "belt",
                    {
                        "y": j["waist"][1],
                        "half": 0.085 * s * j.lateral,
                        "x": j["waist"][0],
                        "h": 0.018 * s,
                    },
                )
            )
        if category == "jeans":
            details.append(("seams", {"legs": [(j[f"hip_{k}"], j[f"ankle_{k}"]) for k in "rl"]}))
    else:
        raise ValueError(f"unknown garment category {category!r}; valid: {', '.join(CATEGORIES)}")

    if cat.slot in ("upper", "full") and category not in ("skirt",):
        if collar == "hood":
            # the hood lies behind the head: drawn with the garment, the head covers its middle
            parts.append(
                (
                    "ellipse",
                    (j["head"] + np.array([0, 0.01 * s]), (0.085 * s * j.lateral, 0.09 * s), 0.0),
                )
            )
        if front:
            if collar == "v-neck":
                depth = 0.075 * s
                w = 0.035 * s * j.lateral
                tri = neck + np.array([[-w, -0.01 * s], [w, -0.01 * s], [0, depth]])
                cuts.append(("poly", (tri,)))
            elif collar == "round":
                cuts.append(
                    (
                        "ellipse",
                        (neck + np.array([0, -0.004 * s]), (0.03 * s * j.lateral, 0.02 * s), 0.0),
                    )
                )
            elif collar == "shirt collar":
                details.append(("collar", {"neck": neck, "s": s, "lat": j.lateral}))
            elif collar == "lapel":
                details.append(
                    ("lapel", {"neck": neck, "s": s, "lat": j.lateral, "bottom": j["waist"][1]})
                )
            if category in ("shirt", "coat", "jacket", "suit"):
                n = {"shirt": 5, "coat": 4, "jacket": 2, "suit": 2}[category]
                top_y = neck[1] + (0.02 if category == "shirt" else 0.12) * s
                bottom_y = min(hem, hip_y + 0.02 * s) if category != "coat" else hem - 0.03 * s
                details.append(
                    (
                        "buttons",
                        {
                            "x": (neck[0] + j["waist"][0]) / 2,
                            "y0": top_y,
                            "y1": bottom_y,
                            "n": n,
                            "r": max(0.6, 0.006 * s),
                            "double": category == "coat",
                            "dx": 0.025 * s * j.lateral,
                        },
                    )
                )
            motif = attrs.get("motif")
            if motif and category in ("top", "sweater", "hoodie", "dress", "jumpsuit"):
                chest = j["chest"] + np.array([0, 0.01 * s])
                details.append(("motif", {"motif": motif, "center": chest, "size": 0.075 * s}))
        if category in ("sweater", "hoodie"):
            details.append(("hem_band", {"y": hem, "h": 0.02 * s}))
    center = np.array([j["waist"][0], j["chest"][1]])
    return GarmentShape(parts, cuts, details, center, hem)


def draw_shape_mask(mask: np.ndarray, shape: GarmentShape, off: np.ndarray) -> None:
    draw_parts(mask, shape.parts, off)
    draw_parts(mask, shape.cuts, off, value=0)  # necklines
