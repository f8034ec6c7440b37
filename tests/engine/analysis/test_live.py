"""The player's engine (engine/analysis/): a video analysed a segment at a time in any order,
pieces stitched at run seams, its state saved and taken back, the order of the work, an
injected detector fault, a file shorter than it says, and a session that matches against a
real catalogue and keeps its results in a real analysis cache. Real clips from the tiny
benchmark, the real garment detector, the shipped AsymNet weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.analysis import LiveAnalysis, LiveSession, run_to_end
from engine.analysis.cache import AnalysisCache
from engine.annotations import Annotations, load_annotations
from engine.asymnet.model import DEFAULT_WEIGHTS
from engine.geometry import iou_matrix
from engine.train.data import load_split
from engine.types import Track
from engine.video import probe

SEGMENT, STRIDE = 24, 3
SHUFFLED = [2, 0, 3, 1, 4]  # every segment its own run: every trajectory crossing a seam is
#                             stitched from pieces

needs_asymnet = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                   reason="AsymNet weights are not in resources/models")


@pytest.fixture(scope="module")
def engine_cache(tmp_path_factory):
    """VIDEO2SHOP_CACHE for the whole module: the detector exports its ONNX model there."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("engine_cache")
        mp.setenv("VIDEO2SHOP_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def detector(engine_cache):
    from engine.detect import create_detector

    return create_detector("garment", device="cpu")


@pytest.fixture(scope="module")
def clips(tiny_benchmark):
    data, _ = tiny_benchmark
    return [(c, probe(c.video)) for c in load_split(data, "all")]


def analyse(clip, info, detector, order, **kw) -> LiveAnalysis:
    analysis = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE, **kw)
    for k in order:
        analysis.analyse_segment(k)
    analysis.end_run()
    return analysis


@pytest.fixture(scope="module")
def passes(clips, detector):
    """(clip, info, straight pass, shuffled pass) for every clip."""
    out = []
    for clip, info in clips:
        n = -(-info.frame_count // SEGMENT)
        assert n == len(SHUFFLED)
        out.append((clip, info, analyse(clip, info, detector, range(n)),
                    analyse(clip, info, detector, SHUFFLED)))
    return out


def boxes_at(analysis: LiveAnalysis, frame: int) -> np.ndarray:
    rows = [t.boxes[t.frames == frame][0, 1:5] for t, _ in analysis.tracks()
            if (t.frames == frame).any()]
    return np.array(rows).reshape(-1, 4)


def found_again(straight: LiveAnalysis, other: LiveAnalysis, frame_count: int
                ) -> tuple[int, int]:
    """(boxes of ``straight`` that ``other`` has again at IoU >= 0.5, boxes of ``straight``),
    every second frame."""
    hit = boxes = 0
    for f in range(0, frame_count, 2):
        a, b = boxes_at(straight, f), boxes_at(other, f)
        boxes += len(a)
        if len(a) and len(b):
            hit += int((iou_matrix(a, b).max(1) >= 0.5).sum())
    return hit, boxes


def extents(analysis: LiveAnalysis) -> list[tuple[int, int, int]]:
    return sorted((t.first_frame, t.last_frame, len(t.boxes)) for t, _ in analysis.tracks())


# --- segments in any order -------------------------------------------------------------------
def test_segments_in_any_order_cover_the_video_like_a_straight_pass(passes):
    found = total = 0
    for _clip, info, straight, shuffled in passes:
        assert shuffled.analysed_ranges() == [(0, info.frame_count)]
        assert shuffled.complete and straight.complete
        hit, boxes = found_again(straight, shuffled, info.frame_count)
        assert boxes > 0
        # per clip measured 2026-12-06: 121/122, 188/188, 340/351 (0.969). Without the
        # warm-up (warmup=0) 112/122, 179/188, 300/351: a fresh tracker after a seek cannot
        # start a garment whose detections stay under high_score
        assert hit / boxes >= 0.93, (hit, boxes)
        found, total = found + hit, total + boxes
        # trajectories crossing seams were stitched from pieces of different runs
        tracks = shuffled.tracks()
        assert len(tracks) < len(shuffled.pieces)
        assert len({p.run for p in shuffled.pieces.values()}) >= 4
        ids = [t.track_id for t, _ in tracks]
        assert len(ids) == len(set(ids))
        for t, closed in tracks:
            assert closed and (np.diff(t.frames) > 0).all()
            assert t.first_frame >= 0 and t.last_frame < info.frame_count
    # measured over the three clips 2026-12-06: 649 of 661 boxes (0.982); 591 (0.894)
    # without the warm-up, 0.757 with the previous detector. The redesign's floor: 0.95
    assert found / total >= 0.95, (found, total)


def test_seeking_about_the_demo_gives_back_a_straight_pass(tmp_path, monkeypatch):
    """The bundled demo with the default detector, its 25 segments in a shuffled order (a
    viewer who seeks about) against the same loop in order: measured 2026-12-06, 2,681 of
    the straight pass's 2,702 boxes found again at IoU 0.5 (0.992; 0.956 without the
    warm-up). Floor: the redesign issue's 0.95."""
    from engine.detect import create_detector
    from engine.resources import DEMO_VIDEO

    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path))
    det = create_detector("auto", device="cpu")
    info = probe(DEMO_VIDEO)

    def run(order):
        a = LiveAnalysis(DEMO_VIDEO, det, info)
        for k in order:
            a.analyse_segment(k)
        a.end_run()
        return a

    straight = run(range(25))
    order = [int(k) for k in np.random.default_rng(0).permutation(25)]
    assert order[:3] != [0, 1, 2]
    shuffled = run(order)
    assert len({p.run for p in shuffled.pieces.values()}) >= 10
    hit, boxes = found_again(straight, shuffled, info.frame_count)
    assert boxes > 2000
    assert hit / boxes >= 0.95, (hit, boxes)


