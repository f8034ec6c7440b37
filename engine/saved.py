"""Saved products: what a viewer kept with the heart on a card, with the video and the moment it
came from, across sessions. One SQLite file (``$VIDEO2SHOP_DATA/saved.sqlite``, by default
``~/.local/share/video2shop``: user data, not a cache), WAL mode; exports as CSV, written
atomically. A product saved again from another moment keeps its place and takes the new
moment."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from engine.export import _write_atomic
from engine.types import Match

SCHEMA = """
CREATE TABLE IF NOT EXISTS saved (
    product_id TEXT NOT NULL, video TEXT NOT NULL, frame INTEGER NOT NULL,
    seconds REAL NOT NULL, track_id INTEGER NOT NULL, title TEXT NOT NULL, price REAL,
    currency TEXT NOT NULL, shop TEXT NOT NULL, url TEXT NOT NULL, image TEXT NOT NULL,
    saved_at REAL NOT NULL, PRIMARY KEY (product_id, video));
"""
CSV_COLUMNS = ("product_id", "title", "price", "currency", "shop", "url", "video", "frame",
               "seconds", "saved_at")


class SavedError(RuntimeError):
    """The saved list cannot be read or written, with what to do."""


@dataclass(frozen=True)
class SavedProduct:
    product_id: str
    video: str
    frame: int
    seconds: float
    track_id: int
    title: str
    price: float | None
    currency: str
    shop: str
    url: str
    image: str
    saved_at: float


def data_dir() -> Path:
    default = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return Path(os.environ.get("VIDEO2SHOP_DATA") or default / "video2shop")


class SavedStore:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "saved.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SavedError(f"the saved products {self.path} cannot be opened ({exc}); "
                             "products cannot be saved this session") from None

    def save(self, match: Match, video: str, frame: int, fps: float, track_id: int = -1) -> None:
        try:
            with self.db:
                self.db.execute(
                    "INSERT INTO saved VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT "
                    "(product_id, video) DO UPDATE SET frame=excluded.frame, "
                    "seconds=excluded.seconds, track_id=excluded.track_id",
                    (match.product_id, str(video), int(frame),
                     round(frame / fps, 3) if fps > 0 else 0.0, int(track_id),
                     match.title or match.product_id, match.price, match.currency or "",
                     match.shop or "", match.url or "", match.image or "", time.time()))
        except sqlite3.Error as exc:
            raise SavedError(f"not saved: {exc}") from None

    @staticmethod
    def _where(product_id: str, video: str | None) -> tuple[str, list[str]]:
        """The rows of a product: from one video, or from any."""
        if video is None:
            return "product_id = ?", [product_id]
        return "product_id = ? AND video = ?", [product_id, str(video)]

    def remove(self, product_id: str, video: str | None = None) -> int:
        where, args = self._where(product_id, video)
        try:
            with self.db:
                return self.db.execute(f"DELETE FROM saved WHERE {where}", args).rowcount
        except sqlite3.Error as exc:
            raise SavedError(f"not removed: {exc}") from None

    def contains(self, product_id: str, video: str | None = None) -> bool:
        where, args = self._where(product_id, video)
        try:
            return self.db.execute(f"SELECT 1 FROM saved WHERE {where}", args).fetchone() \
                is not None
        except sqlite3.Error:
            return False  # a list that cannot be read shows nothing saved, never a traceback

    def items(self) -> list[SavedProduct]:
        """Newest first."""
        try:
            rows = self.db.execute(
                "SELECT product_id, video, frame, seconds, track_id, title, price, currency, "
                "shop, url, image, saved_at FROM saved ORDER BY saved_at DESC, rowid DESC"
            ).fetchall()
        except sqlite3.Error as exc:
            raise SavedError(f"the saved products cannot be read: {exc}") from None
        return [SavedProduct(*r) for r in rows]

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_COLUMNS)
        for s in self.items():
            w.writerow([_cell(getattr(s, c)) for c in CSV_COLUMNS])
        return buf.getvalue()

    def export_csv(self, path: str | Path) -> Path:
        text = self.to_csv()
        return _write_atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def close(self) -> None:
        self.db.close()


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with an apostrophe
    (a title from a shop feed that starts with = or + must not compute)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
