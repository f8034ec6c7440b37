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

from app.cli import DEMO_VIDEO

BENCHES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


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


@bench("engine")
def engine_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """Decode ceiling and engine throughput on the demo clip, per stage, for each stride."""
    from engine.detect import create_detector
    from engine.pipeline import StageTimes, run_analysis

    video = Path(opts.get("video") or DEMO_VIDEO)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    n = 0
    t0 = time.perf_counter()
    while cap.read()[0]:
        n += 1
    decode_s = time.perf_counter() - t0
    cap.release()
    out: dict[str, Any] = {"video": str(video), "frames": n,
                           "decode_fps": round(n / decode_s, 1)}
    detector = create_detector(opts.get("detector", "garment"), device=opts.get("device", "auto"))
    out["detector"] = {"name": detector.name, "version": detector.version,
                       "backend": getattr(detector, "backend", None)}
    strides = opts.get("strides") or [3]
    runs = {}
    for k in strides:
        times = StageTimes()
        t0 = time.perf_counter()
        ann = run_analysis(video, detector, stride=k, times=times)
        wall = time.perf_counter() - t0
        frames = times.frames
        runs[str(k)] = {
            "engine_fps": round(frames / wall, 1),
            "realtime_factor": round(frames / fps / wall, 2),
            "stage_ms_per_frame": {s: round(v, 2) for s, v in times.per_frame().items()},
            "detector_ms_per_call_frame": round(times.ms["detect"]
                                                / max(1, times.detected_frames), 1),
            "tracks": len(ann.tracks),
        }
    out["strides"] = runs
    default = runs[str(strides[0])]
    out["engine_fps"] = default["engine_fps"]
    out["realtime_factor"] = default["realtime_factor"]
    out["engine_to_decode_ratio"] = round(default["engine_fps"] / out["decode_fps"], 3)
    return out


def run(only: list[str] | None, quick: bool, out_path: str | None,
        opts: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict:
    opts = dict(opts or {})
    opts["quick"] = quick
    names = only or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; valid: {', '.join(BENCHES)}")
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                              "machine": machine(), "quick": quick}
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
    e = report.get("engine")
    if e:
        lines.append(f"| decode_fps (OpenCV, {e['frames']} frames) | {e['decode_fps']} |")
        for k, r in e["strides"].items():
            lines.append(f"| engine_fps / realtime_factor, detector every {k} frames | "
                         f"{r['engine_fps']} / {r['realtime_factor']}x |")
            stages = ", ".join(f"{s} {v}" for s, v in r["stage_ms_per_frame"].items())
            lines.append(f"| ms per frame (stride {k}) | {stages} |")
        lines.append(f"| engine_fps / decode_fps | {e['engine_to_decode_ratio']} |")
    return "\n".join(lines)
