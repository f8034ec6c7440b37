"""The index's rules that the mutation check found unread: the metric of every kind, the IVF's
cells and training sample, the size limit of an exact index, search parameters taken from the
sidecar, the sidecar's timings and messages, and a catalogue of one image."""

from __future__ import annotations

import json
import time

import faiss
import numpy as np
import pytest

from engine.catalog.index import FLAT_MAX, IndexStale, VectorIndex, build_faiss, choose_kind


def unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_an_exact_index_holds_up_to_flat_max_vectors():
    """docs: exact inner product "up to FLAT_MAX vectors", the IVF above."""
    assert FLAT_MAX == 50_000
    assert choose_kind(FLAT_MAX) == "flat"
    assert choose_kind(FLAT_MAX + 1) == "ivf_sq8"


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf", "ivf_sq8"])
def test_every_kind_scores_by_inner_product(kind):
    """Cosine on unit vectors: a vector's score against itself is 1 (an L2 index would say 0),
    and a closer vector scores higher."""
    x = unit(300)
    index, _, _ = build_faiss(x, np.arange(300), kind)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    if kind.startswith("ivf"):
        assert faiss.extract_index_ivf(index).metric_type == faiss.METRIC_INNER_PRODUCT
    scores, ids = index.search(x[:5], 3)
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=0.02)  # 8-bit codes: about 1
    assert np.all(scores[:, 0] >= scores[:, 1])


def test_ivf_sq8_stores_8_bit_codes():
    index, _, _ = build_faiss(unit(200), np.arange(200), "ivf_sq8")
    sq = faiss.downcast_index(index)
    assert isinstance(sq, faiss.IndexIVFScalarQuantizer)
    assert sq.sq.qtype == faiss.ScalarQuantizer.QT_8bit
    assert sq.code_size == 16  # one byte a dimension: a quarter of float32


def test_an_ivf_index_of_one_vector_has_one_cell_and_finds_it():
    """A catalogue of a single image asked for an IVF index: one cell (k-means cannot make
    more cells than vectors), and the one product is found."""
    x = unit(1)
    for kind in ("ivf", "ivf_sq8"):
        index, _, params = build_faiss(x, np.array([42]), kind)
        assert params == {"nlist": 1, "nprobe": 32}
        assert faiss.extract_index_ivf(index).nlist == 1
        _, ids = index.search(x, 1)
        assert ids.tolist() == [[42]]


def test_ivf_cells_are_trained_on_a_fixed_sample_of_40_vectors_a_cell():
    """k-means over at most 40 vectors a cell, drawn with a fixed seed: the same catalogue gives
    the same index every time it is rebuilt (the rule written out)."""
    x = unit(200, dim=8)
    index, _, params = build_faiss(x, np.arange(200), "ivf", {"nlist": 2})
    assert params == {"nlist": 2, "nprobe": 32}
    sample = x[np.random.default_rng(0).permutation(200)[:80]]
    ref = faiss.IndexIVFFlat(faiss.IndexFlatIP(8), 8, 2, faiss.METRIC_INNER_PRODUCT)
    ref.train(sample)
    got = faiss.extract_index_ivf(index).quantizer.reconstruct_n(0, 2)
    np.testing.assert_array_equal(got, ref.quantizer.reconstruct_n(0, 2))
    again, _, _ = build_faiss(x, np.arange(200), "ivf", {"nlist": 2})
    np.testing.assert_array_equal(faiss.extract_index_ivf(again).quantizer.reconstruct_n(0, 2),
                                  got)


