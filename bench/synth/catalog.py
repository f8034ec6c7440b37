"""Shop products: families of near-duplicates, titles a shop would write, prices, shops.

A family shares category, pattern and everything else but one attribute, which takes a
different value in each member (a shade, the stripe spacing, a motif, the sleeves, the
collar, the length, the accent colour): pairwise, members differ in exactly that one thing,
so each of a family of three has two siblings a shopper must tell apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.synth.fabric import COLORS, MOTIFS, shade
from bench.synth.garments import CATEGORIES

SPACINGS = {"fine": 0.017, "medium": 0.027, "wide": 0.042}
SHADES = {"light": 0.28, "": 0.0, "dark": -0.3}
FABRIC_WORDS = {
    "denim": ("denim",),
    "knit": ("knit", "cashmere-blend", "merino"),
    "default": ("cotton", "linen", "polyester", "silk-blend", "viscose", "wool-blend"),
}
SEASONS = ("2026 Spring", "2026 Summer", "2026 Autumn", "2026 Winter", "New")
STYLES = (
    "Slim Fit",
    "Loose",
    "Classic",
    "Korean Style",
    "Vintage",
    "Minimalist",
    "Casual",
    "Office",
    "Street Style",
    "French Style",
)
SHOPS = (
    "Lily Atelier Flagship Store",
    "Urban Thread Official Store",
    "Moonlit Closet",
    "Peony House Fashion",
    "North Harbour Outfitters",
    "Little Orchid Boutique",
    "Silk Road Studio",
    "Blue Ridge Denim Co.",
    "Maple & Pine Apparel",
    "Jade Garden Women",
    "Cloud Nine Basics",
    "Harbour Lights Menswear",
    "Crimson Lantern Store",
    "Daisy Lane",
    "Golden Thread Workshop",
    "Swallow Tailor Studio",
    "Cotton Field Official",
    "Sakura Wardrobe",
)
CURRENCY = "CNY"

# which attributes can vary inside a family, by category; each has 3+ values
_VARIES = ("shade", "spacing", "motif", "accent", "sleeve", "collar", "length")


def _variable_attributes(category: str, pattern: str) -> list[str]:
    cat = CATEGORIES[category]
    out = ["shade"]
    if pattern in ("stripes", "checks", "plaid", "dots", "floral"):
        out.append("spacing")
    if pattern == "print":
        out.append("motif")
    if pattern in ("stripes", "dots", "floral", "checks", "print"):
        out.append("accent")
    if len(cat.sleeves) >= 2 or category in ("top", "shirt", "dress", "jumpsuit"):
        out.append("sleeve")
    if category in ("top", "dress", "sweater", "jumpsuit"):
        out.append("collar")
    if category in ("skirt", "dress"):
        out.append("length")
    return out


_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "sleeve": {
        "top": ("sleeveless", "short", "three-quarter"),
        "shirt": ("short", "three-quarter", "long"),
        "dress": ("sleeveless", "short", "long"),
        "jumpsuit": ("sleeveless", "short", "long"),
    },
    "collar": {"*": ("round", "v-neck", "shirt collar")},
    "length": {"*": ("mini", "knee", "midi")},
}


def _pick_colors(rng: np.random.Generator, pattern: str) -> tuple[str, str]:
    names = list(COLORS)
    if pattern == "denim":
        return str(rng.choice(["navy", "royal blue", "sky blue", "charcoal", "black"])), "white"
    base = str(rng.choice(names))
    accent = base
    while accent == base or abs(sum(COLORS[accent]) - sum(COLORS[base])) < 150:
        accent = str(rng.choice(names))
    return base, accent


def _fabric(rng: np.random.Generator, attrs: dict[str, Any], noise_seed: int) -> dict[str, Any]:
    base = shade(COLORS[attrs["color"]], SHADES[attrs["shade"]])
    fab: dict[str, Any] = {
        "pattern": attrs["pattern"],
        "base": list(base),
        "accent": list(COLORS[attrs["accent"]]),
        "noise_seed": noise_seed,
    }
    if attrs["pattern"] in ("stripes", "checks", "plaid", "dots", "floral"):
        fab["spacing"] = SPACINGS[attrs["spacing"]]
    if attrs["pattern"] == "stripes":
        fab["angle"] = float(attrs.get("angle", 0.0))
        fab["duty"] = 0.35
    if attrs["pattern"] == "plaid":
        fab["accent2"] = list(shade(COLORS[attrs["accent"]], 0.55))
    if attrs["pattern"] == "denim":
        fab["base"] = list(shade(COLORS[attrs["color"]], SHADES[attrs["shade"]] * 0.8))
    if CATEGORIES[attrs["category"]].knit:
        fab["knit"] = True
    return fab


def _title(rng: np.random.Generator, attrs: dict[str, Any]) -> str:
    cat = attrs["category"]
    color = f"{attrs['shade'].title()} {attrs['color'].title()}".strip()
    pattern = {
        "solid": "",
        "stripes": f"{attrs.get('spacing', '').title()} Striped",
        "checks": f"{attrs.get('spacing', '').title()} Gingham",
        "plaid": "Plaid",
        "dots": f"{attrs.get('spacing', '').title()} Polka Dot",
        "floral": "Floral",
        "print": f"{attrs.get('motif', '').title()} Print",
        "denim": "Washed",
    }[attrs["pattern"]]
    words = [
        str(rng.choice(SEASONS)),
        str(rng.choice(STYLES)),
        attrs["material"].title(),
        pattern,
        cat.title(),
    ]
    extras = []
    if attrs.get("sleeve") and cat not in ("skirt", "trousers", "jeans", "shorts"):
        extras.append(
            f"{attrs['sleeve'].title()} Sleeve" if attrs["sleeve"] != "sleeveless" else "Sleeveless"
        )
    if attrs.get("collar") in ("v-neck", "round", "shirt collar"):
        extras.append(
            {"v-neck": "V-Neck", "round": "Round Neck", "shirt collar": "Shirt Collar"}[
                attrs["collar"]
            ]
        )
    if attrs.get("length"):
        extras.append(f"{attrs['length'].title()} Length")
    if attrs["pattern"] in ("dots", "floral", "stripes", "checks", "print"):
        extras.append(f"{attrs['accent'].title()} on")
    title = " ".join(w for w in words if w)
    tail = ", ".join([*extras, color])
    return f"{title}, {tail}".replace(" on, ", " on ")


def _base_attributes(rng: np.random.Generator, category: str) -> dict[str, Any]:
    cat = CATEGORIES[category]
    pattern = str(rng.choice(cat.patterns))
    color, accent = _pick_colors(rng, pattern)
    attrs: dict[str, Any] = {
        "category": category,
        "pattern": pattern,
        "color": color,
        "accent": accent,
        "shade": "",
        "fit": float(rng.choice([0.96, 1.0, 1.06])),
    }
    if pattern in ("stripes", "checks", "plaid", "dots", "floral"):
        attrs["spacing"] = str(rng.choice(list(SPACINGS)))
    if pattern == "stripes":
        attrs["angle"] = float(rng.choice([0.0, 0.0, 90.0, 45.0]))
    if pattern == "print":
        attrs["motif"] = str(rng.choice(MOTIFS))
    if cat.sleeves:
        attrs["sleeve"] = str(rng.choice(cat.sleeves))
    if cat.collars:
        attrs["collar"] = str(rng.choice(cat.collars))
    if cat.lengths:
        attrs["length"] = str(rng.choice(cat.lengths))
    if category == "trousers":
        attrs["belt"] = bool(rng.random() < 0.5)
    if category == "shirt" and rng.random() < 0.3:
        attrs["collar_color"] = [236, 236, 232]
    words = FABRIC_WORDS["denim" if pattern == "denim" else "knit" if cat.knit else "default"]
    attrs["material"] = str(rng.choice(words))
    return attrs


def _vary(rng: np.random.Generator, attrs: dict[str, Any], key: str, n: int) -> list[dict]:
    """``n`` versions of ``attrs`` that differ pairwise in ``key`` only."""
    cat = attrs["category"]
    if key == "shade":
        values = ["light", "", "dark"]
    elif key == "spacing":
        values = list(SPACINGS)
    elif key == "motif":
        values = list(rng.permutation(MOTIFS))
    elif key == "accent":
        values = [
            c
            for c in rng.permutation(list(COLORS))
            if c != attrs["color"] and abs(sum(COLORS[c]) - sum(COLORS[attrs["color"]])) > 150
        ]
    elif key == "sleeve":
        values = list(_VALUES["sleeve"].get(cat, ("sleeveless", "short", "long")))
    else:
        values = list(_VALUES[key]["*"])
    values = [str(v) for v in values][: max(n, 3)]
    if len(values) < n:
        raise ValueError(f"attribute {key!r} of a {cat} has only {len(values)} values")
    out = []
    for v in values[:n]:
        a = dict(attrs)
        a[key] = v
        if key == "collar" and v == "shirt collar" and cat == "sweater":
            a[key] = "v-neck"
        out.append(a)
    return out


def make_catalog(
    rng: np.random.Generator, n_products: int, family_size: int, categories: list[str] | None = None
) -> list[dict[str, Any]]:
    """``n_products`` products in families of ``family_size`` (1 = no siblings). Each product
    is a dict: the products.jsonl fields plus ``fabric`` (how to draw it) and ``family``."""
    cats = categories or list(CATEGORIES)
    # the first families cover every category, alternating upper, lower and full garments so
    # that even a small catalogue can dress whole people
    by_slot = [
        [c for c in rng.permutation(cats) if CATEGORIES[c].slot == slot]
        for slot in ("upper", "lower", "full")
    ]
    first: list[str] = []
    while any(by_slot):
        for group in by_slot:
            if group:
                first.append(str(group.pop(0)))
    products: list[dict[str, Any]] = []
    family = 0
    while len(products) < n_products:
        category = first[family] if family < len(first) else str(rng.choice(cats))
        base = _base_attributes(rng, category)
        size = min(family_size, n_products - len(products))
        if size > 1:
            key = str(rng.choice(_variable_attributes(category, base["pattern"])))
            members = _vary(rng, base, key, size)
        else:
            key, members = "", [base]
        price0 = float(rng.uniform(*CATEGORIES[category].price))
        shop = str(rng.choice(SHOPS))
        for attrs in members:
            pid = f"p{len(products) + 1:05d}"
            fabric = _fabric(rng, attrs, noise_seed=int(rng.integers(1 << 30)))
            public = {k: v for k, v in attrs.items() if k not in ("category", "collar_color")}
            products.append(
                {
                    "id": pid,
                    "title": _title(rng, attrs),
                    "category": category,
                    "price": round(price0 * float(rng.uniform(0.92, 1.08)), 2),
                    "currency": CURRENCY,
                    "shop": shop,
                    "url": f"https://shop.example.com/item/{pid}",
                    "sales": int(rng.lognormal(5.5, 1.4)),
                    "rating": round(float(rng.uniform(4.0, 5.0)), 1),
                    "attributes": public,
                    "family": family,
                    "varies": key,
                    "fabric": fabric,
                    "fold_seed": int(rng.integers(1 << 30)),
                }
            )
        family += 1
    return products


def siblings(products: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Product id -> ids of the same family."""
    by_family: dict[int, list[str]] = {}
    for p in products:
        by_family.setdefault(p["family"], []).append(p["id"])
    return {p["id"]: [q for q in by_family[p["family"]] if q != p["id"]] for p in products}
