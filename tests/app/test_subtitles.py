"""Subtitles the player draws itself (issue 18): a .srt beside the clip, the clip's own tracks
(MKV SubRip, MP4 mov_text), File > Load Subtitles, a drop, and --subtitles on the command
line. The text is on the picture when paused at a frame inside a cue and absent outside it;
the check compares the picture with the track on and with None chosen."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.images import qimage_to_rgb
from engine.subtitles import SubtitleError, SubtitleTrack, embedded_streams, load_file, sidecars
from tests.conftest import ROOT, ffmpeg

SRT = """1
00:00:00,400 --> 00:00:01,000
Hello subtitles

2
00:00:01,400 --> 00:00:01,800
<i>Second</i> line, café
"""
FPS = 25
INSIDE, OUTSIDE, SECOND = 15, 30, 40  # 0.6 s in cue 1; 1.2 s in none; 1.6 s in cue 2


@pytest.fixture(scope="module")
def sub_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("subs")
    plain = d / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=2",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", str(plain))
    (d / "cues.srt").write_text(SRT, encoding="utf-8")
    mkv, mp4 = d / "embedded.mkv", d / "embedded.mp4"
    for out, codec in ((mkv, "srt"), (mp4, "mov_text")):
        ffmpeg("-i", str(plain), "-i", str(d / "cues.srt"), "-map", "0:v", "-map", "1:s",
               "-c:v", "copy", "-c:s", codec, "-metadata:s:s:0", "language=eng",
               "-disposition:s:0", "default", str(out))
    beside = d / "beside"
    beside.mkdir()
    shutil.copy(plain, beside / "clip.mp4")
    (beside / "clip.srt").write_text(SRT, encoding="utf-8")
    (beside / "clip.fr.vtt").write_text("WEBVTT\n\n00:00.400 --> 00:01.000\nBonjour\n",
                                        encoding="utf-8")
    return {"plain": plain, "srt": d / "cues.srt", "mkv": mkv, "mp4": mp4,
            "beside": beside / "clip.mp4"}


def video_pixels(window) -> np.ndarray:
    return qimage_to_rgb(window.video.grab().toImage()).astype(np.int16)


def drawn(window, c, frame: int) -> tuple[str, int]:
    """(the text the view holds, how many pixels the subtitle changed) at ``frame``."""
    current = c.subtitles.current
    c.show_frame(frame)
    with_subs, text = video_pixels(window), window.video.subtitle
    c.subtitles.select(-1)
    without = video_pixels(window)
    c.subtitles.select(current)
    changed = int((np.abs(with_subs - without).max(axis=2) > 40).sum())
    return text, changed


def test_files_parse_and_lookups_are_exact(sub_clips, tmp_path):
    track = load_file(sub_clips["srt"])
    assert [c.text for c in track.cues] == ["Hello subtitles", "Second line, café"]
    assert track.at(399) == "" and track.at(400) == "Hello subtitles"
    assert track.at(999) == "Hello subtitles" and track.at(1000) == ""
    overlap = SubtitleTrack("t", "t", [track.cues[0], type(track.cues[0])(500, 700, "Both")])
    assert overlap.at(600) == "Hello subtitles\nBoth"
    gbk = tmp_path / "drama.srt"  # a Chinese drama's file, not UTF-8
    for text in ("1\n00:00:01,000 --> 00:00:02,000\n你好，世界\n",  # odd and even lengths:
                 "1\r\n00:00:01,000 --> 00:00:02,000\r\n你好，世界\r\n"):  # UTF-16 has a BOM
        gbk.write_bytes(text.encode("gb18030"))
        assert load_file(gbk).at(1500) == "你好，世界"
    latin = tmp_path / "latin.srt"
    latin.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé crème\r\n".encode("cp1252"))
    assert load_file(latin).at(1500) == "Café crème"
    utf16 = tmp_path / "utf16.srt"
    utf16.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nHello\n".encode("utf-16"))
    assert load_file(utf16).at(1500) == "Hello"
    (tmp_path / "dir.srt").mkdir()
    with pytest.raises(SubtitleError, match="cannot be read"):
        load_file(tmp_path / "dir.srt")
    bidi = tmp_path / "bidi.srt"
    bidi.write_text("1\n00:00:01,000 --> 00:00:02,000\n\u202eevil\x07 text\n")
    assert load_file(bidi).at(1500) == "evil text"
    for bad, word in [("not subtitles at all", "no cues"), ("", "no cues")]:
        (tmp_path / "bad.srt").write_text(bad)
        with pytest.raises(SubtitleError, match=word):
            load_file(tmp_path / "bad.srt")
    with pytest.raises(SubtitleError, match="cannot be opened"):
        load_file(tmp_path / "missing.srt")
    assert [p.name for p in sidecars(sub_clips["beside"])] == ["clip.srt", "clip.fr.vtt"]
    streams = embedded_streams(sub_clips["mkv"])
    assert [(s.codec, s.language, s.default) for s in streams] == [("subrip", "eng", True)]


def test_a_srt_beside_the_clip_shows_paused_inside_a_cue_and_not_outside(make_player,
                                                                          sub_clips, qtbot):
    window, c = make_player()
    assert c.open_video(str(sub_clips["beside"]))
    assert [e[0] for e in window.subtitle_menu_entries()] == ["None", "clip.srt", "clip.fr.vtt"]
    assert window.subtitle_menu_entries()[1][2]  # checked: the file named after the video
    text, changed = drawn(window, c, INSIDE)
    assert text == "Hello subtitles" and changed > 200
    text, changed = drawn(window, c, OUTSIDE)
    assert text == "" and changed == 0
    c.transport.step(1)  # stepping frame by frame keeps them in step
    assert c.index == OUTSIDE + 1 and window.video.subtitle == ""
    c.transport.seek_frame(SECOND)
    qtbot.waitUntil(lambda: c.index == SECOND)
    assert window.video.subtitle == "Second line, café"
    window.subtitle_track_chosen.emit(1)  # the menu: the French file (entry 1 after None)
    c.show_frame(INSIDE)
    assert window.video.subtitle == "Bonjour"
    window.subtitle_track_chosen.emit(-1)
    assert window.video.subtitle == ""


@pytest.mark.parametrize("kind", ["mkv", "mp4"])
def test_the_clips_own_subtitle_track_is_read_and_shown(make_player, sub_clips, qtbot, kind):
    window, c = make_player()
    assert c.open_video(str(sub_clips[kind]))
    qtbot.waitUntil(lambda: not c.subtitles.pending(), timeout=30_000)
    entries = window.subtitle_menu_entries()
    assert [(e[0], e[2]) for e in entries] == [("None", False), ("eng", True)]
    text, changed = drawn(window, c, INSIDE)
    assert text == "Hello subtitles" and changed > 200
    assert drawn(window, c, OUTSIDE) == ("", 0)


def test_load_subtitles_and_a_drop(make_player, sub_clips, qtbot, tmp_path):
    window, c = make_player()
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    assert not c.load_subtitles(str(sub_clips["srt"]))  # no video yet
    assert c.open_video(str(sub_clips["plain"]))
    qtbot.waitUntil(lambda: not c.subtitles.pending(), timeout=30_000)
    assert [e[0] for e in window.subtitle_menu_entries()] == ["None"]
    window._on_dropped([str(sub_clips["srt"])])  # what a drop on the window does
    c.show_frame(INSIDE)
    assert window.video.subtitle == "Hello subtitles"
    assert any("cues.srt, 2 lines" in m for m in messages)
    (tmp_path / "broken.srt").write_bytes(b"\x00\x01garbage")
    assert not c.load_subtitles(str(tmp_path / "broken.srt"))
    assert any("broken.srt" in m for m in messages[-2:])
    assert window.video.subtitle == "Hello subtitles"  # the shown track is kept


def _screenshot(args: list[str], out) -> np.ndarray:
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), *args, "--no-engine",
                        "--screenshot", str(out), "--size", "900,600"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return qimage_to_rgb(QImage(str(out))).astype(np.int16)


def test_subtitles_from_the_command_line_on_a_screenshot(sub_clips, tmp_path):
    clip = str(sub_clips["plain"])
    with_subs = _screenshot([clip, "--subtitles", str(sub_clips["srt"]), "--frame",
                             str(INSIDE)], tmp_path / "in.png")
    plain = _screenshot([clip, "--frame", str(INSIDE)], tmp_path / "plain.png")
    ys, xs = np.nonzero(np.abs(with_subs - plain).max(axis=2) > 40)
    h, w = plain.shape[:2]
    video_part = ys < h - 40  # the status bar (its message differs) is at the very bottom
    assert video_part.sum() > 200
    assert ys[video_part].min() > h * 0.35  # in the lower part of the picture, centred
    assert abs(np.median(xs[video_part]) - w * 0.4) < w * 0.2  # the side panel is on the right
    outside = _screenshot([clip, "--subtitles", str(sub_clips["srt"]), "--frame",
                           str(OUTSIDE)], tmp_path / "out.png")
    plain_out = _screenshot([clip, "--frame", str(OUTSIDE)], tmp_path / "plain-out.png")
    ys, _ = np.nonzero(np.abs(outside - plain_out).max(axis=2) > 40)
    assert (ys < h - 40).sum() == 0
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), clip, "--no-engine",
                        "--subtitles", str(tmp_path / "nope.srt"), "--screenshot",
                        str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "nope.srt" in r.stderr
