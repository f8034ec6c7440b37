"""Trains the world classifier of ``auto`` (engine/detect/world.py): p(the synthetic renderer
made this frame) from the packaged EfficientNet-Lite0's feature statistics.

    .venv/bin/python scripts/train_world.py --out resources/models/world.json

Synthetic frames: clips that `video2shop synth` renders with seeds no benchmark or test uses
(901-908, every preset, four frame sizes). Everything else: photographs and footage that ship in
packages and are not in the real-footage evaluation set (resources/real/README.md): Debian's
opencv-doc sample images and its Megamind clips (animation: not the renderer's world either),
scikit-image's sample images (its wheel, downloaded with pip and never installed) and
matplotlib's. Both sides go through the same augmentation (crops, grey, JPEG, noise, blur,
exposure, letterbox bars, subtitles), so that the regression learns the renderer's look and not a
file format or a film's framing. Frames of
the evaluation set are held out entirely; the script prints the classifier's answer on them
(from .cache/real) beside a validation on held-out files and a held-out seed.
Deterministic for a --seed (the renderer is; the augmentation is seeded); about 5 minutes on
two cores.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import resources  # noqa: E402
from engine.detect.world import SIZE, TAPS, FeatureNet, WorldClassifier  # noqa: E402

OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")
EVAL_SET = {"messi5.jpg", "basketball1.png", "basketball2.png", "vtest.avi", "astronaut.png",
            "grace_hopper.jpg", "carphone_pristine.mp4", "bikes.mp4"}
SYNTH = [("demo", 901, 640, 360), ("easy", 902, 640, 360), ("hard", 903, 640, 360),
         ("hard", 904, 1280, 720), ("easy", 905, 960, 540), ("hard", 906, 640, 360),
         ("hard", 907, 854, 480), ("demo", 908, 1280, 720)]
IMAGE_EXT = (".jpg", ".jpeg", ".png")


def _decode(data: bytes) -> np.ndarray | None:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img if img is not None and min(img.shape[:2]) >= 64 else None


def every_nth_frame(path: Path, n: int) -> list[np.ndarray]:
    """Frames 0, n, 2n, ... of a video, decoded in one pass."""
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return out
            if i % n == 0:
                out.append(frame)
            i += 1
    finally:
        cap.release()


def real_images(wheels: Path, log) -> list[tuple[str, np.ndarray]]:
    """(group, BGR image) of every photograph and clip frame the packages bring."""
    out = []
    for path in sorted(OPENCV_DOC.iterdir()) if OPENCV_DOC.is_dir() else []:
        if path.name in EVAL_SET:
            continue
        if path.suffix.lower() in IMAGE_EXT:
            img = _decode(path.read_bytes())
            if img is not None:
                out.append((f"opencv-doc/{path.name}", img))
        elif path.suffix.lower() == ".avi":
            out += [(f"opencv-doc/{path.name}", f) for f in every_nth_frame(path, 12)]
    if not out:
        raise SystemExit(f"no images in {OPENCV_DOC}: install Debian's opencv-doc")
    import matplotlib

    for path in sorted((Path(matplotlib.get_data_path()) / "sample_data").rglob("*")):
        if path.suffix.lower() in IMAGE_EXT and path.name not in EVAL_SET:
            img = _decode(path.read_bytes())
            if img is not None:
                out.append((f"matplotlib/{path.name}", img))
    found = sorted(glob.glob(str(wheels / "scikit_image-*.whl")))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary=:all:", "-q", "-d", str(wheels), "scikit-image"],
                       check=True)
        found = sorted(glob.glob(str(wheels / "scikit_image-*.whl")))
    with zipfile.ZipFile(found[-1]) as z:
        for name in sorted(z.namelist()):
            base = name.rsplit("/", 1)[-1]
            if name.startswith("skimage/data/") and base.lower().endswith(IMAGE_EXT) \
                    and base not in EVAL_SET:
                img = _decode(z.read(name))
                if img is not None:
                    out.append((f"skimage/{base}", img))
    log(f"real: {len(out)} images and frames from {len({g for g, _ in out})} files")
    return out


def synthetic_frames(work: Path, log) -> list[tuple[str, np.ndarray]]:
    out = []
    for preset, seed, w, h in SYNTH:
        d = work / f"{preset}-{seed}"
        if not (d / "splits.json").is_file():
            subprocess.run([str(ROOT / ".venv" / "bin" / "video2shop"), "synth", "--out", str(d),
                            "--preset", preset, "--seed", str(seed), "--clips", "6",
                            "--products", "40", "--seconds", "4", "--width", str(w),
                            "--height", str(h), "--force"], check=True,
                           stdout=subprocess.DEVNULL)
        for clip in sorted((d / "clips").glob("*.mp4")):
            out += [(f"synth/{preset}-{seed}", f) for f in every_nth_frame(clip, 5)]
    log(f"synthetic: {len(out)} frames from {len(SYNTH)} seeds")
    return out


def augment(img: np.ndarray, rng: np.random.Generator, min_area: float) -> np.ndarray:
    """One random view: a crop, then what cameras and encoders do to pictures."""
    h, w = img.shape[:2]
    for _ in range(10):
        area = rng.uniform(min_area, 1.0) * w * h
        aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
        cw, ch = int(round(np.sqrt(area * aspect))), int(round(np.sqrt(area / aspect)))
        if 32 <= cw <= w and 32 <= ch <= h:
            break
    else:
        cw, ch = w, h
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = img[y:y + ch, x:x + cw]
    # frames come at any size: shrink or enlarge through an intermediate resolution first
    if rng.random() < 0.5:
        s = rng.uniform(0.3, 1.5)
        crop = cv2.resize(crop, (max(16, int(cw * s)), max(16, int(ch * s))),
                          interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA
                     if min(crop.shape[:2]) > SIZE else cv2.INTER_LINEAR).astype(np.float32)
    if rng.random() < 0.5:
        out = out * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    if rng.random() < 0.2:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    if rng.random() < 0.3:
        out = out + rng.normal(0, rng.uniform(1, 6), out.shape)
    if rng.random() < 0.15:
        g = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
        out = cv2.cvtColor(g, cv2.COLOR_GRAY2BGR).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:  # a letterboxed film: black bars above and below
        bar = int(rng.uniform(0.06, 0.2) * SIZE)
        out[:bar], out[SIZE - bar:] = 0, 0
    if rng.random() < 0.2:  # burnt-in subtitles, a channel logo
        words = "".join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(6, 24))))
        y = int(rng.uniform(0.75, 0.95) * SIZE)
        cv2.putText(out, words, (int(rng.integers(0, SIZE // 3)), y), cv2.FONT_HERSHEY_SIMPLEX,
                    rng.uniform(0.4, 0.8), (255, 255, 255), int(rng.integers(1, 3)),
                    cv2.LINE_AA)
    if rng.random() < 0.6:
        q = int(rng.integers(30, 96))
        out = cv2.imdecode(cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])[1],
                           cv2.IMREAD_COLOR)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def views(items, per_group: int, rng, min_area: float, whole: float):
    """``per_group`` views of each group's images; a share ``whole`` are the whole picture."""
    groups: dict[str, list[np.ndarray]] = {}
    for g, img in items:
        groups.setdefault(g, []).append(img)
    out_x, out_g = [], []
    for g, imgs in groups.items():
        for i in range(per_group):
            img = imgs[int(rng.integers(len(imgs)))] if i >= len(imgs) else imgs[i]
            if rng.random() < whole:
                v = cv2.cvtColor(cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA),
                                 cv2.COLOR_BGR2RGB)
            else:
                v = augment(img, rng, min_area)
            out_x.append(v)
            out_g.append(g)
    return out_x, out_g


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         float]:
    """Logistic regression on standardised features, classes weighted equally (L-BFGS)."""
    import torch

    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    z = torch.from_numpy((x - mean) / scale).double()
    t = torch.from_numpy(y).double()
    wpos = len(y) / (2 * max(1, y.sum()))
    wneg = len(y) / (2 * max(1, len(y) - y.sum()))
    sw = torch.where(t > 0.5, wpos, wneg)
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(
            z @ w + b, t, weight=sw)) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return mean, scale, w.detach().numpy(), float(b.detach())


