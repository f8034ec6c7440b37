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


def analyse_video(video: str | Path, out: str | Path, job: Job, fp: str | None = None,
                  node: str = "") -> dict[str, Any]:
    """Analyses (and with ``job.catalog``, matches) ``video`` into ``out``; returns its done
    record. ``node``: the Ray node running it, for the record. Exceptions are the caller's:
    the video is then not finished."""
    from engine.analysis import LiveSession, run_to_end
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.loop import LiveAnalysis
    from engine.analysis.straight import annotations_of
    from engine.video import fingerprint, probe

    t0 = time.monotonic()
    video, out = Path(video), Path(out)
    fp = fp or fingerprint(video)
    name = output_name(video, fp)
    work = out / WORK
    work.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    _write_json(work / f"{name}.started", {"pid": os.getpid(), "host": host,
                                           "time": time.time()})
    db = work / f"{name}.sqlite"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)  # an earlier, unfinished attempt's
    detector = _detector(job)
    catalog = _catalog(job) if job.catalog else None
    analysis = LiveAnalysis(video, detector, probe(video), stride=job.stride,
                            segment=max(job.segment, job.stride), batch=job.batch)
    cache = AnalysisCache(db)
    if not cache.usable:
        raise OSError(cache.warning)
    try:
        session = LiveSession(analysis, catalog=catalog, cache=cache, k=job.top)
        run_to_end(session)
        if session.errors:
            raise RuntimeError("; ".join(session.errors))
        ann = annotations_of(analysis)
        if catalog is not None:
            for t in ann.tracks:
                r = session.results.get(t.track_id)
                t.matches = list(r.matches) if r is not None else []
            ann.video["catalog_model"] = catalog.matcher.version
        key = session.key
        catalog_key = LiveSession.catalog_key(catalog) if catalog is not None else ""
    finally:
        cache.close()
    ann.save(out / f"{name}.analysis.json")
    record = {"video": str(video.resolve()), "fingerprint": fp, "name": name,
              "job": job.describe(), "cache_key": key, "catalog_key": catalog_key,
              "frames": ann.video["frame_count"], "tracks": len(ann.tracks),
              "matched": sum(1 for t in ann.tracks if t.matches),
              "seconds": round(time.monotonic() - t0, 3), "host": host, "node": node,
              "pid": os.getpid(),
              # the worker's peak so far (its models, the largest video it has done)
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    _write_json(work / f"{name}.done.json", record)
    return record
