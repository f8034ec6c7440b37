"""The ``video2shop`` command's arguments: the parser of every subcommand and its checks."""

from __future__ import annotations

import argparse

from app.errors import UsageError
from engine.resources import REAL_LABELS

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
                    help="run only these (engine, real, asymnet, faiss, player, soak, index; "
                    "real: the engine figures on a 1280x720 clip of real people made from the "
                    "real-footage set; soak, only when named: the player's memory every 10 s "
                    "to a CSV and a PNG beside --out; index, only when named: the catalogue "
                    "index figures on --backend; library, only when named: `library analyze` "
                    "over 8 clips with 1 and 2 local Ray workers)")
    bn.add_argument("--backend", choices=("faiss", "milvus"), default="faiss",
                    help="the index `--only index` measures: faiss, or milvus (Milvus Lite; "
                    "the scale extra)")
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
    from app.library_cli import add_library_parser

    add_catalog_parser(sub, UsageError)
    add_library_parser(sub, _positive_int, DETECTOR_HELP)

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
    ta.add_argument("--attributes", type=_nonnegative_float, default=0.0, metavar="W",
                    help="weight of an attribute classifiers' loss: the embedding learns to "
                    "say each product's category, pattern, colour, shade, sleeves... from video "
                    "and shop images alike (default 0: off, as the shipped weights; 0.5 was "
                    "measured: docs/asymnet.md)")
    ta.add_argument("--no-color", action="store_true",
                    help="the IFN without its colour descriptor (the paper's IFN; ablation)")
    tr_rr = tr_sub.add_parser(
        "rerank", help="the colour-aware re-ranker of the tree's shortlist",
        description="Fit the re-ranker that orders AsymNet's top products for the card "
        "(engine/asymnet/rerank.py) on the ground-truth trajectories of sets the AsymNet "
        "weights were not trained on, each against its own catalogue; --measure reports "
        "the card's top-1 with and without it on other sets.")
    tr_rr.add_argument("--data", required=True, nargs="+", metavar="DIR",
                       help="benchmark directories the AsymNet weights never saw (all splits)")
    tr_rr.add_argument("--weights", default=None, metavar="FILE.pt",
                       help="the AsymNet weights (default: the shipped ones)")
    tr_rr.add_argument("--out", default=None, metavar="FILE.json",
                       help="default: beside the weights, NAME.rerank.json")
    tr_rr.add_argument("--k", type=_positive_int, default=20,
                       help="how many of the tree's products it orders (default 20)")
    tr_rr.add_argument("--detected", action="store_true",
                       help="also fit on the detected trajectories that cover each garment "
                       "(the sets' clips detected and tracked as `analyze` does, every 3rd "
                       "frame; what the card sees at run time)")
    tr_rr.add_argument("--detector", default="auto", metavar="NAME", help=DETECTOR_HELP)
    tr_rr.add_argument("--measure", nargs="+", default=[], metavar="DIR",
                       help="sets to measure the fitted re-ranker on (top-1 of the tree and "
                       "re-ranked, paired 95%% interval)")
    return parser


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0 or value == float("inf"):  # nan fails both comparisons
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _nonnegative_float(text: str) -> float:
    value = _number(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of 0 or more, got {text}")
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
