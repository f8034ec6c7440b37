"""The tracker on ground-truth detections (real clips, real boxes), and on made-up motion."""

import motmetrics as mm
import numpy as np
import pytest

from engine.annotations import Annotations
from engine.track import GarmentTracker, ShotCutDetector
from engine.train.data import boxes_by_frame, load_split
from engine.train.eval_tracking import score_clip
from engine.types import Detections
from engine.video import iter_frames


def detections_from_truth(rows, rng, jitter=2.0, min_visible=0.3):
    rows = [r for r in rows if r[2][5] >= min_visible]
    xyxy = np.array([r[2][1:5] for r in rows], np.float32).reshape(-1, 4)
    xyxy += rng.normal(0, jitter, xyxy.shape).astype(np.float32)
    return Detections(xyxy=xyxy, confidence=np.full(len(rows), 0.9, np.float32),
                      data={"category": np.array([r[1] for r in rows], dtype=object)})


def track_clip(clip, stride, rng):
    by_frame = boxes_by_frame(clip.truth)
    tracker = GarmentTracker(25.0)
    cuts = ShotCutDetector()
    tracks = []
    for fi, frame in iter_frames(clip.video):
        if cuts.is_cut(frame) and fi > 0:
            tracks += tracker.finish()
        if fi % stride == 0:
            tracker.update(fi, detections_from_truth(by_frame.get(fi, []), rng), frame)
        else:
            tracker.coast(fi)
    tracks += tracker.finish()
    return Annotations(video=clip.truth.video, tracks=tracks)


@pytest.mark.parametrize("stride", [1, 3])
def test_tracking_perfect_detections_keeps_identities(tiny_benchmark, stride):
    data, _ = tiny_benchmark
    rng = np.random.default_rng(0)
    tp = fn = 0
    accs = []
    for clip in load_split(data, "all"):
        pred = track_clip(clip, stride, rng)
        s = score_clip(clip.truth, pred, int(clip.truth.video["frame_count"]))
        tp, fn = tp + s["tp"], fn + s["fn"]
        accs.append(s["acc"])
    summary = mm.metrics.create().compute_many(accs, metrics=["idf1", "num_switches"],
                                               generate_overall=True)
    assert tp / (tp + fn) > 0.9
    # two small dresses crossing, one hidden behind the other, may swap: hence not 1.0
    assert summary.loc["OVERALL", "idf1"] > 0.9


def moving(frames, gone=()):
    """One box moving right 3 px a frame, absent on the frames in ``gone``."""
    for f in range(frames):
        if f in gone:
            yield f, Detections.empty()
        else:
            x = 50 + 3 * f
            yield f, Detections(xyxy=[[x, 100, x + 40, 180]], confidence=[0.9],
                                data={"category": np.array(["dress"], dtype=object)})


def ids_seen(tracker, stream):
    seen = []
    for f, dets in stream:
        seen += [(f, b.track_id) for b in tracker.update(f, dets) if b.detected]
    tracker.finish()
    return seen


def test_a_garment_hidden_for_under_a_second_keeps_its_id():
    seen = ids_seen(GarmentTracker(25.0), moving(80, gone=range(30, 52)))  # 0.88 s
    assert {tid for _, tid in seen} == {1}
    assert any(f >= 52 for f, _ in seen)


def test_a_garment_hidden_too_long_gets_a_new_id():
    seen = ids_seen(GarmentTracker(25.0, max_lost_s=0.5, memory_s=0.5),
                    moving(80, gone=range(30, 60)))
    assert {tid for _, tid in seen} == {1, 2}


def test_a_garment_out_of_sight_for_seconds_is_found_again_with_a_hole_in_its_trajectory():
    """Hidden 1.2 s (more than max_lost, less than memory): the same trajectory, without
    boxes on the frames it was out of sight (none over whatever hid it), and its boxes not
    shown while it was."""
    t = GarmentTracker(25.0)  # lost 1 s, remembered 3 s
    shown = []
    for f, dets in moving(100, gone=range(30, 60)):
        shown += [(f, b.track_id) for b in t.update(f, dets)]
    assert {tid for _, tid in shown} == {1}
    assert not [f for f, _ in shown if 30 + 12 < f < 60]  # half the lost time at most
    (track,) = t.finish()
    assert track.frames.tolist() == [*range(30), *range(60, 100)]
    np.testing.assert_allclose(track.boxes[:, 1], 50 + 3 * track.frames, atol=1e-3)


