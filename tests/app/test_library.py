"""`video2shop library analyze` on a local Ray instance (engine/library): the same files as
`analyze`, the player's cache filled, a second run that skips, a bad video that fails alone,
and a worker killed with SIGKILL mid-run (and then the driver) losing nothing finished."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from engine.asymnet.model import DEFAULT_WEIGHTS
from engine.train.data import load_split

pytest.importorskip("ray", reason="the scale extra (make setup installs it)")
pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")


@pytest.fixture(scope="module")
def clips(tiny_benchmark) -> list[str]:
    data, _ = tiny_benchmark
    return sorted(str(c.video) for c in load_split(data, "all"))


def _summary(out: Path) -> list[dict]:
    with (out / "summary.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _records(out: Path) -> dict[str, dict]:
    return {p.name.removesuffix(".done.json"): json.loads(p.read_text())
            for p in (out / ".library").glob("*.done.json")}


def test_library_writes_what_analyze_writes_and_fills_the_player_cache(
        tiny_benchmark, clips, tmp_path, capsys):
    from engine.analysis import LiveSession
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.loop import LiveAnalysis
    from engine.catalog.retrieval import Catalog
    from engine.detect import create_detector
    from engine.video import probe

    data, _ = tiny_benchmark
    out, cache_file = tmp_path / "lib", tmp_path / "player-cache.sqlite"
    assert main(["library", "analyze", *clips, "--out", str(out), "--catalog", str(data),
                 "--device", "cpu", "--workers", "2", "--cache", str(cache_file)]) == 0
    assert f"{len(clips)} analysed, 0 done before, 0 failed" in capsys.readouterr().out
    rows = _summary(out)
    assert [r["video"] for r in rows] == clips and {r["status"] for r in rows} == {"done"}
    # byte for byte what `analyze --catalog` writes for the same video
    single = tmp_path / "single.json"
    assert main(["analyze", clips[0], "--out", str(single), "--catalog", str(data),
                 "--device", "cpu"]) == 0
    assert (out / rows[0]["output"]).read_bytes() == single.read_bytes()
    ann = json.loads(single.read_text())
    assert ann["tracks"] and all(t["matches"] for t in ann["tracks"])

    # the player's session for that video (its defaults) finds boxes and cards in the cache
    cache = AnalysisCache(cache_file)
    catalog = Catalog.open(data, device="cpu")
    try:
        analysis = LiveAnalysis(clips[0], create_detector("auto", device="cpu"),
                                probe(clips[0]), stride=3, segment=48)
        session = LiveSession(analysis, catalog=catalog, cache=cache)
        assert session.restored and analysis.complete
        assert len(session.tracks()) == len(ann["tracks"])
        by_id = {t["track_id"]: t for t in ann["tracks"]}
        assert sorted(session.results) == sorted(by_id)
        for t, _ in session.tracks():
            assert not session._needs_match(t)  # nothing to match again
            assert [m.product_id for m in session.results[t.track_id].matches] == \
                [m["product_id"] for m in by_id[t.track_id]["matches"]]
    finally:
        catalog.close()
        cache.close()

    # a second run skips what is done (no Ray started); a broken file and a missing one fail
    # alone, with their reasons, and the exit status says so
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    listing = tmp_path / "videos.txt"
    listing.write_text("# the library\n" + "\n".join(clips) + "\n\nbroken.mp4\nmissing.mp4\n")
    assert main(["library", "analyze", "--list", str(listing), "--out", str(out),
                 "--catalog", str(data), "--device", "cpu", "--no-cache"]) == 1
    captured = capsys.readouterr()
    assert f"0 analysed, {len(clips)} done before, 2 failed" in captured.out
    rows = {Path(r["video"]).name: r for r in _summary(out)}
    assert {rows[Path(c).name]["status"] for c in clips} == {"skipped"}
    assert rows["broken.mp4"]["status"] == "failed" and rows["broken.mp4"]["error"]
    assert rows["missing.mp4"]["status"] == "failed"
    assert "cannot read it" in rows["missing.mp4"]["error"]
    assert "FAILED" in captured.err


def test_usage_errors_are_clear(tmp_path, capsys):
    assert main(["library", "analyze", "--out", str(tmp_path / "o")]) == 2
    assert "no videos" in capsys.readouterr().err
    assert main(["library", "analyze", "--list", str(tmp_path / "none.txt"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "cannot read the list" in capsys.readouterr().err
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert main(["library", "analyze", str(video), "--out", str(tmp_path / "o"),
                 "--catalog", str(tmp_path / "nothing")]) == 2
    assert "neither" in capsys.readouterr().err
    # a cluster address nothing listens at fails at once (Ray alone retries for ten minutes)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = f"127.0.0.1:{s.getsockname()[1]}"
    assert main(["library", "analyze", str(video), "--out", str(tmp_path / "o"),
                 "--ray", free]) == 2
    assert f"nothing answers at {free}" in capsys.readouterr().err
    assert main(["library", "analyze", str(video), "--out", str(tmp_path / "o"),
                 "--ray", "headnode"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    # when the input is wrong too, its error is the one told (it may be why Ray failed)
    assert main(["library", "analyze", str(video), "--out", str(tmp_path / "o"),
                 "--ray", free, "--catalog", str(tmp_path / "nothing")]) == 2
    assert "neither" in capsys.readouterr().err


def _library(clips: list[str], out: Path, catalog: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "app.cli", "library", "analyze", *clips, "--out", str(out),
           "--catalog", catalog, "--device", "cpu", "--workers", "1", "--no-cache"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=Path(__file__).resolve().parents[2])


def _session_processes(driver: int) -> list[int]:
    """The processes of the local Ray instance ``driver`` started: those writing the logs of
    its session (/tmp/ray/session_..._PID; their environment is overwritten by their titles)."""
    tail = f"_{driver}/logs/"
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (os.getpid(), driver):
            continue
        try:
            if any(tail in os.readlink(fd) for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _wait_for(predicate, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_worker_killed_mid_run_loses_nothing_and_its_work_is_redone(
        tiny_benchmark, clips, tmp_path):
    data, _ = tiny_benchmark
    out = tmp_path / "lib"
    work = out / ".library"
    proc = _library(clips, out, str(data))
    try:
        # the first video done, the second started: kill its worker (SIGKILL)
        _wait_for(lambda: len(list(work.glob("*.done.json"))) == 1 or proc.poll() is not None,
                  240, "the first video")
        first = _records(out)
        (name, record), = first.items()
        first_bytes = (out / f"{name}.analysis.json").read_bytes()

        def second_started() -> bool:
            return any(p.name.removesuffix(".started") != name
                       for p in work.glob("*.started")) or proc.poll() is not None
        _wait_for(second_started, 60, "the second video")
        started = next(p for p in work.glob("*.started")
                       if p.name.removesuffix(".started") != name)
        victim = started.name.removesuffix(".started")
        pid = json.loads(started.read_text())["pid"]  # the one worker
        assert not (work / f"{victim}.done.json").exists(), "the video ended before the kill"
        os.kill(pid, signal.SIGKILL)  # in the middle of one of the other videos' tasks
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    records = _records(out)
    assert len(records) == len(clips), output
    assert records[name] == record  # untouched
    assert (out / f"{name}.analysis.json").read_bytes() == first_bytes
    # what the killed worker was doing was done again by another, in the same run, and the
    # video is what `analyze` makes of it
    assert any(p != pid for r in records.values() for p in r["pids"]), records
    single = tmp_path / "single.json"
    victim_clip = next(c for c in clips if records[victim]["video"] == str(Path(c).resolve()))
    assert main(["analyze", victim_clip, "--out", str(single), "--catalog", str(data),
                 "--device", "cpu"]) == 0
    assert (out / f"{victim}.analysis.json").read_bytes() == single.read_bytes()

    # the driver itself killed (SIGKILL) after a video: the rerun skips what finished
    for p in work.glob("*.done.json"):
        if p.name.removesuffix(".done.json") != name:
            p.unlink()
    (out / "summary.csv").unlink()
    proc = _library(clips, out, str(data))
    try:
        _wait_for(lambda: len(list(work.glob("*.done.json"))) == 2 or proc.poll() is not None,
                  240, "one more video")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Ray 2.60 leaves a SIGKILLed driver's node agents (dashboard, runtime env) running
    for pid in _session_processes(proc.pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    done_before = set(_records(out))
    proc = _library(clips, out, str(data))
    output, _ = proc.communicate(timeout=300)
    # a run that ends leaves nothing behind
    _wait_for(lambda: not _session_processes(proc.pid), 30, "Ray's processes to end")
    assert proc.returncode == 0, output
    assert f"{len(clips) - len(done_before)} analysed, {len(done_before)} done before" in output
    assert len(_records(out)) == len(clips)
    assert (out / f"{name}.analysis.json").read_bytes() == first_bytes


def test_a_milvus_lite_catalogue_is_refused_with_what_to_do(tiny_benchmark, clips, tmp_path,
                                                            capsys, monkeypatch):
    """Milvus Lite is one process's at a time (its embedded server stays with the process that
    opened the file first) and every worker is a process: refused before Ray starts (CI once
    saw Ray's start fail while the Lite file's gRPC server was opening), with the two ways
    out."""
    pytest.importorskip("pymilvus", reason="the scale extra is not installed")
    monkeypatch.delenv("MILVUS_URI", raising=False)
    data, _ = tiny_benchmark
    cat = tmp_path / "cat"
    assert main(["catalog", "import", str(data), "--catalog", str(cat), "--index", "milvus",
                 "--device", "cpu"]) == 0
    out = tmp_path / "lib"
    assert main(["library", "analyze", clips[0], "--out", str(out), "--catalog", str(cat),
                 "--device", "cpu", "--workers", "1", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "Milvus Lite, which one process opens at a time" in err
    assert "--index milvus:URI" in err and "--index faiss" in err
    assert not list(out.glob("*.analysis.json"))
