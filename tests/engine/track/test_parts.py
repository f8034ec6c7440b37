"""The tracker's parts one at a time: the Kalman box, a track's bookkeeping, the colour
signature and the distances, and the cut detector. Expected values are worked out by hand
in the comments, so that a changed constant or a flipped sign fails here, not only as a
slightly lower IDF1 on a clip (docs/testing.md, the mutation check)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.track.cuts import ShotCutDetector
from engine.track.kalman import KalmanBox, xyah_to_xyxy, xyxy_to_xyah
from engine.track.matching import appearance, appearance_distance, center_distance
from engine.track.track import CONFIRMED, TENTATIVE, GarmentTrack


# --- the Kalman box ----------------------------------------------------------------------
def test_box_conversions_are_exact_inverses():
    box = np.array([10.0, 20.0, 50.0, 100.0])  # 40 x 80, centre (30, 60)
    np.testing.assert_allclose(xyxy_to_xyah(box), [30, 60, 0.5, 80])
    np.testing.assert_allclose(xyah_to_xyxy(np.array([30, 60, 0.5, 80.0])), box)
    # a flat box: the height floor keeps the aspect finite
    assert np.isfinite(xyxy_to_xyah(np.array([0.0, 5.0, 10.0, 5.0]))).all()


def test_a_new_box_stands_still_and_its_uncertainty_scales_with_its_height():
    kf = KalmanBox(np.array([10.0, 20.0, 50.0, 100.0]))
    np.testing.assert_allclose(kf.box(), [10, 20, 50, 100])
    np.testing.assert_allclose(kf.x[4:], 0)
    # position std 2 * h / 20 = 8 px for h = 80; velocity std 10 * h / 160 = 5 px a frame
    np.testing.assert_allclose(np.sqrt(np.diag(kf.P)), [8, 8, 1e-2, 8, 5, 5, 1e-5, 5])
    big = KalmanBox(np.array([0.0, 0.0, 80.0, 160.0]))
    assert big.P[0, 0] == pytest.approx(4 * kf.P[0, 0])  # twice the height, twice the std
    np.testing.assert_allclose(kf.predict(), [10, 20, 50, 100])  # no velocity yet
    # the process noise (h / 20 for position) is added: 64 + 16 from P's velocity part + 16
    assert kf.P[0, 0] == pytest.approx(64 + 25 + 16)


def test_constant_motion_is_learnt_and_predicted():
    kf = KalmanBox(np.array([0.0, 0.0, 40.0, 80.0]))
    for f in range(1, 30):
        kf.predict()
        kf.update(np.array([5.0 * f, 0.0, 40 + 5.0 * f, 80.0]))
    assert kf.x[4] == pytest.approx(5.0, abs=0.2) and abs(kf.x[5]) < 0.2
    nxt = kf.predict()
    np.testing.assert_allclose(nxt, [150, 0, 190, 80], atol=1.0)  # frame 30: x = 150
    before = kf.P[0, 0]
    kf.update(np.array([150.0, 0.0, 190.0, 80.0]))
    assert kf.P[0, 0] < before  # a measurement makes it surer


def test_an_update_moves_the_box_towards_the_measurement_not_past_it():
    kf = KalmanBox(np.array([0.0, 0.0, 40.0, 80.0]))
    kf.predict()
    kf.update(np.array([20.0, 0.0, 60.0, 80.0]))  # the centre jumps from 20 to 40
    assert 20 < kf.x[0] < 40 and kf.x[4] > 0


def test_a_shrinking_box_never_gets_a_height_below_one_pixel():
    kf = KalmanBox(np.array([0.0, 0.0, 10.0, 10.0]))
    kf.x[7] = -50.0  # shrinking 50 px a frame
    kf.predict()
    assert kf.x[3] == 1


# --- one track ---------------------------------------------------------------------------
def _track(box=(0, 0, 40, 80), score=0.9, category="dress", feature=None):
    f = np.zeros(4, np.float32) if feature is None else np.asarray(feature, np.float32)
    return GarmentTrack(7, 10, np.array(box, np.float64), score, category, f)


def test_a_track_is_confirmed_after_min_hits_and_keeps_its_history():
    t = _track()
    assert t.state == TENTATIVE and t.hits == 1 and t.last_update == 10
    t.update(11, np.array([1.0, 0, 41, 80]), 0.8, "dress", np.zeros(4), min_hits=3)
    assert t.state == TENTATIVE and t.hits == 2
    t.update(12, np.array([2.0, 0, 42, 80]), 0.7, "dress", np.zeros(4), min_hits=3)
    assert t.state == CONFIRMED and t.hits == 3 and t.last_update == 12
    assert sorted(t.history) == [10, 11, 12] and all(d for _, _, d in t.history.values())
    np.testing.assert_allclose(t.history[11][0], [1, 0, 41, 80])
    assert t.scores == [0.9, 0.8, 0.7]


def test_a_coasted_frame_keeps_the_prediction_at_nine_tenths_of_the_recent_score():
    t = _track(score=0.9)
    for f, s in ((11, 0.6), (12, 0.3), (13, 0.6)):
        t.update(f, np.array([0.0, 0, 40, 80]), s, "dress", np.zeros(4), min_hits=2)
    t.predict()
    t.coast(14)
    box, score, detected = t.history[14]
    assert not detected and score == pytest.approx(0.9 * 0.5)  # mean of the last three
    np.testing.assert_allclose(box, t.box())


def test_the_category_is_the_one_with_the_most_score_not_the_most_votes():
    t = _track(score=0.9, category="skirt")
    for f in (11, 12):
        t.update(f, np.array([0.0, 0, 40, 80]), 0.4, "dress", np.zeros(4), min_hits=2)
    assert t.category == "skirt"  # 0.9 against 0.8
    t.update(13, np.array([0.0, 0, 40, 80]), 0.4, "dress", np.zeros(4), min_hits=2)
    assert t.category == "dress"  # 1.2 against 0.9


def test_the_colour_signature_is_a_unit_moving_average_and_ignores_blank_ones():
    t = _track(feature=[1, 0, 0, 0])
    t.update(11, np.array([0.0, 0, 40, 80]), 0.9, "dress", np.zeros(4), min_hits=2)
    np.testing.assert_allclose(t.feature, [1, 0, 0, 0])  # no signature this frame: kept
    t.update(12, np.array([0.0, 0, 40, 80]), 0.9, "dress", np.array([0, 1, 0, 0.0]), 2)
    expect = np.array([0.85, 0.15, 0, 0]) / np.hypot(0.85, 0.15)
    np.testing.assert_allclose(t.feature, expect, rtol=1e-6)
    assert np.linalg.norm(t.feature) == pytest.approx(1.0)


def test_a_track_copies_what_it_is_given():
    box, feat = np.array([0.0, 0, 40, 80]), np.array([1.0, 0, 0, 0], np.float32)
    t = GarmentTrack(1, 0, box, 0.9, "dress", feat)
    box[:] = 99
    feat[:] = 0
    np.testing.assert_allclose(t.history[0][0], [0, 0, 40, 80])
    np.testing.assert_allclose(t.feature, [1, 0, 0, 0])


# --- colour and distances ----------------------------------------------------------------
def _two_colours():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :100] = (0, 0, 255)  # red left half (BGR)
    frame[:, 100:] = (255, 0, 0)  # blue right half
    return frame


def test_the_colour_signature_is_a_unit_histogram_of_the_box_inside():
    frame = _two_colours()
    sig = appearance(frame, np.array([[0, 0, 100, 100], [100, 0, 200, 100],
                                      [5, 5, 95, 95], [0, 0, 1, 1]], np.float32))
    assert sig.shape == (4, 128) and sig.dtype == np.float32
    for i in range(3):
        assert np.dot(sig[i], sig[i]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(sig[0], sig[2], atol=1e-6)  # the same red
    assert np.count_nonzero(sig[0]) == 1 and np.argmax(sig[0]) != np.argmax(sig[1])
    assert not sig[3].any()  # too small to crop: no signature
    d = appearance_distance(sig[:2], sig[:3])
    np.testing.assert_allclose(d, [[0, 1, 0], [1, 0, 1]], atol=1e-6)


def test_the_inner_part_of_a_box_is_what_counts():
    """A box straddling the two colours by 10 px on each side: its outer 15% is cut off, so
    its signature is one colour only."""
    sig = appearance(_two_colours(), np.array([[0, 0, 110, 100]], np.float32))
    red = appearance(_two_colours(), np.array([[0, 0, 100, 100]], np.float32))
    np.testing.assert_allclose(sig, red, atol=1e-6)
    wide = appearance(_two_colours(), np.array([[0, 0, 200, 100]], np.float32))
    assert np.count_nonzero(wide[0] > 0.5) == 2  # both colours (and a blend on their border)


def test_a_large_box_gives_the_same_signature_as_a_small_one_of_the_same_colours():
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:360] = (0, 200, 0)
    frame[360:] = (200, 200, 200)
    big = appearance(frame, np.array([[0, 0, 1280, 720]], np.float32))
    small = appearance(cv2_resize(frame, (128, 72)), np.array([[0, 0, 128, 72]], np.float32))
    assert 1 - float(big[0] @ small[0]) < 0.02  # the same but for the blend at the border


def cv2_resize(frame, size):
    import cv2

    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def test_distances_on_empty_sides_have_the_right_shape():
    assert appearance_distance(np.zeros((0, 128)), np.zeros((3, 128))).shape == (0, 3)
    assert appearance_distance(np.zeros((2, 128)), np.zeros((0, 128))).shape == (2, 0)
    assert center_distance(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert center_distance(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)


def test_centre_distance_is_in_heights_of_the_first_box():
    a = np.array([[0.0, 50, 40, 150], [0.0, 50, 40, 50.5]])  # 100 tall; a flat one (floor 1)
    b = np.array([[30.0, 90, 70, 190], [0.0, 50, 40, 150]])  # centres (50, 140) and (20, 100)
    d = center_distance(a, b)
    np.testing.assert_allclose(d[0], [np.hypot(30, 40) / 100, 0])
    np.testing.assert_allclose(d[1, 1], np.hypot(0, 49.75) / 1.0)


def test_appearance_distance_is_clipped_to_zero_one():
    a = np.array([[2.0, 0], [-1.0, 0]])
    np.testing.assert_allclose(appearance_distance(a, np.array([[1.0, 0]])), [[0], [1]])


# --- cuts --------------------------------------------------------------------------------
def test_the_cut_threshold_must_be_inside_zero_one():
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            ShotCutDetector(bad)


def test_a_cut_is_a_colour_jump_and_reset_forgets_the_last_frame():
    red, blue = np.zeros((90, 160, 3), np.uint8), np.zeros((90, 160, 3), np.uint8)
    red[:] = (0, 0, 255)
    blue[:] = (255, 0, 0)
    cuts = ShotCutDetector()
    assert cuts.last_distance == 0.0 and cuts.threshold == 0.45
    assert cuts.is_cut(red) is False  # the first frame has nothing to differ from
    assert not cuts.is_cut(red) and cuts.last_distance == pytest.approx(0, abs=1e-6)
    assert cuts.is_cut(blue) and cuts.last_distance > 0.9
    cuts.reset()
    assert not cuts.is_cut(red)
    lenient = ShotCutDetector(threshold=0.999999)
    lenient.is_cut(red)
    assert not lenient.is_cut(blue) or lenient.last_distance > 0.999999


def test_the_signature_is_normalised_and_independent_of_size():
    frame = np.random.default_rng(0).integers(0, 255, (180, 320, 3), np.uint8)
    cuts = ShotCutDetector()
    sig = cuts.signature(frame)
    assert sig.shape == (16 * 8 * 4,) and np.linalg.norm(sig) == pytest.approx(1, abs=1e-5)
    tall = cuts.signature(np.ascontiguousarray(np.repeat(frame, 2, axis=0)))
    assert tall.shape == sig.shape


def _reference_signature(frame, box):
    """The rule written out: the box less 15% on each side, shrunk to about 4,096 pixels with
    INTER_AREA when larger, an 8 x 4 x 4 HSV histogram (hue 0-180), square roots of its
    frequencies."""
    import cv2

    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    xa, xb = int(max(0, x1 + 0.15 * bw)), int(min(frame.shape[1], x2 - 0.15 * bw))
    ya, yb = int(max(0, y1 + 0.15 * bh)), int(min(frame.shape[0], y2 - 0.15 * bh))
    crop = frame[ya:yb, xa:xb]
    if crop.shape[0] * crop.shape[1] > 4096:
        f = np.sqrt(4096 / (crop.shape[0] * crop.shape[1]))
        crop = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return np.sqrt(hist / hist.sum())


def test_the_signature_follows_its_rule_on_a_frame_where_every_pixel_counts():
    """Hue changes along x, saturation along y, value in a checker: a crop a few pixels off,
    another bin count or range, or a missed resize gives another histogram."""
    import cv2

    h, w = 400, 400
    yy, xx = np.mgrid[0:h, 0:w]
    hsv = np.stack([(xx * 180 // w), 40 + (yy * 215 // h), 60 + 150 * ((xx // 7 + yy // 5) % 2)],
                   axis=-1).astype(np.uint8)
    frame = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    boxes = np.array([[37, 21, 113, 97], [250, 140, 330, 236], [-20, -20, 60, 60],
                      [350, 200, 460, 300], [20, 10, 390, 230], [5, 5, 8, 200],
                      [5, 60, 200, 63],  # 2 columns, 2 rows once the sides are cut: enough
                      [0, 0, 24, 344],  # a crop of 17 x 241 = 4,097 pixels: shrunk
                      [0, 0, 143, 43],  # 100 x 30: wide, under 4,096: kept as it is
                      [5, 5, 7, 200], [5, 60, 200, 62]], np.float32)  # 1 column, 1 row
    sig = appearance(frame, boxes)
    for i, box in enumerate(boxes[:9]):
        np.testing.assert_allclose(sig[i], _reference_signature(frame, box), atol=1e-6,
                                   err_msg=str(box))
    assert not sig[9].any() and not sig[10].any()  # no signature
    # a box too small to crop does not stop the ones after it
    after = appearance(frame, boxes[[9, 0]])
    assert not after[0].any() and np.allclose(after[1], sig[0])


def test_the_cut_signature_follows_its_rule():
    """96 pixels wide (INTER_AREA), a 16 x 8 x 4 HSV histogram over hue 0-180, L2-normalised."""
    import cv2

    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (200, 330, 3), np.uint8), (0, 0), 4)
    small = cv2.resize(frame, (96, round(96 * 200 / 330)), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 8, 4], [0, 180, 0, 256, 0, 256]).ravel()
    np.testing.assert_allclose(ShotCutDetector().signature(frame), hist / np.linalg.norm(hist),
                               rtol=1e-5, atol=1e-7)
    strip = ShotCutDetector().signature(frame[:1])  # a one-row frame: one row, not zero
    assert np.isfinite(strip).all() and strip.any()


def test_predict_and_update_are_the_textbook_filter_with_noise_scaled_by_height():
    """A state with every part non-zero, against the constant-velocity filter written out:
    process noise (h/20, h/20, 1e-2, h/20, h/160, h/160, 1e-5, h/160), measurement noise
    (h/20, h/20, 1e-1, h/20), h the box's height (at least 1)."""
    kf = KalmanBox(np.array([10.0, 20.0, 50.0, 120.0]))
    kf.x = np.array([30.0, 70.0, 0.4, 100.0, 2.0, -1.0, 0.01, 3.0])
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 8))
    kf.P = a @ a.T + np.eye(8)
    x0, p0 = kf.x.copy(), kf.P.copy()
    f = np.eye(8)
    f[:4, 4:] = np.eye(4)
    h = 100.0
    q = np.diag(np.square([h / 20, h / 20, 1e-2, h / 20, h / 160, h / 160, 1e-5, h / 160]))
    kf.predict()
    np.testing.assert_allclose(kf.x, f @ x0)
    np.testing.assert_allclose(kf.P, f @ p0 @ f.T + q, rtol=1e-12)
    x1, p1 = kf.x.copy(), kf.P.copy()
    z_box = np.array([15.0, 25.0, 60.0, 130.0])
    kf.update(z_box)
    hh = x1[3]
    r = np.diag(np.square([hh / 20, hh / 20, 1e-1, hh / 20]))
    hm = np.eye(4, 8)
    s = hm @ p1 @ hm.T + r
    k = p1 @ hm.T @ np.linalg.inv(s)
    np.testing.assert_allclose(kf.x, x1 + k @ (xyxy_to_xyah(z_box) - hm @ x1), rtol=1e-9)
    np.testing.assert_allclose(kf.P, (np.eye(8) - k @ hm) @ p1, rtol=1e-7, atol=1e-9)


def test_a_box_between_one_and_two_pixels_tall_keeps_its_height():
    kf = KalmanBox(np.array([0.0, 0.0, 3.0, 1.5]))
    kf.predict()
    assert kf.x[3] == pytest.approx(1.5)
    q_small = KalmanBox(np.array([0.0, 0.0, 3.0, 1.5]))
    q_small.x[3] = 0.5
    q_small.P = np.zeros((8, 8))
    q_small.predict()  # noise for a height under one pixel is that of one pixel
    assert q_small.P[0, 0] == pytest.approx((1 / 20) ** 2)
