"""The shop catalogue opened for matching: its store, the IFN vectors of its shop images and
the vector index over them. It proposes (stage 1 of two-stage retrieval: FAISS over the shop
images' embeddings, ``n_candidates`` nearest to a query, default 100); engine/matching.py's
``Matcher`` re-ranks them with AsymNet. The model it holds (``matcher``) is the one its
vectors come from: it embeds new images and names the index's version.

``Catalog.open`` takes a catalogue directory or a source it imports once
(engine/catalog/resolve.py), embeds images that lack a vector from the current model and
(re)builds the index when its sidecar does not match.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.asymnet.ifn import COLOR_VERSION, color_descriptor, shop_view
from engine.asymnet.model import TrajectoryMatcher
from engine.catalog.index import IndexStale, VectorIndex
from engine.catalog.milvus import MilvusIndex, parse_backend, read_backend, write_backend
from engine.catalog.resolve import resolve_catalog
from engine.catalog.store import CatalogError, CatalogStore, Product
from engine.categories import compatible

EMBED_BATCH = 64


@dataclass
class ProductMatch:
    product: Product
    score: float
    clip_weights: np.ndarray | None = None  # (n,) the tree's weight of each clip
    frame_indices: np.ndarray | None = None  # rows of the trajectory's frames the VFN saw


class Catalog:
    """A catalogue directory opened for matching: store, embeddings, index, and the model the
    embeddings come from."""

    def __init__(self, store: CatalogStore, matcher: TrajectoryMatcher, index: VectorIndex,
                 n_candidates: int = 100) -> None:
        if n_candidates < 1:
            raise ValueError(f"n_candidates must be at least 1, got {n_candidates}")
        self.store, self.matcher, self.index = store, matcher, index
        self.n_candidates = n_candidates
        rows, prods, vecs = store.embeddings(matcher.version)
        self.image_rows, self.image_products, self.vectors = rows, prods, vecs
        # each image's colour descriptor, for the re-ranker (None when one is missing)
        c_rows, _, colors = store.embeddings(COLOR_VERSION)
        self.colors = colors if np.array_equal(c_rows, rows) and len(rows) else None
        self._row_pos = {int(r): i for i, r in enumerate(rows)}
        self._products: dict[int, Product] = {}
        self._categories: dict[int, str] | None = None  # product row -> category, on demand

    @classmethod
    def open(cls, directory: str | Path, matcher: TrajectoryMatcher | None = None, *,
             weights: str | Path | None = None, device: str = "auto", n_candidates: int = 100,
             kind: str | None = None, log: Callable[[str], None] = lambda m: None,
             progress: Callable[[int, int], None] | None = None,
             image_roots: Sequence[str | Path] = (), index: str | None = None) -> Catalog:
        """The one way to open a catalogue (the player, the CLI, the evaluations and the
        benches): with ``matcher`` when one is at hand (several catalogues, one model), else
        the AsymNet of ``weights`` (default: the shipped ones) on ``device``. ``index``:
        ``faiss``, ``milvus`` or ``milvus:URI`` (engine/catalog/milvus.py), kept as the
        catalogue's choice; None: the one it was last built with."""
        if matcher is None:
            from engine.asymnet.model import DEFAULT_WEIGHTS

            matcher = TrajectoryMatcher(weights or DEFAULT_WEIGHTS, device=device)
        # a source (a benchmark directory such as the demo, a products.jsonl) is imported once
        store = CatalogStore(resolve_catalog(directory, log=log, image_roots=image_roots),
                             create=False)
        try:
            embed_missing(store, matcher, log=log, progress=progress)
            index = load_or_build_index(store, matcher.version, kind=kind, log=log,
                                        backend=index)
        except Exception:
            store.close()
            raise
        return cls(store, matcher, index, n_candidates)

    def close(self) -> None:
        self.index.close()
        self.store.close()

    def products(self, rows) -> list[Product]:
        missing = [int(r) for r in rows if int(r) not in self._products]
        if missing:
            self._products.update(self.store.products_by_rows(missing))
        return [self._products[int(r)] for r in rows]

    def rank_products(self, image_scores: np.ndarray, image_idx: np.ndarray, k: int
                       ) -> list[tuple[int, float, int]]:
        """(product row, best score, best image position in image_idx) for the top k."""
        best: dict[int, tuple[float, int]] = {}
        for j, (i, s) in enumerate(zip(image_idx, image_scores, strict=True)):
            p = int(self.image_products[i])
            if p not in best or s > best[p][0]:
                best[p] = (float(s), j)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
        return [(p, s, j) for p, (s, j) in ranked]

    def candidates(self, query: np.ndarray) -> np.ndarray:
        """Positions (into self.vectors) of every image of the products FAISS proposes."""
        _, ids = self.index.search(query, self.n_candidates)
        rows = [int(i) for i in ids[0] if i >= 0 and int(i) in self._row_pos]
        prods = {int(self.image_products[self._row_pos[r]]) for r in rows}
        return np.flatnonzero(np.isin(self.image_products, list(prods)))

    def like_with_like(self, pos: np.ndarray, category: str) -> np.ndarray:
        """The candidates (positions into self.vectors) whose product may be a garment called
        ``category`` (engine/categories.py: the same group, or a name outside the table); all
        of them when none may, so that a query is never left without an answer."""
        if not category or not len(pos):
            return pos
        if self._categories is None:
            self._categories = self.store.product_categories()
        keep = np.array([compatible(category, self._categories.get(int(p), ""))
                         for p in self.image_products[pos]], bool)
        return pos[keep] if keep.any() else pos

    def search_embedding(self, embedding: np.ndarray, k: int = 10) -> list[ProductMatch]:
        """Products for one image's embedding (a photo, a screenshot, a dragged box): FAISS,
        cosine."""
        q = np.asarray(embedding, np.float32).reshape(1, -1)
        _, ids = self.index.search(q, max(k * 4, k + 10))
        pos = np.array([self._row_pos[int(i)] for i in ids[0] if int(i) in self._row_pos],
                       np.int64)
        if len(pos) == 0:
            return []
        scores = self.vectors[pos] @ q[0]
        ranked = self.rank_products(scores, pos, k)
        prods = self.products([p for p, _, _ in ranked])
        return [ProductMatch(p, s) for p, (_, s, _) in zip(prods, ranked, strict=True)]


