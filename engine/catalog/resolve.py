"""Where a catalogue lives: a catalogue directory as is, or a source (a benchmark directory such
as the bundled demo, a products.jsonl or CSV) imported once into the cache and reused until the
source changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.cache import cache_dir
from engine.catalog.importer import import_catalog
from engine.catalog.store import DB_NAME, CatalogError

STAMP = "source.json"


def _source_file(path: Path) -> Path | None:
    for candidate in (path / "catalog" / "products.jsonl", path / "products.jsonl"):
        if candidate.is_file():
            return candidate
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson", ".csv", ".json"):
        return path
    return None


def resolve_catalog(path: str | Path, *, cache: str | Path | None = None,
                    log: Callable[[str], None] = lambda m: None,
                    image_roots: Sequence[str | Path] = ()) -> Path:
    """A catalogue directory for ``path``: itself when it holds a catalogue database, else a
    cached import of the products it holds (images from its folder or ``image_roots``)."""
    path = Path(path)
    if (path / DB_NAME).is_file():
        return path
    source = _source_file(path)
    if source is None:
        raise CatalogError(f"{path} is neither a catalogue directory ({DB_NAME}) nor a "
                           "products.jsonl, a CSV or a benchmark directory")
    stat = source.stat()
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    target = Path(cache or cache_dir()) / "catalogs" / key
    stamp = {"source": str(source.resolve()), "size": stat.st_size, "mtime": stat.st_mtime}
    stamp_path = target / STAMP
    if (target / DB_NAME).is_file() and stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()) == stamp:
                return target
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    log(f"importing the catalogue {source} into {target}")
    report = import_catalog(str(source), target, image_roots=image_roots)
    if report.skipped:
        log(f"{len(report.skipped)} catalogue rows skipped, first: {report.skipped[0].line}: "
            f"{report.skipped[0].reason}")
    stamp_path.write_text(json.dumps(stamp))
    return target
