"""VLC through its video callbacks: while playing, the boxes drawn belong to the frame shown."""

import numpy as np
import pytest

from app.playback import PlaybackUnavailable, load_vlc
from tests.app.helpers import FrameOracle


@pytest.fixture(scope="module", autouse=True)
def _need_vlc():
    try:
        load_vlc()
    except PlaybackUnavailable as exc:
        pytest.fail(f"{exc}")


@pytest.fixture(scope="module")
def oracle():
    return FrameOracle(300, 320, 180)


def play_and_record(qtbot, c, window, oracle, seconds):
    shown = []
    c.frame_shown.connect(
        lambda i: shown.append((i, oracle.which(window.video.image))) if c.playing else None
    )
    c.transport.play()
    qtbot.wait(int(seconds * 1000))
    return shown


@pytest.mark.parametrize("rate", [1.0, 4.0])
def test_vlc_frames_carry_their_exact_index(qtbot, make_player, long_clip, oracle, rate):
    window, c = make_player(use_vlc=True)
    c.open_video(str(long_clip[0]))
    c.load_annotations(str(long_clip[1]))
    c.transport.set_rate(rate)
    shown = play_and_record(qtbot, c, window, oracle, 2.5)
    assert c.backend.name == "vlc"
    assert len(shown) > 20
    errors = np.array([i - truth for i, truth in shown])
    assert np.abs(errors).max() <= 1, f"index errors {errors.tolist()}"
    assert (errors == 0).mean() >= 0.95
    c.transport.pause()
    # paused: the exact decode of the same frame, with its boxes
    assert oracle.which(window.video.image) == c.index == window.video.frame_index


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_frames_advance_at_the_rate_chosen(qtbot, make_player, long_clip, oracle, rate):
    """The frame index against the wall clock: its slope is the rate times the frame rate
    (25 fps here), within 25% on a busy machine; 2x is clearly not 1x."""
    import time

    _window, c = make_player(use_vlc=True)
    c.open_video(str(long_clip[0]))
    c.transport.set_rate(rate)
    seen = []
    c.frame_shown.connect(lambda i: seen.append((time.monotonic(), i)) if c.playing else None)
    c.transport.play()
    qtbot.wait(2500)
    c.transport.pause()
    t = np.array([a for a, _ in seen])
    idx = np.array([b for _, b in seen], float)
    late = t >= t[0] + 0.4  # past VLC's start-up
    slope = np.polyfit(t[late], idx[late], 1)[0]
    assert abs(slope / (25.0 * rate) - 1) <= 0.25, f"{slope:.1f} frames/s at {rate}x"
    assert c.index > 25 * rate


def test_seeking_while_playing_stays_in_sync(qtbot, make_player, long_clip, oracle):
    window, c = make_player(use_vlc=True)
    c.open_video(str(long_clip[0]))
    c.load_annotations(str(long_clip[1]))
    shown = play_and_record(qtbot, c, window, oracle, 0.8)
    firsts = []
    for target in (200, 40, 120):  # each seek's target is new: no earlier seek satisfies it
        start = len(shown)
        c.transport.seek_frame(target)
        qtbot.waitUntil(lambda start=start: len(shown) > start, timeout=3000)
        firsts.append((target, shown[start][0]))
        qtbot.wait(500)
    c.transport.pause()
    errors = np.array([i - truth for i, truth in shown])
    assert len(shown) > 30
    assert np.abs(errors).max() <= 1, f"index errors {errors.tolist()}"
    # the first frame shown after each seek is the target's (or the next)
    assert all(0 <= first - target <= 1 for target, first in firsts), firsts


def test_play_after_stepping_resumes_from_the_stepped_frame(qtbot, make_player, long_clip, oracle):
    window, c = make_player(use_vlc=True)
    c.open_video(str(long_clip[0]))
    c.transport.seek_frame(210)
    for _ in range(3):
        c.transport.step(-1)
    shown = play_and_record(qtbot, c, window, oracle, 0.6)
    c.transport.pause()
    assert shown and shown[0][0] in (207, 208, 209)
    assert all(abs(i - t) <= 1 for i, t in shown)


def test_vlc_reaching_the_end_pauses_on_the_last_frame(qtbot, make_player, marker_clip):
    _window, c = make_player(use_vlc=True)
    c.open_video(str(marker_clip[0]))
    c.transport.seek_frame(90)
    c.transport.play()
    qtbot.waitUntil(lambda: not c.playing, timeout=8000)
    assert c.index == 99


@pytest.fixture(scope="module")
def two_languages(tmp_path_factory):
    """A clip with two audio tracks (eng 440 Hz, fra 880 Hz; the second flagged default)."""
    from tests.conftest import ffmpeg

    out = tmp_path_factory.mktemp("audio") / "two languages.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
           "-f", "lavfi", "-i", "sine=frequency=880:duration=6",
           "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
           "-disposition:a:0", "0", "-disposition:a:1", "default", str(out))
    return out


def test_the_audio_menu_switches_tracks_and_remembers_them_per_file(qtbot, make_player,
                                                                    two_languages, tmp_path):
    settings = tmp_path / "player.ini"
    window, c = make_player(use_vlc=True, settings_path=settings)
    c.open_video(str(two_languages))
    entries = window.audio_menu_entries()
    # the track the file flags as default is the one chosen
    assert [(e[0], e[2]) for e in entries] == [("eng mono", False), ("fra mono", True)]
    c.transport.play()
    qtbot.waitUntil(lambda: c.backend.audio_track() == 1, timeout=15_000)
    window.audio_track_chosen.emit(0)  # Audio ▸ eng, while playing
    qtbot.waitUntil(lambda: c.backend.audio_track() == 0, timeout=15_000)
    c.transport.pause()
    c.shutdown()
    window2, c2 = make_player(use_vlc=True, settings_path=settings)  # a restart
    c2.open_video(str(two_languages))
    assert window2.audio_menu_entries()[0][2]  # remembered for this file
    c2.transport.play()
    qtbot.waitUntil(lambda: c2.backend.audio_track() == 0, timeout=15_000)
    c2.transport.pause()


def test_without_vlc_the_audio_menu_says_why(make_player, two_languages):
    window, c = make_player(use_vlc=False)
    c.open_video(str(two_languages))
    c.transport.ensure_backend()
    assert [e[1] for e in window.audio_menu_entries()] == [False, False]
