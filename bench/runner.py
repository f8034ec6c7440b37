"""``video2shop bench``: the figures we publish, measured on this machine, printed as a table
and written as JSON. Benchmarks, not timed tests: they report numbers and ratios and leave
the judging to whoever reads them (README's performance table, docs/bench/)."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from engine.resources import DEMO_ANNOTATIONS, DEMO_VIDEO
from engine.video import iter_frames, probe

BENCHES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
# run only when named: the soak takes an hour or two; index repeats faiss's figures on a
# backend --backend names; library runs `library analyze` on Ray twice (minutes)
OPT_IN = {"soak", "index", "library"}


def bench(name: str):
    def register(fn):
        BENCHES[name] = fn
        return fn

    return register


def machine() -> dict[str, Any]:
    import torch

    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_device": "cuda" if torch.cuda.is_available() else "cpu",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "opencv": cv2.__version__,
    }


def models() -> dict[str, Any]:
    """The versions of the shipped models the figures were measured with."""
    from engine.asymnet.model import DEFAULT_WEIGHTS, model_version
    from engine.resources import GARMENT_WEIGHTS

    out: dict[str, Any] = {}
    try:
        import torch

        blob = torch.load(GARMENT_WEIGHTS, map_location="cpu", weights_only=False)
        out["garment_detector"] = blob.get("version", "?")
    except Exception as exc:  # reported, not fatal: the benches say what they could run
        out["garment_detector"] = f"unreadable: {exc}"
    try:
        out["asymnet"] = model_version(DEFAULT_WEIGHTS)
    except OSError as exc:
        out["asymnet"] = f"unreadable: {exc}"
    return out


def _detector_parts(detector) -> list:
    return [detector, *(getattr(detector, a) for a in ("garment", "people")
                        if hasattr(detector, a))]


def _reset_detector_stages(detector) -> None:
    for part in _detector_parts(detector):
        for key in getattr(part, "stage_ms", {}):
            part.stage_ms[key] = 0.0
        if hasattr(part, "shots"):
            part.shots = dict.fromkeys(part.shots, 0)
            part.probes = 0


def _detector_stages(detector, frames: int) -> dict[str, Any]:
    stages: dict[str, float] = {}
    for part in _detector_parts(detector):
        for key, ms in getattr(part, "stage_ms", {}).items():
            stages[f"{part.name}.{key}"] = round(ms / max(1, frames), 2)
    out: dict[str, Any] = {"detector_stage_ms_per_frame": stages} if stages else {}
    if hasattr(detector, "shots"):
        out["detected_frames_by"] = dict(detector.shots)
        out["probes"] = detector.probes
    return out


@bench("engine")
def engine_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """Decode ceiling and engine throughput on the demo clip, per stage, for each stride."""
    return engine_figures(Path(opts.get("video") or DEMO_VIDEO), opts)


REAL_CLIP_STILLS = ("messi5", "grace_hopper", "astronaut", "basketball1")
REAL_CLIP_SIZE = (1280, 720)


def real_clip_720(real_dir: Path, out: Path) -> Path:
    """A 1280x720, 25 fps clip of real people for the engine figures, made once from the
    real-footage set (scripts/fetch_real_footage.py): four of its stills in their pan and zoom
    (3.6 s each: a footballer, two close-ups, two men indoors) and 6 s of vtest's pedestrians
    (its frames 0-149, enlarged from 768x576; at 25 fps they walk 2.5 times as fast), one
    after the other, so that the localiser meets close-ups, half figures and a crowd of small
    people, with cuts between them."""
    from engine.encode import H264Writer
    from engine.train.realdata import PanZoom, load_manifest, render_frame

    manifest = json.loads((real_dir / "manifest.json").read_text())
    key = json.dumps([REAL_CLIP_STILLS, {n: manifest["sources"][n].get("sha256")
                                         for n in (*REAL_CLIP_STILLS, "vtest")}])
    stamp = out.with_suffix(".json")
    if out.is_file() and stamp.is_file() and stamp.read_text() == key:
        return out
    sources = load_manifest(real_dir)
    w, h = REAL_CLIP_SIZE
    tmp = out.with_name(out.stem + ".part.mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    with H264Writer(tmp, w, h, 25.0, pix_fmt="bgr24", crf=20) as writer:
        for name in REAL_CLIP_STILLS:
            still = cv2.imread(str(sources[name].still), cv2.IMREAD_COLOR)
            spec = manifest["sources"][name]["panzoom"]
            pan = PanZoom(spec["frames"], tuple(spec["start"]), tuple(spec["end"]))
            for window in pan.windows((still.shape[1], still.shape[0]), REAL_CLIP_SIZE):
                writer.write(render_frame(still, window, REAL_CLIP_SIZE))
        for _, frame in iter_frames(sources["vtest"].video, stop=150):
            writer.write(cv2.resize(frame, REAL_CLIP_SIZE, interpolation=cv2.INTER_LINEAR))
    tmp.replace(out)
    stamp.write_text(key)
    return out


@bench("real")
def real_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """The engine figures on a 720-line clip of real people (``real_clip_720``)."""
    from engine.cache import cache_dir
    from engine.train.realdata import REAL_DATA

    real_dir = Path(opts.get("real_data") or REAL_DATA)
    if not (real_dir / "manifest.json").is_file():
        raise ValueError(f"no real footage in {real_dir}: fetch it with `.venv/bin/python "
                         "scripts/fetch_real_footage.py` (make setup does)")
    video = real_clip_720(real_dir, cache_dir() / "bench" / "real720.mp4")
    return engine_figures(video, opts)


def engine_figures(video: Path, opts: dict[str, Any]) -> dict[str, Any]:
    from engine.analysis import StageTimes, run_analysis
    from engine.detect import create_detector

    fps = probe(video).fps
    n = 0
    t0 = time.perf_counter()
    for _ in iter_frames(video):
        n += 1
    decode_s = time.perf_counter() - t0
    out: dict[str, Any] = {"video": str(video), "frames": n,
                           "decode_fps": round(n / decode_s, 1)}
    detector = create_detector(opts.get("detector", "auto"), device=opts.get("device", "auto"))
    out["detector"] = {"name": detector.name, "version": detector.version,
                       "backend": getattr(detector, "backend", None)}
    strides = opts.get("strides") or [3]
    runs = {}
    for k in strides:
        times = StageTimes()
        _reset_detector_stages(detector)
        t0 = time.perf_counter()
        ann = run_analysis(video, detector, stride=k, times=times)
        wall = time.perf_counter() - t0
        frames = times.frames
        runs[str(k)] = {
            # inside "detect": the localiser's stages and the fusion's probes, and how many
            # detected frames each detector of the fusion took
            **_detector_stages(detector, frames),
            "engine_fps": round(frames / wall, 1),
            "realtime_factor": round(frames / fps / wall, 2),
            "stage_ms_per_frame": {s: round(v, 2) for s, v in times.per_frame().items()},
            "detector_ms_per_call_frame": round(times.ms["detect"]
                                                / max(1, times.detected_frames), 1),
            "tracks": len(ann.tracks),
        }
    out["strides"] = runs
    # the figures that stand for the engine: the player's stride (3) when it was measured
    main_stride = 3 if 3 in strides else strides[0]
    default = runs[str(main_stride)]
    # the matching stages on the same clip: every trajectory of that stride's analysis
    # against the demo catalogue (its crops decoded, the IFN, FAISS, VFN and tree)
    from engine.catalog.retrieval import Catalog
    from engine.matching import Matcher

    catalog = Catalog.open(opts.get("catalog") or DEMO_VIDEO.parent,
                           device=opts.get("device", "auto"))
    try:
        ann = run_analysis(video, detector, stride=main_stride)
        stage: dict[str, float] = {}
        t0 = time.perf_counter()
        Matcher(catalog).match_video(video, ann, times=stage)
        match_s = time.perf_counter() - t0
    finally:
        catalog.close()
    n_tracks = max(1, len(ann.tracks))
    detect_track_s = n / max(default["engine_fps"], 1e-9)
    out["matching"] = {
        "stride": main_stride,
        "tracks": len(ann.tracks),
        "ms_per_track": {k: round(v / n_tracks, 1) for k, v in stage.items()},
        "ms_per_frame": {k: round(v / max(1, n), 2) for k, v in stage.items()},
        "seconds": round(match_s, 1),
    }
    out["realtime_factor_with_matching"] = round(n / fps / (detect_track_s + match_s), 2)
    out["engine_fps"] = default["engine_fps"]
    out["realtime_factor"] = default["realtime_factor"]
    out["engine_to_decode_ratio"] = round(default["engine_fps"] / out["decode_fps"], 3)
    return out


@bench("asymnet")
def asymnet_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """Re-ranking: one trajectory (its IFN embeddings) against 100 candidates with the VFN and
    the similarity tree (``rerank_100_ms``), and the IFN's throughput on crops."""
    import numpy as np
    import torch

    from engine.asymnet.ifn import INPUT_H, INPUT_W
    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher

    matcher = TrajectoryMatcher(opts.get("asymnet_weights") or DEFAULT_WEIGHTS,
                                device=opts.get("device", "auto"))
    rng = np.random.default_rng(0)
    dim = matcher.model.config["dim"]

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    out: dict[str, Any] = {"model_version": matcher.version, "device": str(matcher.device)}
    reps = 30 if opts.get("quick") else 200
    for length in (8, 32, 150):  # trajectory frames: a glimpse, a second, six seconds
        frames, cands = unit(length), unit(100)
        matcher.rank(frames, cands)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            matcher.rank(frames, cands)
            times.append(1000 * (time.perf_counter() - t0))
        out[f"rerank_100_ms_{length}_frames"] = {
            "p50": round(float(np.percentile(times, 50)), 2),
            "p95": round(float(np.percentile(times, 95)), 2)}
    out["rerank_100_ms"] = out["rerank_100_ms_150_frames"]
    out["card_rerank_20_ms"] = _card_rerank_ms(matcher, unit, rng, reps)
    views = rng.integers(0, 255, (64, INPUT_H, INPUT_W, 3), dtype=np.uint8)
    matcher.embed_views(list(views[:8]))
    t0 = time.perf_counter()
    n = 0
    for _ in range(1 if opts.get("quick") else 3):
        matcher.embed_views(list(views))
        n += len(views)
    out["ifn_crops_per_s"] = round(n / (time.perf_counter() - t0), 1)
    out["torch_threads"] = torch.get_num_threads()
    return out


