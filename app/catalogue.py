"""The shop catalogue beside the player: loading one in the background, asking the engine
thread for a track's products, the product page in the browser, and a catalogue folder
removed while playing (issue 15: beside the player's controller).

The player holds the open catalogue (``player.catalog``) and hands it to its engine thread,
which matches every track, the engine's own or a loaded file's, and owns the catalogue from
then on. The products are held in one place: the engine's snapshot (``player.snapshot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.catalog_loader import CatalogLoader

if TYPE_CHECKING:
    from app.controller import PlayerController


class CatalogueControl:
    def __init__(self, player: PlayerController) -> None:
        self.player = player
        self._gone_said = ""  # the removed catalogue folder the viewer was told of
        self.loader = CatalogLoader(player)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(player.show_status)
        self.loader.progress.connect(player.show_status)

    def open(self, path: str) -> None:
        """Loads a catalogue in the background; the current one stays until the new one is
        ready (or stays for good if it fails)."""
        p = self.player
        if p.closed:
            return
        p.catalog_path = path
        p.show_status(f"Opening the catalogue {path}…")
        self.loader.load(path)

    def wait(self) -> None:
        self.loader.wait()

    def _on_loaded(self, catalog, summary: str) -> None:
        p = self.player
        if p.closed:  # loaded while the player was closing
            catalog.close()
            return
        p.catalog = catalog
        p.engine.set_catalog(catalog)  # the engine closes the old one when it is free
        p.show_status(summary)
        track = p.annotations.track(p.selected) if (
            p.annotations and p.selected >= 0) else None
        if track is not None and not track.matches:
            self.request(track)  # the panel was waiting for the catalogue

    def open_url(self, url: str) -> bool:
        """Opens a product page in the system browser: http and https only, whatever a
        catalogue or an annotations file says."""
        p = self.player
        from engine.catalog.validate import RowError, web_url

        try:
            safe = web_url(url, "product link")
        except RowError as exc:
            p.show_status(f"Not opened: {exc}")
            return False
        if not QDesktopServices.openUrl(QUrl(safe)):
            p.show_status(f"No browser could open {safe}")
            return False
        p.show_status(f"Opened {safe} in the browser")
        return True

    def request(self, track) -> None:
        p = self.player
        if p.catalog is None or p.info is None:
            p.window.panel.set_matches_message(
                "Opening the catalogue…" if self.loader.busy() else
                "No catalogue: File → Open Catalogue…")
            return
        p.window.panel.set_matches_message("Finding the products…")
        p.engine.request_match(track.track_id)

    def still_there(self) -> bool:
        """False (and said once) when the open catalogue's folder was removed under the player:
        what was loaded (vectors, the open database) still answers, pictures may be gone."""
        p = self.player
        if p.catalog is None:
            return True
        where = p.catalog.store.dir
        if where.is_dir() and p.catalog.store.path.is_file():
            return True
        if self._gone_said != str(where):
            self._gone_said = str(where)
            p.show_status(f"The catalogue folder {where} was removed while playing: products "
                             "found so far still show, some pictures may be missing; open a "
                             "catalogue again with File → Open Catalogue…")
        return False
