"""The subcommands that do not open a window: synth, analyze, eval, bench, train."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.errors import UsageError
from engine.resources import DEMO_CATALOG


def run_synth(args: argparse.Namespace) -> int:
    from bench.synth.generate import SynthError, generate

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise UsageError(f"{out} is not empty: choose another --out, or --force to write into it")
    try:
        card = generate(
            out,
            args.preset,
            args.seed,
            clips=args.clips,
            products=args.products,
            seconds=args.seconds,
            width=args.width,
            height=args.height,
            fps=args.fps,
            workers=args.workers,
            log=lambda m: print(m, file=sys.stderr),
            catalog_only=args.catalog_only,
        )
    except SynthError as exc:
        raise UsageError(str(exc)) from None
    c = card["counts"]
    if args.catalog_only:
        print(f"wrote {out}: {c['products']} products ({c['families']} families, "
              f"{c['shop_images']} images) in {card['seconds_taken']} s "
              f"({card['products_per_minute']} products a minute); no clips")
        return 0
    print(
        f"wrote {out}: {c['clips']} clips ({c['video_seconds']} s of video, {c['shots']} shots), "
        f"{c['trajectories']} trajectories, {c['products']} products ({c['products_worn']} worn, "
        f"{c['shop_images']} images) in {card['seconds_taken']} s "
        f"({card['seconds_per_video_second']} s per second of video); "
        f"{c['occluded_fraction']:.0%} of trajectories 40%+ occluded at times"
    )
    return 0


def _detector(name: str, device: str):
    from engine.detect import DetectorError, create_detector

    try:
        return create_detector(name, device=device)
    except (DetectorError, RuntimeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _progress_printer(label: str):
    if not sys.stderr.isatty():
        return lambda p: None

    def show(p) -> None:
        frac = p.frame / max(1, p.frame_count)
        rate = p.frame / max(p.seconds, 1e-9)
        sys.stderr.write(f"\r{label} [{'#' * int(frac * 30):<30}] {p.frame}/{p.frame_count} "
                         f"frames, {p.tracks} tracks, {rate:.1f} fps")
        sys.stderr.flush()

    return show


def run_analyze(args: argparse.Namespace) -> int:
    from engine.analysis import analyze
    from engine.video import VideoError

    catalog = None
    if args.catalog and not args.no_match:  # a bad catalogue fails before the long analysis
        from engine.backbone import WeightsError
        from engine.catalog.retrieval import Catalog
        from engine.catalog.store import CatalogError

        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        try:
            catalog = Catalog.open(args.catalog, device=args.device, log=log)
        except (CatalogError, WeightsError) as exc:
            raise UsageError(str(exc)) from None
    try:
        detector = _detector(args.detector, args.device)
        out = Path(args.out) if args.out else Path(args.video).with_suffix(".analysis.json")
        show = _progress_printer("analyzing")
        try:
            gen = analyze(args.video, detector, stride=args.stride, batch=args.batch)
            while True:
                try:
                    show(next(gen))
                except StopIteration as stop:
                    ann = stop.value
                    break
        except VideoError as exc:
            raise UsageError(str(exc)) from None
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        matched = ""
        if catalog is not None:
            from engine.matching import Matcher

            Matcher(catalog).match_video(args.video, ann, k=args.top)
            matched = f", each matched against {args.catalog}"
    finally:
        if catalog is not None:
            catalog.close()
    ann.save(out)
    print(f"wrote {out}: {len(ann.tracks)} trajectories over {ann.video['frame_count']} frames "
          f"({len(ann.video['shots'])} shots){matched}")
    return 0


def run_eval(args: argparse.Namespace) -> int:

    from engine.backbone import WeightsError
    from engine.train.data import DataError

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.distractors and args.task not in ("matching", "end2end"):
        raise UsageError("--distractors works with --task matching or end2end only")
    if (args.bootstrap or args.methods) and args.task != "matching":
        raise UsageError("--bootstrap and --methods work with --task matching only")
    if args.task in ("real", "real-match"):
        return _eval_real(args)
    if not args.data:
        raise UsageError(f"--task {args.task} needs --data DIR (a benchmark directory: make "
                         "one with `video2shop synth --out DIR`)")
    try:
        if args.task == "matching":
            from engine.asymnet.model import DEFAULT_WEIGHTS, METHODS, TrajectoryMatcher
            from engine.train.eval_matching import evaluate_matching, markdown_table, write_report

            if args.methods and "asymnet_top100" in args.methods and \
                    "avg_pool" not in args.methods:
                args.methods.append("avg_pool")  # its first stage

            matcher = TrajectoryMatcher(args.weights or DEFAULT_WEIGHTS, device=args.device)
            report = evaluate_matching(args.data, args.split, matcher,
                                       distractors=args.distractors,
                                       bootstrap=args.bootstrap or 0,
                                       methods=tuple(args.methods or METHODS), log=log)
            print(markdown_table(report))
            if args.out:
                png = write_report(report, args.out)
                print(f"wrote {args.out} and {png}")
            return 0
        if args.task == "end2end":
            from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
            from engine.catalog.store import CatalogError
            from engine.train.eval_end2end import evaluate_end2end
            from engine.train.eval_end2end import markdown_table as end2end_table

            matcher = TrajectoryMatcher(args.weights or DEFAULT_WEIGHTS, device=args.device)
            try:
                report = evaluate_end2end(args.data, args.split,
                                          _detector(args.detector, args.device), matcher,
                                          stride=args.stride,
                                          distractors=args.distractors, log=log)
            except CatalogError as exc:
                raise UsageError(str(exc)) from None
            return _print_report(end2end_table(report), report, args.out)
        from engine.train.eval_tracking import evaluate_tracking
        from engine.train.eval_tracking import markdown_table as tracking_table

        detector = _detector(args.detector, args.device)
        report = evaluate_tracking(args.data, args.split, detector, stride=args.stride, log=log)
    except (DataError, WeightsError) as exc:
        raise UsageError(str(exc)) from None
    return _print_report(tracking_table(report), report, args.out)


def _eval_real(args: argparse.Namespace) -> int:
    from engine.train.eval_real import LabelsError, evaluate_real, markdown_table
    from engine.train.realdata import REAL_DATA, RealDataError

    data = Path(args.data) if args.data else REAL_DATA
    if not (data / "manifest.json").is_file():
        raise UsageError(f"no real footage in {data}: fetch it with `.venv/bin/python "
                         f"scripts/fetch_real_footage.py --out {data}` (it needs Debian's "
                         "opencv-doc package: make setup installs it)")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    try:
        if args.task == "real-match":
            from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
            from engine.train import eval_real_match

            matcher = TrajectoryMatcher(args.weights or DEFAULT_WEIGHTS, device=args.device)
            report = eval_real_match.evaluate_real_match(
                args.labels, _detector(args.detector, args.device), matcher, data_dir=data,
                demo_catalog=DEMO_CATALOG, stride=args.stride, log=log)
            return _print_report(eval_real_match.markdown_table(report), report, args.out)
        report = evaluate_real(args.labels, _detector(args.detector, args.device),
                               data_dir=data, stride=args.stride, log=log)
    except (LabelsError, RealDataError) as exc:
        raise UsageError(str(exc)) from None
    return _print_report(markdown_table(report), report, args.out)


def _print_report(table: str, report: dict, out: str | None) -> int:
    """An evaluation's Markdown table on stdout and, with --out, its JSON."""
    print(table)
    if out:
        Path(out).write_text(json.dumps(report, indent=1))
        print(f"wrote {out}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from bench.runner import run

    if (args.minutes is not None or args.kiosk) and "soak" not in (args.only or []):
        raise UsageError("--minutes and --kiosk set the soak: add --only soak")

    try:
        run(args.only, args.quick, args.out,
            {"video": args.video, "detector": args.detector, "device": args.device,
             "strides": args.strides, "minutes": args.minutes, "kiosk": args.kiosk,
             "backend": args.backend})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def run_train(args: argparse.Namespace) -> int:
    from engine.train.data import DataError

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    try:
        if args.model == "asymnet":
            from engine.asymnet.model import DEFAULT_WEIGHTS as ASYMNET_WEIGHTS
            from engine.train.asymnet import TrainConfig, run_training

            if args.mined < 0:
                raise UsageError(f"--mined must be 0 or more, got {args.mined}")
            cfg = TrainConfig(steps=args.steps, batch=args.batch, seed=args.seed,
                              mined=args.mined, color=not args.no_color, device=args.device,
                              attributes=args.attributes,
                              random_negatives=4 if args.mined else 10)
            command = "video2shop " + " ".join(sys.argv[1:]) if sys.argv else ""
            run_training(args.data, args.out or str(ASYMNET_WEIGHTS), cfg, split=args.split,
                         frames_per_track=args.frames_per_track, negatives=args.negatives,
                         command=command, log=log)
            return 0
        if args.model == "rerank":
            return _train_rerank(args, log)
        from engine.detect.garment import DEFAULT_WEIGHTS
        from engine.train.detector import train_detector

        train_detector(args.data, args.out or str(DEFAULT_WEIGHTS), iterations=args.iterations,
                       batch=args.batch, seed=args.seed, frame_step=args.frame_step,
                       recolored=args.recolored, log=log)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _train_rerank(args: argparse.Namespace, log) -> int:
    from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
    from engine.asymnet.rerank import rerank_path
    from engine.train.rerank import measure, train_reranker

    if args.k < 2:
        raise UsageError(f"--k must be at least 2, got {args.k}")
    weights = args.weights or str(DEFAULT_WEIGHTS)
    matcher = TrajectoryMatcher(weights, device="cpu", rerank=False)
    detector = _detector(args.detector, "cpu") if args.detected else None
    rr = train_reranker(args.data, matcher, k=args.k, detector=detector, log=log)
    out = rr.save(args.out or rerank_path(weights))
    log(f"wrote {out} ({rr.version}, for {matcher.version})")
    for d in args.measure:
        print(json.dumps(measure(d, matcher, rr), indent=1))
    return 0
