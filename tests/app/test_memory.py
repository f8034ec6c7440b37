"""The player's memory guards (app/memory.py) and the soak benchmark's command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _in_child(code: str, env_extra: dict[str, str] | None = None) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(ROOT), env=env, check=True)
    return out.stdout.strip()


def test_the_arena_cap_takes_effect_on_glibc_and_yields_to_the_users_setting():
    code = "from app.memory import limit_malloc_arenas as f, trim; print(f(), type(trim()))"
    assert _in_child(code) == "True <class 'bool'>"
    assert _in_child(code, {"MALLOC_ARENA_MAX": "4"}) == "False <class 'bool'>"


def test_soak_options_without_the_soak_are_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "app.cli", "bench", "--kiosk"],
                          capture_output=True, text=True, cwd=str(ROOT))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "video2shop: --minutes and --kiosk set the soak: add --only soak"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "bench", "--only", "soak",
                           "--minutes", "-1"], capture_output=True, text=True, cwd=str(ROOT))
    assert proc.returncode == 2 and "above 0" in proc.stderr
