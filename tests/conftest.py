"""Shared fixtures: real clips made with ffmpeg, bad files, an isolated settings file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# hypothesis (tests/engine/test_fuzz_inputs.py): 2,000 examples a test in the suite,
# HYPOTHESIS_PROFILE=long for 20,000. No deadline: a busy two-core machine is slow, not wrong.
# The function-scoped fixtures here (settings, cache) hold nothing an example changes.
settings.register_profile("ci", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
settings.register_profile("long", settings.get_profile("ci"), max_examples=20_000)
settings.register_profile("quick", settings.get_profile("ci"), max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent


def run_with_file_size_limit(body: str, limit: int, timeout: float
                             ) -> subprocess.CompletedProcess:
    """Python ``body`` in a child process that may not grow a file past ``limit`` bytes: a
    full disk that root cannot write past either (RLIMIT_FSIZE; file modes do not stop root).
    SIGXFSZ is ignored, so a write fails with EFBIG instead of killing the process; the
    repository is importable and no bytecode is written under the limit."""
    script = (f"import resource, signal, sys\nsys.path.insert(0, {str(ROOT)!r})\n"
              "sys.dont_write_bytecode = True\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
              + textwrap.dedent(body))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch, _session_cache):
    monkeypatch.setenv("VIDEO2SHOP_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("VIDEO2SHOP_DATA", str(tmp_path / "data"))  # saved products
    # imported catalogues and analyses go to a cache of this test session, not the user's
    if "VIDEO2SHOP_CACHE" not in os.environ:
        monkeypatch.setenv("VIDEO2SHOP_CACHE", str(_session_cache))


def _need_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: run `make setup` (apt-get install ffmpeg)")


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def marker_clip(clips_dir):
    """100 frames, 320x180, 25 fps, GOP 12 with B-frames: (mp4 path, json path, Annotations)."""
    _need_ffmpeg()
    from bench.synth.marker_clip import make_marker_clip

    mp4 = clips_dir / "marker.mp4"
    ann = make_marker_clip(mp4, frames=100, fps=25.0, width=320, height=180)
    js = clips_dir / "marker.json"
    ann.save(js)
    return mp4, js, ann


@pytest.fixture(scope="session")
def long_clip(clips_dir):
    """12 s (300 frames) with sound, for seeking and playback."""
    _need_ffmpeg()
    from bench.synth.marker_clip import make_marker_clip

    mp4 = clips_dir / "long clip é.mp4"  # a space and a non-ASCII character on purpose
    ann = make_marker_clip(mp4, frames=300, fps=25.0, width=320, height=180, audio=True)
    js = clips_dir / "long.json"
    ann.save(js)
    return mp4, js, ann


def ffmpeg(*args: str) -> None:
    _need_ffmpeg()
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def bad_files(clips_dir, marker_clip) -> dict[str, Path]:
    """Files a viewer may open by mistake, each made for real."""
    d = clips_dir / "bad"
    d.mkdir()
    files = {}
    files["empty"] = d / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["random"] = d / "random.mp4"
    # fixed bytes: os.urandom made this test flaky, since ffmpeg takes about one random file in
    # 150 for a raw H.263 stream
    files["random"].write_bytes(np.random.default_rng(0).bytes(200_000))
    # random bytes that ffmpeg does take for a raw H.263 stream, 352x288, one decodable frame
    files["lookalike"] = d / "lookalike.mp4"
    files["lookalike"].write_bytes(np.random.default_rng(6).bytes(200_000))
    files["raw_stream"] = d / "clip.h264"
    ffmpeg("-i", str(marker_clip[0]), "-c:v", "copy", "-an", "-f", "h264", str(files["raw_stream"]))
    # a WebM written as a stream (as browsers record): no duration, no index, no frame count
    files["streamed_webm"] = d / "recording.webm"
    with files["streamed_webm"].open("wb") as out:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(marker_clip[0]), "-c:v", "libvpx",
                        "-b:v", "1M", "-an", "-f", "webm", "-"], stdout=out, check=True)
    files["text"] = d / "notes.mkv"
    files["text"].write_text("these are my notes, not a video\n" * 100)
    files["audio_only"] = d / "song.m4a.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "aac",
        str(files["audio_only"]),
    )
    data = marker_clip[0].read_bytes()
    files["truncated"] = d / "truncated.mp4"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["missing"] = d / "does-not-exist.mp4"
    return files


@pytest.fixture(scope="session")
def tiny_benchmark(tmp_path_factory):
    """A small hard benchmark made for real: 3 clips of 4 s at 320x180, 30 products.

    With ``VIDEO2SHOP_TEST_DATA=DIR`` it is made once into DIR (named by the generator's
    source, so a changed generator makes a new one) and reused by later sessions: the mutation
    run (docs/testing.md) starts a session per mutant."""
    _need_ffmpeg()
    import hashlib
    import json

    from bench.synth.generate import generate

    params = dict(seed=11, clips=3, products=30, seconds=4, width=320, height=180)
    keep = os.environ.get("VIDEO2SHOP_TEST_DATA")
    if not keep:
        out = tmp_path_factory.mktemp("tiny_benchmark")
        return out, generate(out, "hard", **params, workers=2, progress=False)
    digest = hashlib.sha1(json.dumps(params).encode())
    for source in [*sorted((ROOT / "bench" / "synth").glob("*.py")), ROOT / "engine" / "encode.py"]:
        digest.update(source.read_bytes())
    out = Path(keep) / f"tiny_benchmark-{digest.hexdigest()[:12]}"
    card_path = out / "card.json"  # written last by generate()
    if not card_path.is_file():
        part = Path(keep) / f"{out.name}.part-{os.getpid()}"
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        generate(part, "hard", **params, workers=2, progress=False)
        try:
            part.rename(out)  # whole or absent; another session may have made it first
        except OSError:
            shutil.rmtree(part, ignore_errors=True)
    return out, json.loads(card_path.read_text())


@pytest.fixture(scope="session")
def tiny_catalog(tiny_benchmark, tmp_path_factory):
    """The tiny benchmark's catalogue imported and opened with the shipped AsymNet (CPU)."""
    from engine.asymnet.model import TrajectoryMatcher
    from engine.catalog.importer import import_catalog
    from engine.catalog.retrieval import Catalog

    data, _ = tiny_benchmark
    directory = tmp_path_factory.mktemp("tiny_catalog")
    import_catalog(str(data), directory)
    cat = Catalog.open(directory, TrajectoryMatcher(device="cpu"))
    yield cat
    cat.close()
