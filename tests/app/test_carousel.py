"""The end carousel (issue 18): when a video ends, the products seen in it, once each, in the
order they first appeared; a click shows the card, a double click goes to the moment; playing
again, seeking or opening another video puts it away; kiosk mode (which loops) never shows it."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def annotations_with_matches(marker_clip, tmp_path):
    _, js, _ = marker_clip
    raw = json.loads(js.read_text())
    products = ["p-silk", "p-denim", "p-silk", "p-wool"]
    for t, pid in zip(raw["tracks"], products, strict=False):
        t["matches"] = [{"product_id": pid, "score": 0.9}]
    out = tmp_path / "matched.json"
    out.write_text(json.dumps(raw))
    return out, raw


def test_the_end_of_a_video_shows_its_products(make_player, marker_clip, tmp_path, qtbot):
    path, raw = annotations_with_matches(marker_clip, tmp_path)
    window, c = make_player()
    assert c.open_video(str(marker_clip[0]))
    assert c.load_annotations(str(path))
    car = window.carousel
    c.transport.seek_frame(c.reader.frame_count - 10)
    c.transport.play()
    qtbot.waitUntil(car.isVisible, timeout=20_000)  # played to its end
    assert not c.playing and c.index == c.reader.frame_count - 1
    tracks = sorted((t for t in raw["tracks"] if t.get("matches")),
                    key=lambda t: min(b[0] for b in t["boxes"]))
    want, seen = [], set()
    for t in tracks:
        pid = t["matches"][0]["product_id"]
        if pid not in seen:
            seen.add(pid)
            want.append((pid, t["track_id"]))
    assert [(i.product_id, i.track_id) for i in car.items] == want
    assert car.heading.text() == f"Seen in this video: {len(want)} products"
    assert car.geometry().bottom() <= window.video.height()  # over the picture
    # a click: that product's card, the carousel stays
    first = car.list.item(1)
    rect = car.list.visualItemRect(first)
    QTest.mouseClick(car.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert c.selected == want[1][1] and car.isVisible()
    # a double click: the moment it was worn, the carousel put away
    QTest.mouseDClick(car.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    track = next(t for t in raw["tracks"] if t["track_id"] == want[1][1])
    assert c.index == min(b[0] for b in track["boxes"]) and not car.isVisible()
    c.end_screen.show()
    assert car.isVisible()
    c.transport.play()
    assert not car.isVisible()  # playing again puts it away


def test_no_carousel_without_products_or_in_kiosk_mode(make_player, marker_clip, tmp_path,
                                                       qtbot):
    window, c = make_player()
    assert c.open_video(str(marker_clip[0]))
    assert not c.end_screen.show()  # nothing matched: no end screen
    path, _ = annotations_with_matches(marker_clip, tmp_path)
    assert c.load_annotations(str(path))
    window.set_kiosk(True)
    assert not c.end_screen.show() and not window.carousel.isVisible()
