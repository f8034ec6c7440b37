"""``video2shop catalog import|info|search``: the shop catalogue from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_catalog_parser(sub, usage_error: type[Exception]) -> None:
    cat = sub.add_parser("catalog", help="import, inspect and search a shop catalogue",
                         description="The shop catalogue: a directory with a SQLite product "
                         "store, the shop images and a FAISS index (docs/catalog.md).")
    cs = cat.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    imp = cs.add_parser(
        "import", help="import products (jsonl, csv, json, Merchant Center and Shopify feeds, "
        "or an http(s) API)",
        description="Import products into a catalogue. SRC: a products.jsonl (the synthetic "
        "benchmark's format), a CSV with the same columns, a JSON list, a Google Merchant "
        "Center product feed (tab-separated or RSS/Atom XML), a Shopify products.json, a "
        "benchmark directory, or an http(s):// URL of a paginated JSON product API or a "
        "store's /products.json. The format is picked by content. Bad rows are skipped and "
        "reported by line; the rest imports; re-importing updates products by id.")
    imp.add_argument("src", metavar="SRC")
    imp.add_argument("--catalog", required=True, metavar="DIR")
    imp.add_argument("--batch", type=int, default=100, metavar="N",
                     help="products per transaction (default 100)")
    imp.add_argument("--report", metavar="FILE.json", help="also write the report as JSON")
    imp.add_argument("--shop-url", metavar="URL",
                     help="the store's address, for a Shopify products.json file (it names "
                     "products by handle: URL/products/HANDLE)")
    imp.add_argument("--currency", metavar="CODE",
                     help="the currency of rows that name none (Shopify's); default CNY")
    imp.add_argument("--images-from", action="append", default=[], metavar="DIR",
                     help="a folder local images may come from besides SRC's own (repeatable); "
                     "paths that leave these folders, by .., absolute paths or symlinks, are "
                     "refused")
    imp.add_argument("--no-index", action="store_true",
                     help="do not embed the images and build the index now")
    imp.add_argument("--weights", metavar="FILE.pt", help="AsymNet weights (IFN) for the index")
    imp.add_argument("--index", metavar="BACKEND",
                     help="the vector index, kept as the catalogue's from then on: faiss (the "
                     "default), milvus (Milvus Lite in DIR; MILVUS_URI when set) or "
                     "milvus:http://HOST:19530 (a Milvus server, token from MILVUS_TOKEN); "
                     "needs the scale extra (docs/scale.md)")
    imp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    info = cs.add_parser("info", help="counts, categories, index kind and model version")
    info.add_argument("--catalog", required=True, metavar="DIR")
    info.add_argument("--json", action="store_true", help="print JSON")
    se = cs.add_parser("search", help="find products from a photo or a screenshot",
                       description="Find the products that look like IMAGE (a photo, a "
                       "screenshot or a shop image): prints id, title, price and score.")
    se.add_argument("image", metavar="IMAGE")
    se.add_argument("--catalog", required=True, metavar="DIR")
    se.add_argument("-k", type=int, default=10, help="how many products (default 10)")
    se.add_argument("--weights", metavar="FILE.pt")
    se.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    cat.set_defaults(usage_error=usage_error)


def _bar(label: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        frac = done / max(1, total)
        sys.stderr.write(f"\r{label} [{'#' * int(frac * 30):<30}] {done}/{total}")
        sys.stderr.flush()

    return show


def run_catalog(args: argparse.Namespace) -> int:
    from engine.backbone import WeightsError
    from engine.catalog.importer import SourceError
    from engine.catalog.store import CatalogError

    usage = args.usage_error
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    try:
        if args.catalog_command == "import":
            return _import(args, log)
        if args.catalog_command == "info":
            return _info(args)
        return _search(args, log)
    except (SourceError, CatalogError, WeightsError) as exc:
        raise usage(str(exc)) from None


def _import(args, log) -> int:
    from engine.catalog.importer import import_catalog
    from engine.catalog.milvus import MilvusIndex
    from engine.catalog.retrieval import Catalog

    if args.batch < 1:
        raise args.usage_error("--batch must be at least 1")
    tty = sys.stderr.isatty()

    def progress(read: int, imported: int) -> None:
        if tty and read % 10 == 0:
            sys.stderr.write(f"\rimporting: {read} rows read, {imported} good")
            sys.stderr.flush()

    report = import_catalog(args.src, args.catalog, batch=args.batch, progress=progress,
                            log=lambda m: None, image_roots=args.images_from,
                            shop_url=args.shop_url, currency=args.currency)
    if tty:
        sys.stderr.write("\n")
    for s in report.skipped:
        print(f"skipped {s.line}{f' ({s.id})' if s.id else ''}: {s.reason}")
    r = report.to_json()
    print(f"imported {r['imported']} products ({r['new']} new, {r['updated']} updated), "
          f"skipped {len(report.skipped)} rows, in {report.seconds:.1f} s into {args.catalog}")
    if args.report:
        Path(args.report).write_text(json.dumps(r, indent=1))
    if not args.no_index:
        cat = Catalog.open(args.catalog, weights=args.weights, device=args.device, log=log,
                           progress=_bar("embedding"), index=args.index)
        if tty:
            sys.stderr.write("\n")
        side = cat.index.sidecar
        where = f" on Milvus ({cat.index.uri})" if isinstance(cat.index, MilvusIndex) else ""
        print(f"index: {side.kind}{where}, {side.count} images, {side.model_version}")
        cat.close()
    return 0


def _info(args) -> int:
    from engine.catalog.index import SIDECAR_FILE
    from engine.catalog.milvus import read_backend
    from engine.catalog.store import CatalogStore

    with CatalogStore(args.catalog, readonly=True) as store:
        products, images = store.count()
        side_path = Path(args.catalog) / SIDECAR_FILE
        backend = read_backend(args.catalog)
        # FAISS's sidecar describes the index only while FAISS is the catalogue's index
        side = json.loads(side_path.read_text()) if side_path.is_file() and \
            backend == "faiss" else None
        info = {"catalog": str(args.catalog), "products": products, "images": images,
                "categories": store.categories(),
                "index": ({k: side[k] for k in ("kind", "count", "dim", "model_version",
                                                  "params")} if side else None),
                "backend": backend,
                "imports": store.imports()[-5:]}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{products} products, {images} images in {args.catalog}")
    print("categories: " + ", ".join(f"{c} {n}" for c, n in info["categories"].items()))
    if info["backend"] != "faiss":
        print(f"index: {info['backend']} (its description lives in Milvus)")
    elif side:
        print(f"index: {side['kind']} over {side['count']} images, dimension {side['dim']}, "
              f"model {side['model_version']}")
    else:
        print("index: none yet (built on first use or by `catalog import`)")
    for imp in info["imports"]:
        print(f"import {imp['source']}: {imp['imported']} imported, {imp['skipped']} skipped")
    return 0


def _search(args, log) -> int:
    import cv2

    from engine.catalog.retrieval import Catalog
    from engine.matching import Matcher

    if args.k < 1:
        raise args.usage_error("-k must be at least 1")
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        raise args.usage_error(f"{args.image} is missing or not an image OpenCV can read")
    cat = Catalog.open(args.catalog, weights=args.weights, device=args.device, log=log)
    try:
        results = Matcher(cat).search_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), args.k)
    finally:
        cat.close()
    for i, m in enumerate(results, 1):
        p = m.product
        print(f"{i:>2}. {p.id}  {m.score:.3f}  {p.price:.2f} {p.currency}  {p.title}")
    return 0
