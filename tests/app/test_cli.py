"""The command line as QA scripts and demo booths use it: real processes, real PNGs."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from bench.synth.marker_clip import MARKERS, Marker, make_marker_clip, marker_box
from tests.conftest import ROOT
from ui.boxes import track_color

DRESS = MARKERS[2]
# one fast garment: it moves 10+ video pixels a frame, so a box one frame late misses it
FAST = Marker(3, "dress", (60, 170, 60), (60, 80), 0.1, 3.0)


def run_cli(*args, env_extra=None, timeout=60):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def bbox_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max(), ys.max()


def free_frames(n_frames=100, w=320, h=180):
    """Frames where the dress marker overlaps no other marker (its edges are all visible)."""
    out = []
    for i in range(n_frames):
        d = marker_box(DRESS, i, n_frames, w, h)
        if all(
            min(d[2], o[2]) <= max(d[0], o[0]) or min(d[3], o[3]) <= max(d[1], o[1])
            for o in (marker_box(m, i, n_frames, w, h) for m in MARKERS if m is not DRESS)
        ):
            out.append(i)
    return out


@pytest.fixture(scope="module")
def fast_clip(clips_dir):
    mp4, js = clips_dir / "fast.mp4", clips_dir / "fast.json"
    make_marker_clip(mp4, frames=100, markers=(FAST,)).save(js)
    return mp4, js


def test_screenshots_at_several_frames_show_the_box_on_the_marker(fast_clip, tmp_path):
    mp4, js = fast_clip
    picks = [5, 22, 38, 55, 71, 88]
    for n in picks:
        # the test is only as sharp as the motion: a box from the frame before or after
        # would be 10+ video pixels (30+ screen pixels) off
        here = marker_box(FAST, n, 100, 320, 180)
        for other in (n - 1, n + 1):
            assert np.abs(marker_box(FAST, other, 100, 320, 180) - here).max() >= 10
        png = tmp_path / f"f{n}.png"
        result = run_cli(mp4, "--no-engine", "--annotations", js, "--frame", n,
                         "--screenshot", png)
        assert result.returncode == 0, result.stderr
        shot = cv2.imread(str(png))
        assert shot.shape[:2] == (760, 1280)
        color = track_color(DRESS.track_id)
        outline = np.all(shot == (color.blue(), color.green(), color.red()), axis=2)
        marker = np.all(np.abs(shot.astype(int) - DRESS.color) < 30, axis=2)
        bx1, _, bx2, by2 = bbox_of(outline)  # the label tag sits above: compare x and bottom
        # the marker is the green blob under the box (label tags elsewhere may be green too)
        # (closing bridges the white stripes that cut the marker into strips)
        closed = cv2.morphologyEx(marker.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 25)))
        _, labels = cv2.connectedComponents(closed)
        inside = labels[by2 - 20 : by2 - 10, bx1 + 10 : bx2 - 10]
        blob = np.bincount(inside[inside > 0]).argmax()
        mx1, _, mx2, my2 = bbox_of(labels == blob)
        assert abs(bx1 - mx1) <= 5 and abs(bx2 - mx2) <= 5 and abs(by2 - my2) <= 5, (
            f"frame {n}: box {bx1, bx2, by2} vs marker {mx1, mx2, my2}"
        )


def test_click_selects_the_garment_before_the_screenshot(marker_clip, tmp_path):
    mp4, js, _ = marker_clip
    n = free_frames()[0]
    x1, _y1, x2, y2 = marker_box(DRESS, n, 100, 320, 180)
    plain, clicked = tmp_path / "plain.png", tmp_path / "clicked.png"
    assert run_cli(mp4, "--no-engine", "--annotations", js, "--frame", n, "--screenshot",
                   plain).returncode == 0
    r = run_cli(
        mp4,
        "--no-engine",
        "--annotations",
        js,
        "--frame",
        n,
        "--click",
        f"{(x1 + x2) / 2},{y2 - 3}",
        "--screenshot",
        clicked,
    )
    assert r.returncode == 0, r.stderr
    a, b = cv2.imread(str(plain)), cv2.imread(str(clicked))
    # the selected box is filled with a translucent highlight, and the side panel changed
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0
    panel = (slice(30, 200), slice(1010, 1270))
    assert np.abs(a[panel].astype(int) - b[panel].astype(int)).sum() > 0


@pytest.mark.parametrize(
    "name",
    [
        "missing", "empty", "random", "lookalike",
        "raw_stream", "streamed_webm", "text", "audio_only",
    ],
)
def test_a_bad_file_in_screenshot_mode_is_one_line_on_stderr(bad_files, tmp_path, name):
    r = run_cli(bad_files[name], "--screenshot", tmp_path / "x.png")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.startswith("video2shop:")]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_frame_past_the_end_is_an_error(marker_clip, tmp_path):
    r = run_cli(marker_clip[0], "--frame", 500, "--screenshot", tmp_path / "x.png")
    assert r.returncode == 2
    assert "past the end" in r.stderr and "0 to 99" in r.stderr


def test_bad_flags_say_what_was_expected():
    r = run_cli("x.mp4", "--frame", "ten")
    assert r.returncode == 2 and "expected a frame number" in r.stderr
    r = run_cli("x.mp4", "--click", "3")
    assert r.returncode == 2 and "expected X,Y" in r.stderr


def test_no_display_without_screenshot_is_a_clear_error(marker_clip):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(marker_clip[0])],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "xvfb-run" in r.stderr


def test_help_lists_the_automation_flags():
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "play", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    for flag in ("--annotations", "--frame", "--screenshot", "--click", "--kiosk"):
        assert flag in r.stdout


def test_the_demo_opens_by_default(tmp_path):
    r = run_cli("--frame", 10, "--screenshot", tmp_path / "demo.png")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(tmp_path / "demo.png")) is not None


def test_a_click_on_the_demo_shows_the_worn_product(tmp_path):
    """The bundled demo, analysed live from a cold cache: the jacket at frame 617 (the ground
    truth says p00072 is worn) gets p00072 on its card."""
    import json

    r = run_cli("--frame", 617, "--click", "255,170", "--screenshot", tmp_path / "card.png",
                "--no-vlc", env_extra={"VIDEO2SHOP_CACHE": str(tmp_path / "cache")},
                timeout=300)
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout.strip().splitlines()[-1])
    assert card["frame"] == 617 and card["track"] is not None
    assert card["product"] == "p00072", card
    assert cv2.imread(str(tmp_path / "card.png")) is not None


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_closes_the_player_cleanly(tmp_path, sig):
    """A booth's service manager stops it with SIGTERM, a terminal with Ctrl+C: the player
    closes as from its close button (settings written, engine thread stopped), exit code 0."""
    import signal
    import time

    settings = tmp_path / "settings.ini"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VIDEO2SHOP_SETTINGS": str(settings),
           "VIDEO2SHOP_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--no-vlc"], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the engine has started once its analysis cache exists
        end = time.monotonic() + 90
        while not (tmp_path / "cache" / "analysis.sqlite").exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < end, "the engine never started"
            time.sleep(0.2)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"{sig}, closing" in err
    assert "Destroyed while thread" not in err
    assert "geometry" in settings.read_text()  # shutdown saved the window