def test_memory_ends_a_track_out_of_sight_for_longer():
    t = GarmentTracker(25.0, memory_s=2.0)  # 50 frames
    for f, dets in moving(100, gone=range(30, 81)):  # out of sight 51 frames
        t.update(f, dets)
    assert [len(tr.boxes) for tr in t.finish()] == [30, 19]


def test_finished_tracks_hold_a_box_on_every_frame_between_detections():
    tracker = GarmentTracker(25.0)
    for f, dets in moving(30):
        if f % 3 == 0:
            tracker.update(f, dets)
        else:
            tracker.coast(f)
    (track,) = tracker.finish()
    assert track.frames.tolist() == list(range(0, 28))  # up to the last detection
    x1 = track.boxes[:, 1]
    # between detections the boxes are interpolated: they follow the motion exactly
    assert np.abs(x1 - (50 + 3 * track.frames)).max() < 1e-3


def test_trackers_are_independent_and_reset_restarts_ids():
    a, b = GarmentTracker(25.0), GarmentTracker(25.0)
    ids_a = ids_seen(a, moving(10))
    ids_b = ids_seen(b, moving(10))
    assert {t for _, t in ids_a} == {t for _, t in ids_b} == {1}
    a.reset()
    assert {t for _, t in ids_seen(a, moving(10))} == {1}


def test_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="fps"):
        GarmentTracker(0)
    with pytest.raises(ValueError, match="low_score"):
        GarmentTracker(25, low_score=0.8, high_score=0.5)


def test_cuts_are_found_where_shots_change_and_nowhere_else(tiny_benchmark):
    """The tiny clips are one shot each (pans, zooms, light drift, people walking): played
    back to back, the only cuts are where one clip ends and the next begins."""
    data, _ = tiny_benchmark
    cuts = ShotCutDetector()
    found, boundaries, offset = [], [], 0
    for clip in load_split(data, "all"):
        boundaries.append(offset)
        for fi, frame in iter_frames(clip.video):
            if cuts.is_cut(frame):
                found.append(offset + fi)
        offset += int(clip.truth.video["frame_count"])
    assert found == boundaries[1:]


def one(box, score=0.9, category="dress"):
    return Detections(xyxy=[box], confidence=[score],
                      data={"category": np.array([category], dtype=object)})


def test_weak_detections_continue_a_track_but_never_start_one():
    t = GarmentTracker(25.0, min_track_frames=1)  # high 0.35, low 0.2
    assert t.update(0, one([0, 0, 40, 80], 0.3)) == []  # weak: no track
    assert t.update(1, one([0, 0, 40, 80], 0.9)) == []  # starts a tentative track
    (b,) = t.update(2, one([1, 0, 41, 80], 0.9))  # confirmed at its second hit
    assert b.track_id == 1 and b.detected and b.score == pytest.approx(0.9)
    (b,) = t.update(3, one([2, 0, 42, 80], 0.25))  # weak, overlapping: it continues
    assert b.track_id == 1 and b.detected and b.score == pytest.approx(0.25)
    (b,) = t.update(4, one([3, 0, 43, 80], 0.1))  # under low_score: ignored, the track coasts
    assert b.track_id == 1 and not b.detected
    (track,) = t.finish()
    assert track.frames.tolist() == [1, 2, 3]  # up to its last detection, the weak one


def test_a_track_seen_once_is_forgotten_after_two_empty_frames():
    t = GarmentTracker(25.0, min_track_frames=1)
    t.update(10, one([0, 0, 40, 80]))
    t.update(11, Detections.empty())
    t.update(12, Detections.empty())
    assert len(t._tracks) == 1  # tentative, two frames without it: still waiting
    t.update(13, Detections.empty())
    assert t._tracks == [] and t.finish() == []  # never confirmed: no trajectory