def predict(model, x: np.ndarray) -> np.ndarray:
    mean, scale, w, b = model
    return 1 / (1 + np.exp(-np.clip(((x - mean) / scale) @ w + b, -30, 30)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(resources.WORLD_WEIGHTS))
    ap.add_argument("--work", help="keep the rendered clips and wheels here (default: a "
                    "temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--l2", type=float, default=3e-3)
    ap.add_argument("--per-real", type=int, default=24, help="views per real file")
    ap.add_argument("--per-synth", type=int, default=400, help="views per synthetic seed")
    ap.add_argument("--real-data", default=str(ROOT / ".cache" / "real"),
                    help="the real-footage evaluation set, reported on, never trained on")
    args = ap.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="v2s-world-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        real = real_images(work, log)
        synth = synthetic_frames(work, log)
        rx, rg = views(real, args.per_real, rng, 0.3, 0.25)
        sx, sg = views(synth, args.per_synth, rng, 0.5, 0.5)
    net = FeatureNet("cpu")
    log(f"features of {len(rx)} real and {len(sx)} synthetic views")
    fx = net(rx + sx)
    y = np.array([0] * len(rx) + [1] * len(sx), np.float64)
    groups = np.array(rg + sg)

    # validation: every fifth real file and one synthetic seed held out
    real_files = sorted(set(rg))
    held = set(real_files[::5]) | {sorted(set(sg))[0]}
    test = np.isin(groups, list(held))
    model = fit(fx[~test], y[~test], args.l2)
    p = predict(model, fx[test])
    acc_real = float((p[y[test] == 0] < 0.5).mean())
    acc_synth = float((p[y[test] == 1] >= 0.5).mean())
    log(f"held out ({len(held)} files and seeds): real {acc_real:.3f}, synthetic "
        f"{acc_synth:.3f} correct")

    mean, scale, w, b = fit(fx, y, args.l2)
    report = {"held_out_real_correct": round(acc_real, 4),
              "held_out_synthetic_correct": round(acc_synth, 4)}
    real_dir = Path(args.real_data)
    out = {"version": 1, "trained": datetime.date.today().isoformat(), "size": SIZE,
           "taps": list(TAPS), "threshold": 0.5, "made_by": "scripts/train_world.py "
           f"--seed {args.seed} --l2 {args.l2} --per-real {args.per_real} --per-synth "
           f"{args.per_synth}",
           "data": {"real_views": len(rx), "real_files": len(real_files),
                    "synthetic_views": len(sx), "synthetic_seeds": [list(s) for s in SYNTH]},
           "validation": report,
           "mean": [round(float(v), 6) for v in mean],
           "scale": [round(float(v), 6) for v in scale],
           "weights": [round(float(v), 6) for v in w], "bias": round(b, 6)}
    Path(args.out).write_text(json.dumps(out, indent=0) + "\n")
    log(f"wrote {args.out}")
    if (real_dir / "manifest.json").is_file():
        clf = WorldClassifier(args.out, features=net)
        rows = {}
        for v in sorted(real_dir.glob("*.mp4")) + sorted(real_dir.glob("*.avi")):
            frames = every_nth_frame(v, 10)
            ps = clf.p_synthetic(frames)
            rows[v.stem] = [round(float(ps.mean()), 3), round(float(ps.max()), 3)]
            log(f"  evaluation set {v.stem}: p(synthetic) mean {ps.mean():.3f}, max "
                f"{ps.max():.3f} over {len(frames)} frames")
        out["validation"]["evaluation_set_p_synthetic_mean_max"] = rows
        Path(args.out).write_text(json.dumps(out, indent=0) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
