"""scripts/detected_card_losses.py, the diagnosis behind docs/asymnet.md's "Where the detected
card is lost": run for real on a clip of the tiny benchmark, its accounting adds up."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "detected_card_losses.py"


def _script():
    spec = importlib.util.spec_from_file_location("detected_card_losses", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_garment_is_covered_or_counted_as_not(tiny_benchmark, tmp_path, monkeypatch,
                                                     capsys):
    data, _ = tiny_benchmark
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "argv", ["detected_card_losses.py", str(data), "--clips", "1"])
    _script().main()
    out = capsys.readouterr().out
    total, gt, det = map(int, re.search(r"(\d+) garments; the card right for (\d+) with "
                                        r"ground-truth trajectories, (\d+) with detected",
                                        out).groups())
    uncovered = int(re.search(r"no track covers (\d+)", out).group(1))
    groups = {name: int(n) for name, n in re.findall(
        r"^(right both ways|right with ground truth only|right with the detected track only|"
        r"wrong both): (\d+);", out, re.M)}
    assert total >= 3 and uncovered < total, out
    assert uncovered + sum(groups.values()) == total, out
    assert groups.get("right both ways", 0) + groups.get("right with the detected track only",
                                                          0) == det, out
    # the ground-truth card's hits: those of the covered garments, plus any uncovered
    assert groups.get("right both ways", 0) + groups.get("right with ground truth only",
                                                          0) <= gt, out
    for line in re.findall(r"mean IoU ([\d.]+), frames held ([\d.]+)", out):
        iou, held = map(float, line)
        assert 0 < iou <= 1 and 0 < held <= 1, out


def test_the_report_sorts_garments_by_which_way_the_card_is_right(capsys):
    rows = [{"category": "top", "gt": True, "det": True, "iou": 0.8, "share": 0.9, "tracks": 1,
             "det_category": "top", "same_group": True},
            {"category": "dress", "gt": True, "det": False, "iou": 0.6, "share": 0.5,
             "tracks": 2, "det_category": "top", "same_group": False},
            {"category": "shorts", "gt": False}]
    _script().report(rows)
    out = capsys.readouterr().out
    assert "3 garments; the card right for 2 with ground-truth trajectories, 1 with detected" \
        in out
    assert "no track covers 1 (the ground-truth card right for 0): {'shorts': 1}" in out
    assert "right with ground truth only: 1; mean IoU 0.60, frames held 0.50, tracks " \
           "covering 2.00, category of another group 1" in out
    assert "{('dress', 'top'): 1}" in out