def _card_rerank_ms(matcher, unit, rng, reps: int) -> dict[str, float]:
    """The colour-aware re-ranker's step after the tree (engine/asymnet/rerank.py): the
    features of the tree's top 20 of 100 candidates for a 150-frame trajectory, and their
    order (the shipped re-ranker, or one of the same size when none ships)."""
    import numpy as np

    from engine.asymnet.ifn import COLOR_DIM
    from engine.asymnet.rerank import FEATURES, Reranker, features

    n = len(FEATURES)
    rr = matcher.reranker or Reranker(np.ones(n), np.zeros(n), np.ones(n))
    frames, cands = unit(150), unit(100)
    colors = rng.random((150, COLOR_DIM)).astype(np.float32)
    cand_colors = rng.random((100, COLOR_DIM)).astype(np.float32)
    quality = rng.random((150, 3)).astype(np.float32)
    tree = rng.normal(0, 4, 20)  # the tree's log-odds
    images = [np.array([i, i + 20]) for i in range(20)]
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        rr.order(features(tree, frames, 0, quality, colors, images, np.arange(20), cands,
                          cand_colors))
        times.append(1000 * (time.perf_counter() - t0))
    return {"p50": round(float(np.percentile(times, 50)), 3),
            "p95": round(float(np.percentile(times, 95)), 3)}


