"""What the engine found, listed beside the video: the products' timeline under it, the
track list in QA mode, the engine's progress in the status bar, and the product thumbnails
they show (issue 15: beside the player's controller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from app.controller import PlayerController


class ProductLists:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self._thumbs: dict[str, np.ndarray | None] = {}  # product image -> thumbnail
        self._timeline_key: list | None = None  # what the timeline shows now

    def reset(self) -> None:
        """The video closed: the timeline shows nothing."""
        self._timeline_key = None
        self.player.window.timeline.set_items([])
        self.player.window.timeline.hide()

    def show_progress(self) -> None:
        p = self.player
        snap = p.snapshot
        if snap is None:
            p.window.engine_label.setText("")
            return
        done = ("annotations" if not p.live else "analysed" if snap.complete
                else f"analysing {p.analysis_progress():.0%}")
        p.window.engine_label.setText(
            f"{done} · {len(snap.tracks)} garments · {snap.matched} matched")

    def refresh(self) -> None:
        """The timeline of products (and, in QA mode, the track list) from the latest results."""
        p = self.player
        snap, fps = p.snapshot, p.info.fps if p.info else 25.0
        tracks = snap.tracks if snap is not None else (
            list(p.annotations.tracks.values()) if p.annotations else [])
        if p.window.qa:
            p.window.set_tracks(tracks, fps)
        from ui.timeline import TimelineItem

        matched = [t for t in tracks if t.matches]
        key = [(t.first_frame, t.track_id, t.matches[0].product_id) for t in matched]
        if key == self._timeline_key:
            return  # most snapshots change boxes, not products: keep the timeline as it is
        self._timeline_key = key
        items = [TimelineItem(t.first_frame, t.track_id,
                              f"{t.matches[0].title or t.matches[0].product_id} "
                              f"({t.category or 'garment'} #{t.track_id})",
                              self.thumbnail(t.matches[0].image))
                 for t in matched]
        tl = p.window.timeline
        if p.reader is not None:
            tl.set_frame_count(p.reader.frame_count)
            tl.set_fps(fps)
        tl.set_items(items)
        tl.setVisible(bool(items) and not p.window.kiosk)

    def thumbnail(self, image_path: str) -> np.ndarray | None:
        if image_path not in self._thumbs:
            thumb = None
            bgr = cv2.imread(image_path, cv2.IMREAD_COLOR) if image_path else None
            if bgr is not None and bgr.size:
                h, w = bgr.shape[:2]
                size = (max(1, round(w * 80 / h)), 80)
                thumb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA),
                                     cv2.COLOR_BGR2RGB)
            self._thumbs[image_path] = thumb
        return self._thumbs[image_path]
