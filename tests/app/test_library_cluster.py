"""`library analyze --ray ADDRESS` on a simulated cluster on this machine: a Ray head with no
CPUs and two worker nodes of one CPU each, each started by `ray start` (as on a real cluster),
the worker nodes on their own loopback addresses. Both nodes take videos; the files are the
ones `analyze` writes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.cli import main
from engine.asymnet.model import DEFAULT_WEIGHTS
from engine.train.data import load_split

pytest.importorskip("ray", reason="the scale extra (make setup installs it)")
pytestmark = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(),
                                reason="AsymNet weights are not in resources/models")

RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_under(directory: str) -> list[int]:
    """The processes with a file open under ``directory`` (the cluster's session logs)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd).startswith(directory) for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@contextlib.contextmanager
def ray_cluster(env: dict[str, str]):
    """Yields the head's address; stops the three nodes (and anything of theirs) after."""
    temp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths are limited
    port = _free_port()
    nodes: list[subprocess.Popen] = []

    def start(args: list[str], log: str) -> None:
        with open(Path(temp) / log, "w") as f:  # the node keeps its own copy of the file
            nodes.append(subprocess.Popen(
                [RAY, "start", "--block", "--disable-usage-stats", *args], stdout=f,
                stderr=subprocess.STDOUT, env=env, start_new_session=True))

    try:
        start(["--head", "--port", str(port), "--num-cpus", "0", "--temp-dir", temp,
               "--include-dashboard", "false", "--ray-client-server-port", str(_free_port())],
              "head.log")
        address = f"127.0.0.1:{port}"
        for cpus, i in enumerate((2, 3)):  # one at a time, each once the cluster is up
            _wait_for_cpus(address, env, temp, cpus)
            start(["--address", address, "--num-cpus", "1", "--node-ip-address", f"127.0.0.{i}",
                   "--object-store-memory", str(100 * 2**20)], f"worker{i}.log")
        _wait_for_cpus(address, env, temp, 2)
        yield address
    finally:
        for p in reversed(nodes):  # SIGTERM: each node drains and stops its processes
            with contextlib.suppress(OSError):
                p.send_signal(signal.SIGTERM)
        for p in reversed(nodes):
            try:
                p.wait(timeout=45)
            except subprocess.TimeoutExpired:
                p.kill()
        for pid in _processes_under(temp):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_cpus(address: str, env: dict[str, str], temp: str, cpus: int) -> None:
    """Until the cluster's head answers and its nodes have ``cpus`` CPUs in all."""
    end = time.monotonic() + 120
    while time.monotonic() < end:
        r = subprocess.run([RAY, "status", "--address", address], env=env,
                           capture_output=True, text=True)
        if r.returncode == 0 and (f"/{cpus}.0 CPU" in r.stdout or cpus == 0):
            return
        time.sleep(0.5)
    logs = "\n".join(p.read_text()[-2000:] for p in Path(temp).glob("*.log"))
    raise AssertionError(f"the simulated cluster did not come up:\n{r.stdout}{r.stderr}\n{logs}")


def test_library_runs_on_a_simulated_cluster(tiny_benchmark, tmp_path):
    data, _ = tiny_benchmark
    clips = sorted(str(c.video) for c in load_split(data, "all"))
    # Ray 2.60 turns token authentication on for a new cluster; every node and the driver
    # then need the mode (the token itself is ~/.ray/auth_token, made by the head)
    env = os.environ | {"RAY_AUTH_MODE": "token"}
    out = tmp_path / "lib"
    with ray_cluster(env) as address:
        run = subprocess.run(
            [sys.executable, "-m", "app.cli", "library", "analyze", *clips, "--out", str(out),
             "--catalog", str(data), "--device", "cpu", "--ray", address, "--no-cache"],
            env=env, capture_output=True, text=True, timeout=600,
            cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(clips)} analysed, 0 done before, 0 failed" in run.stdout
    records = [json.loads(p.read_text()) for p in (out / ".library").glob("*.done.json")]
    assert len(records) == len(clips)
    # both worker nodes took work (a video's analysis, or some of its trajectories)
    assert len({n for r in records for n in r["nodes"]}) == 2, records
    single = tmp_path / "single.json"
    assert main(["analyze", clips[0], "--out", str(single), "--catalog", str(data),
                 "--device", "cpu"]) == 0
    first = next(r for r in records if r["video"] == str(Path(clips[0]).resolve()))
    assert (out / f"{first['name']}.analysis.json").read_bytes() == single.read_bytes()
