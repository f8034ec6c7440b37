import json

import numpy as np
import pytest

from engine.annotations import AnnotationsError, load_annotations, parse_annotations

GOOD = {
    "video": {"fps": 25.0, "frame_count": 250, "width": 640, "height": 360},
    "tracks": [
        {
            "track_id": 1,
            "category": "dress",
            "product_id": "p123",
            "boxes": [[0, 10, 20, 110, 220, 0.9], [1, 12, 20, 112, 220, 0.8]],
            "matches": [{"product_id": "p123", "score": 0.93}, {"product_id": "p9", "score": 0.5}],
        },
        {"track_id": 2, "category": "jeans", "boxes": [[1, 300, 100, 360, 300, 0.7]]},
    ],
}


def test_round_trip_keeps_every_field(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(GOOD))
    ann = load_annotations(path)
    ann.save(tmp_path / "b.json")
    again = json.loads((tmp_path / "b.json").read_text())
    assert again["video"] == GOOD["video"]
    assert again["tracks"][0]["product_id"] == "p123"
    assert again["tracks"][0]["matches"][0] == {"product_id": "p123", "score": 0.93}
    assert again["tracks"][1]["boxes"] == [[1, 300, 100, 360, 300, 0.7]]
    assert "product_id" not in again["tracks"][1]


def test_index_returns_the_boxes_of_exactly_one_frame():
    idx = parse_annotations(GOOD).index()
    f0, f1, f2 = idx.detections_at(0), idx.detections_at(1), idx.detections_at(2)
    assert f0.tracker_id.tolist() == [1]
    assert sorted(f1.tracker_id.tolist()) == [1, 2]
    assert len(f2) == 0
    row = f1.tracker_id.tolist().index(2)
    np.testing.assert_allclose(f1.xyxy[row], [300, 100, 360, 300])
    assert f1.data["category"][row] == "jeans"
    assert idx.track(1).matches[0].product_id == "p123"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "top level must be an object"),
        ({"tracks": {}}, "'tracks' must be a list"),
        ({"tracks": [{"track_id": "a", "boxes": []}]}, "'track_id' must be an integer"),
        (
            {"tracks": [{"track_id": 1, "boxes": []}, {"track_id": 1, "boxes": []}]},
            "track_id 1 appears twice",
        ),
        # found by hypothesis on a fresh clone: an OverflowError in the index, not a message
        ({"tracks": [{"track_id": 2**63, "boxes": []}]}, "out of range"),
        ({"tracks": [{"track_id": 1, "boxes": [[0, 1, 2]]}]}, r"boxes\[0\] must be"),
        ({"tracks": [{"track_id": 1, "boxes": [[0, 10, 0, 5, 5, 1]]}]}, "x2 < x1"),
        ({"tracks": [{"track_id": 1, "boxes": [[-1, 0, 0, 5, 5, 1]]}]}, "frame must be"),
        (
            {"tracks": [{"track_id": 1, "boxes": [[0, 0, 0, 5, 5, 1], [0, 0, 0, 6, 6, 1]]}]},
            "frame 0 has two boxes",
        ),
        (
            {"tracks": [{"track_id": 1, "boxes": [], "matches": [{"score": 1}]}]},
            "needs a string 'product_id'",
        ),
        # found by the 20,000-example hypothesis run: a TypeError, not a message, before
        ({"tracks": [{"track_id": 1, "boxes": [], "matches": 1.0}]}, "'matches' must be a list"),
    ],
)
def test_bad_annotations_name_the_problem(raw, message):
    with pytest.raises(AnnotationsError, match=message):
        parse_annotations(raw)


def test_a_broken_file_says_where(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"tracks": [\n  {"track_id": 1,,}\n]}')
    with pytest.raises(AnnotationsError, match="line 2"):
        load_annotations(path)
    with pytest.raises(AnnotationsError, match="not found"):
        load_annotations(tmp_path / "nope.json")