def test_short_trajectories_are_dropped_and_long_enough_ones_kept():
    for frames, kept in ((4, 0), (5, 1)):
        t = GarmentTracker(25.0, min_track_frames=5)
        for f in range(frames):
            t.update(f, one([3 * f, 0, 3 * f + 40, 80]))
        assert len(t.finish()) == kept, frames


def test_boxes_stop_showing_after_half_the_lost_time_and_the_track_ends_after_all_of_it():
    t = GarmentTracker(25.0, max_lost_s=0.4)  # 10 frames lost at most, shown for 5
    for f in range(6):
        t.update(f, one([0, 0, 40, 80]))
    shown = {f: bool(t.coast(f)) for f in range(6, 20)}
    assert [f for f, s in shown.items() if s] == list(range(6, 11))  # 5 frames after frame 5
    (track,) = t.finish()
    assert track.frames.max() == 5  # trajectories end at their last detection


def test_two_garments_of_other_categories_in_the_same_place_get_their_own_tracks():
    t = GarmentTracker(25.0)
    for f in range(6):
        dets = Detections(xyxy=[[0, 0, 40, 80], [200, 0, 240, 80]], confidence=[0.9, 0.9],
                          data={"category": np.array(["dress", "coat"], dtype=object)})
        boxes = t.update(f, dets)
    assert sorted((b.track_id, b.category) for b in boxes) == [(1, "dress"), (2, "coat")]
    tracks = {tr.track_id: tr for tr in t.finish()}
    assert tracks[1].category == "dress" and tracks[2].category == "coat"
    np.testing.assert_allclose(tracks[2].boxes[:, 1:5], [[200, 0, 240, 80]] * 6)


def test_snapshot_hands_finished_tracks_over_once_and_shows_active_ones():
    t = GarmentTracker(25.0, max_lost_s=0.2, memory_s=0.2)  # 5 frames
    for f in range(6):
        t.update(f, one([0, 0, 40, 80]))
    done, active = t.snapshot()
    assert done == [] and [a.track_id for a in active] == [1]
    assert active[0].frames.tolist() == list(range(6))
    for f in range(6, 13):
        t.update(f, Detections.empty())
    done, active = t.snapshot()
    assert [d.track_id for d in done] == [1] and active == []
    assert t.snapshot() == ([], []) and t.finish() == []


def test_reset_keeps_the_settings():
    t = GarmentTracker(30.0, high_score=0.6, low_score=0.3, max_lost_s=0.5, min_hits=3,
                       appearance_weight=0.2, category_penalty=0.4, min_track_frames=7,
                       memory_s=2.0)
    t.update(0, one([0, 0, 40, 80]))
    t.reset()
    assert (t.fps, t.high_score, t.low_score, t.max_lost, t.min_hits, t.appearance_weight,
            t.category_penalty, t.min_track_frames, t.memory) == (30.0, 0.6, 0.3, 15, 3, 0.2,
                                                                  0.4, 7, 60)
    assert t._tracks == [] and t._next_id == 1


def test_more_bad_settings_name_the_value():
    with pytest.raises(ValueError, match="max_lost_s"):
        GarmentTracker(25, max_lost_s=-1)
    with pytest.raises(ValueError, match="memory_s"):
        GarmentTracker(25, memory_s=-1)
    with pytest.raises(ValueError, match="low_score"):
        GarmentTracker(25, low_score=-0.1)
    with pytest.raises(ValueError, match="high_score"):
        GarmentTracker(25, high_score=1.5)
    GarmentTracker(25, low_score=0.5, high_score=0.5)  # equal is allowed


def test_coasted_boxes_are_the_motion_models_with_the_tracks_id_and_category():
    t = GarmentTracker(25.0, max_lost_s=0.4)
    for f in range(4):
        t.update(f, one([10 * f, 0, 10 * f + 40, 80], 0.8, "coat"))
    (b,) = t.coast(4)
    track = t._tracks[0]
    assert (b.track_id, b.category, b.detected) == (1, "coat", False)
    np.testing.assert_allclose(b.box, track.box())
    assert 30 < b.box[0] < 45  # moving on at about 10 px a frame
    assert b.score == pytest.approx(0.9 * 0.8) == track.history[4][1]


