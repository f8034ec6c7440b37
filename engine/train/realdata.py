"""The real-footage evaluation set: stills made into pan-and-zoom clips, and the geometry that
carries a still's labels into every frame of its clip.

A still gives a tracker nothing to do, so each one becomes a short clip: a crop window that
moves and zooms linearly across the still, resampled to a fixed frame size. The windows are
computed here, rendered with one affine warp per frame (sub-pixel exact, no rounding of the
crop to whole pixels) and written to ``manifest.json``, so that a box drawn on the still maps to
the same place in a decoded clip frame (``map_box``). ``scripts/fetch_real_footage.py`` makes
the set; ``engine.train.eval_real`` reads it. Nothing of the footage is committed: only labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.encode import H264Writer

MANIFEST = "manifest.json"
# where `make setup` (scripts/fetch_real_footage.py) puts the fetched footage: the checkout's
# .cache, never committed
REAL_DATA = Path(__file__).resolve().parents[2] / ".cache" / "real"
MANIFEST_VERSION = 1


class RealDataError(ValueError):
    """A real-footage directory that is missing or not as the fetch script writes it."""


@dataclass(frozen=True)
class PanZoom:
    """A crop window moving linearly from ``start`` to ``end`` over ``frames`` frames.

    ``start`` and ``end`` are (centre x, centre y, zoom): the centre as fractions of the still's
    width and height, the zoom as the window's width over the widest window of the output's
    aspect that fits the still (1: all of it; 0.7: a closer view). A window that would leave the
    still is slid back inside it, so frames never show a border.
    """

    frames: int
    start: tuple[float, float, float]
    end: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        for name, (_, _, zoom) in (("start", self.start), ("end", self.end)):
            if not 0 < zoom <= 1:
                raise ValueError(f"{name} zoom must be in (0, 1], got {zoom}")

    def windows(self, still_size: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
        """(frames, 4) crop windows x1, y1, x2, y2 in still pixels (pixel-edge coordinates)."""
        sw, sh = still_size
        ow, oh = out_size
        fit_w = min(float(sw), sh * ow / oh)
        t = np.linspace(0.0, 1.0, self.frames) if self.frames > 1 else np.zeros(1)
        a, b = np.asarray(self.start, np.float64), np.asarray(self.end, np.float64)
        cx, cy, zoom = (a[None, :] + t[:, None] * (b - a)[None, :]).T
        w = zoom * fit_w
        h = w * oh / ow
        x1 = np.clip(cx * sw - w / 2, 0.0, sw - w)
        y1 = np.clip(cy * sh - h / 2, 0.0, sh - h)
        return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even frame size within ``width`` x ``height`` (yuv420p needs even sides)."""
    return width - width % 2, height - height % 2


def _warp_matrix(window: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    # OpenCV puts pixel centres on integers; boxes and windows use pixel edges (a pixel i spans
    # [i, i + 1]). Edge coordinate u maps to (u - x1) * s, so centre i + 0.5 maps to
    # (i + 0.5 - x1) * s, which is pixel index (i + 0.5 - x1) * s - 0.5.
    x1, y1, x2, y2 = (float(v) for v in window)
    sx, sy = out_size[0] / (x2 - x1), out_size[1] / (y2 - y1)
    return np.array([[sx, 0.0, sx * (0.5 - x1) - 0.5], [0.0, sy, sy * (0.5 - y1) - 0.5]])


def render_frame(still: np.ndarray, window: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The clip frame that shows ``window`` of ``still``, resampled to ``out_size`` (w, h).
    Bilinear: the set's frames are their still's size and a window never leaves the still, so
    a window is only ever enlarged (shrinking would want an area filter)."""
    return cv2.warpAffine(still, _warp_matrix(window, out_size), out_size,
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def write_still_clip(still: np.ndarray, path: str | Path, pan: PanZoom, *,
                     out_size: tuple[int, int] | None = None, fps: float = 25.0,
                     crf: int = 18) -> np.ndarray:
    """Writes the pan-and-zoom clip of a BGR ``still`` as H.264 (yuv420p) and returns its
    windows (frames, 4), which ``map_box`` needs to place the still's labels in its frames."""
    sh, sw = still.shape[:2]
    size = even_size(*(out_size or (sw, sh)))
    windows = pan.windows((sw, sh), size)
    tmp = Path(path).with_name(Path(path).stem + ".part.mp4")
    with H264Writer(tmp, size[0], size[1], fps, pix_fmt="bgr24", crf=crf) as writer:
        for window in windows:
            writer.write(render_frame(still, window, size))
    tmp.replace(path)  # a stopped run never leaves a clip that looks finished
    return windows


def map_box(box: Any, window: Any, out_size: tuple[int, int]) -> np.ndarray:
    """A box (x1, y1, x2, y2) in still pixels, as it appears in the clip frame that shows
    ``window``: (4,) in frame pixels, not clipped to the frame."""
    b = np.asarray(box, np.float64).reshape(4)
    x1, y1, x2, y2 = (float(v) for v in window)
    sx, sy = out_size[0] / (x2 - x1), out_size[1] / (y2 - y1)
    return np.array([(b[0] - x1) * sx, (b[1] - y1) * sy, (b[2] - x1) * sx, (b[3] - y1) * sy])


def clip_box(box: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``box`` clipped to a frame of ``size`` (w, h), and the fraction of its area still in it."""
    w, h = size
    c = np.array([min(max(box[0], 0), w), min(max(box[1], 0), h),
                  min(max(box[2], 0), w), min(max(box[3], 0), h)], np.float64)
    area = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    inside = max(0.0, c[2] - c[0]) * max(0.0, c[3] - c[1])
    return c, (inside / area if area > 0 else 0.0)


@dataclass
class RealSource:
    """One source of the set as the manifest describes it."""

    name: str
    kind: str  # "still" or "video"
    video: Path
    frames: int
    size: tuple[int, int]
    windows: np.ndarray | None = None  # stills: (frames, 4) in still pixels
    still: Path | None = None  # stills: the original image

    def to_frame(self, box: Any, frame: int) -> np.ndarray:
        """A labelled box in the clip's ``frame``: mapped from the still, or as it is."""
        if self.windows is None:
            return np.asarray(box, np.float64).reshape(4)
        return map_box(box, self.windows[frame], self.size)


def load_manifest(data_dir: str | Path) -> dict[str, RealSource]:
    root = Path(data_dir)
    path = root / MANIFEST
    if not path.is_file():
        raise RealDataError(
            f"{root} holds no real-footage set ({MANIFEST} missing): make it with "
            f"`.venv/bin/python scripts/fetch_real_footage.py --out {root}` (make setup "
            "installs the opencv-doc package it reads)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("version") != MANIFEST_VERSION:
        raise RealDataError(f"{path}: version {raw.get('version')!r}, expected "
                            f"{MANIFEST_VERSION}: run the fetch script again")
    out = {}
    for name, s in raw.get("sources", {}).items():
        video = root / s["file"]
        if not video.is_file():
            raise RealDataError(f"{path} lists {video}, which is missing: run the fetch script "
                                "again")
        windows = np.asarray(s["windows"], np.float64) if s["kind"] == "still" else None
        out[name] = RealSource(name=name, kind=s["kind"], video=video, frames=int(s["frames"]),
                               size=(int(s["size"][0]), int(s["size"][1])), windows=windows,
                               still=root / s["still"] if s.get("still") else None)
    return out
