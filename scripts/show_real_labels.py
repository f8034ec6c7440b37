"""Draws the real-footage labels (resources/real/labels.json) onto their images, for review.

    .venv/bin/python scripts/show_real_labels.py [--data DIR] [--out DIR] [--clip-frames]
        [--only SOURCE ...] [--scale N]

One PNG per labelled still or video frame in --out (default /tmp/real_labels): persons white
(grey when ignored, dotted halves when too small to split), upper garments red (outer layer
orange), lower blue, full length magenta, each tagged with its person id. With --clip-frames,
also each still's first, middle and last clip frame with the labels mapped into it (a check of
the pan-and-zoom geometry). Small images are enlarged so that the boxes can be judged; vtest's
pedestrians want --scale 2 or 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from engine import resources  # noqa: E402
from engine.train.realdata import load_manifest  # noqa: E402
from engine.video import VideoReader  # noqa: E402

COLOURS = {"person": (255, 255, 255), "upper": (40, 40, 235), "lower": (235, 120, 30),
           "full": (220, 40, 220)}
OUTER = (0, 150, 255)
IGNORED = (150, 150, 150)


def draw(img: np.ndarray, labels: list[tuple[dict, np.ndarray]], title: str,
         scale: int | None = None) -> np.ndarray:
    scale = scale or max(1, int(np.ceil(700 / max(img.shape[:2]))))
    out = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    for lab, box in labels:
        colour = COLOURS[lab["category"]]
        if lab.get("layer") == "outer":
            colour = OUTER
        if lab.get("ignore"):
            colour = IGNORED
        x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 0), 4)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
        if lab.get("small") and not lab.get("ignore"):
            ym = (y1 + y2) // 2
            for x in range(x1, x2, 6):
                cv2.line(out, (x, ym), (min(x + 3, x2), ym), colour, 1)
        tag = f"p{lab['person']} {lab['category'][0]}"
        if lab.get("layer"):
            tag += f" {lab['layer']}"
        ty = y1 + 12 if lab["category"] != "person" else y1 - 3
        cv2.putText(out, tag, (x1 + 2, max(ty, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
        cv2.putText(out, tag, (x1 + 2, max(ty, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
    cv2.putText(out, title, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3)
    cv2.putText(out, title, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 255, 255), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default=str(resources.REAL_LABELS))
    parser.add_argument("--data", default=str(ROOT / ".cache" / "real"), metavar="DIR")
    parser.add_argument("--out", default="/tmp/real_labels", metavar="DIR")
    parser.add_argument("--clip-frames", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="SOURCE")
    parser.add_argument("--scale", type=int, metavar="N",
                        help="enlarge N times (default: small images to about 700 pixels)")
    args = parser.parse_args(argv)
    sources = load_manifest(args.data)
    labels = json.loads(Path(args.labels).read_text())["labels"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, int], list[dict]] = {}
    for lab in labels:
        groups.setdefault((lab["source"], int(lab.get("frame") or 0)), []).append(lab)
    written = []
    for (name, frame), labs in sorted(groups.items()):
        if args.only and name not in args.only:
            continue
        src = sources[name]
        with VideoReader(src.video) as reader:
            if src.kind == "still":
                img = cv2.imread(str(src.still), cv2.IMREAD_COLOR)
                boxes = [(lab, np.asarray(lab["box"], float)) for lab in labs]
                path = out / f"{name}.png"
                cv2.imwrite(str(path), draw(img, boxes, f"{name} (still)", args.scale))
                written.append(path)
                if args.clip_frames:
                    for f in (0, src.frames // 2, src.frames - 1):
                        mapped = [(lab, src.to_frame(lab["box"], f)) for lab in labs]
                        path = out / f"{name}_clip{f:03d}.png"
                        cv2.imwrite(str(path), draw(reader.read(f), mapped, f"{name} clip {f}",
                                                       args.scale))
                        written.append(path)
            else:
                boxes = [(lab, np.asarray(lab["box"], float)) for lab in labs]
                path = out / f"{name}_{frame:04d}.png"
                cv2.imwrite(str(path), draw(reader.read(frame), boxes, f"{name} frame {frame}",
                                                  args.scale))
                written.append(path)
    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
