"""Opening a shop catalogue off the main thread: import (for a source such as the bundled demo),
IFN embedding of new images, and the FAISS index, with progress and errors as signals."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal


class _LoadThread(QThread):
    loaded = Signal(object, str)  # Catalog, a one-line summary
    failed = Signal(str)
    progress = Signal(str)

    def __init__(self, path: str, weights: str | None, device: str) -> None:
        super().__init__()
        self.path, self.weights, self.device = path, weights, device

    def run(self) -> None:
        try:
            from engine.catalog.retrieval import Catalog

            def embedded(done: int, total: int) -> None:
                self.progress.emit(f"Catalogue: embedding shop images {done}/{total}")

            catalog = Catalog.open(self.path, weights=self.weights, device=self.device,
                                   log=self.progress.emit, progress=embedded)
            products, images = catalog.store.count()
            side = catalog.index.sidecar
            self.loaded.emit(catalog, f"Catalogue {Path(self.path).name}: {products} products, "
                             f"{images} images, {side.kind} index ({side.model_version})")
        except Exception as exc:  # every failure reaches the status bar, none kills the player
            self.failed.emit(f"Catalogue {self.path} not loaded: {exc}")


class CatalogLoader(QObject):
    """``load(path)`` opens a catalogue in the background; the newest request wins."""

    loaded = Signal(object, str)
    failed = Signal(str)
    progress = Signal(str)

    def __init__(self, parent: QObject | None = None, weights: str | None = None,
                 device: str = "auto") -> None:
        super().__init__(parent)
        self.weights, self.device = weights, device
        self._threads: list[_LoadThread] = []
        self._latest: _LoadThread | None = None

    def load(self, path: str) -> None:
        thread = _LoadThread(path, self.weights, self.device)
        self._latest = thread
        thread.loaded.connect(lambda cat, text, t=thread: self._on_loaded(t, cat, text))
        thread.failed.connect(lambda text, t=thread: self._on_failed(t, text))
        thread.progress.connect(lambda text, t=thread: t is self._latest and
                                self.progress.emit(text))
        thread.finished.connect(lambda t=thread: self._threads.remove(t))
        self._threads.append(thread)
        thread.start()

    def _on_loaded(self, thread: _LoadThread, catalog, text: str) -> None:
        if thread is not self._latest:
            catalog.close()  # superseded by a newer request
            return
        self.loaded.emit(catalog, text)

    def _on_failed(self, thread: _LoadThread, text: str) -> None:
        if thread is self._latest:
            self.failed.emit(text)

    def busy(self) -> bool:
        return any(t.isRunning() for t in self._threads)

    def wait(self, ms: int = 30000) -> bool:
        return all(t.wait(ms) for t in list(self._threads))
