"""Every subcommand's bad input: exit status 2 and one line on stderr that says what was wrong
(and what to do), never a traceback. In-process through app.cli.main."""

from __future__ import annotations

import pytest

from app.cli import main


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("video2shop:"), err
    return lines[0]


@pytest.mark.parametrize(("argv", "says"), [
    (["analyze", "no/such/clip.mp4"], "no/such/clip.mp4"),
    (["eval", "--task", "tracking"], "needs --data"),
    (["eval", "--task", "real", "--labels", "no/such/labels.json"], "labels file not found"),
    (["eval", "--task", "real-match", "--labels", "no/such/labels.json"],
     "labels file not found"),
    (["eval", "--task", "real", "--distractors", "x"], "--distractors works with --task matching"),
    (["bench", "--only", "nope"], "unknown benchmark 'nope'"),
])
def test_bad_input_is_one_line_and_status_2(capsys, argv, says):
    assert main(argv) == 2
    assert says in _one_line(capsys)


def test_an_unknown_detector_lists_the_valid_ones(capsys, marker_clip, tmp_path):
    assert main(["analyze", str(marker_clip[0]), "--detector", "nope",
                 "--out", str(tmp_path / "a.json")]) == 2
    line = _one_line(capsys)
    assert "unknown detector 'nope'" in line
    assert "auto, garment, people, person-layout, onnx:PATH" in line
    assert not (tmp_path / "a.json").exists()


def test_a_bad_value_is_argparse_s_status_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "x.mp4", "--stride", "0"])
    assert exit_.value.code == 2
    assert "stride" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-0.5", "inf", "nan", "much"])
def test_a_bad_attribute_weight_is_refused_before_any_work(capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "asymnet", "--data", "no/such/set", "--attributes", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--attributes" in err and "expected a number" in err
