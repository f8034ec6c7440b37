"""``video2shop bench --only soak --minutes M [--kiosk]``: memory over a long run, measured on
the player as a booth or a viewer runs it.

The player is ``python -m app.cli play`` (what ``video2shop play`` runs) in a process of its
own (offscreen, VLC with a dummy audio output, the engine on, the demo catalogue), so what is
measured is the shipped start-up path, not a copy of it. Its resident memory is read from
``/proc/PID/status`` every ``interval`` seconds (10 by default) into a CSV, with the anonymous
and file-backed parts apart (heap growth shows in the first, mapped libraries and models in the
second), and drawn as a PNG.

- ``--kiosk``: the demo in kiosk mode, looping, cards cycling, for M minutes. The figure that
  matters is the growth after the first 10 minutes (start-up, the catalogue and the first
  analysis are done by then).
- without it: one long video, the demo joined 75 times (an hour of footage, made once with
  ffmpeg's concat demuxer and kept in the cache), played once from the start with the engine
  analysing it; the figure is the distance of every sample from the first one.

At the end the player gets SIGTERM, as a service manager stops it, and must close by itself.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_S = 600.0  # the kiosk floor counts growth after the first 10 minutes


def _status(pid: int) -> dict[str, float] | None:
    """VmRSS, RssAnon, RssFile (MiB) and the thread count of a live process, or None."""
    fields = {"VmRSS": "rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb",
              "Threads": "threads"}
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in fields:
                    parts = value.split()
                    out[fields[key]] = (int(parts[0]) / 1024 if key != "Threads"
                                        else int(parts[0]))
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out or None


def long_video(cache: Path, copies: int = 75) -> Path:
    """The demo joined ``copies`` times without re-encoding (48 s each: 75 make an hour)."""
    from engine.resources import DEMO_VIDEO

    target = cache / "bench" / f"demo-x{copies}.mp4"
    if target.is_file() and target.stat().st_mtime >= DEMO_VIDEO.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="v2s-concat-") as tmp:
        listing = Path(tmp) / "list.txt"
        listing.write_text(f"file '{DEMO_VIDEO.resolve()}'\n" * copies)
        part = Path(tmp) / target.name
        proc = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0",
                               "-i", str(listing), "-c", "copy", str(part)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg could not join the demo: {proc.stderr.strip()[-300:]}")
        os.replace(part, target)  # whole or absent
    return target


def _plot(rows: list[dict[str, float]], title: str, path: Path, floor: tuple) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t_s"] / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.plot(t, [r["rss_mb"] for r in rows], label="resident (VmRSS)", color="#c2185b")
    ax.plot(t, [r["anon_mb"] for r in rows], label="anonymous (heap)", color="#1565c0", lw=1)
    ax.plot(t, [r["file_mb"] for r in rows], label="file-backed", color="#2e7d32", lw=1)
    (x0, x1), y = floor
    ax.plot([x0 / 60, x1 / 60], [y, y], ls="--", color="#555", lw=1, label="floor")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MiB")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def soak_bench(opts: dict[str, Any]) -> dict[str, Any]:
    from engine.cache import cache_dir

    kiosk = bool(opts.get("kiosk"))
    quick = bool(opts.get("quick"))
    minutes = float(opts.get("minutes") or (2.0 if quick else (120.0 if kiosk else 60.0)))
    interval = float(opts.get("interval") or 10.0)
    stem = Path(opts.get("out") or ("bench-soak-kiosk.json" if kiosk else "bench-soak.json"))
    csv_path, png_path = stem.with_suffix(".csv"), stem.with_suffix(".png")
    user_cache = cache_dir()

    with tempfile.TemporaryDirectory(prefix="v2s-soak-") as tmp_s:
        tmp = Path(tmp_s)
        cache = tmp / "cache"
        cache.mkdir()
        if (user_cache / "models").is_dir():  # compiled models: not what is measured
            (cache / "models").symlink_to((user_cache / "models").resolve())
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VIDEO2SHOP_CACHE=str(cache),
                   VIDEO2SHOP_SETTINGS=str(tmp / "settings.ini"), VIDEO2SHOP_AOUT="dummy")
        cmd = [sys.executable, "-m", "app.cli", "play"]  # `video2shop play`, from a wheel too
        if kiosk:
            video = None
            cmd += ["--kiosk"]
            duration_s = minutes * 60
        else:
            from engine.video import probe

            video = long_video(user_cache)
            info = probe(video)
            length_s = info.frame_count / info.fps
            # --loop starts it playing; the video is over once, within the soak
            cmd += [str(video), "--loop"]
            duration_s = min(minutes * 60, length_s + 20)
        if opts.get("device"):
            cmd += ["--device", str(opts["device"])]
        log_path = tmp / "player.log"
        rows: list[dict[str, float]] = []
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=str(ROOT))
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < duration_s and proc.poll() is None:
                    # the first sample one interval in: the interpreter is up by then
                    time.sleep(max(0.0, interval - (time.monotonic() - t0) % interval))
                    s = _status(proc.pid)
                    if s is not None:
                        rows.append({"t_s": round(time.monotonic() - t0, 1), **s})
                alive = proc.poll() is None
                t_term = time.monotonic()
                if alive:
                    proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=30)
                    closed = alive
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
                    closed = False
            finally:
                if proc.poll() is None:
                    proc.kill()
        tail = log_path.read_text(errors="replace").strip().splitlines()[-6:]

    if not alive or len(rows) < 2:
        raise RuntimeError(f"the player ended during the soak (exit {proc.returncode}): "
                           + " | ".join(tail))
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t_s", "rss_mb", "anon_mb", "file_mb", "threads"])
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()})

    rss = [r["rss_mb"] for r in rows]
    out: dict[str, Any] = {
        "mode": "kiosk (the demo, looping)" if kiosk else
                f"one long video played once with analysis ({video.name}, {length_s / 60:.0f} min)",
        "minutes": round((rows[-1]["t_s"]) / 60, 1),
        "interval_s": interval, "samples": len(rows),
        "rss_first_mb": round(rss[0], 1), "rss_last_mb": round(rss[-1], 1),
        "rss_peak_mb": round(max(rss), 1),
        "csv": str(csv_path), "png": str(png_path),
        "closed_on_sigterm": closed, "exit_code": code,
        "close_s": round(time.monotonic() - t_term, 2),
    }
    if kiosk:
        warm = WARM_S if rows[-1]["t_s"] > WARM_S * 1.5 else rows[-1]["t_s"] * 0.2
        after = [r for r in rows if r["t_s"] >= warm]
        base = after[0]["rss_mb"]
        out["warm_s"] = warm
        out["rss_at_warm_mb"] = round(base, 1)
        out["growth_after_warm_mb"] = round(after[-1]["rss_mb"] - base, 1)
        out["max_growth_after_warm_mb"] = round(max(r["rss_mb"] for r in after) - base, 1)
        if len(after) > 4:
            import numpy as np

            ts = np.array([r["t_s"] for r in after]) / 3600
            out["slope_after_warm_mb_per_hour"] = round(
                float(np.polyfit(ts, [r["rss_mb"] for r in after], 1)[0]), 1)
        floor = ((warm, rows[-1]["t_s"]), base + 50)
        title = (f"kiosk soak, {out['minutes']:g} min: growth after {warm / 60:g} min "
                 f"{out['max_growth_after_warm_mb']:+.0f} MiB (floor +50)")
    else:
        out["max_above_first_mb"] = round(max(rss) - rss[0], 1)
        floor = ((0, rows[-1]["t_s"]), rss[0] + 400)
        title = (f"one-hour video with analysis, {out['minutes']:g} min: at most "
                 f"{out['max_above_first_mb']:+.0f} MiB over the start (floor +400)")
    _plot(rows, title, png_path, floor)
    return out