def test_float64_and_list_input_give_the_same_index_as_float32():
    x = unit(50)
    ids = np.arange(50) * 2 + 1
    want = VectorIndex.build(x, ids, model_version="m", fingerprint="f")
    for vectors, rows in ((x.astype(np.float64), ids.astype(np.int32)),
                          (x.tolist(), ids.tolist())):
        got = VectorIndex.build(np.asarray(vectors), np.asarray(rows), model_version="m",
                                fingerprint="f")
        for q in (x[:3], x[:3].astype(np.float64), x[:3].tolist()):
            s, i = got.search(np.asarray(q), 4)
            ws, wi = want.search(x[:3], 4)
            np.testing.assert_array_equal(i, wi)
            np.testing.assert_array_equal(s, ws)
            assert s.dtype == np.float32 and i.dtype == np.int64


def test_search_on_an_index_of_one_vector_answers_one_result():
    index = VectorIndex.build(unit(1), np.array([7]), model_version="m", fingerprint="f")
    scores, ids = index.search(unit(1), 10)
    assert ids.tolist() == [[7]] and scores.shape == (1, 1)


@pytest.mark.parametrize(("kind", "asked", "file_value"), [("hnsw", {"ef_search": 40}, 200),
                                                           ("ivf", {"nprobe": 5}, 9),
                                                           ("ivf_sq8", {"nprobe": 5}, 9)])
def test_search_parameters_come_from_the_sidecar(tmp_path, kind, asked, file_value):
    """The sidecar's parameters win over those FAISS saved in the index file (a sidecar tuned by
    hand is obeyed); without them, the documented defaults (efSearch 96, 32 cells probed)."""
    x = unit(400)
    key = next(iter(asked))
    VectorIndex.build(x, np.arange(400), model_version="m", fingerprint="f", kind=kind,
                      params={key: file_value}).save(tmp_path)

    def loaded(params):
        side = json.loads((tmp_path / "index.json").read_text())
        (tmp_path / "index.json").write_text(json.dumps(side | {"params": params}))
        index = VectorIndex.load(tmp_path, model_version="m", fingerprint="f").index
        if kind == "hnsw":
            return faiss.downcast_index(index.index).hnsw.efSearch
        return faiss.extract_index_ivf(index).nprobe

    assert loaded({key: file_value}) == file_value
    assert loaded(asked) == asked[key]
    assert loaded({}) == (96 if kind == "hnsw" else 32)


def test_the_sidecar_says_when_and_how_long_the_build_took(tmp_path):
    x = unit(1000, dim=32)
    t0, m0 = time.time(), time.monotonic()
    index = VectorIndex.build(x, np.arange(1000), model_version="m", fingerprint="f",
                              kind="hnsw")
    t1, elapsed = time.time(), time.monotonic() - m0
    side = index.sidecar
    assert t0 <= side.built <= t1
    assert isinstance(side.build_seconds, float)
    assert 0.01 <= side.build_seconds <= elapsed + 0.01
    assert side.build_seconds == round(side.build_seconds, 2)  # hundredths of a second
    index.save(tmp_path)
    text = (tmp_path / "index.json").read_text()
    assert '\n "kind": "hnsw",\n' in text  # one key a line, for a person to read
    assert json.loads(text)["build_seconds"] == side.build_seconds
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.faiss", "index.json"]


def test_unreadable_index_files_are_named_with_the_reason(tmp_path):
    x = unit(20)
    VectorIndex.build(x, np.arange(20), model_version="m", fingerprint="f").save(tmp_path)
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m", fingerprint="g")
    assert str(err.value) == "the catalogue changed since the index was built: rebuilding"
    side_text = (tmp_path / "index.json").read_text()
    (tmp_path / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m", fingerprint="f")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'index.faiss'} is unreadable (Error in ")
    assert message.endswith('Index type 0x62726167 ("garb") not recognized): rebuilding')
    assert "\n" not in message  # FAISS's first line only
    (tmp_path / "index.json").write_text(side_text[:1])
    with pytest.raises(IndexStale) as err:
        VectorIndex.load(tmp_path, model_version="m", fingerprint="f")
    assert str(err.value) == (f"the index sidecar {tmp_path / 'index.json'} is unreadable "
                              "(Expecting property name enclosed in double quotes: line 1 "
                              "column 2 (char 1)): rebuilding")
