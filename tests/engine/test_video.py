import shutil
import subprocess

import cv2
import numpy as np
import pytest

from bench.synth.marker_clip import render_frame
from engine.video import FrameStream, VideoError, VideoReader, fingerprint, iter_frames, probe


def which_frame(image: np.ndarray, frames: int, w: int, h: int) -> int:
    """The index of the rendered frame that ``image`` shows (nearest by pixels)."""
    errs = [np.abs(image.astype(int) - render_frame(i, frames, w, h)).mean() for i in range(frames)]
    return int(np.argmin(errs))


def test_probe_reads_the_stream(marker_clip):
    info = probe(marker_clip[0])
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 180, 25.0, 100)
    assert info.codec == "h264"


def test_random_access_is_frame_exact(marker_clip):
    # forward steps, backward steps and long jumps, across GOPs with B-frames
    order = [0, 1, 2, 50, 49, 48, 99, 13, 12, 11, 60, 61, 97, 3]
    with VideoReader(marker_clip[0]) as r:
        for i in order:
            assert which_frame(r.read(i), 100, 320, 180) == i


def test_a_frame_stream_starts_and_seeks_exactly(marker_clip):
    """The one sequential decoder (analysis, matching crops, training, the frame indexer):
    each read is the frame ``position`` named, after a start, forward and backward seeks."""
    with FrameStream(marker_clip[0], start=37) as s:
        assert s.position == 37
        assert which_frame(s.read(), 100, 320, 180) == 37
        assert s.grab() and s.position == 39
        assert which_frame(s.read(), 100, 320, 180) == 39
        for target in (80, 5, 6, 0, 99):
            s.seek(target)
            assert s.position == target
            assert which_frame(s.read(), 100, 320, 180) == target
        assert s.position == 100
        assert s.read() is None and s.position == 100  # the end, not an exception
        with pytest.raises(ValueError, match="-1"):
            s.seek(-1)


def test_iter_frames_steps_from_its_start_to_its_stop(marker_clip):
    got = [(i, which_frame(f, 100, 320, 180)) for i, f in iter_frames(marker_clip[0], step=7,
                                                                       start=10, stop=40)]
    assert got == [(i, i) for i in (10, 17, 24, 31, 38)]
    assert [i for i, _ in iter_frames(marker_clip[0], step=30)] == [0, 30, 60, 90]
    with pytest.raises(ValueError, match="step"):
        next(iter_frames(marker_clip[0], step=0))


def test_a_frame_stream_on_a_truncated_file_ends_where_its_frames_do(bad_files):
    """Past a truncated stream's end a seek 'succeeds' and FFmpeg hands back the last frame it
    could decode: the stream says None instead of a wrong frame."""
    with VideoReader(bad_files["truncated"]) as r:
        r.check_end()
        real = r.frame_count
    with FrameStream(bad_files["truncated"]) as s:
        s.seek(real + 10)
        assert s.read() is None
        s.seek(real - 1)
        assert which_frame(s.read(), 100, 320, 180) == real - 1
        assert s.read() is None
    assert len(list(iter_frames(bad_files["truncated"]))) == real
    # without fallback (VideoReader's random access) the stream says it has ended, and a seek
    # back to a frame that is there reads it again
    with FrameStream(bad_files["truncated"], fallback=False) as s:
        assert not s.ended
        s.seek(real + 10)
        assert s.read() is None and s.ended and not s.grab()
        s.seek(real - 2)
        assert not s.ended and which_frame(s.read(), 100, 320, 180) == real - 2
        assert which_frame(s.read(), 100, 320, 180) == real - 1
        assert s.read() is None and s.ended


def test_a_stream_without_fallback_seeks_exactly_on_h264(marker_clip):
    with FrameStream(marker_clip[0], fallback=False) as s:
        for target in (80, 5, 6, 0, 99, 42):
            s.seek(target)
            assert which_frame(s.read(), 100, 320, 180) == target and not s.ended


def test_a_file_opencv_cannot_open_is_a_video_error(bad_files):
    with pytest.raises(VideoError, match="Cannot open"):
        FrameStream(bad_files["text"])


def test_reading_outside_the_video_is_an_index_error(marker_clip):
    with VideoReader(marker_clip[0]) as r, pytest.raises(IndexError):
        r.read(100)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "File not found"),
        ("empty", "is empty"),
        ("random", "not a video"),
        ("lookalike", "raw H263 stream"),
        ("raw_stream", "raw H264 stream"),
        ("streamed_webm", "does not say how long"),
        ("text", "not a video"),
        ("audio_only", "no video stream"),
    ],
)
def test_bad_files_raise_a_clear_video_error(bad_files, name, message):
    with pytest.raises(VideoError, match=message):
        probe(bad_files[name])


def test_a_truncated_file_is_found_out_at_open(bad_files):
    with VideoReader(bad_files["truncated"]) as r:
        assert r.info.frame_count == 100  # the header still promises all frames
        assert r.check_end() is False
        assert r.truncated
        assert 0 < r.frame_count < 100
        last = r.read(r.frame_count - 1)  # the real last frame decodes
        assert which_frame(last, 100, 320, 180) == r.frame_count - 1


def test_fingerprint_is_stable_and_changes_with_the_content(marker_clip, bad_files, tmp_path):
    assert fingerprint(marker_clip[0]) == fingerprint(marker_clip[0])
    assert fingerprint(marker_clip[0]) != fingerprint(bad_files["truncated"])


def test_the_lookalike_is_a_file_opencv_takes_for_a_video(bad_files):
    """The case the frame-count check is for: OpenCV opens these random bytes as a raw H.263
    stream and decodes a frame from them, so only the missing frame count gives them away."""

    cap = cv2.VideoCapture(str(bad_files["lookalike"]), cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened() and cap.read()[0]
        assert cap.get(cv2.CAP_PROP_FRAME_COUNT) <= 0
    finally:
        cap.release()


@pytest.mark.parametrize("name", ["raw_stream", "streamed_webm"])
def test_the_command_in_the_message_makes_a_file_that_plays_frame_exactly(
    bad_files, tmp_path, name
):
    """A raw .h264 and a browser-style WebM have no frame count, so OpenCV's seeks miss; the
    message's ffmpeg command (paths quoted: a space in the folder) gives a file that works."""
    folder = tmp_path / "my videos"
    folder.mkdir()
    bad = folder / bad_files[name].name
    shutil.copy(bad_files[name], bad)
    with pytest.raises(VideoError) as err:
        probe(bad)
    command = "ffmpeg -v error" + str(err.value).split(": ffmpeg", 1)[1]
    subprocess.run(command, shell=True, check=True)
    fixed = next(p for p in folder.iterdir() if p.stem.endswith("-fixed"))
    assert probe(fixed).frame_count == 100
    with VideoReader(fixed) as r:
        for i in [0, 50, 49, 99, 13, 12, 60]:
            assert which_frame(r.read(i), 100, 320, 180) == i
