import numpy as np
import pytest

from engine.types import Detections, Track, VideoInfo


def test_detections_fill_defaults_and_slice_with_a_mask():
    d = Detections(
        xyxy=[[0, 0, 10, 10], [5, 5, 25, 15], [1, 1, 2, 2]],
        confidence=[0.9, 0.3, 0.7],
        tracker_id=[1, 2, 3],
        data={"category": np.array(["top", "skirt", "coat"], dtype=object)},
    )
    assert d.class_id.tolist() == [-1, -1, -1]
    strong = d[d.confidence > 0.5]
    assert strong.tracker_id.tolist() == [1, 3]
    assert strong.data["category"].tolist() == ["top", "coat"]
    assert d.area.tolist() == [100.0, 200.0, 1.0]
    assert len(d[1]) == 1 and d[1].tracker_id[0] == 2


def test_detections_reject_columns_of_the_wrong_length():
    with pytest.raises(ValueError, match="confidence has 1 rows, expected 2"):
        Detections(xyxy=[[0, 0, 1, 1], [0, 0, 2, 2]], confidence=[0.5])
    with pytest.raises(ValueError, match=r"data\['category'\]"):
        Detections(xyxy=[[0, 0, 1, 1]], data={"category": np.array(["a", "b"])})


def test_track_sorts_boxes_by_frame():
    t = Track(track_id=4, boxes=[[9, 0, 0, 1, 1, 1], [2, 0, 0, 1, 1, 1]])
    assert t.frames.tolist() == [2, 9]
    assert (t.first_frame, t.last_frame) == (2, 9)


def test_video_info_converts_between_frames_and_seconds():
    info = VideoInfo(path="x", width=640, height=360, fps=25.0, frame_count=250)
    assert info.duration_s == 10.0
    assert info.frame_to_seconds(50) == 2.0
    assert info.seconds_to_frame(2.0) == 50
    assert info.seconds_to_frame(99.0) == 249
