"""The analysis cache: what the engine found in a video, kept in SQLite so that reopening the
video shows its boxes (and matches) at once.

Keyed by what decides the result: the video's fingerprint (engine.video.fingerprint), the
detector's name and version, the stride and the segment length. Matches are keyed further by
the catalogue (its store fingerprint and the AsymNet version) and by each trajectory's extent,
so a trajectory that grew by stitching is matched again. A database that cannot be read is
moved aside and started afresh; one that cannot be written leaves the engine working without a
cache: either way with a message, never an exception in the player.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.cache import cache_dir
from engine.types import Match

SCHEMA = 1
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS analyses (
    key TEXT PRIMARY KEY, video TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    key TEXT NOT NULL, catalog TEXT NOT NULL, track_id INTEGER NOT NULL, extent TEXT NOT NULL,
    matches TEXT NOT NULL, evidence BLOB, PRIMARY KEY (key, catalog, track_id));
"""


def analysis_key(fingerprint: str, detector: str, detector_version: str, stride: int,
                 segment: int, settings: str = "") -> str:
    """``settings``: anything else that changes the result (the tracker's parameters)."""
    raw = json.dumps([fingerprint, detector, detector_version, stride, segment, settings])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _pack_evidence(evidence: list) -> bytes | None:
    if not evidence:
        return None
    buf = io.BytesIO()
    np.savez_compressed(buf, frames=np.array([e.frame for e in evidence], np.int64),
                        weights=np.array([e.weight for e in evidence], np.float32),
                        crops=np.stack([e.crop for e in evidence]).astype(np.uint8))
    return buf.getvalue()


def _unpack_evidence(blob: bytes | None) -> list:
    from engine.types import Evidence

    if not blob:
        return []
    with np.load(io.BytesIO(blob)) as z:
        return [Evidence(int(f), float(w), c) for f, w, c in
                zip(z["frames"], z["weights"], z["crops"], strict=True)]


