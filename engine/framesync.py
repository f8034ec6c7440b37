"""Which decoder frame is VLC showing? Frame-exact overlays while playing.

VLC plays (audio, clock, codecs) but its video callbacks carry no frame number, and
``get_time()`` moves in steps of about 500 ms. OpenCV gives exact indices but no clock. This
module joins them: a background indexer decodes the neighbourhood of the playhead with OpenCV
and keeps a small grey thumbnail of each frame; each frame VLC delivers is reduced to the same
thumbnail and matched against the frames around the clock's estimate. The best match is the
frame index; ties (identical frames) go to the candidate nearest the estimate, where any choice
shows the same picture.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from engine.video import FrameStream

THUMB_SIZE = (64, 36)  # width, height: 2.3 KB a frame; a marker of a few pixels still shows


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A grey, mean-free thumbnail of a BGR or BGRA frame (int16, THUMB_SIZE).

    Removing the mean absorbs the small brightness offsets between VLC's and FFmpeg's YUV to
    RGB conversions."""
    if image.ndim == 3 and image.shape[2] == 4:
        grey = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    elif image.ndim == 3:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    else:
        grey = image
    small = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.int16)
    return small - np.int16(round(float(small.mean())))


class ThumbnailStore:
    """Thumbnails by frame index, bounded to a window around the playhead."""

    def __init__(self, keep_behind: int = 250, keep_ahead: int = 1500) -> None:
        self._thumbs: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self.keep_behind = keep_behind
        self.keep_ahead = keep_ahead

    def put(self, index: int, thumb: np.ndarray) -> None:
        with self._lock:
            self._thumbs[index] = thumb

    def get_many(self, lo: int, hi: int) -> list[tuple[int, np.ndarray]]:
        with self._lock:
            return [(i, self._thumbs[i]) for i in range(lo, hi + 1) if i in self._thumbs]

    def __contains__(self, index: int) -> bool:
        with self._lock:
            return index in self._thumbs

    def __len__(self) -> int:
        with self._lock:
            return len(self._thumbs)

    def evict_outside(self, center: int) -> None:
        lo, hi = center - self.keep_behind, center + self.keep_ahead
        with self._lock:
            for i in [i for i in self._thumbs if i < lo or i > hi]:
                del self._thumbs[i]


@dataclass(frozen=True)
class Located:
    index: int
    matched: bool  # False: no thumbnail near the estimate; ``index`` is the estimate alone
    cost: float  # mean absolute grey difference of the best match (0 = identical)


class FrameLocator:
    """Turns (VLC frame thumbnail, clock estimate) into a decoder frame index."""

    def __init__(
        self,
        store: ThumbnailStore,
        window: int = 15,
        tie_penalty: float = 0.05,
        max_cost: float = 10.0,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if max_cost <= 0:
            raise ValueError(f"max_cost must be > 0, got {max_cost}")
        self.store = store
        self.window = window
        # above this mean grey difference the frame matches nothing near the estimate: a frame
        # from before a seek, still in VLC's pipeline
        self.max_cost = max_cost
        # cost per frame of distance from the estimate, in grey levels: small enough never to
        # beat a real picture difference, large enough to break exact ties.
        self.tie_penalty = tie_penalty

    def locate(self, thumb: np.ndarray, estimate: float) -> Located:
        center = round(estimate)
        candidates = self.store.get_many(max(0, center - self.window), center + self.window)
        if not candidates:
            return Located(max(0, center), False, float("nan"))
        indices = np.fromiter((i for i, _ in candidates), dtype=np.int64, count=len(candidates))
        stack = np.stack([t for _, t in candidates])
        diff = np.abs(stack - thumb).mean(axis=(1, 2))
        best = int(np.argmin(diff + self.tie_penalty * np.abs(indices - estimate)))
        return Located(int(indices[best]), True, float(diff[best]))


class ThumbnailIndexer:
    """A background thread that keeps ``store`` filled around the playhead.

    ``follow(index)`` moves the playhead; the indexer seeks (frame-exact) when the playhead jumps
    out of what it has decoded, then decodes ahead. Plain ``threading``: no Qt in the engine.
    """

    def __init__(
        self,
        path: str,
        store: ThumbnailStore,
        frame_count: int,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.store = store
        self.frame_count = frame_count
        self._on_error = on_error
        self._playhead = 0
        self._moved = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thumbnail-indexer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def follow(self, index: int) -> None:
        self._playhead = index
        self._moved.set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._moved.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_until_indexed(self, index: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if index in self.store:
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        try:
            with FrameStream(self.path) as stream:
                self._loop(stream)
        except Exception as exc:  # reported, never silent: the player falls back to the clock
            if self._on_error:
                self._on_error(f"frame indexer stopped: {exc}")

    def _loop(self, stream: FrameStream) -> None:
        while not self._stop.is_set():
            head = self._playhead
            self._moved.clear()
            self.store.evict_outside(head)
            start = max(0, head - 2)
            end = min(self.frame_count, head + self.store.keep_ahead)
            # first frame at or after `start` we do not have yet
            nxt = start
            while nxt < end and nxt in self.store:
                nxt += 1
            if nxt >= end:
                self._moved.wait(0.2)
                continue
            stream.seek(nxt)  # frame-exact; nothing to do when it is already there
            # decode a batch, then look again at where the playhead is
            for _ in range(25):
                pos = stream.position
                if self._stop.is_set() or self._moved.is_set() or pos >= end:
                    break
                frame = stream.read()
                if frame is None:
                    self.frame_count = pos  # truncated: nothing more to index
                    break
                self.store.put(pos, thumbnail(frame))