def embed_missing(store: CatalogStore, matcher: TrajectoryMatcher, *,
                  log: Callable[[str], None] = lambda m: None,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """IFN embeddings, in batches, for every image without one from the current model."""
    todo = store.images_without_embedding(matcher.version)
    if todo:
        log(f"embedding {len(todo)} shop images with {matcher.version}")
    for i in range(0, len(todo), EMBED_BATCH):
        chunk = todo[i:i + EMBED_BATCH]
        rows = [row for row, _ in chunk]
        vectors, colors = matcher.embed_views_and_colors(
            [shop_view(img) for img in _read_images(chunk)])
        store.put_embeddings(matcher.version, rows, vectors)
        store.put_embeddings(COLOR_VERSION, rows, colors)
        if progress:
            progress(i + len(chunk), len(todo))
    # a catalogue embedded before the re-ranker: its colour descriptors alone (no backbone)
    more = store.images_without_embedding(COLOR_VERSION)
    if more:
        log(f"colour descriptors of {len(more)} shop images")
    for i in range(0, len(more), EMBED_BATCH):
        chunk = more[i:i + EMBED_BATCH]
        store.put_embeddings(COLOR_VERSION, [row for row, _ in chunk],
                             np.stack([color_descriptor(shop_view(img))
                                       for img in _read_images(chunk)]))
    return len(todo)


def _read_images(chunk: list[tuple[int, str]]) -> list[np.ndarray]:
    images = []
    for _, path in chunk:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise CatalogError(f"shop image {path} is missing or unreadable; re-import the "
                               "catalogue to repair it")
        images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return images


def index_fingerprint(store: CatalogStore, model_version: str) -> str:
    """What the index's sidecar must say to be this store's: the products and images, the
    model, and how many vectors of it the store holds (an index is only the store's when it
    holds every vector)."""
    return f"{store.fingerprint()}:{model_version}:{store.embedding_count(model_version)}"


def load_or_build_index(store: CatalogStore, model_version: str, *, kind: str | None = None,
                        log: Callable[[str], None] = lambda m: None,
                        backend: str | None = None) -> VectorIndex | MilvusIndex:
    """The catalogue's index, loaded, or built when its description does not fit. ``backend``
    (``faiss``, ``milvus``, ``milvus:URI``) switches the catalogue to that index; None keeps
    the one it has."""
    fingerprint = index_fingerprint(store, model_version)
    recorded = read_backend(store.dir)
    name, uri = parse_backend(backend if backend is not None else recorded)
    if name == "milvus":
        index = _milvus_index(store, model_version, fingerprint, uri, kind, log)
        if recorded != (f"milvus:{uri}" if uri else "milvus"):  # kept once it works
            write_backend(store.dir, name, uri)
        return index
    if recorded != "faiss":
        write_backend(store.dir, "faiss", None)
    try:
        index = VectorIndex.load(store.dir, model_version=model_version, fingerprint=fingerprint)
        if kind is None or index.sidecar.kind == kind:
            return index
        log(f"index kind {index.sidecar.kind} was asked to be {kind}: rebuilding")
    except IndexStale as exc:
        log(str(exc))
    rows, _, vectors = store.embeddings(model_version)
    index = VectorIndex.build(vectors, rows, model_version=model_version,
                              fingerprint=fingerprint, kind=kind)
    index.save(store.dir)
    log(f"built a {index.sidecar.kind} index of {index.sidecar.count} images in "
        f"{index.sidecar.build_seconds:.1f} s")
    return index


def _milvus_index(store: CatalogStore, model_version: str, fingerprint: str, uri: str | None,
                  kind: str | None, log: Callable[[str], None]) -> MilvusIndex:
    where, collection = MilvusIndex.location(store.dir, uri)
    token = os.environ.get("MILVUS_TOKEN") if uri else None
    try:
        index = MilvusIndex.load(uri=where, collection=collection, model_version=model_version,
                                 fingerprint=fingerprint, token=token)
        if kind is None or index.sidecar.kind == kind:
            return index
        log(f"index kind {index.sidecar.kind} was asked to be {kind}: rebuilding")
        index.close()
    except IndexStale as exc:
        log(str(exc))
    rows, _, vectors = store.embeddings(model_version)
    index = MilvusIndex.build(vectors, rows, model_version=model_version,
                              fingerprint=fingerprint, uri=where, collection=collection,
                              token=token, kind=kind)
    log(f"built a Milvus {index.sidecar.kind} index of {index.sidecar.count} images in "
        f"{index.sidecar.build_seconds:.1f} s")
    return index
