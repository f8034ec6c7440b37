"""Without libVLC the player says which packages to install and still plays (silently)."""

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.playback import create_backend
backend, warning = create_backend(prefer_vlc=True)
print(backend.name)
print(warning)
"""


def test_missing_libvlc_names_the_packages_and_falls_back():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_VLC_LIB_PATH": "/nonexistent.so"}
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    name, warning = r.stdout.splitlines()[:2]
    assert name == "opencv (no sound)"
    assert "libvlc5 vlc-plugin-base" in warning