# --- stitching, by hand -------------------------------------------------------------------------
def piece(local_id: int, frames: range, x0: float, *, y: float = 40.0, dx: float = 2.0,
          score: float = 0.8, category: str = "dress") -> Track:
    """A garment 30x60 px moving ``dx`` px a frame to the right from ``x0`` at frames[0]."""
    rows = [[f, x0 + dx * (f - frames[0]), y, x0 + dx * (f - frames[0]) + 30, y + 60, score]
            for f in frames]
    return Track(local_id, np.array(rows, np.float64), category)


@pytest.fixture
def blank(clips, detector) -> LiveAnalysis:
    clip, info = clips[0]
    return LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE)


def by_id(analysis: LiveAnalysis) -> dict[int, Track]:
    return {t.track_id: t for t, _ in analysis.tracks()}


def test_pieces_that_meet_at_a_seam_become_one_track_with_the_smaller_id(blank):
    later = piece(1, range(48, 72), 148.0, score=0.6)
    earlier = piece(4, range(24, 48), 100.0)
    blank._add(1, [later], closed=True)  # analysed first: the smaller id
    blank._add(0, [earlier], closed=True)
    assert len(blank.pieces) == 2
    (track, closed), = blank.tracks()
    assert track.track_id == blank._ids[(1, 1)] == 1 and closed
    assert track.frames.tolist() == list(range(24, 72))
    np.testing.assert_allclose(track.boxes, np.concatenate([earlier.boxes, later.boxes]))
    assert track.category == "dress"


def test_a_gap_at_the_seam_is_filled_by_interpolation(blank):
    a = piece(1, range(24, 48), 100.0, score=0.8)
    b = piece(1, range(51, 72), 154.0, score=0.6)  # frames 48, 49 and 50 missing
    blank._add(0, [a], closed=True)
    blank._add(1, [b], closed=True)
    (track, _), = blank.tracks()
    assert track.track_id == 1
    assert track.frames.tolist() == list(range(24, 72))
    for f in (48, 49, 50):
        row = track.boxes[track.frames == f][0]
        x = 100.0 + 2.0 * (f - 24)  # on the straight line between the two pieces
        np.testing.assert_allclose(row[1:5], [x, 40, x + 30, 100])
        assert row[5] == pytest.approx(0.95 * 0.6)
    np.testing.assert_allclose(track.boxes[track.frames >= 51], b.boxes)


