"""Where the bundled resources are: the one place that knows (issue 15).

The ``resources`` package holds data only (demo clip and catalogue, weights, labels,
translations); ``importlib.resources`` finds it wherever it is installed, in a checkout
(editable install), a built wheel in a fresh virtual environment, or mutmut's copy of the
tree. No other module computes a path to it from ``__file__``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """The path of a bundled resource (it may not exist: the .qm translations are compiled
    by `make setup`)."""
    return Path(str(files("resources").joinpath(*parts)))


ROOT = resource()
MODELS = ROOT / "models"
DEMO = ROOT / "demo"
DEMO_VIDEO = DEMO / "demo.mp4"
DEMO_ANNOTATIONS = DEMO / "demo.json"
DEMO_CATALOG = DEMO  # catalog/products.jsonl and its images
REAL_LABELS = ROOT / "real" / "labels.json"
I18N = ROOT / "i18n"
GARMENT_WEIGHTS = MODELS / "garment_detector.pt"
ASYMNET_WEIGHTS = MODELS / "asymnet.pt"
WORLD_WEIGHTS = MODELS / "world.json"
