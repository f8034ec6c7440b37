"""`video2shop library analyze`: a list of videos as Ray tasks (engine/library/task.py): a
video's analysis, then its trajectories matched a few at a time, then its files.

Without an address, a local Ray instance on this machine's cores (``workers`` of them); with
one, an existing cluster (``ray start`` on each node, video2shop installed on each, the videos,
the catalogue and the output directory at the same paths on every node: a shared file system).

Resumable: videos finished for the same settings are skipped before Ray starts. A worker killed
mid-task (kill -9, out of memory) loses that task only: Ray runs it again (``RETRIES``), and
what other videos finished is on disk already. A video that fails (a broken file, an error) is
reported with its error and does not stop the others. Each finished video's cache rows are
merged into the player's analysis cache (``cache``), so the player opens it at once.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.library.task import (
    WORK,
    Job,
    analyse_part,
    chunks,
    done_record,
    finish_video,
    is_done,
    match_part,
    output_name,
)

RETRIES = 2  # runs of a video after its worker died, besides the first
REACH_TIMEOUT_S = 5.0  # for a cluster's head to accept a connection


class LibraryError(Exception):
    """Nothing could be run: Ray missing or unreachable, an unusable output directory."""


@dataclass
class Outcome:
    video: str
    status: str  # "done", "skipped" (finished before), "failed"
    name: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def read_list(path: str | Path) -> list[str]:
    """A list file: one video a line; blank lines and ``#`` comments skipped; relative paths
    are relative to the list's folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"cannot read the list {p}: {exc}") from None
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            v = Path(line).expanduser()
            out.append(str(v if v.is_absolute() else p.parent / v))
    return out


def _one_cpu() -> str:
    """A task's threads held to its CPUs (Ray sets OMP_NUM_THREADS); returns its Ray node."""
    import cv2
    import ray
    import torch

    threads = max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return ray.get_runtime_context().get_node_id()


def _analyse_task(video: str, out: str, job: Job, fp: str) -> dict[str, Any]:
    return analyse_part(video, out, job, fp, node=_one_cpu())


def _match_task(video: str, job: Job, tracks: list, height: float) -> dict[str, Any]:
    return match_part(video, job, tracks, height, node=_one_cpu())


