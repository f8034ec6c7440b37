"""The player's shop catalogue: the demo by default, another by menu or --catalog, loaded off
the main thread; a bad one leaves a message and the current one in place."""

from __future__ import annotations

import cv2
import pytest

from app.cli import DEMO_CATALOG
from engine.asymnet.model import DEFAULT_WEIGHTS

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")


def test_demo_catalogue_loads_in_the_background(make_player, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    window, controller = make_player()
    with qtbot.waitSignal(controller.catalog_loader.loaded, timeout=300_000):
        window.catalog_requested.emit(str(DEMO_CATALOG))  # what the menu entry emits
        assert controller.catalog is None  # the main thread did not wait for it
    assert "products" in window.statusBar().currentMessage()
    cat = controller.catalog
    assert cat is not None and cat.store.count()[0] > 0
    p = next(cat.store.iter_products())
    img = cv2.cvtColor(cv2.imread(p.images[0]), cv2.COLOR_BGR2RGB)
    assert cat.search_image(img, k=5)[0].product.id == p.id

    # a directory that is no catalogue: a message, and the demo catalogue stays
    with qtbot.waitSignal(controller.catalog_loader.failed, timeout=60_000):
        controller.open_catalog(str(tmp_path))
    assert "not loaded" in window.statusBar().currentMessage()
    assert controller.catalog is cat
