"""One video of a library, analysed (and matched) the way `analyze --catalog` does it, with no
Ray in sight: the driver (engine/library/driver.py) runs it as a Ray task, a test runs it as a
function.

What lands in the output directory ``OUT`` for a video named ``NAME`` whose fingerprint
(engine.video.fingerprint) starts with ``FP``:

- ``NAME-FP.analysis.json``: the annotations format with each trajectory's matches, the file
  `analyze --catalog` writes for the same video and settings;
- ``.library/NAME-FP.sqlite``: the same analysis and matches as the player's analysis cache
  keeps them (engine/analysis/cache.py, the player's keys), for the driver to merge into the
  player's cache: the player then opens the video with its boxes and cards at once;
- ``.library/NAME-FP.done.json``, written last: what was done, with which settings. A video
  whose record is there, for the same settings, is finished; anything else is redone from the
  start (a worker killed mid-video leaves no record).

A video is several tasks: its analysis (``analyse_part``), then its trajectories matched a
few at a time (``match_part``), then its files written (``finish_video``, in the driver).
Each trajectory's matches depend only on its own crops, so the pieces give the files of one
pass; small pieces keep two workers busy to the end.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.analysis.loop import SEGMENT

WORK = ".library"


@dataclass(frozen=True)
class Job:
    """The settings every video of a run shares. Their defaults are the player's (stride,
    segment), so the cache keys written are the ones the player looks for."""

    catalog: str | None = None
    detector: str = "auto"
    device: str = "auto"
    stride: int = 3
    batch: int = 4
    top: int = 10
    segment: int = SEGMENT

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["catalog"] = str(Path(self.catalog).resolve()) if self.catalog else None
        return d


def output_name(video: str | Path, fp: str) -> str:
    """``NAME-FP``: two videos of the same name in different folders do not collide."""
    return f"{Path(video).stem}-{fp[:8]}"


def done_record(out: Path, name: str) -> dict[str, Any] | None:
    """The finished record of ``name`` in ``out``, or None (not finished, or unreadable)."""
    try:
        record = json.loads((out / WORK / f"{name}.done.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not (out / f"{name}.analysis.json").is_file():
        return None
    return record


def is_done(out: Path, name: str, job: Job) -> bool:
    record = done_record(out, name)
    return record is not None and record.get("job") == job.describe()


# Models loaded once per process: a Ray worker runs one video after another with the same ones.
_DETECTORS: dict[tuple[str, str], Any] = {}
_CATALOGS: dict[tuple[str, str], Any] = {}


def _detector(job: Job):
    from engine.detect import create_detector

    key = (job.detector, job.device)
    if key not in _DETECTORS:
        _DETECTORS[key] = create_detector(job.detector, device=job.device)
    return _DETECTORS[key]


def _catalog(job: Job):
    from engine.catalog.retrieval import Catalog

    key = (str(Path(job.catalog).resolve()), job.device)
    if key not in _CATALOGS:
        _CATALOGS[key] = Catalog.open(job.catalog, device=job.device)
    return _CATALOGS[key]


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, indent=1), encoding="utf-8")
    tmp.replace(path)


def analyse_part(video: str | Path, out: str | Path, job: Job, fp: str,
                 node: str = "") -> dict[str, Any]:
    """A video's first task: detection and tracking to the end, as the player's session does
    it, its state written to ``.library/NAME-FP.sqlite`` (the player's cache rows). Returns
    the annotations (no matches yet) and what the record needs."""
    from engine.analysis import LiveSession, run_to_end
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.loop import LiveAnalysis
    from engine.analysis.straight import annotations_of
    from engine.video import probe

    t0 = time.monotonic()
    video, out = Path(video), Path(out)
    name = output_name(video, fp)
    work = out / WORK
    work.mkdir(parents=True, exist_ok=True)
    _write_json(work / f"{name}.started", {"pid": os.getpid(), "host": socket.gethostname(),
                                           "time": time.time()})
    db = work / f"{name}.sqlite"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)  # an earlier, unfinished attempt's
    analysis = LiveAnalysis(video, _detector(job), probe(video), stride=job.stride,
                            segment=max(job.segment, job.stride), batch=job.batch)
    cache = AnalysisCache(db)
    if not cache.usable:
        raise OSError(cache.warning)
    try:
        session = LiveSession(analysis, cache=cache)
        run_to_end(session)
        if session.errors:
            raise RuntimeError("; ".join(session.errors))
        key = session.key
    finally:
        cache.close()
    return {"annotations": annotations_of(analysis), "key": key, "height": analysis.info.height,
            "seconds": time.monotonic() - t0, "host": socket.gethostname(), "node": node,
            "pid": os.getpid(), "peak_rss_mb": _peak_rss_mb()}


def match_part(video: str | Path, job: Job, tracks: list, height: float,
               node: str = "") -> dict[str, Any]:
    """A video's later tasks: some of its trajectories matched against ``job.catalog``, their
    crops decoded in one pass (alone when a frame would not decode), as the player's session
    matches them. Returns ``results`` (track id -> TrackResult, deciding frames included)."""
    from engine.analysis.session import LiveSession, match_track
    from engine.matching import track_crops

    t0 = time.monotonic()
    catalog = _catalog(job)
    crops = track_crops(video, tracks, FRAMES_PER_TRACK)
    results = {}
    for t, c in zip(tracks, crops, strict=True):
        if len(tracks) > 1 and (c is None or not c.complete):
            c = track_crops(video, [t], FRAMES_PER_TRACK)[0]
        results[t.track_id] = match_track(catalog, t, c, k=job.top, height=height)
    return {"results": results, "catalog_key": LiveSession.catalog_key(catalog),
            "catalog_model": catalog.matcher.version, "seconds": time.monotonic() - t0,
            "node": node, "pid": os.getpid(), "peak_rss_mb": _peak_rss_mb()}


def finish_video(video: str | Path, out: str | Path, job: Job, fp: str,
                 analysed: dict[str, Any], matched: list[dict[str, Any]]) -> dict[str, Any]:
    """Writes a video's files from its tasks' results: the matches into its cache rows, the
    annotations file (`analyze`'s), and last the done record, which it returns."""
    from engine.analysis.cache import AnalysisCache

    video, out = Path(video), Path(out)
    name = output_name(video, fp)
    ann = analysed["annotations"]
    results = {tid: r for part in matched for tid, r in part["results"].items()}
    if job.catalog:
        for t in ann.tracks:
            r = results.get(t.track_id)
            t.matches = list(r.matches) if r is not None else []
        ann.video["catalog_model"] = (matched[0]["catalog_model"] if matched
                                      else _catalog_version(job))
    catalog_key = matched[0]["catalog_key"] if matched else ""
    if results:
        cache = AnalysisCache(out / WORK / f"{name}.sqlite")
        try:
            for tid, r in results.items():
                if not cache.save_match(analysed["key"], catalog_key, tid, r):
                    raise OSError(cache.warning)
        finally:
            cache.close()
    ann.save(out / f"{name}.analysis.json")
    parts = [analysed, *matched]
    record = {"video": str(video.resolve()), "fingerprint": fp, "name": name,
              "job": job.describe(), "cache_key": analysed["key"], "catalog_key": catalog_key,
              "frames": ann.video["frame_count"], "tracks": len(ann.tracks),
              "matched": sum(1 for t in ann.tracks if t.matches),
              "seconds": round(sum(p["seconds"] for p in parts), 3),
              "tasks": len(parts), "host": analysed["host"], "node": analysed["node"],
              "pid": analysed["pid"], "pids": sorted({p["pid"] for p in parts}),
              "nodes": sorted({p["node"] for p in parts}),
              # the largest peak of the workers that did it (their models, this video)
              "peak_rss_mb": max(p["peak_rss_mb"] for p in parts)}
    _write_json(out / WORK / f"{name}.done.json", record)
    return record


def chunks(tracks: list, size: int = 4) -> list[list]:
    """A video's trajectories in matching tasks of about ``size``, neighbours together (their
    crops come from nearby frames): small pieces, so that no long one is left for the end."""
    n = -(-len(tracks) // size) if tracks else 0
    ordered = sorted(tracks, key=lambda t: (t.first_frame, t.track_id))
    return [ordered[i * len(ordered) // n:(i + 1) * len(ordered) // n] for i in range(n)]


def analyse_video(video: str | Path, out: str | Path, job: Job,
                  fp: str | None = None) -> dict[str, Any]:
    """The whole of one video in this process: its analysis, every trajectory matched, its
    files written; returns its done record."""
    from engine.video import fingerprint

    fp = fp or fingerprint(video)
    analysed = analyse_part(video, out, job, fp)
    tracks = analysed["annotations"].tracks
    matched = [match_part(video, job, part, analysed["height"]) for part in chunks(tracks)
               ] if job.catalog else []
    return finish_video(video, out, job, fp, analysed, matched)


FRAMES_PER_TRACK = 40  # the player's session's


def _catalog_version(job: Job) -> str:
    """The AsymNet a catalogue opened by path matches with (the shipped weights), without
    loading it: for a video with no trajectory, which no matching task saw."""
    from engine.asymnet.model import DEFAULT_WEIGHTS, model_version

    return model_version(DEFAULT_WEIGHTS)


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
