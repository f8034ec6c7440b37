"""A contact sheet of a synthetic benchmark: what a worn garment looks like in the video beside
the shop images of the product and of its siblings (docs/images/contact_sheet.png).

    .venv/bin/python scripts/contact_sheet.py DIR OUT.png [--rows 5]

Each row: four crops of one trajectory (frames spread over it, the largest boxes), then the
shop image of the product worn (green frame) and of its siblings (grey frames).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

CELL = (128, 160)  # width, height


def fit(img: np.ndarray, size=CELL, pad=(245, 245, 245)) -> np.ndarray:
    w, h = size
    ih, iw = img.shape[:2]
    s = min(w / iw, h / ih)
    small = cv2.resize(
        img, (max(1, int(iw * s)), max(1, int(ih * s))), interpolation=cv2.INTER_AREA
    )
    out = np.full((h, w, 3), pad, np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def framed(img: np.ndarray, color) -> np.ndarray:
    return cv2.copyMakeBorder(img, 3, 3, 3, 3, cv2.BORDER_CONSTANT, value=color)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    root = Path(args.data)
    products = {}
    for line in (root / "catalog" / "products.jsonl").read_text().splitlines():
        p = json.loads(line)
        products[p["id"]] = p
    family = {}
    for p in products.values():
        family.setdefault(p["family"], []).append(p["id"])
    rng = np.random.default_rng(args.seed)
    candidates = []
    for js in sorted((root / "clips").glob("*.json")):
        gt = json.loads(js.read_text())
        for t in gt["tracks"]:
            good = [b for b in t["boxes"] if b[5] > 0.5 and (b[3] - b[1]) * (b[4] - b[2]) > 900]
            if len(good) >= 8:
                candidates.append((js.with_suffix(".mp4"), t, good))
    rows = []
    seen_cats = set()
    for i in rng.permutation(len(candidates)):
        mp4, t, good = candidates[i]
        if t["category"] in seen_cats:
            continue
        seen_cats.add(t["category"])
        cap = cv2.VideoCapture(str(mp4))
        crops = []
        for b in [good[int(k)] for k in np.linspace(0, len(good) - 1, 4)]:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(b[0]))
            ok, frame = cap.read()
            if not ok:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in b[1:5])
            crops.append(framed(fit(frame[y1:y2, x1:x2]), (60, 60, 60)))
        cap.release()
        p = products[t["product_id"]]
        shop = [framed(fit(cv2.imread(str(root / "catalog" / p["image"]))), (40, 170, 40))]
        for sid in family[p["family"]]:
            if sid != p["id"]:
                s = products[sid]
                shop.append(
                    framed(fit(cv2.imread(str(root / "catalog" / s["image"]))), (170, 170, 170))
                )
        while len(crops) < 4:
            crops.append(np.full_like(shop[0], 255))
        shop = shop[:3] + [np.full_like(shop[0], 255)] * (3 - len(shop[:3]))
        gap = np.full((crops[0].shape[0], 16, 3), 255, np.uint8)
        row = np.hstack([*crops, gap, *shop])
        label = np.full((22, row.shape[1], 3), 255, np.uint8)
        cv2.putText(
            label,
            f"{t['category']}: {p['title'][:90]}",
            (4, 16),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (30, 30, 30),
            1,
            cv2.LINE_AA,
        )
        rows.append(np.vstack([label, row]))
        if len(rows) >= args.rows:
            break
    if not rows:
        print("no trajectory with 8 well-visible boxes found", file=sys.stderr)
        return 1
    head = np.full((26, rows[0].shape[1], 3), 255, np.uint8)
    cv2.putText(
        head,
        "video crops (one trajectory)",
        (4, 18),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    cv2.putText(
        head,
        "shop: product worn (green), siblings (grey)",
        (4 * (CELL[0] + 6) + 20, 18),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    sheet = np.vstack([head, *rows])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, sheet)
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
