"""Search the catalogue with a picture instead of a box: a region drawn on the paused frame,
a photo opened or dropped, a picture pasted (issue 15: beside the player's controller)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from app.controller import PlayerController


class Search:
    def __init__(self, player: PlayerController) -> None:
        self.player = player

    def region(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        """Searches the catalogue with a box the viewer drew on the paused frame."""
        p = self.player
        if p.reader is None or p.engine is None:
            return False
        if p.catalog is None:
            p.show_status("No catalogue to search: File → Open Catalogue…")
            return False
        try:
            bgr = p.reader.read(p.index)
        except IndexError as exc:
            p.show_status(f"Cannot search: {exc}")
            return False
        h, w = bgr.shape[:2]
        a, b = int(max(0, min(x1, x2))), int(max(0, min(y1, y2)))
        c, d = int(min(w, max(x1, x2))), int(min(h, max(y1, y2)))
        if c - a < 4 or d - b < 4:
            return False
        p.selected = -1
        p.window.panel.set_region(f"Your selection at frame {p.index}",
                                     f"{c - a}x{d - b} pixels")
        p.window.panel.set_matches_message("Searching the catalogue…")
        p.engine.search_region(p.video_generation,
                                  cv2.cvtColor(bgr[b:d, a:c], cv2.COLOR_BGR2RGB))
        return True

    def photo(self, path: str) -> bool:
        """File > Search by Photo, a dropped picture: the products that look like it."""
        p = self.player
        from engine.catalog.fetch import FetchError, read_local_image

        try:
            checked = read_local_image(Path(path))  # size, type and bomb checks first
        except FetchError as exc:
            p.show_status(f"Cannot search with that picture: {exc}")
            return False
        bgr = cv2.imdecode(np.frombuffer(checked.data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            p.show_status(f"Cannot search with {Path(path).name}: not a readable picture")
            return False
        return self.picture(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
                                   f"Your photo {Path(path).name}")

    def picture(self, rgb: np.ndarray | None, title: str) -> bool:
        """Shows the products that look like ``rgb`` (H, W, 3) in the card panel."""
        p = self.player
        if rgb is None or rgb.ndim != 3 or min(rgb.shape[:2]) < 8:
            p.show_status("Cannot search: the picture is empty or too small")
            return False
        if p.engine is None:
            return False  # shut down
        if p.catalog is None:
            p.show_status("Opening the catalogue… search again in a moment"
                             if p.catalogue.loader.busy() else
                             "No catalogue to search: File → Open Catalogue…")
            return False
        p.selected = -1
        h, w = rgb.shape[:2]
        p.window.panel.set_region(title, f"{w}x{h} pixels")
        p.window.panel.set_matches_message("Searching the catalogue…")
        # the engine thread searches (it owns the catalogue), with or without live analysis
        p.engine.search_region(p.video_generation, rgb)
        return True

    def _on_matches(self, generation: int, matches: list) -> None:
        p = self.player
        if generation == p.video_generation and p.selected < 0:
            p.window.panel.set_matches(matches)
            p.card_shown.emit(-1)
