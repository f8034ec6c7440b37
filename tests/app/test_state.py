"""The player's evented state (app/state.py): a value says when it changes, once, and the
widgets that show it follow without the controllers naming them."""

from __future__ import annotations

import pytest

from app.state import PlayerState
from bench.synth.marker_clip import MARKERS, marker_box


def test_a_value_emits_when_it_changes_and_only_then(qtbot):
    s = PlayerState(volume=140, muted=False)
    assert (s.index, s.playing, s.rate, s.volume, s.muted, s.selected, s.annotations) == (
        -1, False, 1.0, 100, False, -1, None)  # the volume is clamped from the start
    seen = []
    s.frame_changed.connect(lambda v: seen.append(("frame", v)))
    s.playing_changed.connect(lambda v: seen.append(("playing", v)))
    s.rate_changed.connect(lambda v: seen.append(("rate", v)))
    s.volume_changed.connect(lambda v: seen.append(("volume", v)))
    s.muted_changed.connect(lambda v: seen.append(("muted", v)))
    s.selection_changed.connect(lambda v: seen.append(("selected", v)))
    s.results_changed.connect(lambda: seen.append(("results", None)))
    s.index = 4
    s.index = 4
    s.playing = True
    s.playing = True
    s.rate = 2
    s.rate = 2.0
    s.volume = -5
    s.volume = 0
    s.muted = 1
    s.selected = 3
    s.selected = 3
    ann = object()
    s.annotations = ann
    s.annotations = ann
    s.annotations = None
    assert seen == [("frame", 4), ("playing", True), ("rate", 2.0), ("volume", 0),
                    ("muted", True), ("selected", 3), ("results", None), ("results", None)]
    assert isinstance(s.rate, float) and s.muted is True
    with pytest.raises(ValueError, match="rate must be above 0, got 0"):
        s.rate = 0
    assert s.rate == 2.0


def test_the_widgets_follow_the_state(make_player, marker_clip, tmp_path):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    c.load_annotations(str(marker_clip[1]))
    c.transport.seek_frame(20)
    assert window.controls.seek.value() == 20 and window.timeline.position == 20
    # a click on a box selects its track everywhere it is shown: the video and the timeline
    x1, y1, x2, y2 = marker_box(MARKERS[2], 20, 100, 320, 180)
    window.video.click_video_point((x1 + x2) / 2, (y1 + y2) / 2)
    assert c.state.selected == 3
    assert window.video.selected_track == 3 and window.timeline.selected_track == 3
    c.select_track(-1)
    assert window.video.selected_track == -1 and window.timeline.selected_track == -1
    # sound and speed: the transport sets the state; the controls and the settings follow
    c.transport.set_volume(130)
    assert c.volume == 100 and window.controls.volume.value() == 100
    assert c.settings.volume == 100
    c.transport.set_volume(35)
    c.transport.set_muted(True)
    assert window.controls.volume.value() == 35 and c.settings.volume == 35
    assert c.settings.muted is True and window.controls.mute.isChecked()
    c.transport.set_rate(2.0)
    assert window.controls.rate.currentData() == 2.0


def test_loaded_boxes_reach_the_frame_and_the_qa_list_at_once(make_player, marker_clip):
    """Annotations loaded while QA mode is on fill its track list at once (before the state
    model, the list waited for QA mode to be toggled again)."""
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    c.transport.seek_frame(20)
    window.set_qa(True)
    assert window.track_list.count() == 0 and len(window.video.detections) == 0
    c.load_annotations(str(marker_clip[1]))
    assert window.track_list.count() == len(MARKERS)
    assert sorted(window.video.detections.tracker_id.tolist()) == sorted(
        m.track_id for m in MARKERS)