def test_skipped_frames_are_interpolated_between_the_detections_around_them():
    """Detections on frames 0, 4, 6 and 12, at jumps a motion model would not follow and with
    other scores: each skipped frame lies on the line between its two neighbours, scored 0.95
    of the lower of theirs."""
    t = GarmentTracker(25.0, min_track_frames=1, max_lost_s=1.0)
    seen = {0: (0.0, 0.9), 4: (40.0, 0.6), 6: (20.0, 0.8), 12: (80.0, 0.7)}
    for f in range(13):
        if f in seen:
            x, s = seen[f]
            t.update(f, one([x, 10, x + 200, 90], s))  # wide: the jumps keep overlapping
        else:
            t.coast(f)
    (track,) = t.finish()
    assert track.frames.tolist() == list(range(13))
    expect_x = np.interp(range(13), list(seen), [x for x, _ in seen.values()])
    np.testing.assert_allclose(track.boxes[:, 1], expect_x, atol=1e-6)
    np.testing.assert_allclose(track.boxes[:, 2], 10, atol=1e-6)
    np.testing.assert_allclose(track.boxes[:, 3], expect_x + 200, atol=1e-6)
    scores = dict(zip(track.frames.tolist(), track.boxes[:, 5].tolist(), strict=True))
    assert [scores[f] for f in seen] == pytest.approx([s for _, s in seen.values()])
    assert scores[2] == pytest.approx(0.95 * 0.6) and scores[5] == pytest.approx(0.95 * 0.6)
    assert scores[9] == pytest.approx(0.95 * 0.7)


def wide(x, score=0.9, category="dress"):
    """400 x 40: moved 90 px it still overlaps its old place (IoU 0.63) while its centre is
    2.25 heights away, so only the recent tracks' gate (IoU) can take it."""
    return one([x, 100, x + 400, 140], score, category)


@pytest.mark.parametrize(("max_lost_s", "gap", "same"), [
    (1.0, 5, True),  # 25 frames lost at most: recent for 25 // 5 = 5 frames
    (1.0, 6, False),
    (0.4, 2, True),  # 10 frames: 10 // 5 = 2, and never under 2
    (0.4, 3, False),
])
def test_a_track_is_recent_for_a_fifth_of_its_lost_time_and_at_least_two_frames(
        max_lost_s, gap, same):
    t = GarmentTracker(25.0, max_lost_s=max_lost_s)
    for f in range(4):
        t.update(f, wide(0))
    for f in range(4, 3 + gap):
        t.update(f, Detections.empty())
    boxes = t.update(3 + gap, wide(90))  # a jump only the IoU gate accepts
    ids = {b.track_id for b in boxes if b.detected}
    assert ids == ({1} if same else set()), (gap, boxes)  # a new track is tentative: unseen


def test_the_score_thresholds_are_inclusive():
    t = GarmentTracker(25.0, high_score=0.5, low_score=0.3, min_track_frames=1)
    t.update(0, one([0, 0, 40, 80], 0.5))  # exactly high: starts a track
    (b,) = t.update(1, one([0, 0, 40, 80], 0.5))
    assert b.track_id == 1 and b.detected
    (b,) = t.update(2, one([0, 0, 40, 80], 0.3))  # exactly low: continues it
    assert b.detected and b.score == pytest.approx(0.3)
    u = GarmentTracker(25.0, high_score=0.5, low_score=0.3)
    u.update(0, one([0, 0, 40, 80], 0.4999))  # just under high: starts nothing
    assert u._tracks == []


def test_a_weak_detection_only_continues_a_track_it_overlaps_by_half():
    for x, kept in ((10, True), (27, False)):  # IoU 0.6 and 0.19 with a 40 px wide box
        t = GarmentTracker(25.0)
        for f in range(3):
            t.update(f, one([0, 0, 40, 80]))
        (b,) = t.update(3, one([x, 0, x + 40, 80], 0.25))
        assert b.detected is kept, x


def test_another_category_costs_enough_to_refuse_a_barely_overlapping_box():
    """IoU 0.06 and no colours: cost 0.65 * 0.94 + 0.35 * 0.25 = 0.70 with the same category
    (under the limit, 0.8), 0.85 with another (over it)."""
    for category, same in (("dress", True), ("coat", False)):
        t = GarmentTracker(25.0)
        for f in range(3):
            t.update(f, one([0, 0, 100, 80]))
        x = 100 - 0.06 * 2 * 100 / 1.06  # overlap w: 80 w / (16000 - 80 w) = 0.06
        boxes = t.update(3, one([x, 0, x + 100, 80], 0.9, category))
        assert any(b.track_id == 1 and b.detected for b in boxes) is same, category


