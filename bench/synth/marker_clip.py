"""Clips whose frames show their own index and moving markers, with exact annotations.

Used by the tests (frame exactness: a box drawn on the wrong frame misses its marker) and, until
the synthetic benchmark replaces it, as the bundled demo clip. Encoded with the ffmpeg binary as
H.264 in MP4, the format real dramas come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.annotations import Annotations
from engine.encode import FfmpegMissing, H264Writer
from engine.types import Track

__all__ = ["MARKERS", "FfmpegMissing", "Marker", "make_marker_clip", "marker_box", "render_frame"]


@dataclass(frozen=True)
class Marker:
    track_id: int
    category: str
    color: tuple[int, int, int]  # BGR
    size: tuple[int, int]  # w, h
    phase: float
    speed: float  # cycles over the clip


MARKERS = (
    Marker(1, "top", (40, 60, 220), (70, 90), 0.0, 1.0),
    Marker(2, "trousers", (200, 120, 30), (60, 110), 0.33, 0.7),
    Marker(3, "dress", (60, 170, 60), (80, 120), 0.66, 1.3),
)


def marker_box(marker: Marker, index: int, frames: int, width: int, height: int) -> np.ndarray:
    """Where ``marker`` is on frame ``index``: x1, y1, x2, y2 (integers, video pixels)."""
    w, h = marker.size
    t = index / max(1, frames - 1)
    angle = 2 * np.pi * (marker.phase + marker.speed * t)
    cx = width / 2 + (width / 2 - w) * 0.85 * np.cos(angle)
    cy = height / 2 + (height / 2 - h) * 0.8 * np.sin(angle * 1.7)
    x1, y1 = round(cx - w / 2), round(cy - h / 2)
    return np.array([x1, y1, x1 + w, y1 + h], dtype=np.int64)


def render_frame(index: int, frames: int, width: int, height: int, markers=MARKERS) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = 60 + (xx * 80 // max(1, width)).astype(np.uint8)
    frame[..., 1] = 50 + (yy * 60 // max(1, height)).astype(np.uint8)
    frame[..., 2] = 70
    for m in markers:
        x1, y1, x2, y2 = marker_box(m, index, frames, width, height)
        cv2.rectangle(frame, (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1), m.color, -1)
        # stripes give the "garment" some texture, a white dot marks its centre
        for sx in range(int(x1) + 6, int(x2), 14):
            cv2.line(frame, (sx, int(y1)), (sx, int(y2) - 1), (230, 230, 230), 2)
        cv2.circle(frame, (int((x1 + x2) // 2), int((y1 + y2) // 2)), 4, (255, 255, 255), -1)
    scale = max(0.5, height / 360)
    cv2.putText(
        frame,
        f"{index:05d}",
        (int(12 * scale), int(40 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.2 * scale,
        (255, 255, 255),
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )
    return frame


def make_marker_clip(
    path: str | Path,
    frames: int = 100,
    fps: float = 25.0,
    width: int = 320,
    height: int = 180,
    audio: bool = False,
    gop: int = 12,
    markers=MARKERS,
) -> Annotations:
    """Write the clip to ``path`` (H.264/MP4) and return its exact annotations."""
    with H264Writer(
        path,
        width,
        height,
        fps,
        pix_fmt="bgr24",
        crf=20,
        gop=gop,
        bframes=2,
        tone_seconds=frames / fps if audio else None,
    ) as writer:
        for i in range(frames):
            writer.write(render_frame(i, frames, width, height, markers))
    tracks = []
    for m in markers:
        boxes = [[i, *marker_box(m, i, frames, width, height).tolist(), 1.0] for i in range(frames)]
        tracks.append(Track(track_id=m.track_id, boxes=np.array(boxes), category=m.category))
    video = {"fps": fps, "frame_count": frames, "width": width, "height": height}
    return Annotations(video=video, tracks=tracks)
