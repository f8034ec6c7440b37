"""Export an analysis for QA teams, and keep their flags on it.

QA teams review tracks in their own tools, so an :class:`~engine.annotations.Annotations` is
written as MOTChallenge text (for TrackEval and friends) or as CVAT "for video 1.1" XML (to
correct boxes by hand), besides the project's own JSON. A :class:`FlagBook` holds what a
reviewer marked as wrong (a bad box, a bad product match) next to the video it belongs to.

Every file is written atomically (a temp file in the same folder, then ``os.replace``), so an
interrupted export never leaves half a file, and a write that fails becomes an
:class:`ExportError` that names the path and the reason. Pure Python: no Qt, no VLC.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from engine.annotations import Annotations
from engine.types import Track

FORMATS = ("annotations", "mot", "cvat")
SUFFIXES = {".json": "annotations", ".txt": "mot", ".xml": "cvat"}
FLAG_KINDS = ("box", "match")
NOTE_MAX_CHARS = 2000
DEFAULT_LABEL = "garment"  # CVAT needs a label; tracks with no category get this one
# C0/C1 control characters except tab and newline: invisible in a note and invalid in XML 1.0.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ExportError(ValueError):
    """An export or flag file that cannot be written or read, with the path and the reason."""


def clean_text(text: str, max_chars: int | None = None) -> str:
    """``text`` as given, less control characters (tab and newline kept), cut to ``max_chars``."""
    text = _CONTROL.sub("", text)
    return text[:max_chars] if max_chars is not None else text


def _num(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` decimals and no trailing zeros: 12.5, 3, 0.9132."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _sorted_tracks(ann: Annotations) -> list[Track]:
    return sorted((t for t in ann.tracks if len(t.boxes)), key=lambda t: t.track_id)


def to_mot(ann: Annotations) -> str:
    """MOTChallenge text: ``frame,id,left,top,width,height,conf,-1,-1,-1`` per box.

    Frames are 1-based as MOT expects (ours are 0-based); ids are our track ids; lines are
    sorted by frame, then id.
    """
    rows = []
    for t in ann.tracks:
        for frame, x1, y1, x2, y2, score in t.boxes:
            rows.append((int(frame) + 1, int(t.track_id), x1, y1, x2 - x1, y2 - y1, score))
    rows.sort(key=lambda r: (r[0], r[1]))
    lines = [
        f"{f},{tid},{_num(x, 2)},{_num(y, 2)},{_num(w, 2)},{_num(h, 2)},{_num(c, 4)},-1,-1,-1"
        for f, tid, x, y, w, h, c in rows
    ]
    return "".join(line + "\n" for line in lines)


def _label(track: Track) -> str:
    return clean_text(track.category).strip() or DEFAULT_LABEL


def to_cvat_video_xml(ann: Annotations, *, name: str = "video") -> str:
    """CVAT "for video 1.1" XML, one ``<track>`` per track that has boxes.

    CVAT wants track ids 0..n-1, so ours are renumbered in order of our track id (the lowest
    becomes 0). A track that skips frames, or ends before the video's last frame, gets a box
    with ``outside="1"`` on the frame after, which is how CVAT says the object left the view.
    """
    tracks = _sorted_tracks(ann)
    last_seen = max((t.last_frame for t in tracks), default=-1)
    frame_count = int(ann.video.get("frame_count") or last_seen + 1)
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    for tag, text in (
        ("name", clean_text(name)),
        ("size", str(frame_count)),
        ("mode", "interpolation"),
        ("start_frame", "0"),
        ("stop_frame", str(max(frame_count - 1, 0))),
    ):
        ET.SubElement(task, tag).text = text
    labels = ET.SubElement(task, "labels")
    for label in sorted({_label(t) for t in tracks}):
        node = ET.SubElement(labels, "label")
        ET.SubElement(node, "name").text = label
        ET.SubElement(node, "attributes")
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(int(ann.video.get("width") or 0))
    ET.SubElement(size, "height").text = str(int(ann.video.get("height") or 0))

    for cvat_id, t in enumerate(tracks):
        node = ET.SubElement(root, "track", id=str(cvat_id), label=_label(t), source="auto")
        for i, (frame, x1, y1, x2, y2, _score) in enumerate(t.boxes):
            coords = {"xtl": x1, "ytl": y1, "xbr": x2, "ybr": y2}
            _cvat_box(node, int(frame), coords, outside=False)
            after = int(frame) + 1
            next_frame = int(t.boxes[i + 1, 0]) if i + 1 < len(t.boxes) else frame_count
            if after < next_frame:  # a gap, or the track ends before the video does
                _cvat_box(node, after, coords, outside=True)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _cvat_box(track: ET.Element, frame: int, coords: dict[str, float], *, outside: bool) -> None:
    attrs = {"frame": str(frame), **{k: f"{v:.2f}" for k, v in coords.items()}}
    attrs |= {"outside": str(int(outside)), "occluded": "0", "keyframe": "1", "z_order": "0"}
    ET.SubElement(track, "box", attrs)


def format_for_path(path: str | Path) -> str:
    """The export format a file name asks for, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        valid = ", ".join(f"{s} ({f})" for s, f in SUFFIXES.items())
        raise ValueError(f"cannot tell the export format of {path!s}: use {valid}")
    return SUFFIXES[suffix]


