"""The ``video2shop`` command. ``video2shop play`` (and ``python main.py``) starts the player."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from engine.resources import DEMO_ANNOTATIONS, DEMO_CATALOG, DEMO_VIDEO, REAL_LABELS


class UsageError(Exception):
    """Bad command-line input: printed as one line on stderr, exit status 2."""



DETECTOR_HELP = ("auto (the default: per shot, the garment detector where the world is the "
                 "synthetic one, the real-footage localiser on real people), garment, people, "
                 "person-layout, or onnx:PATH")


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in video pixels, got {text!r}") from None
    return x, y


def _frame(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frame number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("frame numbers start at 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="video2shop",
        description="Shop while watching: a player that boxes the clothes actors wear and "
        "matches them to shop products.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    play = sub.add_parser(
        "play",
        help="play a video with clickable garment boxes (the default command)",
        description="Play a video with its garment boxes. Without VIDEO, plays the bundled demo.",
    )
    add_play_arguments(play)

    synth = sub.add_parser(
        "synth",
        help="generate the synthetic VideoShop benchmark (clips, ground truth, shop catalogue)",
        description="Generate the synthetic VideoShop benchmark, deterministically for a seed: "
        "DIR/catalog/products.jsonl and images, DIR/clips/*.mp4 with ground truth *.json, "
        "DIR/splits.json and DIR/card.json (docs/benchmark.md).",
    )
    synth.add_argument("--out", required=True, metavar="DIR", help="where to write it")
    synth.add_argument("--preset", choices=("demo", "easy", "hard"), default="hard")
    synth.add_argument("--seed", type=int, default=0, metavar="N")
    synth.add_argument("--clips", type=_positive_int, metavar="K")
    synth.add_argument("--products", type=_positive_int, metavar="P")
    synth.add_argument("--seconds", type=float, metavar="S", help="length of each clip")
    synth.add_argument("--width", type=_positive_int, metavar="W")
    synth.add_argument("--height", type=_positive_int, metavar="H")
    synth.add_argument("--fps", type=float, metavar="F")
    synth.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="processes (default: the number of cores)",
    )
    synth.add_argument("--force", action="store_true", help="write into a non-empty DIR")
    synth.add_argument(
        "--catalog-only",
        action="store_true",
        help="write the shop catalogue alone (products, shop images, siblings), no clips: a "
        "shop-sized gallery for `eval --task matching --distractors`",
    )

    analyze = sub.add_parser(
        "analyze", help="find, track (and with --catalog, match) the garments in a video",
        description="Detect garments, track them into trajectories and write the annotations "
        "format (docs/annotations.md); with --catalog, each trajectory's top products too.",
    )
    analyze.add_argument("video", metavar="VIDEO")
    analyze.add_argument("--out", metavar="FILE.json",
                         help="where to write (default: VIDEO with .analysis.json)")
    analyze.add_argument("--detector", default="auto", metavar="NAME",
                         help=DETECTOR_HELP)
    analyze.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    analyze.add_argument("--stride", type=_positive_int, default=3, metavar="K",
                         help="run the detector every K-th frame (the tracker fills the rest)")
    analyze.add_argument("--batch", type=_positive_int, default=4, metavar="B",
                         help="frames per detector call")
    analyze.add_argument("--catalog", metavar="DIR",
                         help="match every trajectory against this catalogue (a catalogue or "
                         "benchmark directory): FAISS proposes, AsymNet re-ranks; the top "
                         "products go into each track's matches")
    analyze.add_argument("--top", type=_positive_int, default=10, metavar="K",
                         help="matches kept per track (default 10)")
    analyze.add_argument("--no-match", action="store_true",
                         help="trajectories only, even when --catalog is given")

    ev = sub.add_parser("eval", help="measure the models on a benchmark split",
                        description="Evaluate on a benchmark directory (docs/benchmark.md), "
                        "or with --task real on real footage (resources/real/README.md).")
    ev.add_argument("--data", metavar="DIR",
                    help="the benchmark directory (real: the fetched footage, default "
                    ".cache/real)")
    ev.add_argument("--split", choices=("train", "val", "test", "all"), default="test")
    ev.add_argument("--task", choices=("tracking", "matching", "end2end", "real", "real-match"),
                    default="tracking",
                    help="tracking: detection and tracking; matching: trajectories (ground "
                    "truth) against the whole catalogue, per method; end2end: detected and "
                    "tracked trajectories against the catalogue, beside ground truth ones; "
                    "real: garment boxes on real people against labels drawn by eye; "
                    "real-match: real garments' trajectories against a catalogue of their "
                    "crops from another shot plus the demo catalogue")
    ev.add_argument("--labels", metavar="FILE.json", default=str(REAL_LABELS),
                    help="real: the labels (default resources/real/labels.json)")
    ev.add_argument("--out", metavar="FILE.json",
                    help="also write the report as JSON (matching: and a PNG plot beside it)")
    ev.add_argument("--weights", metavar="FILE.pt",
                    help="AsymNet weights (matching, end2end, real-match; default: "
                    "resources/models/asymnet.pt)")
    ev.add_argument("--distractors", nargs="+", default=[], metavar="DIR",
                    help="matching, end2end: add these catalogues' products to the gallery as "
                    "wrong answers (benchmark directories made with other seeds: "
                    "DIR/catalog/products.jsonl; `synth --catalog-only` makes them); the "
                    "report also gives the set's own catalogue and each growing gallery")
    ev.add_argument("--methods", nargs="+", metavar="NAME",
                    choices=("single_frame", "avg_pool", "asymnet", "asymnet_top100"),
                    help="matching: only these methods (default all; asymnet scores every "
                    "product with the tree and is the slow one at shop scale; asymnet_top100 "
                    "alone scores only its shortlists)")
    ev.add_argument("--bootstrap", type=_positive_int, metavar="B",
                    help="matching: 95%% intervals of every top-K and paired intervals of the "
                    "differences between methods, from B resamplings of the queries (1000 is "
                    "usual)")
    ev.add_argument("--detector", default="auto", metavar="NAME", help=DETECTOR_HELP)
    ev.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ev.add_argument("--stride", type=_positive_int, default=3, metavar="K")

    bn = sub.add_parser("bench", help="measure speed on this machine (table and JSON)",
                        description="Benchmarks: numbers and ratios, printed and written as "
                        "JSON.")
    bn.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only these (engine, real, asymnet, faiss, player, soak; real: "
                    "the engine figures on a 1280x720 clip of real people made from the "
                    "real-footage set; soak, only when named: the player's memory every 10 s "
                    "to a CSV and a PNG beside --out)")
    bn.add_argument("--minutes", type=_positive_float, metavar="M",
                    help="soak length (default 120 with --kiosk, else 60: the hour-long video)")
    bn.add_argument("--kiosk", action="store_true",
                    help="soak the demo in kiosk mode instead of one hour-long video "
                    "(the demo joined 75 times) played once with analysis")
    bn.add_argument("--quick", action="store_true", help="shorter runs")
    bn.add_argument("--out", metavar="FILE.json")
    bn.add_argument("--video", metavar="VIDEO", help="clip for the engine figures (the demo)")
    bn.add_argument("--detector", default="auto", metavar="NAME", help=DETECTOR_HELP)
    bn.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    bn.add_argument("--strides", type=_positive_int, nargs="+", metavar="K",
                    help="detector strides to measure (default: 3)")

    from app.catalog_cli import add_catalog_parser

    add_catalog_parser(sub, UsageError)

    tr = sub.add_parser("train", help="train a model on a benchmark's train split")
    tr_sub = tr.add_subparsers(dest="model", metavar="MODEL", required=True)
    td = tr_sub.add_parser("detector", help="the garment detector",
                           description="Train the garment detector (resources/models/).")
    td.add_argument("--data", required=True, metavar="DIR", nargs="+",
                    help="benchmark directories whose train splits are used (several: more "
                    "different garments)")
    td.add_argument("--out", default=None, metavar="FILE.pt",
                    help="default: resources/models/garment_detector.pt")
    td.add_argument("--iterations", type=_positive_int, default=1500)
    td.add_argument("--batch", type=_positive_int, default=16)
    td.add_argument("--seed", type=int, default=0)
    td.add_argument("--frame-step", type=_positive_int, default=2,
                    help="use every N-th frame of the training clips")
    td.add_argument("--recolored", type=int, default=1, metavar="N",
                    help="colour-shifted copies of each training frame (default 1)")
    ta = tr_sub.add_parser(
        "asymnet", help="AsymNet: IFN projection, VFN and similarity tree",
        description="Train AsymNet end to end on cached backbone features of the ground-truth "
        "trajectories and shop images (docs/asymnet.md, resources/models/asymnet.md).")
    ta.add_argument("--data", required=True, nargs="+", metavar="DIR",
                    help="one or more benchmark directories")
    ta.add_argument("--split", choices=("train", "val", "test", "all"), default="train")
    ta.add_argument("--out", default=None, metavar="FILE.pt",
                    help="default: resources/models/asymnet.pt")
    ta.add_argument("--steps", type=_positive_int, default=2000)
    ta.add_argument("--batch", type=_positive_int, default=32)
    ta.add_argument("--seed", type=int, default=0)
    ta.add_argument("--frames-per-track", type=_positive_int, default=40, metavar="N",
                    help="frames cached per trajectory (spread over it)")
    ta.add_argument("--negatives", nargs="+", default=[], metavar="DIR",
                    help="catalogues without clips (`synth --catalog-only`, seeds the "
                    "evaluation does not use) whose products join the training gallery as "
                    "wrong answers, for mining hard negatives")
    ta.add_argument("--mined", type=int, default=6, metavar="N",
                    help="hard negatives per trajectory mined from the whole gallery by the "
                    "model in training (0: none)")
    ta.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                    help="where the projection, VFN and tree train (default cpu; auto: a GPU "
                    "when torch sees one)")
    ta.add_argument("--no-color", action="store_true",
                    help="the IFN without its colour descriptor (the paper's IFN; ablation)")
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_play_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", nargs="?", metavar="VIDEO", help="video file (default: the demo)")
    p.add_argument(
        "--annotations",
        metavar="FILE.json",
        help="boxes to show, in the annotations format (docs/annotations.md)",
    )
    p.add_argument(
        "--frame", type=_frame, metavar="N", help="open paused on decoder frame N (0-based)"
    )
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save the window once frame N is on screen with its boxes, then exit 0 "
        "(works headless)",
    )
    p.add_argument(
        "--click",
        type=_point,
        metavar="X,Y",
        help="click this point (video pixels) before the screenshot; prints what the card "
        "then shows as one line of JSON (track, category, product, title, score)",
    )
    p.add_argument(
        "--kiosk",
        action="store_true",
        help="demo booth: fullscreen, loop, controls hidden until the mouse moves",
    )
    p.add_argument("--subtitles", metavar="FILE",
                   help="show these subtitles (.srt, .ass, .ssa, .vtt); without it, a file "
                   "of the video's name beside it, or the video's default subtitle track")
    p.add_argument("--lang", metavar="LANG",
                   help="the interface's language: zh_CN (Chinese) or en; default: the "
                   "system's (LANG)")
    p.add_argument("--loop", action="store_true", help="start over at the end")
    p.add_argument(
        "--catalog",
        metavar="DIR",
        help="shop catalogue: a catalogue directory (video2shop catalog import) or a "
        "benchmark directory (default: the demo catalogue in resources/demo)",
    )
    p.add_argument(
        "--qa",
        action="store_true",
        help="QA mode: frame numbers, track ids and scores on the boxes, the track list, "
        "ground truth beside the results (the demo's is loaded), flags and exports",
    )
    p.add_argument(
        "--no-engine",
        action="store_true",
        help="do not analyse: show only the boxes of --annotations (which are otherwise "
        "drawn as ground truth beside the engine's results)",
    )
    p.add_argument("--detector", default="auto", metavar="NAME",
                   help="the engine's detector: " + DETECTOR_HELP)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where the engine runs its models (auto: CUDA when there is one)")
    p.add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="S",
        help="with --screenshot: seconds to wait for the engine's boxes (and, after --click, "
        "the product card) before saving (default 120)",
    )
    p.add_argument(
        "--no-vlc",
        action="store_true",
        help="play with OpenCV instead of VLC (no sound; for machines without libVLC)",
    )
    p.add_argument(
        "--size",
        type=_point,
        metavar="W,H",
        default=None,
        help="window size in pixels (screenshots default to 1280,760)",
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in ("play", "synth", "analyze", "eval", "train", "bench",
                                     "catalog", "-h", "--help"):
        argv = ["play", *argv]  # `video2shop FILE` plays FILE
    args = parser.parse_args(argv)
    try:
        if args.command == "play":
            return run_player(args)
        if args.command == "synth":
            return run_synth(args)
        if args.command == "analyze":
            return run_analyze(args)
        if args.command == "eval":
            return run_eval(args)
        if args.command == "train":
            return run_train(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "catalog":
            from app.catalog_cli import run_catalog

            return run_catalog(args)
    except UsageError as exc:
        print(f"video2shop: {exc}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


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
        from engine.asymnet.model import DEFAULT_WEIGHTS, TrajectoryMatcher
        from engine.backbone import WeightsError
        from engine.catalog.retrieval import Catalog
        from engine.catalog.store import CatalogError

        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        try:
            catalog = Catalog.open(args.catalog, TrajectoryMatcher(DEFAULT_WEIGHTS,
                                                                   device=args.device), log=log)
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
            from engine.matching import match_tracks

            match_tracks(args.video, ann, catalog, k=args.top)
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
             "strides": args.strides, "minutes": args.minutes, "kiosk": args.kiosk})
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
                              random_negatives=4 if args.mined else 10)
            command = "video2shop " + " ".join(sys.argv[1:]) if sys.argv else ""
            run_training(args.data, args.out or str(ASYMNET_WEIGHTS), cfg, split=args.split,
                         frames_per_track=args.frames_per_track, negatives=args.negatives,
                         command=command, log=log)
            return 0
        from engine.detect.garment import DEFAULT_WEIGHTS
        from engine.train.detector import train_detector

        train_detector(args.data, args.out or str(DEFAULT_WEIGHTS), iterations=args.iterations,
                       batch=args.batch, seed=args.seed, frame_step=args.frame_step,
                       recolored=args.recolored, log=log)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    return 0


def run_player(args: argparse.Namespace) -> int:
    from app.stdio import protect_standard_streams

    protect_standard_streams()  # a closed log pipe or a full disk must not stop the player
    from app.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before Qt's, VLC's and the engine's threads (app/memory.py)
    headless = args.screenshot is not None
    has_display = any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY"))
    if not has_display and not os.environ.get("QT_QPA_PLATFORM"):
        if headless:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            raise UsageError(
                "no display to open a window on: run under xvfb-run (make run does), or use "
                "--screenshot PNG to render offscreen"
            )
    if args.click is not None and not headless:
        raise UsageError("--click needs --screenshot (it is for automation)")

    video = args.video
    annotations = args.annotations
    if video is None:
        if not DEMO_VIDEO.exists():
            raise UsageError(
                f"no VIDEO given and the demo clip is missing ({DEMO_VIDEO}); "
                "run `make demo` to make it"
            )
        video = str(DEMO_VIDEO)
        # the demo's ground truth: the boxes without the engine, beside them in QA mode
        if annotations is None and DEMO_ANNOTATIONS.exists() and (args.no_engine or args.qa):
            annotations = str(DEMO_ANNOTATIONS)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.controller import PlayerController

    # The engine thread runs Python between its numpy, OpenCV and model calls; each time the
    # main thread lets go of the interpreter (any OpenCV or Qt call that releases it), it can
    # wait a whole switch interval to get it back. 1 ms instead of 5 keeps painting smooth.
    sys.setswitchinterval(0.001)
    from app.settings import Settings
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Video2Shop")
    app.setOrganizationName("Video2Shop")
    from app.i18n import install_translation

    lang_message = install_translation(app, args.lang)  # before any window is made
    settings = Settings()
    window = MainWindow()
    engine = None
    if not args.no_engine:
        from app.engine_thread import EngineThread

        engine = EngineThread(args.detector, args.device)
    controller = PlayerController(
        window, settings, use_vlc=not args.no_vlc, loop=args.loop or args.kiosk, engine=engine
    )
    if args.qa:
        window.set_qa(True)
    _route_exceptions(controller, headless)

    if headless:
        w, h = args.size or (1280, 760)
        window.resize(int(w), int(h))
    elif args.size:
        window.resize(int(args.size[0]), int(args.size[1]))
    elif settings.geometry is not None:
        window.restoreGeometry(settings.geometry)

    errors: list[str] = []
    controller.error_shown.connect(errors.append)
    if lang_message:
        print(f"video2shop: {lang_message}", file=sys.stderr)
        controller.show_status(lang_message)
    opened = controller.open_video(video)
    if annotations and not controller.load_annotations(annotations):
        opened = False
    if opened and args.subtitles and not controller.load_subtitles(args.subtitles):
        controller.show_error(window.statusBar().currentMessage())
        opened = False
    if opened and args.frame is not None:
        if controller.reader is not None and args.frame >= controller.reader.frame_count:
            controller.show_error(
                f"frame {args.frame} is past the end: the video has frames 0 to "
                f"{controller.reader.frame_count - 1}"
            )
            opened = False
        else:
            opened = controller.show_frame(args.frame)

    if headless:
        window.show()
        app.processEvents()
        _wait_for(app, lambda: not controller.subtitles.pending(), args.wait)
        if not opened:
            print(
                f"video2shop: {errors[-1] if errors else 'cannot open ' + video}", file=sys.stderr
            )
            window.close()
            return 2
        if engine is not None:
            controller.open_catalog(args.catalog or str(DEMO_CATALOG))
            frame = controller.index
            _wait_for(app, lambda: controller.snapshot is not None and any(
                a <= frame < b for a, b in controller.snapshot.analysed), args.wait)
            # and the catalogue, so that the products' timeline is in the picture
            _wait_for(app, lambda: controller.catalog is not None
                      or not controller.catalog_loader.busy(), args.wait)
            _wait_for(app, lambda: controller.snapshot.matched > 0, min(args.wait, 5))
        if args.click is not None:
            shown: list[int] = []
            controller.card_shown.connect(shown.append)
            tid = window.video.click_video_point(*args.click)
            if engine is not None and tid >= 0:
                _wait_for(app, lambda: tid in shown, args.wait)
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        if args.click is not None:
            print(json.dumps(controller.card_summary(), ensure_ascii=False))
        controller.shutdown()
        window.close()
        if not ok:
            print(f"video2shop: cannot write screenshot {args.screenshot}", file=sys.stderr)
            return 2
        return 0

    if args.kiosk:
        window.set_kiosk(True)
        controller.start_kiosk()
    else:
        window.show()
    # the catalogue (AsymNet, the shop images' embeddings, FAISS) loads once the first boxes
    # are out, or after a few seconds: on two cores it would otherwise slow the engine's start
    catalog_opened = []

    def open_catalog_once() -> None:
        if not catalog_opened:
            catalog_opened.append(True)
            controller.open_catalog(args.catalog or str(DEMO_CATALOG))

    if engine is not None:
        controller.analysis_updated.connect(
            lambda: controller.snapshot is not None and controller.snapshot.tracks
            and open_catalog_once())
        QTimer.singleShot(3000, open_catalog_once)
    else:
        QTimer.singleShot(0, open_catalog_once)
    if opened and (args.kiosk or args.loop):
        QTimer.singleShot(0, controller.play)
    _close_on_signals(window)
    return app.exec()


def _close_on_signals(window) -> None:
    """Ctrl+C in the terminal, or SIGTERM from a service manager stopping a booth, closes the
    player as its close button does (settings saved, the engine thread stopped, the video
    released), whatever it shows: an open file dialog or menu is dismissed first, and the
    event loop (a dialog's too) is left. The handler only queues that work: it may interrupt
    any slot. Python runs signal handlers only between bytecodes, so a timer wakes it while
    Qt's event loop waits. A second signal while closing ends the process at once."""
    import signal

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    closing: list[int] = []

    def close_all(signum: int) -> None:
        # stderr cannot raise here (app/stdio.py), even when its pipe has closed
        print(f"video2shop: {signal.Signals(signum).name}, closing", file=sys.stderr)
        app = QApplication.instance()
        for _ in range(8):  # nested: a menu over a dialog over the window
            top = app.activePopupWidget() or app.activeModalWidget()
            if top is None:
                break
            reject = getattr(top, "reject", None)
            reject() if reject is not None else top.close()
        window.close()
        app.quit()

    def handler(signum, _frame) -> None:
        if closing:
            os._exit(128 + signum)
        closing.append(signum)
        QTimer.singleShot(0, lambda: close_all(signum))

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)


def _wait_for(app, done, seconds: float) -> bool:
    """Runs the event loop until ``done()`` or ``seconds`` pass (screenshots of live results)."""
    import time

    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.02)
    return True


def _route_exceptions(controller, headless: bool) -> None:
    """An exception in a Qt slot goes to the status bar (and stderr), never kills the player."""

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        if not headless:
            controller.show_status(f"Internal error: {exc_type.__name__}: {exc}")

    sys.excepthook = hook


if __name__ == "__main__":
    sys.exit(main())
