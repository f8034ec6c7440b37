"""Frame-exact reading with OpenCV, and the checks that turn a bad file into a clear message.

OpenCV is the engine's decoder: ``CAP_PROP_POS_FRAMES`` seeks were measured frame-exact on
H.264, so ``VideoReader.read(i)`` returns exactly decoder frame ``i``. The player uses it for
every paused or stepped frame, and the engine keys all results by these indices.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.types import VideoInfo


class VideoError(Exception):
    """A video that cannot be played, with what is wrong and what to do about it."""


# Sequential reads are cheap; a seek decodes from the previous keyframe. Reading forward up to
# this many frames is faster than seeking on typical GOP sizes.
_FORWARD_READ_LIMIT = 48


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open ``path`` and check that it holds a decodable video stream.

    Raises ``VideoError`` with a message a viewer can act on: missing, empty, not a video, no
    video stream (audio only), or unreadable first frame.
    """
    p = Path(path)
    if not p.exists():
        raise VideoError(f"File not found: {p}")
    if p.is_dir():
        raise VideoError(f"{p} is a folder, not a video file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise VideoError(f"Cannot read {p}: {exc.strerror}") from None
    if size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes): the file was not written completely")
    if not os.access(p, os.R_OK):
        raise VideoError(f"Cannot read {p.name}: permission denied")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)  # not _open: a refusal is diagnosed below
    try:
        opened = cap.isOpened()
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) if opened else 0
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) if opened else 0
        if width <= 0 or height <= 0:
            if _has_audio_only(p):
                raise VideoError(f"{p.name} has no video stream (audio only): nothing to show")
            raise VideoError(
                f"{p.name} is not a video that can be played: the file is corrupt or not a "
                "video format (try re-encoding it with ffmpeg)"
            )
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if count <= 0:
            raise VideoError(_no_frame_count_message(p))
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(
                f"{p.name}: no frame could be decoded; the file is truncated or corrupt"
            )
        # after OpenCV's automatic rotation the frame's shape is what is shown
        height, width = frame.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        if not np.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 25.0
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
    finally:
        cap.release()
    return VideoInfo(
        path=str(p), width=width, height=height, fps=fps, frame_count=max(count, 1), codec=codec
    )


# ffmpeg's demuxers for bare elementary streams: no container, so no duration and no index
_RAW_STREAM_FORMATS = {
    "h261", "h263", "h264", "hevc", "vvc", "m4v", "mpegvideo", "cavsvideo", "avs2", "avs3",
    "vc1", "dirac", "obu", "rawvideo", "mjpeg",
}


def _no_frame_count_message(p: Path) -> str:
    """Why a file OpenCV opened gives no frame count, and the ffmpeg command that fixes it.

    Frame-exact seeks need the count: in such a file OpenCV seeks land on the wrong frame or
    fail. Two kinds, told apart by ffprobe's format name: a raw elementary stream (``.h264``,
    or random bytes ffmpeg takes for raw H.263: about one file in 150), and a container written
    as a stream (a WebM recorded by a browser, ``ffmpeg ... -f webm -``) that never got its
    duration and index. Remuxing writes both; a raw stream is re-encoded instead, since it has
    no timestamps to copy (``-c copy`` to MP4 drops B-frames).
    """
    fmt = _ffprobe(p, "format=format_name")
    raw = sorted(set(",".join(fmt).split(",")) & _RAW_STREAM_FORMATS) if fmt else []
    if raw or (fmt is None and p.suffix.lower() not in (".webm", ".mkv")):
        fixed = p.with_name(f"{p.stem}-fixed.mp4")
        what = f"a raw {raw[0].upper()} stream" if raw else "a raw stream or not a video"
        return (
            f"{p.name} is {what}: no container says how many frames it holds, so the player "
            "cannot step through it. If it is a video, re-encode it into one (a raw stream has "
            "no timestamps, so copying it would lose frames): "
            f"ffmpeg -i {shlex.quote(str(p))} -c:v libx264 -crf 18 {shlex.quote(str(fixed))}"
        )
    fixed = p.with_name(f"{p.stem}-fixed.mkv")
    return (
        f"{p.name} does not say how long it is (it was written as a stream, as browsers record "
        "WebM), so its frames cannot be reached exactly. Rewrite its index, which keeps the "
        f"video as it is: ffmpeg -i {shlex.quote(str(p))} -c copy {shlex.quote(str(fixed))}"
    )