def _reason(exc: BaseException) -> str:
    """A failed task's error in a line: the video's own exception, not Ray's wrapping."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    name = type(exc).__name__
    if name in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError"):
        return (f"the worker analysing it died {RETRIES + 1} times ({name}): killed, or out of "
                "memory")
    text = str(exc).strip().splitlines()
    return f"{name}: {text[-1] if text else ''}".strip(": ")


def _check_reachable(address: str) -> None:
    """Fails at once when nothing listens at a cluster's address: Ray itself retries for
    about ten minutes before it gives up (measured with Ray 2.60)."""
    if address == "auto":  # the cluster `ray start` left its address for, on this machine
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise LibraryError(f"--ray {address}: give the head's address as HOST:PORT (the port "
                           "`ray start --head` printed, 6379 by default), ray://HOST:PORT for "
                           "Ray Client, or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise LibraryError(f"nothing answers at {hostport} ({exc.strerror or exc}): start the "
                           "cluster's head there (`ray start --head --port PORT`) or give its "
                           "address") from None


def _start_ray(address: str | None, workers: int | None) -> None:
    try:
        import ray
    except ImportError:
        raise LibraryError("Ray is not installed: `pip install .[scale]` (make setup does)"
                           ) from None
    if address:
        _check_reachable(address)
    kw: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                          "log_to_driver": False}
    for attempt in (1, 2):
        try:
            if address:
                ray.init(address=address, **kw)
            else:  # "local": a new instance, never a cluster that happens to run here
                ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, **kw)
            return
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError: Ray's words
            ray.shutdown()
            # a local instance's raylet has 30 s to register (Ray 2.60, fixed); on a loaded
            # two-core machine it once took longer: a second start, then Ray's words
            if address or attempt == 2:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise LibraryError(f"cannot start or reach {where}: {exc}") from None


def run_library(videos: Sequence[str | Path], out: str | Path, job: Job, *,
                address: str | None = None, workers: int | None = None,
                gpus_per_video: float = 0.0, cache=None,
                prepare: Callable[[], None] | None = None,
                on_outcome: Callable[[Outcome, int, int], None] | None = None,
                on_tick: Callable[[int, int, float], None] | None = None) -> list[Outcome]:
    """Analyses ``videos`` into ``out``; returns an outcome per video, in the given order.
    ``cache``: an engine.analysis.cache.AnalysisCache each finished video is merged into.
    ``prepare``: called once there is a video to analyse, while Ray starts (the CLI opens the
    catalogue, importing and indexing it once for every worker); what it raises is raised
    before any video starts. ``on_outcome(outcome, finished, total)`` after each video;
    ``on_tick(finished, total, seconds)`` about every second while videos run."""
    from engine.video import fingerprint

    out = Path(out)
    try:
        (out / WORK).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot write the output directory {out}: {exc}") from None
    outcomes: list[Outcome] = []
    todo: list[tuple[int, str, str]] = []  # (position, video, fingerprint)
    seen: dict[str, int] = {}
    for v in videos:
        v = str(v)
        try:
            fp = fingerprint(v)
        except OSError as exc:
            outcomes.append(Outcome(v, "failed", error=f"cannot read it: {exc.strerror or exc}"))
            continue
        name = output_name(v, fp)
        if name in seen:
            outcomes.append(Outcome(v, "failed", name, error=f"the same video as "
                                    f"{outcomes[seen[name]].video} (listed twice)"))
            continue
        seen[name] = len(outcomes)
        if is_done(out, name, job):
            outcomes.append(Outcome(v, "skipped", name, done_record(out, name) or {}))
        else:
            outcomes.append(Outcome(v, "pending", name))
            todo.append((len(outcomes) - 1, v, fp))
    total, finished = len(outcomes), 0

    def finish(o: Outcome) -> None:
        nonlocal finished
        finished += 1
        if o.status in ("done", "skipped") and cache is not None:
            cache.merge(out / WORK / f"{o.name}.sqlite")
        write_summary(out, outcomes)
        if on_outcome:
            on_outcome(o, finished, total)

    for o in outcomes:
        if o.status != "pending":
            finish(o)
    if not todo:
        return outcomes
    failure: list[BaseException] = []

    def guarded() -> None:
        try:
            prepare()
        except BaseException as exc:  # raised below, in this thread
            failure.append(exc)

    helper = threading.Thread(target=guarded, daemon=True) if prepare else None
    if helper:
        helper.start()
    try:
        _start_ray(address, workers)
    except LibraryError:
        if helper:
            helper.join()
        if failure:  # what was wrong with the input first: Ray may have failed because of it
            raise failure[0] from None
        raise
    if helper:
        helper.join()
    import ray

    if failure:
        ray.shutdown()
        raise failure[0]
    # the largest files first: a long video started last would keep one worker busy alone
    todo.sort(key=lambda item: -_size(item[1]))

    options = {"num_cpus": 1, "num_gpus": gpus_per_video, "max_retries": RETRIES,
               "retry_exceptions": False}
    analyse = ray.remote(**options)(_analyse_task)
    match = ray.remote(**options)(_match_task)
    t0 = time.monotonic()
    # a video: its analysis, then its trajectories matched in pieces, then its files
    parts: dict[Any, tuple[str, int]] = {}  # ref -> ("analysis" | "matches", outcome)
    done_parts: dict[int, dict[str, Any]] = {}
    paths = {i: str(Path(v).resolve()) for i, v, _ in todo}  # a worker's cwd is not ours
    fps = {i: fp for i, _, fp in todo}
    try:
        for i, _, fp in todo:
            parts[analyse.remote(paths[i], str(out.resolve()), job, fp)] = ("analysis", i)
        pending = list(parts)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in ready:
                what, i = parts.pop(ref)
                o = outcomes[i]
                if o.status == "failed":  # another of its parts failed first
                    continue
                try:
                    value = ray.get(ref)
                    if what == "analysis":
                        pieces = chunks(value["annotations"].tracks) if job.catalog else []
                        done_parts[i] = {"analysed": value, "matched": [], "left": len(pieces)}
                        for piece in pieces:
                            r = match.remote(paths[i], job, piece, value["height"])
                            parts[r] = ("matches", i)
                            pending.append(r)
                    else:
                        done_parts[i]["matched"].append(value)
                        done_parts[i]["left"] -= 1
                    if done_parts[i]["left"] == 0:
                        d = done_parts.pop(i)
                        o.record = finish_video(paths[i], out, job, fps[i], d["analysed"],
                                                d["matched"])
                        o.status = "done"
                except Exception as exc:  # the video's error, or its worker's death
                    o.status, o.error = "failed", _reason(exc)
                    done_parts.pop(i, None)
                if o.status != "pending":
                    finish(o)
            if on_tick:
                on_tick(finished, total, time.monotonic() - t0)
    finally:
        ray.shutdown()
    return outcomes


def _size(video: str) -> int:
    try:
        return os.stat(video).st_size
    except OSError:
        return 0


SUMMARY_FIELDS = ("video", "status", "output", "frames", "tracks", "matched", "seconds",
                  "host", "error")


def write_summary(out: Path, outcomes: Sequence[Outcome]) -> Path:
    """``out/summary.csv``: a row per video, rewritten (atomically) as videos finish."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, SUMMARY_FIELDS, lineterminator="\n")
    w.writeheader()
    for o in outcomes:
        r = o.record
        w.writerow({"video": o.video, "status": o.status,
                    "output": f"{o.name}.analysis.json" if o.status in ("done", "skipped")
                    else "", "frames": r.get("frames", ""), "tracks": r.get("tracks", ""),
                    "matched": r.get("matched", ""), "seconds": r.get("seconds", ""),
                    "host": r.get("host", ""), "error": o.error})
    path = out / "summary.csv"
    tmp = path.with_name(f"summary.csv.tmp-{os.getpid()}")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return path