def test_without_a_category_column_tracks_have_an_empty_category():
    t = GarmentTracker(25.0)
    for f in range(6):
        t.update(f, Detections(xyxy=[[0, 0, 40, 80]], confidence=[0.9]))
    (track,) = t.finish()
    assert track.category == ""


def test_colour_tells_a_returning_garment_from_another_in_its_place():
    """A red coat lost for 12 frames (no longer recent) comes back where it was: red, it keeps
    its id; blue, it is someone else's."""
    red, blue = np.zeros((200, 300, 3), np.uint8), np.zeros((200, 300, 3), np.uint8)
    red[:] = (0, 0, 255)
    blue[:] = (255, 0, 0)
    for colour, same in ((red, True), (blue, False)):
        t = GarmentTracker(25.0)
        for f in range(4):
            t.update(f, one([50, 50, 110, 170]), red)
        for f in range(4, 16):
            t.update(f, Detections.empty(), red)
        boxes = t.update(16, one([52, 50, 112, 170]), colour)
        assert any(b.track_id == 1 and b.detected for b in boxes) is same
    # frames with and without pictures mix: a missing picture gives a neutral colour
    t.update(17, one([52, 50, 112, 170]))
    t.update(18, one([52, 50, 112, 170]), red)


def test_a_tracker_goes_on_after_finish_with_new_ids():
    t = GarmentTracker(25.0)
    for f in range(6):
        t.update(f, one([0, 0, 40, 80]))
    assert [tr.track_id for tr in t.finish()] == [1]
    for f in range(6, 12):  # the next shot
        t.update(f, one([0, 0, 40, 80]))
    t.coast(12)
    assert [tr.track_id for tr in t.finish()] == [2]


def test_the_defaults_are_the_tuned_ones():
    """docs/detection.md's tracker settings: a change must be deliberate (and measured)."""
    t = GarmentTracker()
    assert (t.fps, t.high_score, t.low_score, t.max_lost, t.min_hits, t.appearance_weight,
            t.category_penalty, t.min_track_frames) == (25.0, 0.35, 0.2, 25, 2, 0.35, 0.15, 5)
    # the edges of the valid settings are valid
    GarmentTracker(0.5, low_score=0.0, high_score=1.0, max_lost_s=0.0)


def test_the_association_cost_is_motion_colour_and_category_under_their_gates():
    from engine.geometry import iou_matrix
    from engine.track.matching import INF, appearance_distance, center_distance
    from engine.track.track import GarmentTrack

    e = np.eye(128, dtype=np.float32)
    none = np.zeros(128, np.float32)
    t = GarmentTracker(25.0)
    tracks = [GarmentTrack(1, 0, np.array([0.0, 0, 100, 100]), 0.9, "dress", e[0]),
              GarmentTrack(2, 0, np.array([300.0, 0, 400, 100]), 0.9, "coat", e[0]),
              GarmentTrack(3, 0, np.array([600.0, 0, 700, 100]), 0.9, "dress", none)]
    recent = np.array([True, False, True])
    boxes = np.array([tr.box() for tr in tracks])
    det = np.array([[10.0, 0, 110, 100], [350, 0, 450, 100], [320, 0, 420, 100],
                    [640, 0, 740, 100], [500, 0, 600, 100]])
    feats = np.stack([e[0], e[1], e[0], none, e[0]])
    cats = np.array(["dress", "coat", "coat", "skirt", "coat"], dtype=object)
    cost = t._cost(tracks, boxes, recent, det, feats, cats)

    iou = iou_matrix(boxes, det)
    app = appearance_distance(np.stack([tr.feature for tr in tracks]), feats)
    app[2, :] = 0.25  # a track without colours: neutral
    app[:, 3] = 0.25  # a detection without colours: neutral
    dist = center_distance(boxes, det)
    other = np.array([[tr.category != c for c in cats] for tr in tracks])
    expect = np.full((3, 5), INF)
    for i in range(3):
        for j in range(5):
            motion = 1 - iou[i, j] if recent[i] else min(dist[i, j] / 2, 1.0)
            gate = iou[i, j] > 0.05 if recent[i] else dist[i, j] < 2 and app[i, j] < 0.35
            if gate:
                expect[i, j] = 0.65 * motion + 0.35 * app[i, j] + 0.15 * other[i, j]
    np.testing.assert_allclose(cost, expect, rtol=1e-6)
    # what the gates let through, said plainly
    assert cost[0, 0] < 0.2  # the same dress, moved 10 px
    assert cost[1, 1] == INF  # lost, near, but another colour
    assert cost[1, 2] == pytest.approx(0.65 * 0.1)  # lost, 0.2 heights away, same colour
    assert cost[1, 4] == INF  # lost, 2 heights away: too far, however alike
    assert cost[2, 3] == pytest.approx(0.65 * (1 - iou[2, 3]) + 0.35 * 0.25 + 0.15)
    assert t._cost([], np.zeros((0, 4)), np.zeros(0, bool), det, feats, cats).shape == (0, 5)


