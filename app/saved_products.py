"""Saved products: the heart on the card, the Saved panel, its CSV export (issue 15: beside
the player's controller). The store opens on first use; kiosk mode saves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.controller import PlayerController


class SavedProducts:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self.store = None  # engine.saved.SavedStore, opened on first use

    def _open(self):
        p = self.player
        if self.store is None:
            from engine.saved import SavedError, SavedStore

            try:
                self.store = SavedStore()
            except SavedError as exc:
                p.show_status(str(exc))
                return None
        return self.store

    def refresh(self) -> None:
        p = self.player
        from engine.saved import SavedError

        store = self._open()
        try:
            p.window.saved.set_items(store.items() if store is not None else [])
        except SavedError as exc:
            p.show_status(str(exc))

    def show_heart(self) -> None:
        p = self.player
        match = p.window.panel.card.match
        store = self._open() if match is not None else None
        video = p.info.path if p.info else ""
        p.window.panel.card.set_saved(bool(store is not None and match is not None
                                              and store.contains(match.product_id, video)))

    def save_card(self, on: bool = True) -> bool:
        """The heart on the card: keep the product shown with this video and moment (or
        forget it). Kiosk mode saves nothing."""
        p = self.player
        from engine.saved import SavedError

        match = p.window.panel.card.match
        store = self._open()
        if match is None or store is None or p.info is None or p.window.kiosk:
            p.window.panel.card.set_saved(False)
            return False
        try:
            if on:
                store.save(match, p.info.path, p.index, p.info.fps, p.selected)
                p.show_status(f"Saved {match.title or match.product_id} (View ▸ Saved "
                                 "Products)")
            else:
                store.remove(match.product_id, p.info.path)
                p.show_status(f"Removed {match.title or match.product_id} from Saved")
        except SavedError as exc:
            p.show_status(str(exc))
            self.show_heart()
            return False
        self.refresh()
        return True

    def go_to(self, video: str, frame: int, track_id: int, product_id: str) -> bool:
        """A saved product's moment: its video (opened if another is open), its frame."""
        p = self.player
        if p.info is None or Path(p.info.path).resolve() != Path(video).resolve():
            if not Path(video).is_file():
                p.show_status(f"The video of that product is gone: {video}")
                return False
            if not p.open_video(video):
                return False
        p.transport.pause()
        p.show_frame(min(frame, p.reader.frame_count - 1) if p.reader else frame)
        if p.annotations is not None and p.annotations.track(track_id) is not None:
            p.select_track(track_id, pause=False)
        return True

    def forget(self, product_id: str, video: str) -> None:
        p = self.player
        from engine.saved import SavedError

        store = self._open()
        if store is not None:
            try:
                store.remove(product_id, video)
            except SavedError as exc:
                p.show_status(str(exc))
            self.refresh()
            self.show_heart()

    def export(self, path: str) -> bool:
        p = self.player
        from engine.export import ExportError

        store = self._open()
        if store is None:
            return False
        try:
            written = store.export_csv(path)
        except ExportError as exc:
            p.show_status(str(exc))
            return False
        p.show_status(f"Wrote the saved products to {written}")
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