def test_a_shot_cut_at_the_seam_keeps_two_tracks(blank):
    blank._add(0, [piece(1, range(24, 48), 100.0)], closed=True)
    blank._add(1, [piece(1, range(48, 72), 148.0)], closed=True)
    blank.cuts.add(48)
    tracks = by_id(blank)
    assert sorted(tracks) == [1, 2]
    assert tracks[1].frames.tolist() == list(range(24, 48))
    assert tracks[2].frames.tolist() == list(range(48, 72))
    blank.cuts = {30}  # a cut inside the first piece says nothing about the seam
    assert len(blank.tracks()) == 1


def test_far_apart_boxes_keep_two_tracks(blank):
    blank._add(0, [piece(1, range(24, 48), 100.0)], closed=True)
    blank._add(1, [piece(1, range(48, 72), 10.0)], closed=True)  # no overlap with x=146
    assert sorted(by_id(blank)) == [1, 2]


def test_a_gap_longer_than_max_gap_keeps_two_tracks(blank):
    assert blank.max_gap == 3 * STRIDE + 2
    last = 47
    blank._add(0, [piece(1, range(24, last + 1), 100.0, dx=0.0)], closed=True)
    blank._add(1, [piece(1, range(last + blank.max_gap + 1, 90), 100.0, dx=0.0)], closed=True)
    assert sorted(by_id(blank)) == [1, 2]
    # one frame closer is within reach
    blank.pieces.clear()
    blank._add(2, [piece(1, range(last + blank.max_gap, 90), 100.0, dx=0.0)], closed=True)
    blank._add(0, [piece(1, range(24, last + 1), 100.0, dx=0.0)], closed=True)
    (track, _), = blank.tracks()
    assert track.frames.tolist() == list(range(24, 90))


def test_of_two_candidates_the_higher_iou_wins(blank):
    blank._add(0, [piece(1, range(24, 48), 100.0)], closed=True)  # at x=146 on frame 47
    blank._add(2, [piece(1, range(48, 72), 156.0)], closed=True)  # IoU with it 0.50
    blank._add(1, [piece(1, range(48, 72), 150.0)], closed=True)  # IoU with it 0.76
    tracks = by_id(blank)
    assert len(tracks) == 2
    stitched = tracks[1]
    assert stitched.frames.tolist() == list(range(24, 72))
    assert stitched.boxes[stitched.frames == 48][0, 1] == pytest.approx(150.0)
    assert tracks[blank._ids[(2, 1)]].frames.tolist() == list(range(48, 72))


def test_open_pieces_and_pieces_of_one_run_are_not_stitched(blank):
    # the tracker has not ended the first: it may still grow in its run
    blank._add(0, [piece(1, range(24, 48), 100.0)], closed=False)
    blank._add(1, [piece(1, range(48, 72), 148.0)], closed=True)
    assert len(blank.tracks()) == 2
    assert [closed for _, closed in blank.tracks()] == [False, True]
    # one run's tracker split them on purpose
    blank.pieces.clear()
    blank._add(3, [piece(1, range(24, 48), 100.0), piece(2, range(48, 72), 148.0)],
               closed=True)
    assert len(blank.tracks()) == 2


# --- state -----------------------------------------------------------------------------------
def test_state_survives_json_and_restores_the_same_tracks(passes, detector):
    clip, info, _, shuffled = passes[0]
    state = json.loads(json.dumps(shuffled.state()))
    fresh = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE)
    assert fresh.restore(state)
    assert fresh.analysed_ranges() == shuffled.analysed_ranges() == [(0, info.frame_count)]
    assert fresh.complete and fresh.cuts == shuffled.cuts
    before = {t.track_id: t for t, _ in shuffled.tracks()}
    after = {t.track_id: t for t, _ in fresh.tracks()}
    assert sorted(after) == sorted(before)
    for tid, t in before.items():
        assert after[tid].frames.tolist() == t.frames.tolist()
        assert after[tid].category == t.category
        np.testing.assert_array_equal(after[tid].boxes, t.boxes)  # packed bytes: exact

    for other in ({"segment": 2 * SEGMENT}, {"stride": 2}):
        kw = {"segment": SEGMENT, "stride": STRIDE, **other}
        refusing = LiveAnalysis(clip.video, detector, info, **kw)
        version = refusing.version
        assert not refusing.restore(state)
        assert refusing.analysed_ranges() == [] and refusing.pieces == {}
        assert not refusing.done.any() and refusing.version == version

    # a damaged state (a cache written by a crash, or edited by hand) is refused, not raised
    for damage in ({"boxes": "not base64!"}, {"columns": 5}, {"columns": 0}, {"gid": None}):
        broken = json.loads(json.dumps(state))
        broken["pieces"][0].update(damage)
        refusing = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE)
        assert not refusing.restore(broken), damage
        assert refusing.pieces == {} and not refusing.done.any()
    del broken["pieces"][0]["boxes"]
    assert not refusing.restore(broken)


