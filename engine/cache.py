"""Where the engine keeps what it can recompute: ``$VIDEO2SHOP_CACHE``, else
``~/.cache/video2shop`` (compiled models, cached features, imported catalogues)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("VIDEO2SHOP_CACHE", Path.home() / ".cache" / "video2shop"))
