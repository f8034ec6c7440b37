"""``video2shop library analyze``: a library of videos analysed (and matched) on Ray, locally or
on a cluster (engine/library, docs/scale.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_library_parser(sub, positive_int, detector_help: str) -> None:
    lib = sub.add_parser("library", help="analyse a library of videos on Ray (local or a "
                         "cluster)", description="Many videos at once, as Ray tasks: "
                         "docs/scale.md.")
    ls = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    an = ls.add_parser(
        "analyze", help="analyse (and with --catalog, match) every video into a directory",
        description="Analyse every video as `analyze` does (with --catalog, each trajectory "
        "matched), as Ray tasks (a video's analysis, then its trajectories matched a few at a "
        "time): DIR/NAME-FP.analysis.json per video, DIR/summary.csv, "
        "and each video's analysis merged into the player's cache, so the player opens it with "
        "its boxes and cards at once. A second run skips the videos already done with the same "
        "settings; a task whose worker dies is run again; a video that fails is reported and the "
        "others go on. Exit status 1 when any video failed.")
    an.add_argument("videos", nargs="*", metavar="VIDEO")
    an.add_argument("--list", metavar="FILE",
                    help="a file naming the videos, one a line (# comments; relative paths "
                    "from the file's folder), besides any VIDEO")
    an.add_argument("--out", required=True, metavar="DIR", help="where the results go")
    an.add_argument("--catalog", metavar="DIR",
                    help="match every trajectory against this catalogue (the same path on "
                    "every node of a cluster)")
    an.add_argument("--ray", metavar="ADDRESS",
                    help="an existing Ray cluster (HOST:PORT of its head, or `auto`); default: "
                    "a local Ray instance on this machine")
    an.add_argument("--workers", type=positive_int, metavar="N",
                    help="videos at once on the local instance (default: the number of cores)")
    an.add_argument("--gpus-per-video", type=float, default=0.0, metavar="G",
                    help="GPUs a video's task asks Ray for (default 0: CPU workers)")
    an.add_argument("--detector", default="auto", metavar="NAME", help=detector_help)
    an.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    an.add_argument("--stride", type=positive_int, default=3, metavar="K",
                    help="run the detector every K-th frame (default 3, the player's: its "
                    "cache is only used for the player's stride)")
    an.add_argument("--batch", type=positive_int, default=4, metavar="B",
                    help="frames per detector call")
    an.add_argument("--top", type=positive_int, default=10, metavar="K",
                    help="matches kept per track (default 10)")
    an.add_argument("--cache", metavar="FILE",
                    help="the analysis cache to merge results into (default: the player's, "
                    "$VIDEO2SHOP_CACHE/analysis.sqlite)")
    an.add_argument("--no-cache", action="store_true",
                    help="write the results into DIR only, not the player's cache")


_LITE_REFUSAL = (
    "{catalog} keeps its vectors in Milvus Lite, which one process opens at a time, and each "
    "worker is a process of its own: put the vectors on a Milvus server (`catalog import SRC "
    "--catalog DIR --index milvus:URI`) or back on FAISS (--index faiss)")


def _refuse_milvus_lite(catalog: str, usage_error: type[Exception]) -> None:
    """Refuses a catalogue directory recorded as Milvus Lite before Ray starts: opening the
    Lite file (a gRPC server in this process) while Ray forks its own can fail Ray's start."""
    from engine.catalog.milvus import parse_backend, read_backend
    from engine.catalog.store import DB_NAME, CatalogError

    if not (Path(catalog) / DB_NAME).is_file():
        return  # a source: imported into a FAISS catalogue, or refused by open_catalog
    try:
        lite = parse_backend(read_backend(catalog)) == ("milvus", None)
    except CatalogError as exc:
        raise usage_error(str(exc)) from None
    if lite:
        raise usage_error(_LITE_REFUSAL.format(catalog=catalog))


def run_library(args: argparse.Namespace, usage_error: type[Exception]) -> int:
    from engine.library.driver import LibraryError, Outcome
    from engine.library.driver import run_library as run
    from engine.library.task import Job

    videos = list(args.videos)
    try:
        if args.list:
            from engine.library.driver import read_list

            videos += read_list(args.list)
    except LibraryError as exc:
        raise usage_error(str(exc)) from None
    if not videos:
        raise usage_error("library analyze: no videos (name them, or give --list FILE)")
    if args.ray and args.workers:
        raise usage_error("--workers is for the local Ray instance; a cluster has the "
                          "workers its nodes were started with")
    if args.catalog:
        _refuse_milvus_lite(args.catalog, usage_error)

    def open_catalog() -> None:
        """Fails a bad catalogue before any video starts, and imports and indexes a new one
        once for every worker (run while Ray starts)."""
        from engine.backbone import WeightsError
        from engine.catalog.milvus import LITE_FILE, MilvusIndex
        from engine.catalog.retrieval import Catalog
        from engine.catalog.store import CatalogError

        try:
            catalog = Catalog.open(args.catalog, device=args.device,
                                   log=lambda m: print(m, file=sys.stderr))
        except (CatalogError, WeightsError) as exc:
            raise usage_error(str(exc)) from None
        lite = isinstance(catalog.index, MilvusIndex) and catalog.index.uri.endswith(LITE_FILE)
        catalog.close()
        if lite:  # the embedded server stays with the first process that opened the file
            raise usage_error(_LITE_REFUSAL.format(catalog=args.catalog))
    cache = None
    if not args.no_cache:
        from engine.analysis.cache import AnalysisCache

        cache = AnalysisCache(args.cache)
        if cache.warning:
            print(f"warning: {cache.warning}", file=sys.stderr)
    job = Job(catalog=str(Path(args.catalog).resolve()) if args.catalog else None,
              detector=args.detector, device=args.device, stride=args.stride,
              batch=args.batch, top=args.top)
    tty = sys.stderr.isatty()

    def outcome(o: Outcome, finished: int, total: int) -> None:
        r = o.record
        what = {"done": f"{r.get('tracks')} trajectories, {r.get('matched')} matched, "
                        f"{r.get('seconds')} s on {r.get('host')}",
                "skipped": "done before, skipped",
                "failed": f"FAILED: {o.error}"}[o.status]
        lead = "\r" if tty else ""
        print(f"{lead}[{finished}/{total}] {o.video}: {what}" + " " * 10, file=sys.stderr,
              flush=True)

    def tick(finished: int, total: int, seconds: float) -> None:
        if tty:
            bar = "#" * int(30 * finished / max(total, 1))
            sys.stderr.write(f"\rlibrary [{bar:<30}] {finished}/{total} videos, {seconds:.0f} s")
            sys.stderr.flush()

    try:
        outcomes = run(videos, args.out, job, address=args.ray, workers=args.workers,
                       gpus_per_video=args.gpus_per_video, cache=cache,
                       prepare=open_catalog if args.catalog else None,
                       on_outcome=outcome, on_tick=tick)
    except LibraryError as exc:
        raise usage_error(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: the videos finished are kept in {args.out}; the same command "
              "goes on from there", file=sys.stderr)
        return 130
    finally:
        if cache is not None:
            cache.close()
    if cache is not None and cache.warning:
        print(f"warning: {cache.warning}", file=sys.stderr)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("done", "skipped", "failed")}
    where = "" if cache is None else f"; the player's cache ({cache.path}) has them"
    print(f"{args.out}: {counts['done']} analysed, {counts['skipped']} done before, "
          f"{counts['failed']} failed (summary.csv){where}")
    return 1 if counts["failed"] else 0
