"""The layering rules of ../shared/ARCHITECTURE.md and the house style, checked on every run."""

import pkgutil
import subprocess
import sys
import tomllib

import engine
from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def test_ruff_is_clean():
    r = subprocess.run([tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_contracts_hold():
    r = subprocess.run([tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 2 kept, 0 broken" in r.stdout


def test_ui_contract_forbids_every_engine_module_but_types():
    """New engine modules must be added to the ui contract, or ui could import them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    ui_contract = next(c for c in config["contracts"] if c["source_modules"] == ["ui"])
    forbidden = set(ui_contract["forbidden_modules"])
    modules = {
        f"engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__) if m.name != "types"
    }
    assert modules <= forbidden, f"add to the ui contract: {sorted(modules - forbidden)}"


def test_the_engine_runs_without_qt_or_vlc():
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('PySide6', 'vlc') if m in sys.modules]\n"
        "print(bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_one_module_opens_videos():
    """engine/video.py owns decoding (FrameStream in order, VideoReader at random): a second
    copy of the seek-and-check drifts (issue 15)."""
    openers = sorted(str(p.relative_to(ROOT)) for pkg in ("engine", "app", "ui")
                     for p in (ROOT / pkg).rglob("*.py") if "VideoCapture(" in p.read_text())
    assert openers == ["engine/video.py"], openers
