"""Attribute targets for AsymNet's training (engine/train/attributes.py): only what one can see
on a garment is a label, and the vocabulary and the classifiers' loss follow the rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.train.attributes import (
    ATTRIBUTES,
    AttributeHeads,
    AttributeVocab,
    visible_attributes,
)


def _row(category="top", **attrs):
    base = {"pattern": "solid", "color": "red", "accent": "white", "shade": "", "fit": 1.0}
    base.update(attrs)
    return {"id": "p1", "category": category, "attributes": base}


def test_only_what_one_can_see_is_a_label():
    plain = visible_attributes(_row(spacing="fine", angle=90.0, motif="anchor", sleeve="short"))
    assert plain == {"category": "top", "pattern": "solid", "color": "red", "shade": "",
                     "fit": "1", "sleeve": "short"}  # a plain top shows no accent nor spacing
    striped = visible_attributes(_row(pattern="stripes", spacing="fine", angle=45.0,
                                      motif="anchor"))
    assert striped["accent"] == "white" and striped["spacing"] == "fine"
    assert striped["angle"] == "45" and "motif" not in striped
    printed = visible_attributes(_row(pattern="print", motif="anchor", spacing="fine"))
    assert printed["motif"] == "anchor" and printed["accent"] == "white"
    assert "spacing" not in printed
    assert visible_attributes(_row(fit=1.06, belt=True))["fit"] == "1.06"
    assert visible_attributes(_row(belt=True))["belt"] == "True"
    # a real shop's row without attributes: its category, or nothing
    assert visible_attributes({"id": "x", "category": "dress"}) == {"category": "dress"}
    assert visible_attributes({"id": "x", "title": "Dress"}) == {}
    assert visible_attributes({"id": "x", "attributes": {"color": None}}) == {}
    assert set(visible_attributes(_row(collar="v-neck", length="mini"))) <= set(ATTRIBUTES)


def test_vocabulary_keeps_values_seen_twice_and_attributes_with_a_choice():
    rows = [{"color": "red", "shade": "", "pattern": "solid"},
            {"color": "red", "shade": "dark"},
            {"color": "blue", "shade": ""},
            {"color": "blue"},
            {"color": "green"}]  # green once: no class of its own
    vocab = AttributeVocab.build(rows)
    # pattern has one value (nothing to tell apart), shade's "dark" is seen once
    assert vocab.values == {"color": ["blue", "red"]}
    assert vocab.names == ["color"]
    np.testing.assert_array_equal(vocab.labels({"color": "red", "shade": "dark"}), [1])
    np.testing.assert_array_equal(vocab.labels({"color": "green"}), [-1])  # unknown: no label
    np.testing.assert_array_equal(vocab.labels({}), [-1])
    assert vocab.labels({}).dtype == np.int64


def test_heads_loss_uses_labelled_rows_only_and_learns():
    torch.manual_seed(0)
    vocab = AttributeVocab({"color": ["blue", "red"], "shade": ["", "dark", "light"]})
    heads = AttributeHeads(8, vocab)
    emb = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    labels = torch.tensor([[0, -1], [1, -1], [0, -1], [1, -1], [0, -1], [1, -1]])
    # shade has no label: the loss is colour's cross-entropy alone
    want = torch.nn.functional.cross_entropy(heads.scale * heads.heads[0](emb), labels[:, 0])
    torch.testing.assert_close(heads.loss(emb, labels), want)
    assert heads.loss(emb, torch.full((6, 2), -1)).item() == 0.0
    assert set(heads.accuracy(emb, labels)) == {"color"}

    opt = torch.optim.Adam(heads.parameters(), lr=0.05)
    first = heads.loss(emb, labels).item()
    for _ in range(50):
        opt.zero_grad()
        heads.loss(emb, labels).backward()
        opt.step()
    assert heads.loss(emb, labels).item() < 0.2 * first
    assert heads.accuracy(emb, labels) == {"color": pytest.approx(1.0)}