def test_the_saved_state_holds_boxes_as_bytes_not_json_numbers(passes):
    """Saved after every segment: thousands of JSON numbers held the interpreter lock long
    enough to stall the player (docstring of LiveAnalysis.state)."""
    _, _, _, shuffled = passes[0]
    pieces = shuffled.state()["pieces"]
    assert pieces and all(isinstance(p["boxes"], str) for p in pieces)
    assert sum(len(p.track.boxes) for p in shuffled.pieces.values()) > 100


# --- the order of the work ---------------------------------------------------------------------
def test_next_segment_follows_the_playhead_then_wraps(clips, detector):
    clip, info = clips[0]
    a = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE)
    assert a.segments == 5
    assert a.next_segment(50) == 2 == a.segment_of(50)
    assert a.next_segment(50, lead=25) == 3  # what is on screen once it is done
    assert a.next_segment(10_000) == 4  # past the end: the last segment
    a.analyse_segment(3)
    a.analyse_segment(4)
    assert a.analysed_ranges() == [(72, 100)]
    assert a.next_segment(50) == 2
    assert a.next_segment(80) == 0  # nothing left ahead: the earliest left
    a.fail_segment(0)
    assert a.next_segment(80) == 1
    assert not a.complete
    a.analyse_segment(1)
    a.analyse_segment(2)
    assert a.next_segment(0) is None and a.next_segment(80, lead=12) is None
    assert a.complete and a.analysed_ranges() == [(24, 100)]


# --- faults and odd files ----------------------------------------------------------------------
class FaultyDetector:
    """The real detector with a fault injected: its ``fail_on``-th call raises."""

    def __init__(self, inner, fail_on: int = 2) -> None:
        self.inner = inner
        self.calls, self.fail_on = 0, fail_on

    def __getattr__(self, name):  # name, version, start_score... as the real one's
        return getattr(self.inner, name)

    def detect(self, frames):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("injected detector fault")
        return self.inner.detect(frames)


def test_an_engine_error_fails_one_segment_and_the_rest_go_on(clips, detector):
    clip, info = clips[0]
    faulty = FaultyDetector(detector)
    session = LiveSession(LiveAnalysis(clip.video, faulty, info, segment=SEGMENT,
                                       stride=STRIDE))
    with pytest.raises(RuntimeError, match="injected"):
        session.step(0, paused=True)
    a = session.analysis
    assert a.failed.tolist() == [True, False, False, False, False]
    assert len(session.errors) == 1
    assert "frames 0-23" in session.errors[0] and "injected" in session.errors[0]
    run_to_end(session)
    assert a.complete and a.failed[0] and a.done[1:].all()
    assert a.analysed_ranges() == [(24, info.frame_count)]
    assert not a.is_analysed(5) and a.is_analysed(24)
    assert faulty.calls > 2 and len(session.errors) == 1


def test_a_segment_retried_after_an_error_has_no_duplicate_tracks(passes, detector):
    clip, info, straight, _ = passes[0]
    a = LiveAnalysis(clip.video, FaultyDetector(detector), info, segment=SEGMENT,
                     stride=STRIDE)
    with pytest.raises(RuntimeError):
        a.analyse_segment(0)
    assert not a.done[0] and not a.failed[0]  # left to do
    for k in range(a.segments):
        a.analyse_segment(k)
    assert extents(a) == extents(straight)


