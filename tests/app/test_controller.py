"""The player with the OpenCV backend: exact frames, boxes, stepping, bad files, selection."""

import numpy as np
import pytest

from bench.synth.marker_clip import MARKERS, marker_box
from tests.app.helpers import FrameOracle


@pytest.fixture(scope="module")
def oracle():
    return FrameOracle(100, 320, 180)


def assert_in_sync(window, controller, oracle, expected):
    """The picture on screen, the boxes on screen and the index all agree."""
    view = window.video
    assert controller.index == expected == view.frame_index
    assert oracle.which(view.image) == expected
    for m in MARKERS:
        row = view.detections.tracker_id.tolist().index(m.track_id)
        np.testing.assert_allclose(
            view.detections.xyxy[row], marker_box(m, expected, 100, 320, 180)
        )


def test_open_shows_frame_zero_with_its_boxes(make_player, marker_clip, oracle):
    window, c = make_player()
    assert c.open_video(str(marker_clip[0]))
    assert c.load_annotations(str(marker_clip[1]))
    assert_in_sync(window, c, oracle, 0)
    assert "marker.mp4" in window.windowTitle()
    assert window.controls.time_label.text().endswith("frame 0 / 99")


def test_stepping_and_jumping_keep_picture_and_boxes_together(make_player, marker_clip, oracle):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    c.load_annotations(str(marker_clip[1]))
    expected = 0
    for delta in [1, 1, 1, -1, 5, -2, 1, 1, -1, -1, -1]:
        c.transport.step(delta)
        expected += delta
        assert_in_sync(window, c, oracle, expected)
    for n in [77, 12, 99, 98, 0]:
        c.transport.seek_frame(n)
        assert_in_sync(window, c, oracle, n)
    c.transport.step(-1)  # before the first frame: stays on it
    assert_in_sync(window, c, oracle, 0)


@pytest.mark.parametrize(
    "name",
    [
        "missing", "empty", "random", "lookalike",
        "raw_stream", "streamed_webm", "text", "audio_only",
    ],
)
def test_a_bad_file_shows_a_message_and_the_next_good_file_plays(
    make_player, bad_files, marker_clip, oracle, name
):
    window, c = make_player()
    assert c.open_video(str(marker_clip[0]))
    assert not c.open_video(str(bad_files[name]))
    assert window.video.message  # said in the window ...
    assert window.statusBar().currentMessage() == window.video.message  # ... and the status bar
    assert c.reader is None and window.video.image is None
    c.transport.step(1)  # nothing open: controls do nothing, nothing raises
    c.transport.toggle_play()
    assert c.open_video(str(marker_clip[0]))
    assert window.video.message == ""
    c.load_annotations(str(marker_clip[1]))
    c.transport.seek_frame(33)
    assert_in_sync(window, c, oracle, 33)


def test_a_truncated_file_plays_what_it_has_and_says_so(make_player, bad_files, oracle):
    window, c = make_player()
    assert c.open_video(str(bad_files["truncated"]))
    assert "truncated" in window.statusBar().currentMessage()
    last = c.reader.frame_count - 1
    c.transport.seek_frame(99)
    assert c.index == last and oracle.which(window.video.image) == last


def test_bad_annotations_are_refused_with_the_reason(make_player, marker_clip, tmp_path):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    bad = tmp_path / "bad.json"
    bad.write_text('{"tracks": 5}')
    assert not c.load_annotations(str(bad))
    assert "'tracks' must be a list" in window.video.message


def test_clicking_a_box_selects_its_track_in_the_panel(make_player, marker_clip):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    c.load_annotations(str(marker_clip[1]))
    c.transport.seek_frame(20)
    x1, y1, x2, y2 = marker_box(MARKERS[2], 20, 100, 320, 180)
    assert window.video.click_video_point((x1 + x2) / 2, (y1 + y2) / 2) == 3
    assert window.video.selected_track == 3
    assert "dress  #3" in window.panel.shown_text
    window.video.click_video_point(1, 178)  # the background: nothing selected
    assert window.video.selected_track == -1
    assert "No garment selected" in window.panel.shown_text


def test_opencv_playback_is_exact_and_stops_at_the_end(qtbot, make_player, marker_clip, oracle):
    window, c = make_player(use_vlc=False)
    c.open_video(str(marker_clip[0]))
    c.load_annotations(str(marker_clip[1]))
    c.transport.seek_frame(80)
    shown = []
    c.frame_shown.connect(lambda i: shown.append((i, oracle.which(window.video.image))))
    c.transport.set_rate(4.0)
    c.transport.play()
    qtbot.waitUntil(lambda: not c.playing, timeout=10_000)
    assert shown and all(i == truth for i, truth in shown)
    assert c.index == 99


def test_loop_starts_over(qtbot, make_player, marker_clip):
    _window, c = make_player(use_vlc=False, loop=True)
    c.open_video(str(marker_clip[0]))
    c.transport.seek_frame(95)
    c.transport.set_rate(4.0)
    seen = []
    c.frame_shown.connect(seen.append)
    c.transport.play()
    qtbot.waitUntil(lambda: 10 in seen, timeout=10_000)
    assert c.playing
    c.transport.pause()
