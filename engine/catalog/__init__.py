"""The shop catalogue: a SQLite product store, importers that never let a bad row poison the
rest, a FAISS index over IFN embeddings with a JSON sidecar, and two-stage retrieval (FAISS
proposes, AsymNet re-ranks). docs/catalog.md."""