@pytest.mark.parametrize("playhead", [0, 130])
def test_a_declared_frame_count_past_the_end_is_truncated(clips, detector, playhead):
    clip, info = clips[0]
    a = LiveAnalysis(clip.video, detector, info, frame_count=info.frame_count + 60,
                     segment=SEGMENT, stride=STRIDE)
    assert a.segments == 7
    run_to_end(LiveSession(a), playhead=playhead)
    assert a.frame_count == info.frame_count == 100
    assert a.segments == 5 and a.complete and not a.failed.any()
    assert a.analysed_ranges() == [(0, 100)]
    assert a.tracks() and all(t.last_frame < 100 for t, _ in a.tracks())


# --- a session with a catalogue and a cache ----------------------------------------------------
@pytest.fixture(scope="module")
def matched(clips, detector, tiny_catalog, tmp_path_factory):
    """A session on the first clip run to the end, with a request for the last track made
    once it is analysed: (session, steps, cache path)."""
    clip, info = clips[0]
    path = tmp_path_factory.mktemp("live_cache") / "analysis.sqlite"
    session = LiveSession(LiveAnalysis(clip.video, detector, info, segment=SEGMENT,
                                       stride=STRIDE),
                          catalog=tiny_catalog, cache=AnalysisCache(path), k=5)
    assert not session.restored
    steps = [session.step(0, paused=True) for _ in range(5)]
    assert steps == [f"analysed segment {k}" for k in range(5)]  # all near the playhead
    last = max(session.tracks(), key=lambda tc: tc[0].first_frame)[0].track_id
    session.request_match(last)
    steps.append(session.step(0, paused=True))
    run_to_end(session, on_step=steps.append)
    return session, steps, path, last


@needs_asymnet
def test_a_session_matches_every_track_and_shows_the_evidence(matched):
    session, steps, _, last = matched
    assert steps[5] == f"matched track {last}"  # the request came before the rest
    snap = session.snapshot()
    assert snap.complete and snap.analysed == [(0, 100)] and snap.frame_count == 100
    assert snap.tracks and len(steps) == 5 + len(snap.tracks)
    for t in snap.tracks:
        assert 1 <= len(t.matches) <= 5
        scores = [m.score for m in t.matches]
        assert scores == sorted(scores, reverse=True)
    assert snap.matched == sum(1 for t in snap.tracks if t.matches) == len(snap.tracks)
    assert set(snap.evidence) == {t.track_id for t in snap.tracks}
    for t in snap.tracks:
        ev = snap.evidence[t.track_id]
        assert 1 <= len(ev) <= session.evidence_frames
        assert {e.frame for e in ev} <= set(t.frames.tolist())
        assert all(e.weight >= 0 for e in ev) and any(e.weight > 0 for e in ev)
        for e in ev:
            assert e.crop.dtype == np.uint8 and e.crop.shape == (80, 64, 3)
    # the index the player paints from
    t = snap.tracks[0]
    dets = snap.index.detections_at(t.first_frame)
    assert t.track_id in dets.tracker_id.tolist()


@needs_asymnet
def test_the_sessions_matches_name_the_worn_products(matched, clips):
    """What the card shows, against the truth: each garment of the clip, through the live
    track that covers it (IoU 0.5 on most frames), should have its worn product among that
    track's matches, and first for most. Measured on the first clip: 3 garments seen on 8+
    frames, all 3 in the top 5, 2 first with asymnet-be4af0da4260 (2026-12-03), 3 first with
    asymnet-ae2aaf764916 (2026-12-07; chance 1 in 6 and 1 in 30).
    Floors: one garment less."""
    from engine.train.eval_end2end import best_cover

    session = matched[0]
    clip, _ = clips[0]
    snap = session.snapshot()
    garments = top1 = top5 = 0
    for truth in clip.truth.tracks:
        if truth.product_id is None or (truth.boxes[:, 5] >= 0.5).sum() < 8:
            continue
        garments += 1
        d = best_cover(truth, snap.tracks)
        ids = [m.product_id for m in d.matches] if d is not None else []
        top1 += bool(ids) and ids[0] == truth.product_id
        top5 += truth.product_id in ids
    assert garments >= 3
    assert top5 / garments >= 0.66, (top5, garments)
    assert top1 / garments >= 0.33, (top1, garments)