def _ffprobe(path: Path, entries: str) -> list[str] | None:
    """ffprobe's answer for ``entries`` (one value a line), or None without ffprobe."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        out = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", entries, "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.split()


def _has_audio_only(path: Path) -> bool:
    """Asks ffprobe, when installed, whether the file holds audio and no video: only to pick
    the right message after OpenCV refused the file."""
    out = _ffprobe(path, "stream=codec_type") or []
    return "audio" in out and "video" not in out


def _open(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    """OpenCV's FFmpeg capture of ``path``: the one place the engine opens one (issue 15)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"Cannot open {Path(path).name} for reading")
    return cap


class FrameStream:
    """Decoded frames in order from an exact index: the decoder of every pass over a video (the
    analysis, the crops matching needs, training data, the player's frame indexer) and, under
    ``VideoReader``'s lock, of the player's random access.

    ``position`` is the index of the frame the next ``read`` returns. ``seek`` is exact:
    OpenCV's ``CAP_PROP_POS_FRAMES`` seeks land on the frame asked for on H.264
    (docs/player.md). A container whose seek lands elsewhere is decoded from its start instead
    (``fallback``, the default: slower but still the right frame). Without ``fallback`` the
    first frame read after a seek is checked and, if it is not the frame asked for, the stream
    is ``ended`` (random access, which cannot afford a decode from the start on every seek).
    Not thread-safe: one owner a stream.
    """

    def __init__(self, path: str | os.PathLike[str], start: int = 0, *,
                 fallback: bool = True) -> None:
        self.path = str(path)
        self._cap = _open(path)
        self.fallback = fallback
        self.position = 0
        self._check = False  # the first frame after a seek is checked (truncated files)
        self._ended = False  # a seek found the end before the frame asked for
        if start:
            self.seek(start)

    @property
    def ended(self) -> bool:
        """Nothing exact can be read before the next ``seek``: the frame asked for was not
        there (past the end of a truncated stream, or a seek that missed without fallback)."""
        return self._ended

    def seek(self, index: int) -> None:
        if index < 0:
            raise ValueError(f"frame index must be >= 0, got {index}")
        if index == self.position and not self._ended:
            return
        self._ended = False
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if not self.fallback:  # the first frame read tells whether the seek landed
            self.position, self._check = index, True
            return
        if index == 0 or round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == index:
            self.position, self._check = index, index > 0
            return
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self.position, self._check = 0, False
        while self.position < index and self.grab():
            pass
        # short of it: the stream ends first (a truncated file), and stays ended; what the
        # decoder would hand back now is an older frame
        self._ended = self.position < index

    def read(self) -> np.ndarray | None:
        """Frame ``position`` (BGR), then the next; None past the last decodable frame."""
        if self._ended:
            return None
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._ended = True
            return None
        self.position += 1
        return frame if self._landed() else None

    def grab(self) -> bool:
        """Step over frame ``position`` without converting it; False at the end."""
        if self._ended:
            return False
        if not self._cap.grab():
            self._ended = True
            return False
        self.position += 1
        return self._landed()

    def _landed(self) -> bool:
        """After the first frame past a seek: whether it was the frame asked for. Past the end
        of a truncated stream a seek does not fail: FFmpeg hands back the last frame it could
        decode, and the capture's position tells the truth."""
        if not self._check:
            return True
        self._check = False
        if round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == self.position:
            return True
        self.position -= 1
        self._ended = True  # the decoder is past the frame asked for: nothing more is exact
        return False

    def frames(self, stop: int | None = None, step: int = 1
               ) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for every ``step``-th frame from ``position`` up to ``stop``
        (exclusive; None: the end), stepping over the others without converting them."""
        if step < 1:
            raise ValueError(f"step must be >= 1, got {step}")
        first = self.position
        while stop is None or self.position < stop:
            index = self.position
            if (index - first) % step == 0:
                frame = self.read()
                if frame is None:
                    return
                yield index, frame
            elif not self.grab():
                return

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_frames(path: str | os.PathLike[str], step: int = 1, start: int = 0,
                stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, BGR frame) for every ``step``-th frame of ``path`` from ``start``, read in
    order."""
    with FrameStream(path, start) as stream:
        yield from stream.frames(stop, step)


