"""The player's figures for ``video2shop bench``: how soon boxes appear, how long a click takes
to show a card, how long the main thread ever stalls while a video plays and the engine
analyses it, and whether memory stays put over a long run.

A real player: the main window offscreen, VLC (or OpenCV when libVLC is missing) playing the
demo, the EngineThread with the real detector, AsymNet and the demo catalogue. Each run starts
with an empty analysis cache of its own so the engine has work to do.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """This process's high-water mark (VmHWM: unlike ru_maxrss, which Linux carries across
    exec, it starts afresh with the process's own memory)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    a = np.array(values)
    return {"p50": round(float(np.percentile(a, 50)), 2),
            "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2), "n": len(values)}


class _StallMeter:
    """A 5 ms timer on the main thread: any gap between its ticks beyond that is time the
    main thread could not paint or take input."""

    def __init__(self, parent) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = None
        self.timer = QTimer(parent)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(1000 * (now - self._last) - 5)
        self._last = now

    def start(self) -> None:
        self._last = None
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


def player_bench(opts: dict[str, Any]) -> dict[str, Any]:
    """Runs ``measure`` in a process of its own: its memory is the player's alone (not the
    FAISS benchmark's before it) and its start is a real start (interpreter, imports)."""
    import json
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="v2s-bench-") as tmp:
        out = Path(tmp) / "player.json"
        args = {k: v for k, v in opts.items() if isinstance(v, str | int | float | bool)
                or v is None}
        launched = time.time()
        proc = subprocess.run([sys.executable, "-m", "bench.player", json.dumps(args),
                               str(out), repr(launched)], capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-8:])
            raise RuntimeError(f"the player benchmark failed (exit {proc.returncode}): {tail}")
        return json.loads(out.read_text())


