"""``video2shop eval --task real-match``: real garments through matching, the first sign of how
the IFN, trained on synthetic clips, treats real pixels.

A catalogue is made of real garment crops from one shot (its "shop images": the labelled box,
framed as the IFN frames a shop photo) plus the demo catalogue (240 synthetic products), and
queried with the same garment's trajectory from another shot or a later part of the clip:

- pairs come from the labels file's ``matching`` list (``{"shop": {"source", "frame"},
  "query": {"source", "frame"}}``: basketball1 against basketball2, carphone's first seconds
  against its last, the cyclist early against late); without one, every video with garments
  labelled on two or more frames pairs its first labelled frame with its last. A garment is
  the same on both sides when its ``person``, ``category`` and ``layer`` agree;
- each pair runs both ways (shop and query swapped), each way with its own catalogue, so that
  a garment's query never meets its own pixels;
- the other labelled garments of the set that are in no pair (the stills of one moment: messi5,
  astronaut, grace_hopper) join both catalogues as real wrong answers;
- the query is the engine's own trajectory: the track of the default analysis whose box on the
  query frame overlaps the labelled garment best (IoU >= 0.4), its boxes within ``window``
  frames of it (a still's clip: the whole track). The same garment queried with its labelled
  box instead (every clip frame of a still; the labelled frame of a video) says how much of a
  miss is the localiser's rather than the IFN's.

Reported: how often the garment's own product ranks first (and in the top 5), per pair and
overall, for the engine's trajectories and for the labelled boxes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.analysis import run_analysis
from engine.asymnet.ifn import frame_box
from engine.catalog.importer import import_catalog
from engine.catalog.retrieval import Catalog
from engine.geometry import iou_matrix
from engine.matching import Matcher, track_crops
from engine.train.eval_real import GARMENTS, IOU, LabelsError, load_labels
from engine.train.realdata import RealDataError, RealSource, clip_box, load_manifest
from engine.types import Track
from engine.video import VideoError, VideoReader

WINDOW = 15  # frames either side of a video's query frame
TOP = 10
CATEGORY = {"upper": "upper-body", "lower": "lower-body", "full": "full-length"}


def garment_key(lab: dict) -> tuple[int, str, str]:
    return int(lab["person"]), str(lab["category"]), str(lab.get("layer", ""))


def _garments(labels: list[dict], source: str, frame: int) -> dict[tuple, dict]:
    return {garment_key(lab): lab for lab in labels
            if lab["source"] == source and int(lab.get("frame") or 0) == frame
            and lab["category"] in GARMENTS and not lab.get("ignore")}


def default_pairs(labels: list[dict], manifest: dict[str, RealSource]) -> list[dict]:
    """First labelled frame against last, for every video with garments on two frames."""
    out = []
    for name, src in manifest.items():
        if src.kind != "video":
            continue
        frames = sorted({int(lab.get("frame") or 0) for lab in labels if lab["source"] == name
                         and lab["category"] in GARMENTS and not lab.get("ignore")})
        if len(frames) >= 2:
            out.append({"shop": {"source": name, "frame": frames[0]},
                        "query": {"source": name, "frame": frames[-1]}})
    return out


def check_pairs(pairs: Any, labels: list[dict], manifest: dict[str, RealSource]) -> list[dict]:
    if not isinstance(pairs, list):
        raise LabelsError("'matching' must be a list of {\"shop\": ..., \"query\": ...}")
    for i, p in enumerate(pairs):
        where = f"matching[{i}]"
        for side in ("shop", "query"):
            s = p.get(side) if isinstance(p, dict) else None
            if not isinstance(s, dict) or not isinstance(s.get("source"), str) or \
                    not isinstance(s.get("frame", 0), int):
                raise LabelsError(f"{where}.{side} must be {{\"source\": NAME, \"frame\": N}}")
            if s["source"] not in manifest:
                raise RealDataError(f"{where}.{side}: {s['source']} is not in the fetched "
                                    "footage: run scripts/fetch_real_footage.py again")
        if not set(_garments(labels, **_side(p["shop"]))) & \
                set(_garments(labels, **_side(p["query"]))):
            raise LabelsError(f"{where}: no garment is labelled on both sides (same person, "
                              "category and layer)")
    return pairs


def _side(s: dict) -> dict:
    return {"source": s["source"], "frame": int(s.get("frame") or 0)}


def _read_frame(src: RealSource, frame: int) -> np.ndarray:
    """RGB pixels the labels were drawn on: a still itself, a video's decoder frame."""
    img = None
    if src.kind == "still" and src.still is not None:
        img = cv2.imread(str(src.still), cv2.IMREAD_COLOR)
    else:
        try:
            with VideoReader(src.video) as reader:  # exact frames, as the player reads them
                img = reader.read(frame)
        except (VideoError, IndexError):
            pass
    if img is None:
        raise RealDataError(f"cannot read frame {frame} of {src.name}: run "
                            "scripts/fetch_real_footage.py again")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _product(pid: str, lab: dict, image: Path, source: str) -> dict:
    return {"id": pid, "title": f"{lab.get('note') or lab['category']} ({source})",
            "category": CATEGORY[lab["category"]], "price": 1.0, "currency": "CNY",
            "shop": "real-footage set", "url": f"https://real.example.com/{pid}",
            "images": [str(image)]}


