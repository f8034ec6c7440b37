"""``video2shop catalog import|info|search`` on a real catalogue."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from engine.asymnet.model import DEFAULT_WEIGHTS


def test_import_info_and_search_find_a_products_own_image(tiny_benchmark, tmp_path, capsys):
    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("AsymNet weights are not in resources/models")
    data, card = tiny_benchmark
    cat = tmp_path / "cat"
    report = tmp_path / "report.json"
    assert main(["catalog", "import", str(data), "--catalog", str(cat), "--report",
                 str(report), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"imported {card['counts']['products']} products" in out and "index: flat" in out
    assert json.loads(report.read_text())["skipped"] == []
    assert main(["catalog", "info", "--catalog", str(cat), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["products"] == card["counts"]["products"]
    assert info["index"]["kind"] == "flat" and info["index"]["model_version"].startswith("asym")
    products = [json.loads(x) for x in (data / "catalog" / "products.jsonl").read_text()
                .splitlines()]
    for p in products[:5]:
        assert main(["catalog", "search", str(data / "catalog" / p["image"]), "--catalog",
                     str(cat), "-k", "3", "--device", "cpu"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 3 and lines[0].split()[1] == p["id"], lines


def test_catalog_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["catalog", "info", "--catalog", str(tmp_path / "none")]) == 2
    assert "no catalogue" in capsys.readouterr().err
    assert main(["catalog", "import", str(tmp_path / "missing.jsonl"), "--catalog",
                 str(tmp_path / "c")]) == 2
    assert "not a file" in capsys.readouterr().err
    assert main(["catalog", "search", str(tmp_path / "nope.jpg"), "--catalog",
                 str(tmp_path / "c")]) == 2
    assert "not an image" in capsys.readouterr().err


def test_a_catalogue_imported_onto_milvus_keeps_it_for_search_and_info(tiny_benchmark,
                                                                        tmp_path, capsys,
                                                                        monkeypatch):
    """`catalog import --index milvus`: Milvus Lite in the catalogue directory, the choice
    kept for `catalog search` (and the player, analyze), and said by `catalog info`."""
    pytest.importorskip("pymilvus", reason="the scale extra is not installed")
    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("AsymNet weights are not in resources/models")
    monkeypatch.delenv("MILVUS_URI", raising=False)
    data, _ = tiny_benchmark
    cat = tmp_path / "cat"
    assert main(["catalog", "import", str(data), "--catalog", str(cat), "--index", "milvus",
                 "--device", "cpu"]) == 0
    assert f"index: flat on Milvus ({cat / 'milvus.db'})" in capsys.readouterr().out
    assert main(["catalog", "info", "--catalog", str(cat), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == "milvus" and info["index"] is None
    p = json.loads((data / "catalog" / "products.jsonl").read_text().splitlines()[3])
    assert main(["catalog", "search", str(data / "catalog" / p["image"]), "--catalog",
                 str(cat), "-k", "3", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].split()[1] == p["id"]
    assert "building" not in captured.err  # the Milvus index was used, not rebuilt
    assert main(["catalog", "import", str(data), "--catalog", str(cat), "--index", "elastic",
                 "--device", "cpu"]) == 2
    assert "unknown index 'elastic'" in capsys.readouterr().err
