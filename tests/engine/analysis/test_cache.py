"""The analysis cache (engine/analysis/cache.py) on real SQLite files: what goes in comes
back, a damaged or newer database is moved aside for a fresh one, and a place that cannot
hold a database leaves the engine working without a cache, with a message, never an
exception."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from engine.analysis.cache import SCHEMA, AnalysisCache, analysis_key
from engine.types import Evidence, Match, TrackResult

KEY = analysis_key("f" * 32, "garment", "garment-test", 3, 24)
CATALOG = "/catalogs/tiny:abc:asymnet-test"
STATE = {"version": 1, "frame_count": 100, "segment": 24, "stride": 3, "done": [0, 2],
         "cuts": [48], "next_id": 3, "next_run": 2,
         "pieces": [{"run": 0, "id": 1, "gid": 1, "category": "dress",
                     "boxes": [[0, 1.5, 2.25, 30.0, 60.0, 0.9], [1, 2.5, 2.25, 31.0, 60.0, 0.8]]},
                    {"run": 1, "id": 1, "gid": 2, "category": "shirt",
                     "boxes": [[48, 100.0, 20.0, 130.0, 80.0, 0.7]]}]}


def result(seed: int = 0) -> TrackResult:
    rng = np.random.default_rng(seed)
    matches = [Match("p7", 0.91234, "Red dress", 39.9, "EUR", "Shop A", "https://a.example/p7",
                     "/img/p7.jpg", 120, 4.5),
               Match("p3", 0.5, "Blue shirt"),  # display fields left empty
               Match("p9", 0.01, price=None, sales=None, rating=None)]
    evidence = [Evidence(f, w, rng.integers(0, 256, (80, 64, 3), dtype=np.uint8))
                for f, w in [(3, 0.1), (7, 0.25), (12, 0.65)]]
    return TrackResult("3-12-10", matches, evidence)


def broken_beside(path) -> list:
    return sorted(path.parent.glob(path.name + ".broken-*"))


def test_state_and_matches_come_back_as_they_went_in(tmp_path):
    cache = AnalysisCache(tmp_path / "analysis.sqlite")
    assert cache.usable and cache.warning == ""
    assert cache.load_state(KEY) is None and cache.load_matches(KEY, CATALOG) == {}
    assert cache.save_state(KEY, "/videos/a.mp4", STATE)
    original = result()
    assert cache.save_match(KEY, CATALOG, 5, original)
    assert cache.save_match(KEY, CATALOG, 6, TrackResult("20-30-11", [Match("p1", 0.3)]))
    cache.close()

    cache = AnalysisCache(tmp_path / "analysis.sqlite")  # reopened
    assert cache.load_state(KEY) == STATE
    loaded = cache.load_matches(KEY, CATALOG)
    assert sorted(loaded) == [5, 6]
    back = loaded[5]
    assert back.key == original.key and back.matches == original.matches
    assert [e.frame for e in back.evidence] == [3, 7, 12]
    # weights are kept as float32
    assert [e.weight for e in back.evidence] == pytest.approx([0.1, 0.25, 0.65], rel=1e-6)
    for got, want in zip(back.evidence, original.evidence, strict=True):
        assert got.crop.dtype == np.uint8 and got.crop.shape == (80, 64, 3)
        np.testing.assert_array_equal(got.crop, want.crop)
    assert loaded[6].matches == [Match("p1", 0.3)] and loaded[6].evidence == []
    # another catalogue has no matches yet; a newer result replaces the old one
    assert cache.load_matches(KEY, "/catalogs/other:def:asymnet-test") == {}
    assert cache.save_match(KEY, CATALOG, 5, TrackResult("3-40-38", [Match("p2", 0.8)]))
    assert cache.load_matches(KEY, CATALOG)[5].key == "3-40-38"
    cache.close()


def test_the_default_place_is_under_the_engine_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path / "cache"))
    cache = AnalysisCache()
    assert cache.path == tmp_path / "cache" / "analysis.sqlite"
    assert cache.usable and cache.save_state(KEY, "a.mp4", STATE)
    assert cache.path.is_file()
    cache.close()


def test_a_file_of_random_bytes_is_moved_aside(tmp_path):
    path = tmp_path / "analysis.sqlite"
    junk = np.random.default_rng(3).integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes()
    path.write_bytes(junk)
    cache = AnalysisCache(path)
    assert cache.usable
    assert "could not be read" in cache.warning and "moved" in cache.warning
    (aside,) = broken_beside(path)
    assert aside.name in cache.warning
    assert aside.read_bytes() == junk  # kept as it was, for whoever wants to look
    assert cache.save_state(KEY, "a.mp4", STATE) and cache.load_state(KEY) == STATE
    cache.close()


def test_a_place_under_a_regular_file_leaves_no_cache_and_no_exception(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    path = blocker / "analysis.sqlite"
    cache = AnalysisCache(path)
    assert not cache.usable
    assert "cannot be used" in cache.warning and str(path) in cache.warning
    assert "analysed again" in cache.warning  # what it means for the viewer
    assert cache.load_state(KEY) is None
    assert cache.save_state(KEY, "a.mp4", STATE) is False
    assert cache.load_matches(KEY, CATALOG) == {}
    assert cache.save_match(KEY, CATALOG, 1, result()) is False
    cache.forget(KEY)
    cache.close()
    assert blocker.read_text() == "a file where a folder should be"


def test_a_newer_schema_is_moved_aside_for_a_fresh_database(tmp_path):
    path = tmp_path / "analysis.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '99')")
    db.execute("CREATE TABLE analyses (key TEXT PRIMARY KEY, video TEXT NOT NULL, "
               "state TEXT NOT NULL, updated REAL NOT NULL)")
    db.execute("INSERT INTO analyses VALUES (?, 'a.mp4', '{\"from\": \"the future\"}', 0)",
               (KEY,))
    db.commit()
    db.close()

    cache = AnalysisCache(path)
    assert cache.usable
    assert "schema 99" in cache.warning and "moved" in cache.warning
    (aside,) = broken_beside(path)
    assert cache.load_state(KEY) is None  # the newer database's rows are not read
    cache.close()
    with sqlite3.connect(path) as fresh:
        assert fresh.execute("SELECT value FROM meta WHERE name='schema'").fetchone() == (
            str(SCHEMA),)
    with sqlite3.connect(aside) as old:  # untouched, for a newer version to use
        assert old.execute("SELECT value FROM meta").fetchone() == ("99",)
        assert old.execute("SELECT COUNT(*) FROM analyses").fetchone() == (1,)


def test_forget_removes_the_state_and_the_matches(tmp_path):
    other = analysis_key("e" * 32, "garment", "garment-test", 3, 24)
    cache = AnalysisCache(tmp_path / "analysis.sqlite")
    for key in (KEY, other):
        assert cache.save_state(key, "a.mp4", STATE)
        assert cache.save_match(key, CATALOG, 1, result())
        assert cache.save_match(key, "/catalogs/other", 2, result(1))
    cache.forget(KEY)
    assert cache.load_state(KEY) is None
    assert cache.load_matches(KEY, CATALOG) == {}
    assert cache.load_matches(KEY, "/catalogs/other") == {}
    # another video's analysis stays
    assert cache.load_state(other) == STATE
    assert sorted(cache.load_matches(other, CATALOG)) == [1]
    assert sorted(cache.load_matches(other, "/catalogs/other")) == [2]
    cache.close()


def test_merge_copies_another_files_analyses_and_matches(tmp_path):
    """`library analyze` writes a cache file per video; the driver merges it into the
    player's: the same rows come back, a second merge replaces them, and a file that is not a
    cache (or of another schema) copies nothing and says why."""
    one = AnalysisCache(tmp_path / "video.sqlite")
    assert one.save_state(KEY, "/videos/a.mp4", STATE)
    assert one.save_match(KEY, CATALOG, 5, result())
    one.close()
    player = AnalysisCache(tmp_path / "player.sqlite")
    other = analysis_key("e" * 32, "garment", "garment-test", 3, 24)
    assert player.save_state(other, "/videos/b.mp4", {"kept": True})
    assert player.merge(tmp_path / "video.sqlite") == (1, 1)
    assert player.merge(tmp_path / "video.sqlite") == (1, 1)  # again: replaced, not doubled
    assert player.load_state(KEY) == STATE and player.load_state(other) == {"kept": True}
    back = player.load_matches(KEY, CATALOG)[5]
    assert back.matches == result().matches and len(back.evidence) == 3

    (tmp_path / "junk.sqlite").write_bytes(b"junk" * 500)
    assert player.merge(tmp_path / "junk.sqlite") == (0, 0)
    assert "junk.sqlite could not be copied" in player.warning
    newer = tmp_path / "newer.sqlite"
    AnalysisCache(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value=? WHERE name='schema'", (str(SCHEMA + 1),))
    assert player.merge(newer) == (0, 0) and f"schema {SCHEMA + 1}" in player.warning
    assert player.merge(tmp_path / "absent.sqlite") == (0, 0)
    assert player.load_state(KEY) == STATE  # nothing lost
    player.close()