class VideoReader:
    """Exact random access to decoded frames (BGR uint8 arrays), over one ``FrameStream``
    without fallback: a frame a little ahead is decoded forward, any other is a seek.

    Thread-safe: one lock guards the stream, so the UI thread and a background thread can share
    a reader. ``frame_count`` shrinks to the last readable frame when a truncated file is found
    out (``truncated`` then says so).
    """

    def __init__(self, path: str | os.PathLike[str], info: VideoInfo | None = None) -> None:
        self.info = info or probe(path)
        self.path = str(path)
        self._stream = FrameStream(path, fallback=False)
        self._lock = threading.Lock()
        self.frame_count = self.info.frame_count
        self.truncated = False

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` exactly; ``IndexError`` outside the readable range."""
        with self._lock:
            if index < 0 or index >= self.frame_count:
                raise IndexError(f"frame {index} outside 0..{self.frame_count - 1}")
            s = self._stream
            if s.ended or not s.position <= index <= s.position + _FORWARD_READ_LIMIT:
                s.seek(index)
            while s.position < index:
                if not s.grab():
                    return self._hit_end(index)
            frame = s.read()
            if frame is None:
                return self._hit_end(index)
            return frame

    def _hit_end(self, index: int) -> np.ndarray:
        # The container promised more frames than the stream holds (truncated file, or a
        # wrong header count): remember the real end so callers stop asking.
        self.frame_count = max(1, min(self.frame_count, index))
        self.truncated = True
        raise IndexError(f"frame {index} cannot be decoded (stream ends at {self.frame_count})")

    def check_end(self) -> bool:
        """Decode the last frame the header promises; False (and ``truncated``) if it fails.
        Finds truncated files at open time instead of at the end of playback."""
        last = self.frame_count - 1
        try:
            self.read(last)
        except IndexError:
            self._find_last_readable(last)
            return False
        return True

    def _find_last_readable(self, bad: int) -> None:
        lo, hi = 0, bad  # frame lo is readable, frame hi is not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            with self._lock:
                self._stream.seek(mid)
                ok = self._stream.grab()
            if ok:
                lo = mid
            else:
                hi = mid
        self.frame_count = lo + 1
        self.truncated = True

    def close(self) -> None:
        with self._lock:
            self._stream.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fingerprint(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """A stable identity for a video file: size plus hashes of its first and last megabyte.
    Cheap on multi-GB files, and changes when the file is re-encoded or replaced."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with p.open("rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class AudioStream:
    """One of a file's audio tracks (ffprobe), in the file's order."""

    position: int  # among the audio streams: VLC's and ffmpeg's 0:a:N
    codec: str
    language: str
    title: str
    channels: int
    default: bool

    def name(self) -> str:
        parts = [self.title or self.language or f"Track {self.position + 1}"]
        if self.title and self.language:
            parts.append(f"({self.language})")
        if self.channels:
            parts.append({1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(
                self.channels, f"{self.channels} ch"))
        return " ".join(parts)


def audio_streams(path: str | os.PathLike[str]) -> list[AudioStream]:
    """The file's audio tracks; [] without ffprobe, without sound or for an unreadable file."""
    import json as _json

    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
             "stream=codec_name,channels:stream_tags=language,title:stream_disposition=default",
             "-of", "json", str(path)], capture_output=True, text=True, timeout=5)
        streams = _json.loads(out.stdout or "{}").get("streams", [])
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    result = []
    for i, s in enumerate(streams):
        tags = s.get("tags") or {}
        result.append(AudioStream(i, str(s.get("codec_name", "")),
                                  str(tags.get("language", "")), str(tags.get("title", "")),
                                  int(s.get("channels") or 0),
                                  bool((s.get("disposition") or {}).get("default"))))
    return result
