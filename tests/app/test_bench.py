"""``video2shop bench``: the AsymNet and FAISS figures are measured and reported (numbers, not
judged here: floors are checked by whoever reads docs/bench/)."""

from __future__ import annotations

import json

import pytest

from app.bench import run
from app.cli import main
from engine.asymnet.model import DEFAULT_WEIGHTS

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")


def test_asymnet_and_faiss_figures(tmp_path):
    out = tmp_path / "bench.json"
    report = run(["asymnet", "faiss"], True, str(out), {"device": "cpu", "faiss_sizes": [3000]},
                 log=lambda m: None)
    saved = json.loads(out.read_text())
    assert saved["asymnet"]["rerank_100_ms"]["p95"] > 0
    assert saved["asymnet"]["model_version"].startswith("asymnet-")
    f = report["faiss"]["3000"]
    assert f["kind"] == "flat" and f["recall_at_10"] == 1.0
    assert f["query_ms_p95"] >= f["query_ms_p50"] > 0
    assert report["faiss"]["seed_images"] > 100 and report["faiss"]["offsets"] > 10


def test_unknown_benchmark_is_a_usage_error(capsys):
    assert main(["bench", "--only", "nope"]) == 2
    assert "valid: engine, asymnet, faiss" in capsys.readouterr().err
