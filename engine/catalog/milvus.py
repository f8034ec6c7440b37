"""The catalogue's vector index on Milvus (``pymilvus``), beside FAISS (engine/catalog/index.py).

``--index milvus`` keeps a Milvus Lite database in the catalogue directory (``milvus.db``:
embedded, no server to start); ``--index milvus:http://HOST:19530`` (or ``MILVUS_URI``, with
a token from ``MILVUS_TOKEN``) uses a Milvus server or cluster, one collection per catalogue.
The choice is the catalogue's: written to ``index-backend.json`` and used by every later
opening (the player, ``analyze --catalog``, ``catalog search``).

As with FAISS's sidecar, the collection carries what it was built from (the model version,
the store's fingerprint, the kind, the count) as collection properties; anything that does not
match the catalogue means rebuild (``IndexStale``), never an answer from stale vectors. IDs are
the store's image rows. The kind follows FAISS's rule: exact (``FLAT``) up to ``FLAT_MAX``
vectors, above that ``IVF_SQ8`` over 4 sqrt(n) cells, 32 probed.

pymilvus is an optional extra (``pip install .[scale]``): the player works without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog.index import IndexStale, Sidecar, check_sidecar, choose_kind, ivf_defaults
from engine.catalog.store import CatalogError

BACKEND_FILE = "index-backend.json"
LITE_FILE = "milvus.db"
FIELD, PRIMARY = "vector", "row"
INSERT_BATCH = 20_000
KINDS = {"flat": "FLAT", "ivf": "IVF_FLAT", "ivf_sq8": "IVF_SQ8", "hnsw": "HNSW"}


def parse_backend(text: str | None) -> tuple[str, str | None]:
    """``faiss``, ``milvus`` or ``milvus:URI`` -> (backend, uri or None). A plain ``milvus``
    takes ``MILVUS_URI`` when it is set, else Milvus Lite in the catalogue directory."""
    text = (text or "faiss").strip()
    if text == "faiss":
        return "faiss", None
    if text == "milvus":
        return "milvus", os.environ.get("MILVUS_URI") or None
    if text.startswith("milvus:") and len(text) > len("milvus:"):
        return "milvus", text[len("milvus:"):]
    raise CatalogError(f"unknown index {text!r}: use faiss, milvus (Milvus Lite in the "
                       "catalogue directory) or milvus:http://HOST:19530")


def read_backend(directory: str | Path) -> str:
    """The index the catalogue was last built with (``faiss`` when none was chosen)."""
    path = Path(directory) / BACKEND_FILE
    try:
        raw = json.loads(path.read_text())
        return "milvus:" + raw["uri"] if raw.get("uri") else str(raw.get("backend", "faiss"))
    except FileNotFoundError:
        return "faiss"
    except (json.JSONDecodeError, TypeError, KeyError, UnicodeDecodeError, AttributeError):
        raise CatalogError(f"{path} is unreadable: delete it and open the catalogue with "
                           "--index faiss or --index milvus") from None


def write_backend(directory: str | Path, backend: str, uri: str | None) -> None:
    """Records the choice (never the token), replaced in one step."""
    path = Path(directory) / BACKEND_FILE
    tmp = path.with_name(f".{BACKEND_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"backend": backend, "uri": uri}))
    os.replace(tmp, path)


def collection_name(directory: str | Path) -> str:
    """One collection per catalogue on a shared server: named by the directory's real path."""
    digest = hashlib.sha1(str(Path(directory).resolve()).encode()).hexdigest()[:16]
    return f"video2shop_{digest}"


def _client(uri: str, token: str | None):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise CatalogError("the Milvus index needs pymilvus and milvus-lite: pip install "
                           "'.[scale]' (make setup installs them), or use --index faiss") from None
    try:
        return MilvusClient(uri=uri, token=token or "")
    except Exception as exc:  # the server is down, the Lite file is held by another process
        raise CatalogError(f"Milvus at {uri} could not be opened ({_reason(exc)}); a Milvus "
                           "Lite file is one process's at a time") from None


def _reason(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]