def export_analysis(ann: Annotations, path: str | Path, fmt: str) -> Path:
    """Write ``ann`` to ``path`` as ``fmt`` (one of :data:`FORMATS`), creating folders."""
    path = Path(path)
    if fmt == "annotations":
        return _write_atomic(path, ann.save)
    if fmt == "mot":
        text = to_mot(ann)
    elif fmt == "cvat":
        text = to_cvat_video_xml(ann, name=path.stem)
    else:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Run ``write`` on a temp file next to ``path``, then move it over ``path`` in one step."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        for leftover in (tmp, tmp.with_name(tmp.name + ".tmp")):  # ours, and Annotations.save's
            with suppress(OSError):
                leftover.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise ExportError(
            f"could not write {path}: {reason}; choose a folder you can write to"
        ) from exc
    return path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Flag:
    """A reviewer's mark on one track at one frame: a wrong box, or a wrong product match."""

    frame: int
    track_id: int
    kind: Literal["box", "match"]
    note: str
    product_id: str | None = None
    created: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        for name in ("frame", "track_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.frame < 0:
            raise ValueError(f"frame must be >= 0, got {self.frame}")
        if self.kind not in FLAG_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FLAG_KINDS)}, got {self.kind!r}")
        if not isinstance(self.note, str):
            raise ValueError(f"note must be text, got {self.note!r}")
        if self.product_id is not None and not isinstance(self.product_id, str):
            raise ValueError(f"product_id must be text or null, got {self.product_id!r}")
        try:
            datetime.fromisoformat(self.created)
        except (TypeError, ValueError):
            raise ValueError(f"created must be an ISO time, got {self.created!r}") from None
        object.__setattr__(self, "note", clean_text(self.note, NOTE_MAX_CHARS))


@dataclass
class FlagBook:
    """The flags of one video; ``fingerprint`` tells whether the file is still the same video."""

    video: str
    fingerprint: str
    flags: list[Flag] = field(default_factory=list)

    def add(
        self,
        frame: int,
        track_id: int,
        kind: Literal["box", "match"],
        note: str = "",
        product_id: str | None = None,
    ) -> Flag:
        flag = Flag(frame, track_id, kind, note, product_id)
        self.flags.append(flag)
        return flag

    def remove(self, index: int) -> Flag:
        return self.flags.pop(index)

    def to_json(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "fingerprint": self.fingerprint,
            "flags": [asdict(f) for f in self.flags],
        }

    def save(self, path: str | Path) -> Path:
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1)
        return _write_atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: str | Path) -> FlagBook:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExportError(f"could not read flags {path}: {exc.strerror or exc}") from None
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ExportError(f"{path}: not a valid flags file ({exc})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("flags"), list):
            raise ExportError(f"{path}: the top level must be an object with a 'flags' list")
        for key in ("video", "fingerprint"):
            if not isinstance(raw.get(key), str):
                raise ExportError(f"{path}: '{key}' must be text, got {raw.get(key)!r}")
        flags = []
        for i, item in enumerate(raw["flags"]):
            where = f"{path}: flags[{i}]"
            if not isinstance(item, dict):
                raise ExportError(f"{where} must be an object, got {item!r}")
            try:
                flags.append(Flag(**item))
            except TypeError as exc:  # missing or unknown keys
                raise ExportError(f"{where}: {exc}".replace("Flag.__init__() ", "")) from None
            except ValueError as exc:
                raise ExportError(f"{where}: {exc}") from None
        return cls(raw["video"], raw["fingerprint"], flags)
