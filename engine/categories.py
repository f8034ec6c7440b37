"""Garment categories and the groups that make two of them comparable.

Detectors name what they see at the level the evidence holds: the garment detector the shop's
own categories (it was trained on them), the real-footage localiser a body region (upper,
lower, full length) or, where colour and landmarks say more, a finer name (jacket, skirt).
Matching and the detector fusion compare like with like through the groups: an "upper-body"
box may be any top, shirt, jacket or coat; a "dress" is never trousers. A coat is worn long or
short, so it is in two groups.
"""

from __future__ import annotations

UPPER, LOWER, FULL = "upper", "lower", "full"

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