def measure(opts: dict[str, Any], launched: float) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import sys

    from PySide6.QtWidgets import QApplication

    from app.controller import PlayerController
    from app.engine_thread import EngineThread
    from app.playback import PlaybackUnavailable, load_vlc
    from app.settings import Settings
    from engine.resources import DEMO_CATALOG, DEMO_VIDEO
    from ui.main_window import MainWindow

    sys.setswitchinterval(0.001)  # as the player does (app/cli.py run_player)
    from app.memory import limit_malloc_arenas

    limit_malloc_arenas()
    quick = bool(opts.get("quick"))
    video = str(opts.get("video") or DEMO_VIDEO)
    app = QApplication.instance() or QApplication(["video2shop-bench"])
    tmp = Path(tempfile.mkdtemp(prefix="v2s-bench-"))
    os.environ.setdefault("VIDEO2SHOP_SETTINGS", str(tmp / "settings.ini"))
    try:
        load_vlc()
        use_vlc = True
    except PlaybackUnavailable:
        use_vlc = False

    def pump(seconds: float, until=None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.002)
        return until is None or until()

    out: dict[str, Any] = {"video": video, "backend": "vlc" if use_vlc else "opencv"}
    window = MainWindow()
    engine = EngineThread(opts.get("detector", "auto"), opts.get("device", "auto"),
                          cache_path=str(tmp / "analysis.sqlite"))
    c = PlayerController(window, Settings(tmp / "settings.ini"), use_vlc=use_vlc,
                         vlc_args=("--aout=dummy",), engine=engine)
    window.resize(1280, 760)
    window.show()
    c.open_catalog(opts.get("catalog") or str(DEMO_CATALOG))
    c.open_video(video)
    # boxes on screen, from a cold engine (the detector not yet loaded) and an empty cache
    pump(60, lambda: len(window.video.detections) > 0 or (
        c.snapshot is not None and c.snapshot.complete))
    # from the launch of the process, as a viewer counts (interpreter and imports included)
    out["first_boxes_s"] = round(time.time() - launched, 2)
    out["first_boxes_frame"] = c.index

    # while the catalogue loads (torch's import holds the interpreter for long stretches),
    # paused on the first frame as the player opens: reported apart from playback
    startup = _StallMeter(window)
    startup.start()
    pump(120, lambda: c.catalog is not None or not c.catalogue.loader.busy())
    startup.stop()
    out["catalogue_loaded_s"] = round(time.time() - launched, 2)
    out["ui_max_stall_ms_while_catalogue_loads"] = (round(max(startup.gaps), 1)
                                                     if startup.gaps else None)

    # playback with analysis running: the longest stall of the main thread
    meter = _StallMeter(window)
    play_s = float(opts.get("play_s") or (12.0 if quick else 30.0))
    c.transport.play()
    meter.start()
    pump(play_s)
    meter.stop()
    c.transport.pause()
    frames_seen = c.transport.sync_stats["matched"] + c.transport.sync_stats["estimated"]
    out["ui_max_stall_ms"] = round(max(meter.gaps), 1) if meter.gaps else None
    out["ui_stall_ms"] = _pct(meter.gaps)
    out["playback_s"] = play_s
    out["frames_painted_per_s"] = round(frames_seen / play_s, 1)
    out["analysed_fraction_after_playback"] = round(c.analysis_progress(), 3)

    # click to card: boxes whose trajectories the engine has matched (the usual case: it
    # matches what is on screen and ahead first), then the time to a card for the rest
    pump(240, lambda: c.snapshot is not None and c.snapshot.complete
         and c.snapshot.matched == len(c.snapshot.tracks) and c.catalog is not None)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    rng = np.random.default_rng(0)
    warm: list[float] = []
    frames = [f for f in range(0, c.reader.frame_count, 7) if len(c.detections_at(f))]
    for f in rng.permutation(frames)[: int(opts.get("clicks") or (20 if quick else 60))]:
        c.show_frame(int(f))
        dets = window.video.detections
        x1, y1, x2, y2 = dets.xyxy[int(rng.integers(len(dets)))]
        c.select_track(-1)
        app.processEvents()
        t0 = time.perf_counter()
        tid = window.video.click_video_point((x1 + x2) / 2, (y1 + y2) / 2)
        if tid < 0:
            continue
        if pump(30, lambda t=tid: t in shown):
            app.processEvents()  # the card painted
            warm.append(1000 * (time.perf_counter() - t0))
    out["click_to_card_ms"] = _pct(warm)
    out["tracks"] = len(c.snapshot.tracks) if c.snapshot else 0

    # soak: the demo again and again, each time analysed afresh (no cache), memory watched
    soak_s = float(opts.get("soak_s") or (60.0 if quick else 600.0))
    engine_again = c.engine
    engine_again.use_cache = False
    rss: list[tuple[float, float]] = []
    t0 = time.monotonic()
    loops = 0
    while time.monotonic() - t0 < soak_s:
        c.open_video(video)
        loops += 1
        c.transport.play()
        while time.monotonic() - t0 < soak_s and c.playing:
            pump(1.0)
            rss.append((time.monotonic() - t0, rss_mb()))
        c.transport.pause()
    warm_from = soak_s * 0.2
    after = [m for t, m in rss if t >= warm_from]
    out["soak_s"] = soak_s
    out["soak_loops"] = loops
    out["rss_start_mb"] = round(after[0], 1) if after else None
    out["rss_end_mb"] = round(after[-1], 1) if after else None
    out["rss_drift_mb"] = round(after[-1] - after[0], 1) if len(after) > 1 else None
    if len(after) > 4:  # a slope says more than two samples
        ts = np.array([t for t, _ in rss if t >= warm_from])
        out["rss_slope_mb_per_min"] = round(float(np.polyfit(ts / 60, after, 1)[0]), 2)
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)  # this process: the player alone
    out["engine_steps"] = engine_again.steps
    c.shutdown()
    window.close()
    return out


if __name__ == "__main__":  # python -m bench.player OPTS_JSON OUT_JSON LAUNCH_TIME
    import json
    import sys

    result = measure(json.loads(sys.argv[1]), float(sys.argv[3]))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=1))