@needs_asymnet
def test_a_request_before_analysis_is_matched_first_once_analysed(clips, detector,
                                                                  tiny_catalog, passes):
    clip, info, straight, _ = passes[0]
    # ids are given in analysis order: a session analysing in order gives these
    wanted = max((t for t, _ in straight.tracks()), key=lambda t: t.first_frame).track_id
    session = LiveSession(LiveAnalysis(clip.video, detector, info, segment=SEGMENT,
                                       stride=STRIDE), catalog=tiny_catalog, k=5)
    session.request_match(wanted)
    while (what := session.step(0, paused=True)) is not None:
        if what.startswith("matched"):
            break
    assert what == f"matched track {wanted}"


@needs_asymnet
def test_a_second_session_restores_from_the_cache(matched, tiny_catalog, detector):
    first, _, path, _ = matched
    a = first.analysis
    cache = AnalysisCache(path)  # reopened, as a new player would
    assert cache.usable and not cache.warning
    again = LiveSession(LiveAnalysis(a.path, detector, a.info, segment=SEGMENT, stride=STRIDE),
                        catalog=tiny_catalog, cache=cache, k=5)
    assert again.restored and again.key == first.key
    before = {t.track_id: t for t, _ in first.tracks()}
    after = {t.track_id: t for t, _ in again.tracks()}
    assert sorted(after) == sorted(before)
    for tid, t in before.items():
        np.testing.assert_array_equal(after[tid].boxes, t.boxes)  # packed bytes: exact
    assert sorted(again.results) == sorted(first.results)
    for tid, r in first.results.items():
        assert again.results[tid].key == r.key
        assert again.results[tid].matches == r.matches
        assert again.results[tid].evidence == []  # read from the file when asked for
    assert again.step(0, paused=True) is None
    assert again.analysis.times.frames == 0  # nothing decoded again
    assert again.snapshot().matched == first.snapshot().matched
    for tid, r in first.results.items():  # the viewer clicks each track: its frames come back
        again.request_match(tid)
        assert again.step(0, paused=True) == f"evidence of track {tid}"
        got = again.results[tid].evidence
        assert [e.frame for e in got] == [e.frame for e in r.evidence]
        for e, want in zip(got, r.evidence, strict=True):
            np.testing.assert_array_equal(e.crop, want.crop)
    assert again.analysis.times.frames == 0 and again.step(0, paused=True) is None
    assert set(again.snapshot().evidence) == set(first.snapshot().evidence)
    cache.close()


@needs_asymnet
def test_deciding_frames_of_the_oldest_matches_are_let_go_and_come_back(matched, tiny_catalog,
                                                                         detector):
    """At most ``evidence_tracks`` tracks hold their deciding frames in memory (an hour of
    drama: ~2,000 tracks, 350 MB); the others keep their matches, and their frames come back
    from the cache when the viewer asks, or, without a cache, by matching again."""
    first, _, path, _ = matched
    a = first.analysis
    tids = sorted(first.results)
    assert len(tids) >= 3
    for cache in (AnalysisCache(path), None):
        s = LiveSession(LiveAnalysis(a.path, detector, a.info, segment=SEGMENT, stride=STRIDE),
                        catalog=tiny_catalog, cache=cache, k=5, evidence_tracks=2)
        if cache is None:  # nothing restored: analysed afresh
            for k in range(s.analysis.segments):
                s.analysis.analyse_segment(k)
        tracks = {t.track_id: t for t, _ in s.tracks()}
        assert sorted(tracks) == sorted(t.track_id for t, _ in first.tracks())
        for tid in tids:
            s.match(tracks[tid])
        held = [tid for tid in tids if s.results[tid].evidence]
        assert held == tids[-2:]  # the two matched last
        assert all(s.results[tid].matches == first.results[tid].matches for tid in tids)
        assert set(s.snapshot().evidence) == set(held)
        s.request_match(tids[0])
        said = s.step(0, paused=True)
        assert said == (f"evidence of track {tids[0]}" if cache is not None
                        else f"matched track {tids[0]}")
        assert [e.frame for e in s.results[tids[0]].evidence] == \
            [e.frame for e in first.results[tids[0]].evidence]
        assert {tid for tid in tids if s.results[tid].evidence} == {tids[-1], tids[0]}
        if cache is not None:
            cache.close()


