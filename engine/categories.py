"""Garment categories and the groups that make two of them comparable.

Detectors name what they see at the level the evidence holds: the garment detector the shop's
own categories (it was trained on them), the real-footage localiser a body region (upper,
lower, full length) or, where colour and landmarks say more, a finer name (jacket, skirt).
Matching and the detector fusion compare like with like through the groups: an "upper-body"
box may be any top, shirt, jacket or coat; a "dress" is never trousers. A coat is worn long or
short, so it is in two groups.
"""

from __future__ import annotations

import re

UPPER, LOWER, FULL = "upper", "lower", "full"

# the catalogue's garment categories, in the order of the garment detector's classes (the
# synthetic benchmark draws the same ones: tests/bench/synth checks that they agree)
SHOP_CATEGORIES = ("top", "shirt", "sweater", "hoodie", "vest", "jacket", "coat", "dress",
                   "jumpsuit", "suit", "skirt", "trousers", "jeans", "shorts")

GROUPS: dict[str, frozenset[str]] = {
    # the catalogue's categories (the synthetic benchmark's, and any shop's that use them)
    "top": frozenset({UPPER}), "shirt": frozenset({UPPER}), "sweater": frozenset({UPPER}),
    "hoodie": frozenset({UPPER}), "jacket": frozenset({UPPER}),
    "vest": frozenset({UPPER}), "coat": frozenset({UPPER, FULL}),
    # a suit is sold as a set: its jacket, its trousers or both together
    "suit": frozenset({UPPER, LOWER, FULL}),
    "trousers": frozenset({LOWER}), "jeans": frozenset({LOWER}), "shorts": frozenset({LOWER}),
    "skirt": frozenset({LOWER}),
    "dress": frozenset({FULL}), "jumpsuit": frozenset({FULL}),
    # the real-footage localiser's body regions
    "upper-body": frozenset({UPPER}), "lower-body": frozenset({LOWER}),
    "full-length": frozenset({FULL}),
}


def groups_of(category: str) -> frozenset[str]:
    """The groups of a category; an unknown one (a shop's own name) is in none, and so is
    comparable with everything (``compatible``)."""
    return GROUPS.get(str(category).strip().lower(), frozenset())


def compatible(a: str, b: str) -> bool:
    """Whether a garment called ``a`` may be the product called ``b``: they share a group, or
    one of them is a name this table does not know (then nothing is ruled out)."""
    ga, gb = groups_of(a), groups_of(b)
    return not ga or not gb or bool(ga & gb)


# A shop's own words for the categories above (plural forms are found by the rules below)
SYNONYMS = {
    "t-shirt": "top", "tee": "top", "tank": "top", "tank top": "top", "blouse": "shirt",
    "polo": "shirt", "shirts & top": "shirt", "sweatshirt": "hoodie", "pullover": "sweater",
    "jumper": "sweater", "cardigan": "sweater", "knitwear": "sweater", "blazer": "jacket",
    "outerwear": "coat", "parka": "coat", "trench": "coat", "overcoat": "coat",
    "coats & jacket": "coat", "pant": "trousers", "pants": "trousers", "trouser": "trousers",
    "chino": "trousers", "legging": "trousers", "jean": "jeans", "denim": "jeans",
    "gown": "dress", "romper": "jumpsuit", "overall": "jumpsuit", "playsuit": "jumpsuit",
    "waistcoat": "vest", "gilet": "vest",
}


def _singulars(word: str) -> list[str]:
    """The singulars ``word`` may have, most specific rule first: "dresses" -> "dress",
    "dresse"; "hoodies" -> "hoody", "hoodie" (English has both kinds of -ies)."""
    out = []
    for suffix, repl in (("sses", "ss"), ("ies", "y"), ("shes", "sh"), ("ches", "ch"),
                         ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            out.append(word[: -len(suffix)] + repl)
    return out


def category_from_taxonomy(text: str) -> str:
    """A category from a shop's taxonomy path ("Apparel & Accessories > Clothing > Dresses",
    "Women / Coats & Jackets", "Jeans"): the most specific part this table knows, by its
    name, a synonym or its singular; else that part as it is, lower case (a shop's own name,
    comparable with everything); "" when there is no text."""
    parts = [p.strip().lower() for p in re.split(r"[>/|]", str(text or "")) if p.strip()]
    for part in reversed(parts):
        candidates = [part, *re.split(r"\s*(?:&|,|\band\b)\s*", part)]
        for c in candidates:
            c = c.strip()
            for form in (c, *_singulars(c)):
                if form in GROUPS:
                    return form
                if form in SYNONYMS:
                    return SYNONYMS[form]
    return parts[-1][:60] if parts else ""
