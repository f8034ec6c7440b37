"""Frames in, H.264 in MP4 out, through the ffmpeg binary (Debian's package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np


class FfmpegMissing(RuntimeError):
    pass


class H264Writer:
    """Pipes raw frames to ffmpeg's libx264. ``pix_fmt`` is the frames' layout (rgb24 or
    bgr24); ``tone_seconds`` adds an AAC sine tone as a sound track. One encoder thread: the
    output's bytes are the same every time, and clips encode in parallel processes instead."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        *,
        pix_fmt: str = "rgb24",
        crf: int = 20,
        gop: int | None = None,
        bframes: int | None = None,
        tone_seconds: float | None = None,
    ) -> None:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise FfmpegMissing("ffmpeg not found: on Debian, apt-get install ffmpeg (make setup)")
        self.path = Path(path)
        cmd = [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-s",
            f"{width}x{height}",
            "-r",
            f"{fps}",
            "-i",
            "-",
        ]
        if tone_seconds:
            cmd += [
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=330:sample_rate=44100:duration={tone_seconds}",
            ]
        cmd += [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(crf),
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(gop or int(round(fps * 2))),
            "-threads",
            "1",
        ]
        if bframes is not None:
            cmd += ["-bf", str(bframes)]
        if tone_seconds:
            cmd += ["-c:a", "aac", "-b:a", "64k", "-shortest"]
        cmd += ["-movflags", "+faststart", str(self.path)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())

    def close(self) -> None:
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        self._proc.wait()
        if self._proc.returncode != 0:
            raise RuntimeError(
                f"ffmpeg failed on {self.path} ({self._proc.returncode}): {err.strip()}"
            )

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._proc.kill()
        self.close()
