"""``engine.analysis.analyze`` (the player's loop, segments in order)
on a real two-shot clip (two benchmark clips joined by ffmpeg):
which frames reach the detector (every stride-th, each shot's first and last, the video's
last), the shots it finds, the progress it reports, ``max_frames`` and bad settings."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from engine.analysis import SEGMENT, Progress, StageTimes, analyze, run_analysis
from engine.detect import create_detector
from engine.track import GarmentTracker


class Recording:
    """The real garment detector, noting the frames it is given (by their order)."""

    def __init__(self):
        self.inner = create_detector("garment", device="cpu")
        self.name, self.version = self.inner.name, self.inner.version
        self.start_score = getattr(self.inner, "start_score", None)
        self.calls: list[int] = []  # frames per call

    def detect(self, frames):
        self.calls.append(len(frames))
        return self.inner.detect(frames)


@pytest.fixture(scope="module")
def two_shots(tiny_benchmark, tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (make setup installs it)")
    data, _ = tiny_benchmark
    a, b = data / "clips" / "hard001.mp4", data / "clips" / "hard002.mp4"
    out = tmp_path_factory.mktemp("pipeline") / "two_shots.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(a), "-i", str(b), "-filter_complex",
                    "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-g", "25", str(out)], check=True)
    n_a = json.loads((data / "clips" / "hard001.json").read_text())["video"]["frame_count"]
    return out, n_a


def detected_frames(path, stride, **kw):
    """The frame indices the detector saw: the pipeline's rule replayed through StageTimes
    and the per-call sizes, checked against an independent count below."""
    det = Recording()
    times = StageTimes()
    progress = []
    gen = analyze(path, det, stride=stride, times=times, **kw)
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            return stop.value, det, times, progress


def test_a_cut_starts_a_shot_and_forces_detections_around_it(two_shots):
    path, cut = two_shots
    ann, det, times, _ = detected_frames(path, stride=5)
    n = ann.video["frame_count"]
    assert n == 2 * cut
    assert ann.video["shots"] == [[0, cut], [cut, n]]
    # every 5th frame, plus the frame before the cut and the video's last frame (the cut
    # itself, 100, is a multiple of 5 here)
    expected = {f for f in range(n) if f % 5 == 0} | {cut - 1, n - 1}
    assert times.detected_frames == sum(det.calls) == len(expected)
    assert times.frames == n
    lost = GarmentTracker(25.0).max_lost  # the default lost time, at the clip's 25 fps
    for t in ann.tracks:  # no trajectory crosses the cut, and each has a box on every frame
        frames = t.boxes[:, 0].astype(int)  # but where its garment was out of sight longer
        assert frames[-1] < cut or frames[0] >= cut
        steps = np.diff(frames)
        assert ((steps == 1) | (steps > lost)).all(), frames
    assert {int(t.boxes[-1, 0]) for t in ann.tracks} & {cut - 1, n - 1}  # shots end boxed


def test_progress_counts_up_to_the_last_frame(two_shots):
    path, cut = two_shots
    ann, _, _, progress = detected_frames(path, stride=3, batch=4)
    assert all(isinstance(p, Progress) for p in progress)
    frames = [p.frame for p in progress]
    # one progress a segment of the player's loop (SEGMENT frames), the last at the end
    assert frames == [*range(SEGMENT, 2 * cut, SEGMENT), 2 * cut]
    assert all(p.frame_count == 2 * cut for p in progress)
    assert progress[-1].tracks <= len(ann.tracks)  # tracks of the open shot finish at the end
    assert [p.seconds for p in progress] == sorted(p.seconds for p in progress)


def test_stride_one_detects_every_frame_and_max_frames_stops_early(two_shots):
    path, cut = two_shots
    _, det, times, _ = detected_frames(path, stride=1, max_frames=30)
    assert times.frames == 30 and times.detected_frames == sum(det.calls) == 30
    ann = run_analysis(path, Recording(), stride=4, max_frames=cut + 10)
    assert ann.video["frame_count"] == cut + 10
    assert ann.video["shots"] == [[0, cut], [cut, cut + 10]]
    assert ann.video["stride"] == 4 and ann.video["detector"] == "garment"


def test_bad_settings_are_refused(two_shots):
    path, _ = two_shots
    with pytest.raises(ValueError, match="stride"):
        run_analysis(path, Recording(), stride=0)
    with pytest.raises(ValueError, match="max_frames"):
        run_analysis(path, Recording(), max_frames=0)


def test_the_live_engine_detects_the_same_frames_in_order(two_shots):
    """The player's engine (segments of 40 frames, batches of 4 x stride) on the same clip,
    in order: the frame before the cut ends a batch and a segment there, and is detected all
    the same (it is read one frame ahead), so both paths see the same frames."""
    from engine.analysis import LiveAnalysis
    from engine.video import probe

    path, cut = two_shots
    _, _, times, _ = detected_frames(path, stride=5)
    live_det = Recording()
    live = LiveAnalysis(path, live_det, probe(path), segment=40, stride=5)
    for k in range(live.segments):
        live.analyse_segment(k)
    live.end_run()
    assert live.times.detected_frames == sum(live_det.calls) == times.detected_frames
    assert live.cuts == {cut}
