"""What the player remembers between runs (QSettings): volume, mute, recent files, geometry."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


class Settings:
    """Typed access to QSettings. ``path`` (or $VIDEO2SHOP_SETTINGS) stores an INI file there
    instead of the user's config folder: tests and kiosks use it to stay isolated."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        path = path or os.environ.get("VIDEO2SHOP_SETTINGS")
        if path:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._qs = QSettings("Video2Shop", "player")
        clear_stale_lock(self._qs.fileName())


    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._qs.value(key, default))
        except (TypeError, ValueError):
            return default  # a hand-edited or corrupt value never stops the player

    @property
    def volume(self) -> int:
        return max(0, min(100, self._int("audio/volume", 80)))

    @volume.setter
    def volume(self, v: int) -> None:
        self._qs.setValue("audio/volume", int(v))

    @property
    def muted(self) -> bool:
        return str(self._qs.value("audio/muted", "false")).lower() in ("1", "true")

    @muted.setter
    def muted(self, m: bool) -> None:
        self._qs.setValue("audio/muted", bool(m))

    @property
    def recent_files(self) -> list[str]:
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files if p != path]
        self._qs.setValue("files/recent", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    @staticmethod
    def _file_key(path: str) -> str:
        import hashlib

        return hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]

    def audio_track(self, path: str) -> int | None:
        """The audio track chosen for this file last time (its position), None if never."""
        value = self._qs.value(f"audio_tracks/{self._file_key(path)}")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def set_audio_track(self, path: str, position: int) -> None:
        self._qs.setValue(f"audio_tracks/{self._file_key(path)}", int(position))

    def clear_recent(self) -> None:
        self._qs.setValue("files/recent", [])

    @property
    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    @geometry.setter
    def geometry(self, g: QByteArray) -> None:
        self._qs.setValue("window/geometry", g)

    def sync(self) -> None:
        self._qs.sync()


def clear_stale_lock(settings_file: str, *, settle_s: float = 1.0) -> bool:
    """Removes the lock QSettings left beside its file when a process died while saving
    (tests/killharness.py found it): a lock naming a process that is gone, or one still empty
    ``settle_s`` after it was made (its maker died between creating and writing it). QLockFile
    only breaks such a lock after 30 s, and every save waits for it until then."""
    lock = Path(settings_file + ".lock")
    for _ in range(2):
        try:
            age = time.time() - lock.stat().st_mtime
            first = lock.read_text(errors="replace").split("\n", 1)[0].strip()
        except OSError:
            return False
        if first.isdigit():
            if Path(f"/proc/{first}").exists():
                return False  # held by a live process
            break
        if first or age >= settle_s:
            break  # not a lock QLockFile wrote, or empty for good
        time.sleep(min(settle_s, max(0.0, settle_s - age)))  # its owner may be writing it
    try:
        lock.unlink()
    except OSError:
        return False
    return True