class MilvusIndex:
    """The surface of ``VectorIndex``: ``search(queries, k) -> (scores, ids)`` and ``sidecar``."""

    def __init__(self, client, collection: str, sidecar: Sidecar, uri: str) -> None:
        self.client, self.collection, self.sidecar, self.uri = client, collection, sidecar, uri

    @staticmethod
    def location(directory: str | Path, uri: str | None) -> tuple[str, str]:
        """(uri, collection): Milvus Lite in the catalogue directory, or the given server."""
        if uri is None:
            return str(Path(directory) / LITE_FILE), "images"
        return uri, collection_name(directory)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, *, model_version: str,
              fingerprint: str, uri: str, collection: str, token: str | None = None,
              kind: str | None = None, params: dict[str, Any] | None = None) -> MilvusIndex:
        if len(vectors) == 0:
            raise CatalogError("the catalogue has no embedded images to index")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        n, dim = vectors.shape
        kind = kind or choose_kind(n)
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}")
        params = dict(params or {})
        if kind.startswith("ivf"):
            ivf_defaults(params, n)
        elif kind == "hnsw":
            params.setdefault("M", 32)
            params.setdefault("efConstruction", 64)
            params.setdefault("ef", 96)
        t0 = time.monotonic()
        client = _client(uri, token)  # a clear error when pymilvus is not installed
        from pymilvus import DataType

        try:
            if client.has_collection(collection):
                client.drop_collection(collection)
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field(PRIMARY, DataType.INT64, is_primary=True)
            schema.add_field(FIELD, DataType.FLOAT_VECTOR, dim=dim)
            client.create_collection(collection, schema=schema)
            for i in range(0, n, INSERT_BATCH):
                client.insert(collection, [{PRIMARY: int(r), FIELD: v} for r, v in
                                           zip(ids[i:i + INSERT_BATCH],
                                               vectors[i:i + INSERT_BATCH].tolist(),
                                               strict=True)])
            client.flush(collection)
            index_params = client.prepare_index_params()
            build_params = {k: v for k, v in params.items() if k in ("nlist", "M",
                                                                     "efConstruction")}
            index_params.add_index(FIELD, index_type=KINDS[kind], metric_type="IP",
                                   params=build_params)
            client.create_index(collection, index_params)
            side = Sidecar(kind, "inner_product", int(dim), model_version, int(n), fingerprint,
                           params, time.time(), round(time.monotonic() - t0, 2))
            # written last: a build killed before this is a collection without its sidecar,
            # which load() refuses (rebuilt), never a new index described by an old one
            client.alter_collection_properties(collection, {"video2shop": json.dumps(
                asdict(side))})
            client.load_collection(collection)
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(f"building the Milvus index at {uri} failed: "
                               f"{_reason(exc)}") from None
        return cls(client, collection, side, uri)

    @classmethod
    def load(cls, *, uri: str, collection: str, model_version: str, fingerprint: str,
             token: str | None = None, dim: int | None = None) -> MilvusIndex:
        client = _client(uri, token)
        try:
            if not client.has_collection(collection):
                raise IndexStale(f"{uri} has no index {collection} yet: building it")
            props = client.describe_collection(collection).get("properties") or {}
            raw = props.get("video2shop")
            if not raw:
                raise IndexStale(f"the Milvus index {collection} has no description (its build "
                                 "did not finish): rebuilding")
            side = Sidecar(**json.loads(raw))
        except IndexStale:
            raise
        except (json.JSONDecodeError, TypeError) as exc:
            raise IndexStale(f"the Milvus index's description is unreadable ({exc}): "
                             "rebuilding") from None
        except Exception as exc:
            raise CatalogError(f"Milvus at {uri} did not answer: {_reason(exc)}") from None
        check_sidecar(side, model_version=model_version, fingerprint=fingerprint, dim=dim)
        try:
            client.load_collection(collection)
            count = int(client.get_collection_stats(collection).get("row_count", -1))
        except Exception as exc:
            raise CatalogError(f"Milvus at {uri} did not answer: {_reason(exc)}") from None
        if count != side.count:
            raise IndexStale(f"the Milvus index holds {count} vectors, its description "
                             f"{side.count}: rebuilding")
        return cls(client, collection, side, uri)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores (Q, k), ids (Q, k)) as FAISS gives them; missing results have id -1."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.sidecar.dim:
            raise ValueError(f"queries have dimension {q.shape[1]}, the index {self.sidecar.dim}")
        k = min(k, max(1, self.sidecar.count))
        p = self.sidecar.params
        search = {"nprobe": int(p["nprobe"])} if "nprobe" in p else \
            {"ef": max(int(p["ef"]), k)} if "ef" in p else {}
        try:
            hits = self.client.search(self.collection, data=q.tolist(), limit=k,
                                      anns_field=FIELD, output_fields=[],
                                      search_params={"metric_type": "IP", "params": search})
        except Exception as exc:
            raise CatalogError(f"Milvus at {self.uri} did not answer: {_reason(exc)}") from None
        scores = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        for i, row in enumerate(hits):
            for j, h in enumerate(list(row)[:k]):
                scores[i, j], ids[i, j] = float(h["distance"]), int(h[PRIMARY])
        return scores, ids

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client whose server is gone: nothing to keep
            self.client.close()
