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
    assert "Contracts: 3 kept, 0 broken" in r.stdout


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


def test_no_import_cycles():
    """No module of the project reaches itself through imports, lazy ones inside functions
    included (grimp, import-linter's graph): a cycle is two modules that cannot be understood,
    tested or moved one without the other (issue 15 found two: detect/'s registry and its
    detectors, the CLI and the benches). Imports for type annotations alone
    (``if TYPE_CHECKING``: the player's small controllers name the player they serve) run
    nowhere and are left out."""
    import grimp

    packages = ("engine", "app", "ui", "bench")
    graph = grimp.build_graph(*packages, include_external_packages=False,
                              exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if m.split(".")[0] in packages)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []
    for root in modules:  # Tarjan's strongly connected components, iteratively
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in set(modules)), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(
                        child)))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert not cycles, cycles


def test_no_module_of_the_product_is_over_500_lines():
    """Small modules (the house style: a tracker is five files, each one idea)."""
    long = {str(p.relative_to(ROOT)): n for pkg in ("engine", "app", "ui")
            for p in (ROOT / pkg).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long