def build_catalogue(work: Path, shop_sides: list[dict], extra: list[dict],
                    labels: list[dict], manifest: dict[str, RealSource],
                    demo_catalog: Path | None) -> dict[tuple, str]:
    """products.jsonl in ``work``: the shop sides' garments, the extra garments and the demo
    catalogue's rows; returns {(source, frame, garment key): product id}."""
    images = work / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows, ids = [], {}
    for side in [*shop_sides, *extra]:
        src = manifest[side["source"]]
        rgb = None
        for key, lab in _garments(labels, **_side(side)).items():
            rgb = _read_frame(src, int(side.get("frame") or 0)) if rgb is None else rgb
            pid = "real-{}-{}-{}-{}-{}".format(side["source"], int(side.get("frame") or 0),
                                               *key).rstrip("-")
            path = images / f"{pid}.jpg"
            crop = frame_box(rgb, np.asarray(lab["box"], np.float64))
            cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            rows.append(_product(pid, lab, path, side["source"]))
            ids[(side["source"], int(side.get("frame") or 0), key)] = pid
    if demo_catalog is not None:
        base = demo_catalog.parent
        for line in demo_catalog.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["images"] = [str(base / p) for p in row.get("images") or [row["image"]]]
                row.pop("image", None)
                rows.append(row)
    (work / "products.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                         encoding="utf-8")
    return ids


def _engine_track(ann, src: RealSource, lab: dict, frame: int, *, window: int, stride: int,
                  shop_frame: int | None = None) -> Track | None:
    """The engine's trajectory of a labelled garment: the track that covers it best (most
    frames at IoU >= 0.4; a still's label is mapped into every clip frame where it is mostly
    in view, a video's is looked for on its frame and those up to ``stride`` away), cut, for a
    video, to the frames within ``window`` of ``frame`` that are nearer to it than to
    ``shop_frame`` (the shop side's frame when it is of the same clip: the query never holds
    the shop's pixels)."""
    if src.kind == "still":
        frames = list(range(src.frames))
    else:
        frames = [f for f in range(frame - stride, frame + stride + 1) if 0 <= f < src.frames]
    best, best_n, best_iou = None, 0, 0.0
    for t in ann.tracks:
        rows = {int(r[0]): r[1:5] for r in t.boxes}
        n, top = 0, 0.0
        for f in frames:
            if f not in rows:
                continue
            box, visible = clip_box(src.to_frame(lab["box"], f), src.size)
            if visible < 0.5:
                continue
            v = float(iou_matrix(box[None], np.asarray(rows[f])[None])[0, 0])
            n += v >= IOU
            top = max(top, v)
        if n > best_n or (n == best_n and n and top > best_iou):
            best, best_n, best_iou = t, n, top
    if best is None:
        return None
    f = best.boxes[:, 0]
    keep = np.ones(len(f), bool) if src.kind == "still" else np.abs(f - frame) <= window
    if shop_frame is not None:
        keep &= np.abs(f - frame) < np.abs(f - shop_frame)
    return Track(track_id=best.track_id, category=best.category, boxes=best.boxes[keep].copy())


def _label_track(src: RealSource, lab: dict, frame: int, stride: int) -> Track:
    """The labelled box as a trajectory: mapped into every ``stride``-th clip frame of a still
    (where it is mostly in view), the labelled frame of a video."""
    rows = []
    frames = range(0, src.frames, stride) if src.kind == "still" else [frame]
    for f in frames:
        box, visible = clip_box(src.to_frame(lab["box"], f), src.size)
        if visible >= 0.5:
            rows.append([f, *box.tolist(), 1.0])
    return Track(track_id=0, category=CATEGORY[lab["category"]], boxes=np.array(rows))


def _rank(track: Track | None, video: Path, catalog: Catalog, want: str,
          height: float) -> int | None:
    """1-based rank of ``want`` among the top products for ``track``; None past TOP or when
    there is no trajectory."""
    if track is None or not len(track.boxes):
        return None
    crops = track_crops(video, [track])[0]
    if crops is None:
        return None
    matches, _ = Matcher(catalog).match(track, crops, k=TOP, height=height)
    ids = [m.product_id for m in matches]
    return ids.index(want) + 1 if want in ids else None


def _rates(ranks: list[int | None]) -> dict[str, Any]:
    n = len(ranks)
    return {"queries": n, "rank1": sum(r == 1 for r in ranks) / max(1, n),
            "top5": sum(r is not None and r <= 5 for r in ranks) / max(1, n)}


def evaluate_real_match(labels_path: str | Path, detector, matcher, *, data_dir: str | Path,
                        demo_catalog: str | Path | None, stride: int = 3,
                        window: int = WINDOW,
                        log: Callable[[str], None] | None = None) -> dict[str, Any]:
    log = log or (lambda m: None)
    raw = load_labels(labels_path)
    labels = raw["labels"]
    manifest = load_manifest(data_dir)
    missing = sorted({lab["source"] for lab in labels} - set(manifest))
    if missing:
        raise RealDataError(f"{data_dir} has no {', '.join(missing)}: run "
                            "scripts/fetch_real_footage.py again")
    pairs = check_pairs(raw["matching"] if "matching" in raw else
                        default_pairs(labels, manifest), labels, manifest)
    if not pairs:
        raise LabelsError(f"{labels_path}: no pair of shots to match (give a 'matching' list, "
                          "or label a video's garments on two frames)")
    in_pairs = {p[s]["source"] for p in pairs for s in ("shop", "query")}
    extra = sorted({(lab["source"], int(lab.get("frame") or 0)) for lab in labels
                    if lab["source"] not in in_pairs and lab["category"] in GARMENTS})
    extra_sides = [{"source": s, "frame": f} for s, f in extra]
    demo = Path(demo_catalog) if demo_catalog else None
    if demo is not None and demo.is_dir():
        demo = demo / "catalog" / "products.jsonl" if (demo / "catalog").is_dir() \
            else demo / "products.jsonl"
    if demo is not None and not demo.is_file():
        raise RealDataError(f"no demo catalogue at {demo}")
    t0 = time.monotonic()
    analyses: dict[str, Any] = {}
    queries: list[dict[str, Any]] = []
    for direction in ("forward", "reverse"):
        ways = [(p["shop"], p["query"]) if direction == "forward" else (p["query"], p["shop"])
                for p in pairs]
        work = Path(tempfile.mkdtemp(prefix="v2s-real-match-"))
        try:
            ids = build_catalogue(work, [s for s, _ in ways], extra_sides, labels, manifest,
                                  demo)
            report = import_catalog(str(work / "products.jsonl"), work / "catalog",
                                    image_roots=[demo.parent] if demo is not None else ())
            if report.skipped:
                raise RealDataError(f"catalogue rows skipped: {report.skipped[0].reason}")
            catalog = Catalog.open(work / "catalog", matcher)
            try:
                for shop, query in ways:
                    qsrc = manifest[query["source"]]
                    qframe = int(query.get("frame") or 0)
                    if qsrc.name not in analyses:
                        analyses[qsrc.name] = run_analysis(qsrc.video, detector, stride=stride)
                    ann = analyses[qsrc.name]
                    shop_g = _garments(labels, **_side(shop))
                    for key, lab in _garments(labels, **_side(query)).items():
                        if key not in shop_g:
                            continue
                        want = ids[(shop["source"], int(shop.get("frame") or 0), key)]
                        same = shop["source"] == query["source"]
                        track = _engine_track(ann, qsrc, lab, qframe, window=window,
                                              stride=stride, shop_frame=int(
                                                  shop.get("frame") or 0) if same else None)
                        h = float(qsrc.size[1])
                        q = {"direction": direction, "shop": _side(shop), "query": _side(query),
                             "garment": lab.get("note") or lab["category"],
                             "category": lab["category"], "product": want,
                             "tracked": track is not None,
                             "engine_rank": _rank(track, qsrc.video, catalog, want, h),
                             "label_rank": _rank(_label_track(qsrc, lab, qframe, stride),
                                                 qsrc.video, catalog, want, h)}
                        queries.append(q)
                        log(f"  {direction} {shop['source']}@{shop.get('frame', 0)} -> "
                            f"{query['source']}@{qframe} {q['garment']}: engine rank "
                            f"{q['engine_rank']}, labelled box rank {q['label_rank']}")
            finally:
                catalog.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    per_pair: dict[str, Any] = {}
    for q in queries:
        name = f"{q['shop']['source']}@{q['shop']['frame']} -> " \
               f"{q['query']['source']}@{q['query']['frame']}"
        per_pair.setdefault(name, []).append(q)
    def rates(qs: list[dict]) -> dict[str, Any]:
        return {"engine": _rates([q["engine_rank"] for q in qs]),
                "engine_tracked": _rates([q["engine_rank"] for q in qs if q["tracked"]]),
                "labelled": _rates([q["label_rank"] for q in qs]),
                "tracked": sum(q["tracked"] for q in qs)}

    summary = {name: rates(qs) for name, qs in per_pair.items()}
    return {"task": "real-match", "labels": str(labels_path), "data": str(data_dir),
            "detector": getattr(detector, "name", "?"), "model_version": matcher.version,
            "demo_catalog": str(demo) if demo else None, "window": window, "top": TOP,
            "real_products_per_catalogue": sum(
                len(_garments(labels, **_side(s))) for s in [p["shop"] for p in pairs]
                + extra_sides),
            "pairs": summary,
            "overall": rates(queries),
            "queries": queries, "seconds": round(time.monotonic() - t0, 1)}


def markdown_table(report: dict[str, Any]) -> str:
    lines = [f"Real garments through matching ({report['detector']}, {report['model_version']})"
             f": rank of the garment's own crop among {report['real_products_per_catalogue']} "
             "real products and the demo catalogue's", "",
             "| shop -> query | queries | tracked | engine rank-1 | of tracked: rank-1 | "
             "engine top-5 | labelled box rank-1 | labelled top-5 |",
             "|---|---|---|---|---|---|---|---|"]
    for name, row in [*report["pairs"].items(), ("**overall**", report["overall"])]:
        e, t, lab = row["engine"], row["engine_tracked"], row["labelled"]
        lines.append(f"| {name} | {e['queries']} | {row['tracked']} | {e['rank1']:.3f} | "
                     f"{t['rank1']:.3f} | {e['top5']:.3f} | {lab['rank1']:.3f} | "
                     f"{lab['top5']:.3f} |")
    return "\n".join(lines)
