"""`bench --only library`: `library analyze` (engine/library) over 8 clips on a local Ray
instance with 1 worker, then with 2, twice over (alternated); wall time of each whole command
as a user runs it (Ray's start and stop included), the speed-up of the means, and every
output compared file by file.

The clips are made here by the synthetic generator (hard preset, 640x360, a seed no training
set uses), with their own catalogue; ``quick`` makes them 4 s long instead of 20, and runs
each configuration once."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = 4242
CLIPS = 8
# 20 s a clip: about 11 s of work each on two cores, against Ray's start and stop and the
# models' loading (about 9 s a run, docs/scale.md), which a real episode makes negligible
CLIP_SECONDS = 20


def _run(clips: list[str], out: Path, catalog: Path, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "app.cli", "library", "analyze", *clips, "--out", str(out),
           "--catalog", str(catalog), "--device", "cpu", "--workers", str(workers),
           "--no-cache"]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"library analyze failed ({run.returncode}): {run.stderr[-2000:]}")
    import json

    records = [json.loads(p.read_text()) for p in (out / ".library").glob("*.done.json")]
    busy = sum(r["seconds"] for r in records)
    return {"workers": workers, "wall_s": round(wall, 1), "video_s_sum": round(busy, 1),
            # what is neither a video nor waiting for one: Ray's start and stop, the driver
            "overhead_s": round(wall - busy / workers, 1)}


def library_figures(opts: dict[str, Any]) -> dict[str, Any]:
    from bench.synth.generate import generate

    seconds, repeats = (4, 1) if opts.get("quick") else (CLIP_SECONDS, 2)
    tmp = Path(tempfile.mkdtemp(prefix="v2s-library-bench-"))
    try:
        data = tmp / "data"
        generate(data, "hard", seed=SEED, clips=CLIPS, products=60, seconds=seconds,
                 width=640, height=360, progress=False)
        clips = sorted(str(p) for p in (data / "clips").glob("*.mp4"))
        # the catalogue imported and indexed once, before either run is timed
        subprocess.run([sys.executable, "-m", "app.cli", "catalog", "import", str(data),
                        "--catalog", str(tmp / "catalog")], check=True, capture_output=True,
                       cwd=Path(__file__).resolve().parent.parent)
        # alternated, each a fresh output directory: a run on a noisy machine shows
        runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for r in range(repeats):
            for w in (1, 2):
                runs[w].append(_run(clips, tmp / f"out{w}-{r}", tmp / "catalog", w))
        outputs = sorted((tmp / "out2-0").glob("*.analysis.json"))
        same = len(outputs) == len(clips) and all(
            (tmp / f"out{w}-{r}" / p.name).read_bytes() == p.read_bytes()
            for p in outputs for w in (1, 2) for r in range(repeats))
        mean = {w: statistics.fmean(x["wall_s"] for x in runs[w]) for w in (1, 2)}
        return {"clips": len(clips), "clip_seconds": seconds, "size": "640x360",
                "repeats": repeats, "one_worker": runs[1][0] | {"wall_s_runs": [
                    x["wall_s"] for x in runs[1]]},
                "two_workers": runs[2][0] | {"wall_s_runs": [x["wall_s"] for x in runs[2]]},
                "speedup_2_vs_1": round(mean[1] / mean[2], 2), "outputs_identical": same}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
