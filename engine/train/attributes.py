"""Attribute supervision for AsymNet's training: what a shop says about its products (category,
pattern, colour, shade, accent colour, pattern spacing, motif, sleeves, collar, length, fit)
as extra targets for the IFN's embedding.

Exact matching fails between look-alikes: products of the same category and pattern that
differ in one attribute (a sibling in another shade, another stripe spacing). The instance
losses see the video side of only the few hundred products worn in the training clips; an
attribute is shared by thousands of products, on shop images and in video alike. A linear
classifier per attribute on the embedding (video frames, trajectory means and shop images
share the classifiers) makes the embedding say every attribute in both domains, so that two
products that differ in one attribute are apart in it. The classifiers are a training aid
only: they are dropped after training and the saved model is the paper's (IFN, VFN, tree).

Only attributes that can be seen count: the accent colour of a plain garment, the spacing of
a print, a belt on a skirt are left out (no label, no loss).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ATTRIBUTES = ("category", "pattern", "color", "shade", "accent", "spacing", "angle", "motif",
              "sleeve", "collar", "length", "fit", "belt")
_ACCENTED = ("stripes", "checks", "plaid", "dots", "floral", "print")
_SPACED = ("stripes", "checks", "plaid", "dots", "floral")


def visible_attributes(product: Mapping) -> dict[str, str]:
    """A catalogue row (products.jsonl) -> the attributes one could see on it, as strings.
    Rows without attributes give their category alone (or nothing)."""
    attrs = dict(product.get("attributes") or {})
    out: dict[str, str] = {}
    if product.get("category"):
        out["category"] = str(product["category"])
    pattern = attrs.get("pattern")
    for name in ATTRIBUTES[1:]:
        if name not in attrs or attrs[name] is None:
            continue
        if name == "accent" and pattern not in _ACCENTED:
            continue
        if name == "spacing" and pattern not in _SPACED:
            continue
        if name == "angle" and pattern != "stripes":
            continue
        if name == "motif" and pattern != "print":
            continue
        value = attrs[name]
        out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


@dataclass
class AttributeVocab:
    """The values each attribute takes in the training data."""

    values: dict[str, list[str]]

    @classmethod
    def build(cls, rows: Iterable[Mapping[str, str]], min_count: int = 2) -> AttributeVocab:
        counts: dict[str, dict[str, int]] = {a: {} for a in ATTRIBUTES}
        for row in rows:
            for a, v in row.items():
                if a in counts:
                    counts[a][v] = counts[a].get(v, 0) + 1
        values = {a: sorted(v for v, n in c.items() if n >= min_count)
                  for a, c in counts.items()}
        return cls({a: v for a, v in values.items() if len(v) >= 2})

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def labels(self, row: Mapping[str, str]) -> np.ndarray:
        """(len(names),) int64: each attribute's value index, -1 where unknown or absent."""
        out = np.full(len(self.values), -1, np.int64)
        for i, (a, vals) in enumerate(self.values.items()):
            v = row.get(a)
            if v is not None and v in vals:
                out[i] = vals.index(v)
        return out


class AttributeHeads(nn.Module):
    """One linear classifier per attribute on the (L2-normalised) embedding, with a learned
    scale: unit vectors give logits too small to be confident otherwise."""

    def __init__(self, dim: int, vocab: AttributeVocab) -> None:
        super().__init__()
        self.names = vocab.names
        self.heads = nn.ModuleList(nn.Linear(dim, len(v)) for v in vocab.values.values())
        self.scale = nn.Parameter(torch.tensor(10.0))

    def loss(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """emb (N, D), labels (N, len(names)) with -1 for no label -> the mean over attributes
        of the cross-entropy over the rows that have a label (0 where none has)."""
        terms = []
        for i, head in enumerate(self.heads):
            y = labels[:, i]
            keep = y >= 0
            if bool(keep.any()):
                terms.append(F.cross_entropy(self.scale * head(emb[keep]), y[keep]))
        if not terms:
            return emb.sum() * 0.0
        return torch.stack(terms).mean()

    @torch.no_grad()
    def accuracy(self, emb: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        out = {}
        for i, (name, head) in enumerate(zip(self.names, self.heads, strict=True)):
            y = labels[:, i]
            keep = y >= 0
            if bool(keep.any()):
                out[name] = float((head(emb[keep]).argmax(1) == y[keep]).float().mean())
        return out
