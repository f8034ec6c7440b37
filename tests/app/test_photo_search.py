"""Search by photo (issue 18): File > Search by Photo, a picture dropped on the window, or one
pasted from the clipboard; the matches appear in the card panel as for a box. A shop image
searched for finds its own product first."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication


def _loaded(make, qtbot, data):
    window, c = make()
    c.open_catalog(str(data))
    qtbot.waitUntil(lambda: c.catalog is not None, timeout=120_000)
    return window, c


@pytest.mark.parametrize("engine", [True, False])
def test_a_shop_photo_finds_its_own_product(live_player, make_player, tiny_benchmark, qtbot,
                                            engine, tmp_path):
    data, _ = tiny_benchmark
    window, c = _loaded(live_player if engine else make_player, qtbot, data)
    products = list(c.catalog.store.iter_products())[:3]
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    for n, product in enumerate(products, 1):
        assert c.search.photo(product.images[0])
        qtbot.waitUntil(lambda n=n: len(shown) == n, timeout=60_000)
        assert window.panel.card.match.product_id == product.id
        assert "Your photo" in window.panel.title.text()
    # dropped on the window, alone: a search, not a video to open
    window._on_dropped([products[0].images[0]])
    qtbot.waitUntil(lambda: len(shown) == 4, timeout=60_000)
    assert c.reader is None  # nothing was opened as a video
    # pasted from the clipboard
    bgr = cv2.imread(products[1].images[0])
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1],
                   QImage.Format.Format_RGB888).copy()
    QApplication.clipboard().setImage(image)
    window.paste_photo()
    qtbot.waitUntil(lambda: len(shown) == 5, timeout=60_000)
    assert window.panel.card.match.product_id == products[1].id
    assert window.panel.title.text() == "A pasted picture"


def test_pictures_that_are_not_pictures_say_so(make_player, tiny_benchmark, qtbot, tmp_path):
    data, _ = tiny_benchmark
    window, c = _loaded(make_player, qtbot, data)
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    (tmp_path / "fake.jpg").write_text("not a picture")
    assert not c.search.photo(str(tmp_path / "fake.jpg"))
    assert "not a readable image" in messages[-1]
    assert not c.search.photo(str(tmp_path / "missing.png"))
    assert "does not exist" in messages[-1]
    cv2.imwrite(str(tmp_path / "tiny.png"), np.zeros((10, 10, 3), np.uint8))
    assert not c.search.photo(str(tmp_path / "tiny.png"))
    assert "too small" in messages[-1]
    QApplication.clipboard().setText("some words")
    window.paste_photo()
    assert "Nothing to search on the clipboard" in window.statusBar().currentMessage()