def _demo_embeddings(matcher) -> tuple[Any, Any, Any]:
    """Real IFN embeddings of the demo catalogue's shop images (with their categories) and
    the offsets between the demo's video crops and their products' shop images."""
    import numpy as np

    from engine.annotations import load_annotations

    demo = DEMO_VIDEO.parent
    rows = [json.loads(x) for x in (demo / "catalog" / "products.jsonl").read_text().splitlines()
            if x.strip()]
    images, cats, main = [], [], {}
    for r in rows:
        for rel in r["images"]:
            img = cv2.imread(str(demo / "catalog" / rel))
            if img is not None:
                if rel == r["image"]:
                    main[r["id"]] = len(images)
                images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                cats.append(r["category"])
    shop = matcher.embed_shop(images)
    truth = load_annotations(DEMO_ANNOTATIONS)
    wanted: dict[int, list[tuple[Any, str]]] = {}
    for t in truth.tracks:
        if t.product_id in main:
            for row in t.boxes[:: max(1, len(t.boxes) // 8)]:
                wanted.setdefault(int(row[0]), []).append((row[1:5], t.product_id))
    crops, owners = [], []
    for f, frame in iter_frames(DEMO_VIDEO):
        for box, pid in wanted.get(f, []):
            crops.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            owners.append((box, pid))
    emb = matcher.embed_crops(crops, np.array([b for b, _ in owners]))
    offsets = emb - shop[[main[p] for _, p in owners]]
    return shop, np.array(cats), offsets


@bench("faiss")
def faiss_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """The catalogue index at 10k, 100k and 1M products: vectors drawn like real embeddings
    (bench/synthvec.py, seeded with the demo catalogue's IFN embeddings), the index
    kind the catalogue would choose, single-query latency and recall@10 against exact search;
    exact search one query at a time beside it for comparison."""
    return index_figures(opts, "faiss")


@bench("index")
def index_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """The same figures for the index ``--backend`` names: faiss, or milvus (Milvus Lite,
    docs/scale.md; fewer queries, each a call into its embedded server). Only when named."""
    backend = opts.get("backend") or "faiss"
    if backend not in ("faiss", "milvus"):
        raise ValueError(f"unknown index backend {backend!r}; valid: faiss, milvus")
    return index_figures(opts, backend) | {"backend": backend}


@bench("library")
def library_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """`library analyze` over 8 clips with 1 and 2 local Ray workers (bench/library.py)."""
    from bench.library import library_figures

    return library_figures(opts)


def index_figures(opts: dict[str, Any], backend: str) -> dict[str, Any]:
    from bench.index import exact_neighbours, measure_index
    from bench.synthvec import realistic_queries, realistic_vectors
    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
    from engine.catalog.index import choose_kind

    matcher = TrajectoryMatcher(opts.get("asymnet_weights") or DEFAULT_WEIGHTS, device="cpu")
    seeds, cats, offsets = _demo_embeddings(matcher)
    sizes = opts.get("faiss_sizes") or [10_000, 100_000, 1_000_000]
    n_queries = (300 if opts.get("quick") else 1000) // (5 if backend == "milvus" else 1)
    out: dict[str, Any] = {"seed_images": len(seeds), "offsets": len(offsets),
                           "queries": n_queries, "model_version": matcher.version,
                           "threads": __import__("faiss").omp_get_max_threads()}
    for n in sizes:
        t0 = time.perf_counter()
        db = realistic_vectors(seeds, cats, n)
        queries, _ = realistic_queries(db, offsets, n_queries)
        truth = exact_neighbours(db, queries, 10)
        gen_s = time.perf_counter() - t0
        r = measure_index(db, queries, truth, kind=choose_kind(n), backend=backend)
        r["data_s"] = round(gen_s, 1)
        r["vectors_mb"] = round(db.nbytes / 2**20, 1)
        flat = measure_index(db, queries[:50], truth[:50], kind="flat")
        r["exact_query_ms_p50"] = flat["query_ms_p50"]
        r["speedup_vs_exact_p50"] = round(flat["query_ms_p50"] / max(r["query_ms_p50"], 1e-6), 1)
        out[str(n)] = r
        del db
    return out


@bench("player")
def _player(opts: dict[str, Any]) -> dict[str, Any]:
    """First boxes, click-to-card, main-thread stalls during playback with analysis, and
    memory over a soak (bench/player.py)."""
    from bench.player import player_bench

    return player_bench(opts)


@bench("soak")
def _soak(opts: dict[str, Any]) -> dict[str, Any]:
    """Resident memory of the real player over minutes to hours, every 10 s to a CSV and a
    plot: the demo in kiosk mode, or an hour-long video played once (bench/soak.py).
    Not in the default set: it takes as long as it is told to."""
    from bench.soak import soak_bench

    return soak_bench(opts)


def run(only: list[str] | None, quick: bool, out_path: str | None,
        opts: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict:
    opts = dict(opts or {})
    opts["quick"] = quick
    opts.setdefault("out", out_path)
    names = only or [n for n in BENCHES if n not in OPT_IN]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; valid: {', '.join(BENCHES)}")
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                              "machine": machine(), "models": models(), "quick": quick}
    for name in names:
        log(f"bench {name} ...")
        t0 = time.perf_counter()
        report[name] = BENCHES[name](opts)
        report[name]["seconds"] = round(time.perf_counter() - t0, 1)
    log(format_table(report))
    if out_path:
        Path(out_path).write_text(json.dumps(report, indent=1))
        log(f"wrote {out_path}")
    return report


def format_table(report: dict[str, Any]) -> str:
    lines = ["| figure | value |", "|---|---|"]
    m = report["machine"]
    lines.append(f"| machine | {m['cores']} cores, {m['cpu']}, torch {m['torch']} on "
                 f"{m['torch_device']} |")
    if report.get("models"):
        lines.append("| models | " + ", ".join(f"{k} {v}" for k, v in report["models"].items())
                     + " |")
    for key, what in (("engine", "demo"), ("real", "real 720p")):
        e = report.get(key)
        if not e:
            continue
        lines.append(f"| {what}: decode_fps (OpenCV, {e['frames']} frames) | "
                     f"{e['decode_fps']} |")
        for k, r in e["strides"].items():
            lines.append(f"| {what}: engine_fps / realtime_factor, detector every {k} frames | "
                         f"{r['engine_fps']} / {r['realtime_factor']}x |")
            stages = ", ".join(f"{s} {v}" for s, v in r["stage_ms_per_frame"].items())
            lines.append(f"| {what}: ms per frame (stride {k}) | {stages} |")
            inner = r.get("detector_stage_ms_per_frame")
            if inner:
                lines.append(f"| {what}: inside detect, ms per frame (stride {k}) | "
                             + ", ".join(f"{s} {v}" for s, v in inner.items()) + " |")
            if r.get("detected_frames_by"):
                lines.append(f"| {what}: detected frames by world (probes) | "
                             + ", ".join(f"{w} {n}" for w, n in r["detected_frames_by"].items())
                             + f" ({r.get('probes', 0)}) |")
        lines.append(f"| {what}: engine_fps / decode_fps | {e['engine_to_decode_ratio']} |")
        mt = e.get("matching")
        if mt:
            stages = ", ".join(f"{s} {v}" for s, v in mt["ms_per_track"].items())
            lines.append(f"| {what}: matching, ms per trajectory ({mt['tracks']} on the clip) | "
                         f"{stages} |")
            lines.append(f"| {what}: realtime_factor with matching (stride "
                         f"{mt.get('stride', '?')}) | {e['realtime_factor_with_matching']}x |")
    a = report.get("asymnet")
    if a:
        for length in (8, 32, 150):
            r = a[f"rerank_100_ms_{length}_frames"]
            lines.append(f"| rerank_100_ms, {length}-frame trajectory (p50 / p95) | "
                         f"{r['p50']} / {r['p95']} |")
        lines.append(f"| IFN crops per second ({a['torch_threads']} threads) | "
                     f"{a['ifn_crops_per_s']} |")
    for key in ("faiss", "index"):
        f = report.get(key) or {}
        name = "Milvus Lite" if f.get("backend") == "milvus" else "FAISS"
        for n, r in f.items():
            if not isinstance(r, dict) or "kind" not in r:
                continue
            grown = f", process +{r['rss_growth_mb']} MB" if "rss_growth_mb" in r else ""
            lines.append(f"| {name} {int(n):,} products: {r['kind']} | build {r['build_s']} s, "
                         f"{r['index_mb']} MB{grown}, query p50/p95 {r['query_ms_p50']}/"
                         f"{r['query_ms_p95']} ms, recall@10 {r['recall_at_10']} "
                         f"(FAISS exact, one query {r['exact_query_ms_p50']} ms) |")
    lb = report.get("library")
    if lb:
        for key in ("one_worker", "two_workers"):
            r = lb[key]
            walls = " / ".join(str(w) for w in r.get("wall_s_runs", [r["wall_s"]]))
            lines.append(f"| library analyze, {lb['clips']} clips of {lb['clip_seconds']} s, "
                         f"{r['workers']} worker(s) | {walls} s (first run: videos "
                         f"{r['video_s_sum']} s, Ray and the driver {r['overhead_s']} s) |")
        lines.append(f"| library analyze: 2 workers vs 1 (outputs identical: "
                     f"{lb['outputs_identical']}) | {lb['speedup_2_vs_1']}x |")
    p = report.get("player")
    if p:
        lines.append(f"| first boxes on screen, from the process's launch ({p['backend']}) | "
                     f"{p['first_boxes_s']} s |")
        c = p["click_to_card_ms"]
        lines.append(f"| click_to_card_ms p50 / p95 ({c['n']} clicks) | {c['p50']} / {c['p95']} |")
        lines.append(f"| ui_max_stall_ms, {p['playback_s']:g} s of playback with analysis | "
                     f"{p['ui_max_stall_ms']} (p95 gap {p['ui_stall_ms']['p95']}) |")
        lines.append(f"| ui_max_stall_ms while the catalogue loads (paused, done at "
                     f"{p['catalogue_loaded_s']} s) | "
                     f"{p['ui_max_stall_ms_while_catalogue_loads']} |")
        lines.append(f"| peak_rss_mb / rss_drift_mb over a {p['soak_s']:g} s soak "
                     f"({p['soak_loops']} analyses) | {p['peak_rss_mb']} / {p['rss_drift_mb']} |")
    s = report.get("soak")
    if s:
        lines.append(f"| soak: {s['mode']}, {s['minutes']:g} min | RSS first / peak / last "
                     f"{s['rss_first_mb']} / {s['rss_peak_mb']} / {s['rss_last_mb']} MB |")
        if "max_growth_after_warm_mb" in s:
            lines.append(f"| soak: growth after the first {s['warm_s'] / 60:g} min (last / max"
                         f" / slope) | {s['growth_after_warm_mb']} / "
                         f"{s['max_growth_after_warm_mb']} MB / "
                         f"{s.get('slope_after_warm_mb_per_hour')} MB per hour |")
        else:
            lines.append(f"| soak: at most above the first sample | "
                         f"{s['max_above_first_mb']} MB |")
        lines.append(f"| soak: closed on SIGTERM | {s['closed_on_sigterm']} "
                     f"(exit {s['exit_code']}, {s['close_s']} s) |")
        lines.append(f"| soak: samples | {s['csv']}, {s['png']} |")
    return "\n".join(lines)
