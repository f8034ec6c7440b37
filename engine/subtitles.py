"""Subtitles as text cues, for the player to draw itself (in the painter that draws the boxes),
so that they show while paused and while stepping frame by frame: the paused picture is
OpenCV's, which has no subtitles, and VLC's own renderer is switched off.

Sources: a file (``.srt``, ``.ass``/``.ssa``, ``.vtt``; pysubs2 parses), a file of the same name
beside the video (``clip.srt``, ``clip.en.srt``: found as VLC finds them), and the video's own
text tracks (MKV's SubRip/ASS, MP4's mov_text, WebVTT), listed by ffprobe and extracted by
ffmpeg. Picture subtitles (DVD, Blu-ray PGS, DVB) are listed but cannot be drawn as text.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")
TEXT_CODECS = {"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_CUE_CHARS = 400
ENCODINGS = ("utf-8-sig", "gb18030", "cp1252")  # Chinese dramas are often GB18030
TOOL_TIMEOUT_S = 120


class SubtitleError(Exception):
    """Subtitles that cannot be read, with what to do."""


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


@dataclass
class SubtitleTrack:
    name: str  # for the menu
    source: str  # a path, or "VIDEO#s:N" for the video's N-th subtitle stream
    cues: list[Cue] = field(default_factory=list)
    language: str = ""
    text: bool = True  # False: a picture track, listed but not drawable

    def __post_init__(self) -> None:
        self.cues.sort(key=lambda c: (c.start_ms, c.end_ms))
        self._starts = [c.start_ms for c in self.cues]
        self._longest = max((c.end_ms - c.start_ms for c in self.cues), default=0)

    def at(self, ms: float) -> str:
        """The text on screen at ``ms``: every cue with start <= ms < end, in start order."""
        hi = bisect.bisect_right(self._starts, ms)
        lo = bisect.bisect_left(self._starts, ms - self._longest)
        return "\n".join(c.text for c in self.cues[lo:hi] if c.start_ms <= ms < c.end_ms)


def _clean(text: str) -> str:
    """Plain text a painter can draw: no control or bidi-override characters, one blank-free
    line per line, at most MAX_CUE_CHARS."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for c in text:
        cat = unicodedata.category(c)
        if c == "\n" or not (cat == "Cc" or cat == "Cs" or 0x202A <= ord(c) <= 0x202E
                             or 0x2066 <= ord(c) <= 0x2069):
            out.append(c)
    lines = [" ".join(line.split()) for line in "".join(out).split("\n")]
    text = "\n".join(line for line in lines if line)
    return text if len(text) <= MAX_CUE_CHARS else text[: MAX_CUE_CHARS - 1] + "…"


def _from_text(text: str, name: str, source: str, fmt: str | None = None,
               language: str = "") -> SubtitleTrack:
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except (pysubs2.Pysubs2Error, ValueError, KeyError, IndexError) as exc:
        raise SubtitleError(f"{name}: not a subtitle file pysubs2 can read ({exc})") from None
    cues = []
    for ev in subs.events:
        if ev.is_comment or ev.end <= ev.start:
            continue
        line = _clean(ev.plaintext)
        if line:
            cues.append(Cue(int(ev.start), int(ev.end), line))
    return SubtitleTrack(name, source, cues, language)


