"""The kill harness (issue 17): every store the product writes, written by a child process that
is killed with SIGKILL at a seeded random moment, restarted, and checked.

Operations (``OPS``), each a real job on the real store:

- ``import``: ``catalog import`` of 120 products (two images each, batches of 10) into a
  catalogue; every trial changes titles, prices and images, so a half-written product shows.
- ``index``: embedding and indexing a catalogue of 48 products (96 images): the child clears
  the model's vectors, embeds every shop image with AsymNet's IFN (two batches) and builds and
  saves the FAISS index (its kind alternates, so every trial writes a new file).
- ``cache``: analysis-cache writes (states and matches with evidence crops) as the engine makes
  them.
- ``flags``: the QA flag book and the three export formats, saved over the last ones.
- ``settings``: the player's settings (QSettings INI), saved as the player saves them.

Each trial starts a child, waits for it to say it is ready (imports done, about to write),
sleeps a seeded random time within the job's measured length, sends SIGKILL, then checks the
store in this process: only complete products, an index that matches its store or is found
stale (and rebuilt), cache entries complete or absent, flag and export files whole, settings
that read back as one of the saved versions. The next trial is the restart. After the last
kill, a run without one must finish the job.

    python -m tests.killharness [--kills N] [--seed S] [--ops import index ...] [--dir DIR]

tests/test_kill_harness.py runs it with 20 kills per operation; docs/reliability.md gives a
longer run's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_PRODUCTS = 120
N_IMAGES = 60  # the images the products share (two each)


# ---------------------------------------------------------------------------------------
# the jobs, as the child runs them

def _source_rows(src: Path, trial: int) -> list[dict]:
    """The import source of one trial: titles and prices carry the trial, images move."""
    rows = []
    for i in range(N_PRODUCTS):
        a, b = i % N_IMAGES, (i + trial + 1) % N_IMAGES
        if a == b:
            b = (b + 1) % N_IMAGES
        rows.append({"id": f"k{i:04d}", "title": f"Harness Shirt {i} v{trial}",
                     "category": "shirt", "price": _price(i, trial), "currency": "CNY",
                     "url": f"https://shop.example.com/item/k{i:04d}",
                     "images": [f"images/{a:03d}.jpg", f"images/{b:03d}.jpg"]})
    return rows


def _price(i: int, trial: int) -> float:
    return round(100 + i + trial / 100, 2)


def write_source(src: Path, trial: int) -> Path:
    path = src / "products.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in _source_rows(src, trial)))
    os.replace(tmp, path)
    return path


def _make_images(src: Path) -> None:
    import cv2
    import numpy as np

    (src / "images").mkdir(parents=True, exist_ok=True)
    for k in range(N_IMAGES):
        rng = np.random.default_rng(k)
        img = np.full((112, 88, 3), rng.integers(0, 255, 3), np.uint8)
        cv2.rectangle(img, (12, 14), (76, 98), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        cv2.putText(img, str(k), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        cv2.imwrite(str(src / "images" / f"{k:03d}.jpg"), img)


def _job_import(d: Path, trial: int, ready: Callable[[], None]) -> None:
    from engine.catalog.importer import import_catalog

    src = write_source(d / "src", trial)
    ready()
    report = import_catalog(str(src), d / "cat", batch=10)
    assert report.complete and report.imported == N_PRODUCTS, report.to_json()


INDEX_KINDS = ("flat", "hnsw")


def _job_index(d: Path, trial: int, ready: Callable[[], None]) -> None:
    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
    from engine.catalog.retrieval import embed_missing, load_or_build_index
    from engine.catalog.store import CatalogStore

    matcher = TrajectoryMatcher(DEFAULT_WEIGHTS, device="cpu")
    with CatalogStore(d / "cat", create=False) as store:
        ready()
        with store.db:  # a model change: the vectors of the old one are of no use
            store.db.execute("DELETE FROM embeddings WHERE model = ?", (matcher.version,))
        embed_missing(store, matcher)
        load_or_build_index(store, matcher.version, kind=INDEX_KINDS[trial % 2])


CACHE_KEYS = 6


def _cache_payload(key: int, trial: int):
    import numpy as np

    rng = np.random.default_rng(trial * 100 + key)
    boxes = rng.uniform(0, 600, (400, 4)).round(2).tolist()
    state = {"trial": trial, "key": key, "boxes": boxes}
    state["digest"] = hashlib.sha256(json.dumps(boxes).encode()).hexdigest()
    crops = rng.integers(0, 255, (6, 96, 64, 3), dtype=np.uint8)
    return state, crops


def _job_cache(d: Path, trial: int, ready: Callable[[], None]) -> None:
    from engine.analysis.cache import AnalysisCache
    from engine.types import Evidence, Match, TrackResult

    cache = AnalysisCache(d / "analysis.sqlite")
    assert cache.usable and not cache.warning, cache.warning
    ready()
    for key in range(CACHE_KEYS):
        state, crops = _cache_payload(key, trial)
        assert cache.save_state(f"key{key}", "video.mp4", state), cache.warning
        for tid in range(4):
            ev = [Evidence(10 * j, 0.1 * j, c) for j, c in enumerate(crops)]
            result = TrackResult(f"t{trial}", [Match(f"p{trial}-{tid}-{m}", 1.0 - m / 10)
                                               for m in range(5)], ev)
            assert cache.save_match(f"key{key}", "cat", tid, result), cache.warning
    cache.close()


def _annotations(trial: int):
    import numpy as np

    from engine.annotations import Annotations
    from engine.types import Match, Track

    tracks = []
    for t in range(1 + trial % 5):
        frames = np.arange(0, 200, 2)
        boxes = np.column_stack([frames, frames + t, frames + 10, frames + 50 + t,
                                 frames + 80, np.full(len(frames), 0.9)]).astype(np.float64)
        tracks.append(Track(track_id=t + 1, category="shirt", boxes=boxes,
                            product_id=f"p{trial}",
                            matches=[Match(f"p{trial}", 0.9), Match("other", 0.5)]))
    return Annotations({"fps": 25.0, "frame_count": 200, "width": 640, "height": 360}, tracks)


def _flag_book(trial: int):
    from engine.export import FlagBook

    book = FlagBook("video.mp4", f"fp{trial}")
    for i in range(20 + trial % 7):
        book.add(i * 3, 1 + i % 4, "box" if i % 2 else "match", f"trial {trial} flag {i}",
                 None if i % 2 else f"p{i}")
    return book


EXPORTS = {"analysis.json": "annotations", "analysis.mot.txt": "mot", "analysis.xml": "cvat"}


def _job_flags(d: Path, trial: int, ready: Callable[[], None]) -> None:
    from engine.export import export_analysis

    book, ann = _flag_book(trial), _annotations(trial)
    ready()
    for _ in range(3):
        book.save(d / "flags.json")
        for name, fmt in EXPORTS.items():
            export_analysis(ann, d / name, fmt)


SETTINGS_SAVES = 40


def _job_settings(d: Path, trial: int, ready: Callable[[], None]) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QByteArray, QCoreApplication

    from app.settings import Settings

    _app = QCoreApplication.instance() or QCoreApplication([])
    ready()
    for i in range(SETTINGS_SAVES):
        n = trial * SETTINGS_SAVES + i
        s = Settings(d / "settings.ini")  # as the player does: a new QSettings, one save
        s.volume = n % 101
        s.muted = bool(n % 2)
        s.add_recent(f"/videos/clip{n}.mp4")
        s.geometry = QByteArray(f"geometry {n}".encode() * 20)
        s._qs.setValue("harness/n", n)
        s.sync()
        del s


# ---------------------------------------------------------------------------------------
# the checks, as the parent runs them after a kill

class Damaged(AssertionError):
    pass


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise Damaged(what)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_import(d: Path, trials: int, final: bool) -> str:
    from engine.catalog.store import CatalogStore

    db = d / "cat" / "catalog.sqlite"
    if not db.exists():
        return "no catalogue yet"
    shas = {f"images/{k:03d}.jpg": _sha(d / "src" / "images" / f"{k:03d}.jpg")
            for k in range(N_IMAGES)}
    with CatalogStore(d / "cat", readonly=True) as store:
        problems = store.check()
        _require(not problems, f"catalogue check: {problems[:3]}")
        versions = set()
        n = 0
        for p in store.iter_products():
            n += 1
            i = int(p.id[1:])
            version = int(p.title.rsplit("v", 1)[1])
            _require(0 <= version < trials, f"{p.id}: unknown version {version}")
            _require(p.price == _price(i, version), f"{p.id}: title of v{version}, price "
                     f"{p.price} of another version")
            row = _source_rows(d / "src", version)[i]
            want = [shas[r] for r in row["images"]]
            got = [_sha(Path(f)) for f in p.images]
            _require(got == want, f"{p.id}: images not those of v{version}")
            versions.add(version)
        if final:
            _require(n == N_PRODUCTS, f"final run: {n} of {N_PRODUCTS} products")
            _require(versions == {trials - 1}, f"final run: versions {sorted(versions)}")
    return f"{n} products, versions {sorted(versions)}"


def _check_index(d: Path, trials: int, final: bool) -> str:
    import numpy as np

    from engine.asymnet.model import DEFAULT_WEIGHTS, model_version
    from engine.catalog.index import IndexStale, VectorIndex
    from engine.catalog.retrieval import index_fingerprint
    from engine.catalog.store import CatalogStore

    version = model_version(DEFAULT_WEIGHTS)
    with CatalogStore(d / "cat", readonly=True) as store:
        problems = store.check()
        _require(not problems, f"catalogue check: {problems[:3]}")
        rows, _, vectors = store.embeddings(version)
        n_images = store.count()[1]
        _require(len(rows) <= n_images, "more vectors than images")
        if len(rows):
            _require(vectors.shape[1] > 0 and np.isfinite(vectors).all(), "vectors damaged")
            norms = np.linalg.norm(vectors, axis=1)
            _require(bool(np.all(np.abs(norms - 1) < 1e-3)), "vectors not unit length")
        fingerprint = index_fingerprint(store, version)
        try:
            index = VectorIndex.load(store.dir, model_version=version, fingerprint=fingerprint)
        except IndexStale as exc:
            _require(not final, f"final run left a stale index: {exc}")
            return f"{len(rows)}/{n_images} vectors; index stale ({exc})"
        # an index that loads answers for the store as it is: every image, every id real
        _require(index.index.ntotal == n_images == len(rows),
                 f"index of {index.index.ntotal} vectors loads for {len(rows)} embedded of "
                 f"{n_images} images")
        scores, ids = index.search(vectors[:5], 3)
        _require(set(ids.ravel().tolist()) <= set(rows.tolist()), "index ids not in the store")
        _require(bool(np.all(scores[:, 0] > 0.99)), "the index does not find an image itself")
    return f"{len(rows)}/{n_images} vectors; {index.sidecar.kind} index loads"


def _check_cache(d: Path, trials: int, final: bool) -> str:
    import sqlite3

    from engine.analysis.cache import AnalysisCache

    path = d / "analysis.sqlite"
    if not path.exists():
        return "no cache yet"
    cache = AnalysisCache(path)
    try:
        _require(cache.usable and not cache.warning, f"cache unusable: {cache.warning}")
        ok = cache.db.execute("PRAGMA integrity_check").fetchone()[0]
        _require(ok == "ok", f"integrity: {ok}")
        keys = [r[0] for r in cache.db.execute("SELECT key FROM analyses")]
        for key in keys:
            state = cache.load_state(key)
            _require(state is not None and not cache.warning, f"{key}: {cache.warning}")
            digest = hashlib.sha256(json.dumps(state["boxes"]).encode()).hexdigest()
            _require(digest == state["digest"], f"{key}: state damaged")
            matches = cache.load_matches(key, "cat")
            _require(not cache.warning, f"{key}: {cache.warning}")
            for tid, result in matches.items():
                trial = int(result.key[1:])
                _require(len(result.matches) == 5 and len(result.evidence) == 6,
                         f"{key} track {tid}: incomplete")
                _require(result.matches[0].product_id == f"p{trial}-{tid}-0",
                         f"{key} track {tid}: matches of another write")
                _, crops = _cache_payload(int(key[3:]), trial)
                for e, c in zip(result.evidence, crops, strict=True):
                    _require(bool((e.crop == c).all()), f"{key} track {tid}: crops damaged")
        if final:
            _require(len(keys) == CACHE_KEYS, f"final run: {len(keys)} keys")
    except sqlite3.Error as exc:
        raise Damaged(f"cache: {exc}") from None
    finally:
        cache.close()
    return f"{len(keys)} states"


def _check_flags(d: Path, trials: int, final: bool) -> str:
    import xml.etree.ElementTree as ET

    from engine.annotations import load_annotations
    from engine.export import FlagBook, to_cvat_video_xml, to_mot

    seen = []
    path = d / "flags.json"
    if path.exists():
        book = FlagBook.load(path)
        trial = int(book.fingerprint[2:])
        want = _flag_book(trial)
        _require([(f.frame, f.note) for f in book.flags] ==
                 [(f.frame, f.note) for f in want.flags], "flags.json: not one whole save")
        seen.append(f"flags v{trial}")
    for name, fmt in EXPORTS.items():
        path = d / name
        if not path.exists():
            _require(not final, f"final run: no {name}")
            continue
        if fmt == "annotations":
            ann = load_annotations(path)
            trial = int(ann.tracks[0].product_id[1:])
            _require(ann.to_json() == _annotations(trial).to_json(), f"{name}: not whole")
        else:
            text = path.read_text(encoding="utf-8")
            if fmt == "cvat":
                ET.fromstring(text)
            versions = [t for t in range(trials) if text == (
                to_mot(_annotations(t)) if fmt == "mot"
                else to_cvat_video_xml(_annotations(t), name=path.stem))]
            _require(bool(versions), f"{name}: not one whole save")
            trial = versions[-1]
        seen.append(f"{name} v{trial}")
    return ", ".join(seen) or "nothing saved yet"


def _check_settings(d: Path, trials: int, final: bool) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QSettings

    from app.settings import Settings

    _app = QCoreApplication.instance() or QCoreApplication([])
    path = d / "settings.ini"
    if not path.exists():
        return "no settings yet"
    s = Settings(path)
    _require(s._qs.status() == QSettings.Status.NoError, f"settings status {s._qs.status()}")
    raw = s._qs.value("harness/n")
    _require(raw is not None, "settings file without its keys (lost)")
    n = int(raw)
    _require(s.volume == n % 101 and s.muted == bool(n % 2), f"save {n}: volume/mute of "
             "another save")
    _require(s.recent_files[0] == f"/videos/clip{n}.mp4", f"save {n}: recent of another save")
    geometry = s.geometry
    _require(geometry is not None and bytes(geometry) == f"geometry {n}".encode() * 20,
             f"save {n}: geometry damaged")
    if final:
        _require(n == trials * SETTINGS_SAVES - 1, f"final run stopped at save {n}")
    # and the next start saves at once: no lock of the killed process holds it up
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from PySide6.QtCore import QCoreApplication; "
            "app = QCoreApplication([]); from app.settings import Settings; "
            f"s = Settings({str(path)!r}); s._qs.setValue('harness/check', 7); s.sync(); "
            "print(s._qs.status())")
    t0 = time.monotonic()
    try:
        subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=20,
                       env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), check=True)
    except subprocess.TimeoutExpired:
        raise Damaged("a save after the kill waited over 20 s (a stale lock)") from None
    seconds = time.monotonic() - t0
    _require(seconds < 8, f"a save after the kill took {seconds:.1f} s (a stale lock)")
    _require(int(Settings(path)._qs.value("harness/check", 0)) == 7,
             "a save after the kill did not land")
    return f"save {n}"


def _prepare_import(d: Path) -> None:
    _make_images(d / "src")


INDEX_PRODUCTS = 48  # 96 images: two embedding batches, then the index


def _prepare_index(d: Path) -> None:
    from engine.catalog.importer import import_catalog

    _make_images(d / "src")
    src = write_source(d / "src", 0)
    lines = src.read_text().splitlines(keepends=True)[:INDEX_PRODUCTS]
    src.write_text("".join(lines))
    import_catalog(str(src), d / "cat")


@dataclass
class Op:
    job: Callable[[Path, int, Callable[[], None]], None]
    check: Callable[[Path, int, bool], str]
    prepare: Callable[[Path], None] = lambda d: None


OPS: dict[str, Op] = {
    "import": Op(_job_import, _check_import, _prepare_import),
    "index": Op(_job_index, _check_index, _prepare_index),
    "cache": Op(_job_cache, _check_cache),
    "flags": Op(_job_flags, _check_flags),
    "settings": Op(_job_settings, _check_settings),
}


# ---------------------------------------------------------------------------------------
# the parent

@dataclass
class OpReport:
    op: str
    kills: int = 0  # children killed before they finished
    finished_first: int = 0  # children that finished before the kill came
    damaged: list[str] = field(default_factory=list)
    job_seconds: float = 0.0
    final: str = ""
    states: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _start(op: str, d: Path, trial: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "tests.killharness", "child", op, str(d),
                             str(trial)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_ready(proc: subprocess.Popen, timeout: float = 120) -> float:
    import select

    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise RuntimeError(f"the child said nothing in {timeout:.0f} s")
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        err = proc.stderr.read()[-2000:]
        raise RuntimeError(f"the child did not start: {line!r} {err}")
    return time.monotonic()


def _run_whole(op: str, d: Path, trial: int) -> float:
    """One run without a kill; returns how long the job took after 'ready'."""
    proc = _start(op, d, trial)
    t0 = _wait_ready(proc)
    out, err = proc.communicate(timeout=600)
    seconds = time.monotonic() - t0
    if proc.returncode != 0 or "done" not in out:
        raise RuntimeError(f"{op} trial {trial} failed (exit {proc.returncode}): {err[-2000:]}")
    return seconds


def run_op(op: str, d: Path, kills: int, rng: random.Random,
           log: Callable[[str], None] = lambda m: None) -> OpReport:
    spec = OPS[op]
    report = OpReport(op)
    d.mkdir(parents=True, exist_ok=True)
    spec.prepare(d)
    report.job_seconds = round(_run_whole(op, d, 0), 3)  # how long the job is: where to aim
    spec.check(d, 1, False)
    trial = 1
    while report.kills < kills:
        if trial > 4 * kills:
            raise RuntimeError(f"{op}: only {report.kills} of {kills} kills landed in "
                               f"{trial} tries")
        proc = _start(op, d, trial)
        _wait_ready(proc)
        time.sleep(rng.uniform(0, report.job_seconds))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL and "done" not in out:
            report.kills += 1
        else:
            report.finished_first += 1
            if proc.returncode not in (0, -signal.SIGKILL):
                report.damaged.append(f"trial {trial}: the job failed: {err[-500:]}")
        trial += 1
        try:
            state = spec.check(d, trial, False)
            key = state.split(";")[-1].strip().split(" (")[0]
            report.states[key] = report.states.get(key, 0) + 1
        except Exception as exc:  # a damaged store, in whatever form
            report.damaged.append(f"after kill {report.kills} (trial {trial - 1}): "
                                  f"{exc.__class__.__name__}: {exc}")
        log(f"{op}: trial {trial - 1}, {report.kills} kills")
    _run_whole(op, d, trial)  # the rerun must finish the job
    try:
        report.final = spec.check(d, trial + 1, True)
    except Exception as exc:  # as above
        report.damaged.append(f"final run: {exc.__class__.__name__}: {exc}")
    return report


def child(op: str, d: str, trial: int) -> None:
    def ready() -> None:
        print("ready", flush=True)

    OPS[op].job(Path(d), trial, ready)
    print("done", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        child(argv[1], argv[2], int(argv[3]))
        return 0
    ap = argparse.ArgumentParser(prog="python -m tests.killharness",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="kills per operation (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ops", nargs="+", choices=list(OPS), default=list(OPS))
    ap.add_argument("--dir", help="work here (kept) instead of a temporary folder")
    ap.add_argument("--out", metavar="FILE.json", help="write the reports as JSON")
    args = ap.parse_args(argv)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="killharness-"))
    reports = []
    try:
        for op in args.ops:
            rng = random.Random(f"{args.seed}:{op}")
            t0 = time.monotonic()
            r = run_op(op, base / op, args.kills, rng,
                       log=lambda m: print(m, file=sys.stderr, end="\r"))
            print(f"{op}: {r.kills} kills ({r.finished_first} finished first), job "
                  f"{r.job_seconds:.2f} s, {len(r.damaged)} damaged, final: {r.final} "
                  f"[{time.monotonic() - t0:.0f} s]", flush=True)
            for line in r.damaged:
                print(f"  DAMAGED {line}", flush=True)
            reports.append(r.to_json())
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"seed": args.seed, "kills": args.kills,
                                              "ops": reports}, indent=1))
    return 1 if any(r["damaged"] for r in reports) else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