class AnalysisCache:
    """One SQLite file shared by every video; safe to call from one thread at a time per
    instance (a lock serialises the engine thread and the main thread)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "analysis.sqlite"
        self.warning = ""
        self._lock = threading.Lock()
        self.db: sqlite3.Connection | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            aside = self.path.with_name(self.path.name + f".broken-{int(time.time())}")
            try:
                self.path.replace(aside)
                self.db = self._open()
                self.warning = (f"the analysis cache {self.path} could not be read ({exc}); "
                                f"it was moved to {aside.name} and a new one started")
            except (OSError, sqlite3.Error) as exc2:
                self.warning = (f"the analysis cache {self.path} cannot be used ({exc2}): "
                                "videos are analysed again each time they are opened")
        except OSError as exc:
            self.warning = (f"the analysis cache {self.path} cannot be used ({exc}): videos are "
                            "analysed again each time they are opened")

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_TABLES)
            row = db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
                db.commit()
            elif int(row[0]) != SCHEMA:
                raise sqlite3.DatabaseError(f"schema {row[0]}, this version reads {SCHEMA}")
        except Exception:
            db.close()
            raise
        return db

    @property
    def usable(self) -> bool:
        return self.db is not None

    def _write(self, sql: str, args: tuple) -> bool:
        if self.db is None:
            return False
        with self._lock:
            try:
                with self.db:
                    self.db.execute(sql, args)
                return True
            except sqlite3.Error as exc:
                full = "full" in str(exc) or "disk i/o" in str(exc).lower()
                self.warning = (f"the analysis cache {self.path} cannot be written ({exc})"
                                + ("; the disk may be full" if full else "")
                                + ": analysis goes on, and what is not saved is analysed "
                                "again next time")
                return False

    def load_state(self, key: str) -> dict[str, Any] | None:
        if self.db is None:
            return None
        with self._lock:
            try:
                row = self.db.execute("SELECT state FROM analyses WHERE key=?", (key,)).fetchone()
                return json.loads(row[0]) if row else None
            except (sqlite3.Error, ValueError) as exc:
                self.warning = f"the cached analysis could not be read ({exc}): analysing again"
                return None

    def save_state(self, key: str, video: str, state: dict[str, Any]) -> bool:
        return self._write("INSERT OR REPLACE INTO analyses VALUES (?, ?, ?, ?)",
                           (key, video, json.dumps(state, separators=(",", ":")), time.time()))

    def load_matches(self, key: str, catalog: str, evidence: bool = True) -> dict:
        """track id -> engine.types.TrackResult, for this analysis and catalogue; without
        ``evidence`` the deciding frames are left in the file (``load_evidence`` reads them
        for one track)."""
        from engine.types import TrackResult

        if self.db is None:
            return {}
        column = "evidence" if evidence else "NULL"
        with self._lock:
            try:
                rows = self.db.execute(
                    f"SELECT track_id, extent, matches, {column} FROM matches WHERE key=? AND "
                    "catalog=?", (key, catalog)).fetchall()
                return {int(tid): TrackResult(extent, [Match(**m) for m in json.loads(raw)],
                                              _unpack_evidence(blob))
                        for tid, extent, raw, blob in rows}
            except (sqlite3.Error, ValueError, TypeError, KeyError, OSError) as exc:
                self.warning = f"cached matches could not be read ({exc}): matching again"
                return {}

    def load_evidence(self, key: str, catalog: str, track_id: int, extent: str) -> list | None:
        """The deciding frames saved with one track's matches for this extent, or None when
        the file has none (another extent, or unreadable)."""
        if self.db is None:
            return None
        with self._lock:
            try:
                row = self.db.execute(
                    "SELECT evidence FROM matches WHERE key=? AND catalog=? AND track_id=? AND "
                    "extent=?", (key, catalog, int(track_id), extent)).fetchone()
                return None if row is None else _unpack_evidence(row[0])
            except (sqlite3.Error, ValueError, TypeError, KeyError, OSError):
                return None

    def save_match(self, key: str, catalog: str, track_id: int, result) -> bool:
        raw = json.dumps([dataclasses.asdict(m) for m in result.matches])
        return self._write("INSERT OR REPLACE INTO matches VALUES (?, ?, ?, ?, ?, ?)",
                           (key, catalog, int(track_id), result.key, raw,
                            _pack_evidence(result.evidence)))

    def merge(self, other: str | Path) -> tuple[int, int]:
        """Copies every analysis and match of another cache file (one `library analyze` wrote
        for a video) into this one, replacing rows of the same keys; returns how many of each.
        Nothing is copied from a file that cannot be read (the warning says why)."""
        if self.db is None:
            return 0, 0
        with self._lock:
            try:
                src = sqlite3.connect(f"file:{Path(other)}?mode=ro", uri=True)
                try:
                    row = src.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
                    if row is None or int(row[0]) != SCHEMA:
                        raise sqlite3.DatabaseError(
                            f"schema {row[0] if row else 'none'}, this version reads {SCHEMA}")
                    states = src.execute("SELECT * FROM analyses").fetchall()
                    matches = src.execute("SELECT * FROM matches").fetchall()
                finally:
                    src.close()
                with self.db:
                    self.db.executemany("INSERT OR REPLACE INTO analyses VALUES (?, ?, ?, ?)",
                                        states)
                    self.db.executemany(
                        "INSERT OR REPLACE INTO matches VALUES (?, ?, ?, ?, ?, ?)", matches)
            except sqlite3.Error as exc:
                self.warning = f"{other} could not be copied into {self.path} ({exc})"
                return 0, 0
        return len(states), len(matches)

    def forget(self, key: str) -> None:
        self._write("DELETE FROM analyses WHERE key=?", (key,))
        self._write("DELETE FROM matches WHERE key=?", (key,))

    def close(self) -> None:
        if self.db is not None:
            with self._lock:
                self.db.close()
            self.db = None