@needs_asymnet
def test_annotations_save_and_load_back(matched, tmp_path):
    session = matched[0]
    ann = session.annotations()
    assert isinstance(ann, Annotations)
    assert ann.video["frame_count"] == 100 and ann.video["analysed"] == [[0, 100]]
    assert ann.video["shots"][0][0] == 0 and ann.video["shots"][-1][1] == 100
    assert ann.video["catalog_model"] == session.catalog.matcher.version
    ann.save(tmp_path / "live.json")
    back = load_annotations(tmp_path / "live.json")
    assert len(back.tracks) == len(ann.tracks) == len(session.tracks())
    assert [t.track_id for t in back.tracks] == [t.track_id for t in ann.tracks]
    for a, b in zip(ann.tracks, back.tracks, strict=True):
        assert b.frames.tolist() == a.frames.tolist()
        assert [m.product_id for m in b.matches] == [m.product_id for m in a.matches]


def recall_against_truth(analysis: LiveAnalysis, clip, info) -> tuple[int, int]:
    """Ground-truth garments at least half visible, every 2nd frame, found at IoU 0.5."""
    found = total = 0
    for f in range(0, info.frame_count, 2):
        truth = np.array([t.boxes[t.boxes[:, 0] == f][0, 1:5] for t in clip.truth.tracks
                          if ((t.boxes[:, 0] == f) & (t.boxes[:, 5] >= 0.5)).any()]
                         ).reshape(-1, 4)
        if not len(truth):
            continue
        total += len(truth)
        mine = boxes_at(analysis, f)
        if len(mine):
            found += int((iou_matrix(truth, mine).max(1) >= 0.5).sum())
    return found, total


def test_both_orders_against_the_truth(passes):
    """The player's engine against the clips' ground truth, analysed in order and in the
    shuffled order of a viewer who seeks: measured 2026-12-06 on the tiny benchmark (three
    4 s clips), straight 0.877 and shuffled 0.870 of the 601 boxes of garments at least half
    visible (0.809 shuffled before a run started after a seek had its warm-up). Floors: the
    measured values minus about 0.04."""
    straight = shuffled = total = 0
    for clip, info, s, sh in passes:
        a, n = recall_against_truth(s, clip, info)
        b, _ = recall_against_truth(sh, clip, info)
        straight, shuffled, total = straight + a, shuffled + b, total + n
    assert total > 100
    assert straight / total >= 0.84, (straight, total)
    assert shuffled / total >= 0.83, (shuffled, total)


def test_a_run_after_a_seek_warms_up_and_keeps_only_its_segment(clips, detector):
    """A seek to segment 2 starts a run ``warmup`` frames early (aligned to the stride): those
    frames are decoded and tracked but their boxes belong to segment 1, which stays to do."""
    clip, info = clips[0]
    a = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE, warmup=10)
    a.analyse_segment(2)
    assert a.times.frames == SEGMENT + 12  # from frame 36: 10 frames back, on the stride's grid
    assert a.analysed_ranges() == [(2 * SEGMENT, 3 * SEGMENT)]
    tracks = a.tracks()
    assert tracks and min(t.first_frame for t, _ in tracks) >= 2 * SEGMENT
    cold = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE, warmup=0)
    cold.analyse_segment(2)
    assert cold.times.frames == SEGMENT
    with pytest.raises(ValueError, match="warmup"):
        LiveAnalysis(clip.video, detector, info, warmup=-1)
    # after a segment that failed, no warm-up over its frames: they could fail this one too
    after_failure = LiveAnalysis(clip.video, detector, info, segment=SEGMENT, stride=STRIDE,
                                 warmup=10)
    after_failure.fail_segment(1)
    after_failure.analyse_segment(2)
    assert after_failure.times.frames == SEGMENT
    # the warm-up decides the boxes, so it is part of what the cache is keyed by
    assert a.settings() != cold.settings()