def test_a_new_track_and_a_weak_detection_bring_their_categories():
    t = GarmentTracker(25.0)
    t.update(0, one([0, 0, 40, 80], 0.9, "dress"))
    (b,) = t.update(1, one([0, 0, 40, 80], 0.9, "dress"))
    assert b.category == "dress" and dict(t._tracks[0].categories) == pytest.approx(
        {"dress": 1.8})
    np.testing.assert_allclose(b.box, [0, 0, 40, 80])  # the detection's own box
    for f in range(2, 11):  # weak detections of another category outweigh it in the end
        (b,) = t.update(f, one([0, 0, 40, 80], 0.25, "coat"))
    assert dict(t._tracks[0].categories) == pytest.approx({"dress": 1.8, "coat": 2.25})
    assert b.category == "coat"


def test_boxes_stop_showing_after_half_the_lost_time_when_the_detector_runs_too():
    t = GarmentTracker(25.0, max_lost_s=0.4)  # 10 frames lost at most, shown for 5
    for f in range(6):
        t.update(f, one([0, 0, 40, 80]))
    shown = [f for f in range(6, 20) if t.update(f, Detections.empty())]
    assert shown == list(range(6, 11))


def test_a_lost_track_can_come_back_after_exactly_its_lost_time():
    """Lost for 10 frames (max_lost_s 0.4 at 25 fps), back on the 11th: the same garment;
    lost for 11: another one."""
    red = np.zeros((200, 300, 3), np.uint8)
    red[:] = (0, 0, 255)
    for gap, same in ((11, True), (12, False)):
        t = GarmentTracker(25.0, max_lost_s=0.4, memory_s=0.4)  # 10 frames
        for f in range(4):
            t.update(f, one([50, 50, 110, 170]), red)
        for f in range(4, 3 + gap):
            t.update(f, Detections.empty(), red)
        boxes = t.update(3 + gap, one([50, 50, 110, 170]), red)
        assert any(b.track_id == 1 and b.detected for b in boxes) is same, gap


def test_colour_is_neutral_where_one_side_has_none():
    """A track without a colour signature (made without a picture) meets a detection with
    one, and the other way round: 0.25 either way, never the full distance."""
    from engine.track.track import GarmentTrack

    e = np.eye(128, dtype=np.float32)
    t = GarmentTracker(25.0)
    tracks = [GarmentTrack(1, 0, np.array([0.0, 0, 100, 100]), 0.9, "dress", np.zeros(128)),
              GarmentTrack(2, 0, np.array([300.0, 0, 400, 100]), 0.9, "dress", e[0])]
    boxes = np.array([tr.box() for tr in tracks])
    det = np.array([[0.0, 0, 100, 100], [300, 0, 400, 100]])
    cost = t._cost(tracks, boxes, np.array([True, True]), det,
                   np.stack([e[1], np.zeros(128)]), np.array(["dress", "dress"], object))
    assert cost[0, 0] == pytest.approx(0.35 * 0.25) and cost[1, 1] == pytest.approx(0.35 * 0.25)
