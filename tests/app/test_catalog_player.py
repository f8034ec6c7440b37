"""The player's shop catalogue: the demo by default, another by menu or --catalog, loaded off
the main thread; a bad one leaves a message and the current one in place."""

from __future__ import annotations

import cv2
import pytest

from engine.asymnet.model import DEFAULT_WEIGHTS
from engine.matching import Matcher
from engine.resources import DEMO_CATALOG

pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")


def test_demo_catalogue_loads_in_the_background(make_player, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    window, controller = make_player()
    with qtbot.waitSignal(controller.catalogue.loader.loaded, timeout=300_000):
        window.catalog_requested.emit(str(DEMO_CATALOG))  # what the menu entry emits
        assert controller.catalog is None  # the main thread did not wait for it
    assert "products" in window.statusBar().currentMessage()
    cat = controller.catalog
    assert cat is not None and cat.store.count()[0] > 0
    p = next(cat.store.iter_products())
    img = cv2.cvtColor(cv2.imread(p.images[0]), cv2.COLOR_BGR2RGB)
    assert Matcher(cat).search_image(img, k=5)[0].product.id == p.id

    # a directory that is no catalogue: a message, and the demo catalogue stays
    with qtbot.waitSignal(controller.catalogue.loader.failed, timeout=60_000):
        controller.open_catalog(str(tmp_path))
    assert "not loaded" in window.statusBar().currentMessage()
    assert controller.catalog is cat


def test_clicking_a_garment_lists_its_products(make_player, qtbot, tmp_path, monkeypatch):
    """Without the live engine (play --no-engine), a loaded file's tracks are matched by the
    same engine session as the engine's own: the products and their deciding frames."""
    from engine.annotations import load_annotations
    from engine.resources import DEMO_ANNOTATIONS, DEMO_VIDEO

    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    window, controller = make_player()
    assert not controller.live
    assert controller.open_video(str(DEMO_VIDEO))
    assert controller.load_annotations(str(DEMO_ANNOTATIONS))
    truth = load_annotations(DEMO_ANNOTATIONS)
    track = max(truth.tracks, key=lambda t: len(t.boxes))
    controller.select_track(track.track_id)  # before the catalogue: the panel says so
    assert "catalogue" in window.panel.matches.item(0).text().lower()
    with qtbot.waitSignal(controller.card_shown, timeout=300_000,
                          check_params_cb=lambda tid: tid == track.track_id):
        controller.open_catalog(str(DEMO_CATALOG))  # loads, then matches the selected track
    items = [window.panel.matches.item(i).text() for i in range(window.panel.matches.count())]
    assert len(items) == 10 and items[0].startswith("1. ") and "score" in items[0]
    found = controller.annotations.track(track.track_id).matches  # held in one place
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(m.title and m.price is not None for m in found)
    # the garment's own product is among them (the demo's longest track, jeans: 6th of 10
    # with the shipped weights, behind look-alikes of its family)
    assert track.product_id in [m.product_id for m in found]
    assert controller.snapshot.evidence[track.track_id]  # the frames that decided
    assert window.panel.evidence._frames
    # another click on it: at once, nothing asked again
    controller.select_track(-1)
    controller.select_track(track.track_id)
    assert window.panel.matches.count() == 10


def test_results_for_replaced_annotations_are_dropped(make_player, qtbot, tmp_path,
                                                     monkeypatch):
    from engine.resources import DEMO_ANNOTATIONS, DEMO_VIDEO

    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    window, controller = make_player()
    assert controller.open_video(str(DEMO_VIDEO))
    assert controller.load_annotations(str(DEMO_ANNOTATIONS))
    with qtbot.waitSignal(controller.catalogue.loader.loaded, timeout=300_000):
        controller.open_catalog(str(DEMO_CATALOG))
    controller.select_track(next(iter(controller.annotations.tracks)))  # its matching starts
    generation = controller.video_generation
    assert controller.load_annotations(str(DEMO_ANNOTATIONS))  # ids may name other garments
    assert controller.video_generation == generation + 1
    assert controller.snapshot is None and controller.selected == -1
    assert not any(t.matches for t in controller.annotations.tracks.values())
    # the new file's tracks are all matched in the background, under the new generation
    qtbot.waitUntil(lambda: controller.snapshot is not None and controller.snapshot.matched
                    == len(controller.snapshot.tracks) > 0, timeout=300_000)
    assert controller.snapshot.complete
    tracks = list(controller.annotations.tracks.values())
    assert all(t.matches for t in tracks)
    n = len(tracks)
    assert window.engine_label.text() == f"annotations · {n} garments · {n} matched"
    ranks = [[m.product_id for m in t.matches].index(t.product_id)
             if t.product_id in [m.product_id for m in t.matches] else 99 for t in tracks]
    # against the worn products (the demo's ground truth): measured 10 of 23 first and 22 of
    # 23 in the top 10 with asymnet-be4af0da4260, 11 and 21 with asymnet-ae2aaf764916
    # (2026-12-07); floors a few tracks below
    assert sum(r == 0 for r in ranks) >= 7
    assert sum(r < 10 for r in ranks) >= 20


def test_the_card_shows_the_best_match_and_buy_opens_only_web_links(make_player, qtbot,
                                                                    monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from engine.types import Match

    opened = []
    # the system browser is the one part a test cannot drive: record what would open
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString())
                        or True)
    window, controller = make_player()
    panel = window.panel
    matches = [Match("p1", 0.9, "<b>Silk</b> Jacket", 753.26, "CNY", "A Shop",
                     "https://shop.example.com/item/p1", "", 1200, 4.5),
               Match("p2", 0.5, "Second", 12.0, "USD", "B", "javascript:alert(1)")]
    panel.set_matches(matches)
    assert panel.card.isVisibleTo(panel) and panel.card.title.text() == "<b>Silk</b> Jacket"
    # text() is the raw string whatever the label does with it: the format says it is shown as
    # text, tags and all, and not rendered (a feed's markup never styles the card)
    from PySide6.QtCore import Qt

    for label in (panel.card.title, panel.card.shop, panel.card.stats, panel.card.price):
        assert label.textFormat() == Qt.TextFormat.PlainText, label
    assert panel.card.price.text() == "¥753.26"
    assert "1,200 sold" in panel.card.stats.text() and "4.5" in panel.card.stats.text()
    panel.card.buy.click()
    assert opened == ["https://shop.example.com/item/p1"]
    panel.matches.setCurrentRow(1)  # another match from the list goes on the card
    assert panel.card.price.text() == "$12.00"
    panel.card.buy.click()
    assert opened == ["https://shop.example.com/item/p1"]  # javascript: is refused
    assert "Not opened" in window.statusBar().currentMessage()
    assert not controller.catalogue.open_url("file:///etc/passwd")
