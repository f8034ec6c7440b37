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


def test_a_snapshot_takes_one_tracks_results_and_its_boxes_say_the_new_score():
    from engine.types import AnnotationIndex, Evidence, Match, Snapshot, Track, TrackResult

    a = Track(1, [[0, 0, 0, 10, 10, 0.9], [1, 0, 0, 10, 10, 0.9]], "top")
    b = Track(2, [[1, 5, 5, 20, 20, 0.8]], "skirt", matches=[Match("p9", 0.3)])
    tracks = [a, b]
    snap = Snapshot(AnnotationIndex(tracks), tracks, [(0, 2)], 2, {2: []}, True, 1)
    assert np.isnan(snap.index.detections_at(0).data["match_score"][0])
    crop = np.zeros((80, 64, 3), np.uint8)
    applied = snap.apply({1: TrackResult("k1", [Match("p1", 0.7)], [Evidence(1, 0.5, crop)]),
                          2: TrackResult("k2", [], []),
                          7: TrackResult("k7", [Match("p7", 0.1)])})  # not in it: waits
    assert applied == [1, 2]
    assert snap.index.track(1).matches == [Match("p1", 0.7)] and a.matches == [Match("p1", 0.7)]
    assert snap.index.track(2).matches == []
    assert snap.matched == 1 and list(snap.evidence) == [1]
    assert snap.index.detections_at(0).data["match_score"].tolist() == [0.7]
    scores = snap.index.detections_at(1).data["match_score"]
    assert scores[0] == 0.7 and np.isnan(scores[1])
    assert not snap.index.set_matches(7, [])
    assert snap.apply({}) == [] and snap.matched == 1
