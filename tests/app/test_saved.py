"""Saved products (issue 18): the heart on a card keeps the product with the video and the
moment it came from; the Saved panel lists them across restarts (SQLite), a click goes back to
that moment, they export as CSV; kiosk mode saves nothing."""

from __future__ import annotations

import csv
import json

from engine.saved import SavedStore
from engine.types import Match


def matched(marker_clip, tmp_path):
    _, js, _ = marker_clip
    raw = json.loads(js.read_text())
    for i, t in enumerate(raw["tracks"]):
        t["matches"] = [{"product_id": f"p-{i}", "score": 0.9}]
    out = tmp_path / "matched.json"
    out.write_text(json.dumps(raw))
    return out, raw


def open_on_a_track(c, marker_clip, path, raw, nth=0):
    assert c.open_video(str(marker_clip[0]))
    assert c.load_annotations(str(path))
    t = raw["tracks"][nth]
    frame = int(t["boxes"][len(t["boxes"]) // 2][0])
    c.show_frame(frame)
    c.select_track(t["track_id"])
    return t["track_id"], frame


def test_a_saved_product_survives_a_restart_and_leads_back(make_player, marker_clip,
                                                           tmp_path, qtbot):
    path, raw = matched(marker_clip, tmp_path)
    window, c = make_player()
    tid, frame = open_on_a_track(c, marker_clip, path, raw)
    card = window.panel.card
    assert card.match.product_id == "p-0" and not card.heart.isChecked()
    card.heart.click()
    assert card.heart.isChecked() and window.saved.list.count() == 1
    c.select_track(-1)
    c.select_track(tid)
    assert card.heart.isChecked()  # the card remembers
    c.shutdown()

    window2, c2 = make_player()  # a restart
    items = window2.saved.list
    assert items.count() == 1 and "p-0" in items.item(0).text()
    assert "at 0:0" in items.item(0).text()
    window2.saved._go(items.item(0))  # a click: the video opens at that moment
    assert c2.info is not None and c2.index == frame
    out = tmp_path / "saved.csv"
    window2.saved.export_requested.emit(str(out))
    rows = list(csv.DictReader(out.open()))
    assert [(r["product_id"], int(r["frame"]), r["video"]) for r in rows] == [
        ("p-0", frame, str(marker_clip[0]))]
    # the heart again: forgotten
    assert c2.load_annotations(str(path))
    c2.select_track(tid)
    assert window2.panel.card.heart.isChecked()
    window2.panel.card.heart.click()
    assert window2.saved.list.count() == 0 and not window2.saved.empty.isHidden()


def test_kiosk_mode_saves_nothing(make_player, marker_clip, tmp_path):
    path, raw = matched(marker_clip, tmp_path)
    window, c = make_player()
    open_on_a_track(c, marker_clip, path, raw)
    window.set_kiosk(True)
    assert not window.panel.card.heart.isVisibleTo(window.panel.card)
    assert not c.saved.save_card(True)
    assert SavedStore().items() == []


def test_a_title_that_would_compute_in_a_spreadsheet_is_quoted(tmp_path):
    store = SavedStore(tmp_path / "s.sqlite")
    store.save(Match("p1", 0.9, title='=HYPERLINK("http://x","y")', price=10.0,
                     currency="CNY"), "/v.mp4", 25, 25.0, 3)
    store.save(Match("p2", 0.8, title="Plain Tee"), "/v.mp4", 50, 25.0, 4)
    store.save(Match("p1", 0.9, title="ignored"), "/v.mp4", 75, 25.0, 3)  # a new moment
    rows = list(csv.DictReader(store.to_csv().splitlines()))
    by_id = {r["product_id"]: r for r in rows}
    assert by_id["p1"]["title"].startswith("'=") and by_id["p1"]["frame"] == "75"
    assert by_id["p1"]["seconds"] == "3" and by_id["p2"]["title"] == "Plain Tee"
    assert len(rows) == 2
