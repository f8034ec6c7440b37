"""SIGTERM and Ctrl+C close the player cleanly in every state it can be in, wherever its output
goes: a pipe whose reader has exited (``video2shop play 2>&1 | head -c 10``: before the fix
the handler's own message raised BrokenPipeError and only kill -9 ended the player) or a full
disk (/dev/full answers every write with ENOSPC).

The player runs as a booth runs it: ``main.py`` in a process of its own, offscreen, its
settings in a file of its own. It is signalled once its handlers are installed, read from
/proc/PID/status (SigCgt gains SIGTERM's bit just before the event loop starts), and must exit
0 by itself within the timeout, having saved its settings on the way out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _catches_sigterm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    except FileNotFoundError:
        pass
    return False


def _launch(args: list[str], output: str, tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VIDEO2SHOP_AOUT="dummy",
               VIDEO2SHOP_SETTINGS=str(tmp_path / "settings.ini"),
               VIDEO2SHOP_CACHE=str(tmp_path / "cache"))
    if output == "closed pipe":
        read, write = os.pipe()
        os.close(read)  # the log reader has gone before the player writes a line
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], env=env,
                                stdout=write, stderr=write, cwd=str(ROOT))
        os.close(write)
    else:  # a full disk
        with open("/dev/full", "w") as full:
            proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], env=env,
                                    stdout=full, stderr=full, cwd=str(ROOT))
    return proc


def _signal_and_wait(proc: subprocess.Popen, sig: int, settle_s: float) -> int:
    end = time.monotonic() + 120
    while not _catches_sigterm(proc.pid):
        assert proc.poll() is None, f"the player exited before it was up (exit {proc.returncode})"
        assert time.monotonic() < end, "the player never installed its signal handlers"
        time.sleep(0.1)
    time.sleep(settle_s)  # inside the event loop: playing, looping, showing its message
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{signal.Signals(sig).name} did not close the player within 60 s")


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(os.urandom(64 * 1024))
    return path


# each state once with each output, the two signals shared between them
CASES = [
    ("the demo playing", ["--loop"], "closed pipe", signal.SIGTERM),
    ("the demo playing", ["--loop"], "full disk", signal.SIGINT),
    ("a bad file's message", ["BAD"], "closed pipe", signal.SIGINT),
    ("a bad file's message", ["BAD"], "full disk", signal.SIGTERM),
    ("no video (a missing file)", ["MISSING", "--no-engine"], "closed pipe", signal.SIGTERM),
    ("no video (a missing file)", ["MISSING", "--no-engine"], "full disk", signal.SIGINT),
    ("the kiosk loop", ["--kiosk"], "closed pipe", signal.SIGINT),
    ("the kiosk loop", ["--kiosk"], "full disk", signal.SIGTERM),
]


@pytest.mark.parametrize("state,args,output,sig", CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3].name}" for c in CASES])
def test_a_signal_closes_the_player(tmp_path, bad_file, state, args, output, sig):
    args = [str(bad_file) if a == "BAD" else str(tmp_path / "gone.mp4") if a == "MISSING"
            else a for a in args]
    proc = _launch(args, output, tmp_path)
    code = _signal_and_wait(proc, sig, settle_s=2.0)
    assert code == 0, f"{state}, output to a {output}: exit {code} after {sig.name}"
    # it closed as its close button closes it: the window's geometry was saved
    assert "geometry" in (tmp_path / "settings.ini").read_text()


def test_a_signal_dismisses_an_open_dialog_and_closes(qtbot, make_player, marker_clip):
    """In-process, as a dialog runs its own event loop: File > Open's dialog is up when
    SIGTERM arrives; the dialog goes, the window closes (the controller shut down) and the
    dialog's event loop is left, so the slot that opened it returns."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    from app.cli import _close_on_signals

    window, controller = make_player()
    assert controller.open_video(str(marker_clip[0]))
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    seen: dict[str, object] = {}
    try:
        _close_on_signals(window)

        def when_dialog_is_up():
            dialog = QApplication.activeModalWidget()
            if not isinstance(dialog, QFileDialog):
                QTimer.singleShot(50, when_dialog_is_up)
                return
            seen["dialog"] = dialog.windowTitle()
            os.kill(os.getpid(), signal.SIGTERM)

        QTimer.singleShot(50, when_dialog_is_up)
        window.show_open_dialog()  # blocks in the dialog's event loop until it is dismissed
        seen["returned"] = True
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    assert seen == {"dialog": "Open video", "returned": True}
    assert QApplication.activeModalWidget() is None
    assert not window.isVisible()
    assert controller.reader is None  # shut down: the video released


def test_a_quiet_stream_drops_output_once_its_pipe_has_closed():
    """What the player's print, exception hook and signal handler write through: the first
    failed write (EPIPE) is kept as the reason, the descriptor then points at /dev/null, and
    no later write or flush raises."""
    from app.stdio import QuietStream

    read, write = os.pipe()
    raw = os.fdopen(write, "w", buffering=1)
    stream = QuietStream(raw)
    assert stream.write("before\n") == 7
    assert os.read(read, 100) == b"before\n"
    os.close(read)
    assert stream.write("after the reader left\n") == 22  # would be BrokenPipeError
    assert isinstance(stream.failed, BrokenPipeError)
    print("and again", file=stream)
    stream.flush()
    assert os.readlink(f"/proc/self/fd/{raw.fileno()}") == "/dev/null"
    raw.close()


def test_a_quiet_stream_survives_a_full_disk():
    from app.stdio import QuietStream

    with open("/dev/full", "w", buffering=1) as full:
        stream = QuietStream(full)
        stream.write("a line\n")
        assert stream.failed is not None and stream.failed.errno == 28  # ENOSPC
        stream.write("x" * 100_000)
        stream.flush()