def load_file(path: str | os.PathLike[str]) -> SubtitleTrack:
    """A subtitle file -> its track; SubtitleError says what is wrong."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise SubtitleError(f"subtitles {p} cannot be opened ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise SubtitleError(f"subtitles {p.name}: {size / 1e6:.0f} MB is not a subtitle file "
                            f"(at most {MAX_FILE_BYTES / 1e6:.0f} MB)")
    try:
        data = p.read_bytes()
    except OSError as exc:  # a folder of that name, no permission, an I/O error
        raise SubtitleError(f"subtitles {p.name} cannot be read ({exc.strerror or exc})") \
            from None
    # UTF-16 only with its byte-order mark: without one, it "decodes" any even-length file
    encodings = ("utf-16",) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ENCODINGS
    for enc in encodings:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1252 leaves five bytes undefined
        text = data.decode("latin-1")
    fmt = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa"}.get(p.suffix.lower())
    track = _from_text(text, p.name, str(p), fmt, _language_of(p))
    if not track.cues:
        raise SubtitleError(f"subtitles {p.name}: no cues in it (is it a subtitle file?)")
    return track


def _language_of(p: Path) -> str:
    """'clip.en.srt' -> 'en'."""
    parts = p.name.split(".")
    return parts[-2] if len(parts) >= 3 and re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]{2,4})?",
                                                         parts[-2]) else ""


def sidecars(video: str | os.PathLike[str]) -> list[Path]:
    """Subtitle files beside ``video`` named after it: ``clip.srt`` first, then ``clip.*.srt``
    (a language or a label), each kind in SUFFIXES order."""
    v = Path(video)
    try:
        names = sorted(os.listdir(v.parent))
    except OSError:
        return []
    exact, tagged = [], []
    for n in names:
        suffix = Path(n).suffix.lower()
        if suffix not in SUFFIXES:
            continue
        stem = n[: -len(suffix)]
        if not (v.parent / n).is_file():
            continue
        if stem == v.stem:
            exact.append(v.parent / n)
        elif stem.startswith(v.stem + "."):
            tagged.append(v.parent / n)
    order = {s: i for i, s in enumerate(SUFFIXES)}
    key = lambda p: (order[p.suffix.lower()], p.name)  # noqa: E731
    return sorted(exact, key=key) + sorted(tagged, key=key)


@dataclass(frozen=True)
class Stream:
    position: int  # among the video's subtitle streams (ffmpeg's 0:s:N)
    codec: str
    language: str
    title: str
    default: bool

    @property
    def text(self) -> bool:
        return self.codec in TEXT_CODECS

    def name(self) -> str:
        label = self.title or self.language or f"track {self.position + 1}"
        if self.title and self.language:
            label = f"{self.title} ({self.language})"
        return label if self.text else f"{label} — pictures, not shown"


def embedded_streams(video: str | os.PathLike[str]) -> list[Stream]:
    """The video's subtitle streams (ffprobe); [] without ffprobe or for a file it cannot
    read."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "s", "-show_entries",
             "stream=index,codec_name:stream_tags=language,title:stream_disposition=default",
             "-of", "json", str(video)], capture_output=True, text=True,
            timeout=TOOL_TIMEOUT_S)
        streams = json.loads(out.stdout or "{}").get("streams", [])
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    result = []
    for i, s in enumerate(streams):
        tags = s.get("tags") or {}
        result.append(Stream(i, str(s.get("codec_name", "")), str(tags.get("language", "")),
                             str(tags.get("title", "")),
                             bool((s.get("disposition") or {}).get("default"))))
    return result


def extract(video: str | os.PathLike[str], stream: Stream) -> SubtitleTrack:
    """The text of one embedded stream, through ffmpeg as SubRip."""
    name = stream.name()
    source = f"{video}#s:{stream.position}"
    if not stream.text:
        raise SubtitleError(f"{name}: picture subtitles ({stream.codec}) cannot be drawn as "
                            "text; use a .srt file beside the video")
    try:
        out = subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", str(video), "-map",
             f"0:s:{stream.position}", "-f", "srt", "pipe:1"], capture_output=True,
            timeout=TOOL_TIMEOUT_S)
    except FileNotFoundError:
        raise SubtitleError("ffmpeg is needed to read a video's own subtitles (Debian: "
                            "apt-get install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise SubtitleError(f"{name}: ffmpeg took over {TOOL_TIMEOUT_S} s") from None
    if out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SubtitleError(f"{name}: ffmpeg could not read it ({err[-1] if err else 'error'})")
    text = out.stdout.decode("utf-8", "replace")
    return _from_text(text, name, source, "srt", stream.language)
