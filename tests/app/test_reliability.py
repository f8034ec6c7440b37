"""Hostile inputs, replayed on every change: each gives a clear message or plays, never a crash,
and the next good input works. Every file is made here for real (ffmpeg, seeded random bytes); the
player runs with its real engine thread (detector, tracker, SQLite cache)."""

from __future__ import annotations

import itertools
import subprocess

import pytest

from tests.conftest import ffmpeg


@pytest.fixture(scope="module")
def odd_videos(tmp_path_factory):
    """Valid but unusual videos a viewer may well open."""
    d = tmp_path_factory.mktemp("odd videos")
    src = "testsrc2=size={size}:rate=25:duration={secs}"
    files = {}
    files["tiny_1x1"] = d / "tiny.mp4"
    ffmpeg("-f", "lavfi", "-i", src.format(size="32x32", secs=1), "-vf", "scale=1:1", "-c:v",
           "libx264", "-pix_fmt", "yuv444p", str(files["tiny_1x1"]))
    files["uhd_4k"] = d / "uhd.mp4"
    ffmpeg("-f", "lavfi", "-i", src.format(size="3840x2160", secs=0.4), "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(files["uhd_4k"]))
    files["variable_rate"] = d / "vfr.mkv"  # frames 40 ms and 80 ms apart, alternately
    ffmpeg("-f", "lavfi", "-i", src.format(size="320x180", secs=2), "-vf",
           "setpts='(N+floor(N/2))/25/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(files["variable_rate"]))
    files["rotated"] = d / "rotated.mp4"
    plain = d / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", src.format(size="320x180", secs=1), "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(plain))
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(files["rotated"]))
    files["spaces_unicode"] = d / "Épisode 1 — 东京 rain.mp4"
    files["spaces_unicode"].write_bytes(plain.read_bytes())
    return files


def analysed(c) -> bool:
    return c.snapshot is not None and c.snapshot.complete


@pytest.mark.parametrize("name", ["tiny_1x1", "uhd_4k", "variable_rate", "rotated",
                                  "spaces_unicode"])
def test_unusual_videos_open_play_and_are_analysed(live_player, odd_videos, marker_clip, qtbot,
                                                   name):
    window, c = live_player()
    errors: list[str] = []
    c.engine.failed.connect(lambda gen, text: errors.append(text))
    path = odd_videos[name]
    assert c.open_video(str(path)), window.video.message
    qtbot.waitUntil(lambda: analysed(c), timeout=90_000)
    assert not errors, errors
    # the picture on screen is the decoded frame, whatever its size or rotation
    h, w = c.reader.read(0).shape[:2]
    assert (window.video.image.width(), window.video.image.height()) == (w, h)
    c.show_frame(c.reader.frame_count - 1)  # the last frame decodes too
    assert c.index == c.reader.frame_count - 1
    window.controls.play_pause_requested.emit()
    qtbot.wait(300)
    c.transport.pause()
    assert c.open_video(str(marker_clip[0]))  # and the next good file opens
    qtbot.waitUntil(lambda: analysed(c), timeout=90_000)


def test_rotation_metadata_is_applied_like_a_player_would(odd_videos):
    """A phone video recorded upright: 180x320 on screen, not 320x180 lying down."""
    from engine.video import VideoReader

    with VideoReader(odd_videos["rotated"]) as r:
        h, w = r.read(0).shape[:2]
        assert (r.info.width, r.info.height) == (w, h)
    assert (w, h) == (180, 320)


@pytest.mark.parametrize(
    "name",
    [
        "empty", "random", "lookalike", "raw_stream",
        "streamed_webm", "text", "audio_only", "missing",
    ],
)
def test_broken_files_say_what_is_wrong_and_the_engine_goes_on(live_player, bad_files, marker_clip,
                                                                 qtbot, name):
    window, c = live_player()
    assert not c.open_video(str(bad_files[name]))
    assert window.video.message  # the reason, drawn over the video and in the status bar
    assert c.open_video(str(marker_clip[0]))
    qtbot.waitUntil(lambda: analysed(c), timeout=90_000)


def test_a_truncated_file_is_analysed_up_to_where_it_ends(live_player, bad_files, qtbot):
    window, c = live_player()
    assert c.open_video(str(bad_files["truncated"]))
    # said at once, before the engine's own status lines take the bar over
    said = window.statusBar().currentMessage()
    assert "truncated" in said and f"only {c.reader.frame_count} of" in said, said
    assert 0 < c.reader.frame_count < c.info.frame_count  # the header promises more
    qtbot.waitUntil(lambda: analysed(c), timeout=90_000)
    assert c.snapshot.analysed == [(0, c.snapshot.frame_count)]
    assert c.snapshot.frame_count == c.reader.frame_count


@pytest.mark.parametrize("fault", ["missing", "corrupt"])
def test_a_missing_or_corrupt_detector_model_is_reported_and_nothing_breaks(
        live_player, marker_clip, tmp_path, qtbot, fault):
    model = tmp_path / "detector.onnx"
    if fault == "corrupt":
        model.write_bytes(b"\x08\x01 this is not an ONNX graph" * 100)
    window, c = live_player(detector=f"onnx:{model}")
    errors: list[str] = []
    c.engine.failed.connect(lambda gen, text: errors.append(text))
    assert c.open_video(str(marker_clip[0]))  # the video itself plays without boxes
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert str(model) in errors[0] and "not analysed" in errors[0]
    assert "Analysis error" in window.statusBar().currentMessage()
    c.transport.step(5)
    assert c.index == 5


def test_a_corrupt_asymnet_model_is_reported_by_the_catalogue_loader(make_player, tmp_path,
                                                                    tiny_benchmark, qtbot,
                                                                    monkeypatch):
    import engine.asymnet.model as model

    bad = tmp_path / "asymnet.pt"
    bad.write_bytes(b"not a torch file")
    monkeypatch.setattr(model, "DEFAULT_WEIGHTS", bad)
    window, c = make_player()
    c.open_catalog(str(tiny_benchmark[0]))
    # the loader's thread ends, then its message arrives (queued): wait for the message
    qtbot.waitUntil(lambda: str(bad) in window.statusBar().currentMessage(), timeout=60_000)
    assert "not loaded" in window.statusBar().currentMessage()
    assert c.catalog is None


def test_the_player_survives_a_killed_analysis_cache(live_player, marker_clip, tmp_path, qtbot):
    """A cache file another process left broken is moved aside; analysis goes on."""
    (tmp_path / "analysis.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    _window, c = live_player()
    messages: list[str] = []
    c.engine.status.connect(lambda gen, text: messages.append(text))
    assert c.open_video(str(marker_clip[0]))
    qtbot.waitUntil(lambda: analysed(c), timeout=90_000)
    assert any("moved to" in m for m in messages), messages


def test_ffmpeg_made_the_odd_videos_as_intended(odd_videos):
    """Guards the fixtures: the variable-rate clip really has uneven frame times."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                          "packet=pts_time", "-of", "csv=p=0", str(odd_videos["variable_rate"])],
                         capture_output=True, text=True, check=True).stdout.split()
    times = sorted(float(t) for t in out if t)
    gaps = {round(b - a, 2) for a, b in itertools.pairwise(times)}
    assert len(gaps) >= 2, gaps
