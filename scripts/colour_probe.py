"""What a colour descriptor can tell (docs/asymnet.md, "What the colour descriptor can tell,
probed"): candidate descriptors of the front shop images of d2 and d3, a small classifier per
attribute (colour, shade, accent colour, pattern, category) trained on 80 % of them, tested on
the other 20 % and on the mean descriptor of d2's truth trajectories (12 crops each).

    .venv/bin/python scripts/colour_probe.py [WORK]   (default .cache/asymnet-work, the sets
                                                       made by scripts/train-asymnet.sh)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.asymnet.ifn import _COLOR_H, _COLOR_W, _centre_weights, color_descriptor, shop_view
from engine.matching import track_crops
from engine.train.attributes import AttributeVocab, visible_attributes
from engine.train.data import load_split

ASKED = ("color", "shade", "accent", "pattern", "category")


def lab_small(view: np.ndarray) -> np.ndarray:
    small = cv2.resize(np.ascontiguousarray(view), (_COLOR_W, _COLOR_H),
                       interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32) / 255.0


def dominant(view: np.ndarray, k: int = 3) -> np.ndarray:
    """The k main colours (k-means over the centre-weighted pixels) and their shares."""
    lab, w = lab_small(view), _centre_weights()
    keep = w > w.max() * 0.05
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1e-3)
    _, idx, centres = cv2.kmeans(lab[keep], k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(idx.ravel(), w[keep], k)
    shares /= shares.sum()
    return np.concatenate([np.append(centres[o], shares[o])
                           for o in np.argsort(-shares)]).astype(np.float32)


def histogram(view: np.ndarray, bins: tuple[int, int, int] = (4, 8, 8)) -> np.ndarray:
    lab, w = lab_small(view), _centre_weights()
    idx = [np.clip((lab[:, c] * bins[c]).astype(int), 0, bins[c] - 1) for c in range(3)]
    h = np.bincount((idx[0] * bins[1] + idx[1]) * bins[2] + idx[2], w, int(np.prod(bins)))
    return np.sqrt(h / h.sum()).astype(np.float32)


DESCRIPTORS = {
    "today's": color_descriptor,
    "+ 4x8x8 histogram": lambda v: np.concatenate([color_descriptor(v), histogram(v)]),
    "+ dominant colours": lambda v: np.concatenate([color_descriptor(v), dominant(v)]),
}


def shop_views(work: Path) -> tuple[list[np.ndarray], list[dict]]:
    views, rows = [], []
    for d in ("d2", "d3"):
        root = work / d
        for line in (root / "catalog" / "products.jsonl").read_text().splitlines():
            p = json.loads(line)
            img = cv2.imread(str(root / "catalog" / (p.get("images") or [p["image"]])[0]))
            views.append(shop_view(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
            rows.append(visible_attributes(p))
    return views, rows


def video_crops(work: Path) -> tuple[list[list[np.ndarray]], list[dict]]:
    lines = (work / "d2" / "catalog" / "products.jsonl").read_text().splitlines()
    products = {p["id"]: p for p in map(json.loads, lines)}
    crops, rows = [], []
    for clip in load_split(work / "d2", "all"):
        tracks = [t for t in clip.truth.tracks if t.product_id in products and len(t.boxes)]
        for t, tc in zip(tracks, track_crops(clip.video, tracks, 12), strict=True):
            if tc is not None:
                crops.append(tc.views)
                rows.append(visible_attributes(products[t.product_id]))
    return crops, rows


def probe(vocab: AttributeVocab, x: np.ndarray, y: np.ndarray, xv: np.ndarray,
          yv: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per attribute: accuracy on held-out shop images, and on the video descriptors."""
    perm = np.random.default_rng(0).permutation(len(x))
    tr, te = perm[: int(0.8 * len(x))], perm[int(0.8 * len(x)):]
    xt = torch.from_numpy(x).float()
    mu, sd = xt[tr].mean(0), xt[tr].std(0) + 1e-6
    xt, xvt = (xt - mu) / sd, (torch.from_numpy(xv).float() - mu) / sd
    out = {}
    for a in ASKED:
        if a not in vocab.values:
            continue
        i = vocab.names.index(a)
        labels = torch.from_numpy(y[:, i])
        m_tr, m_te = tr[y[tr, i] >= 0], te[y[te, i] >= 0]
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.ReLU(),
                                  torch.nn.Linear(128, len(vocab.values[a])))
        opt = torch.optim.Adam(net.parameters(), 3e-3, weight_decay=1e-4)
        for _ in range(400):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[m_tr]), labels[m_tr]).backward()
            opt.step()
        with torch.no_grad():
            shop = (net(xt[m_te]).argmax(1) == labels[m_te]).float().mean().item()
            seen = yv[:, i] >= 0
            video = (net(xvt[seen]).argmax(1) == torch.from_numpy(yv[seen, i])
                     ).float().mean().item()
        out[a] = (shop, video)
    return out


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    work = Path(sys.argv[1] if len(sys.argv) > 1 else ".cache/asymnet-work")
    views, rows = shop_views(work)
    crops, vrows = video_crops(work)
    print(f"{len(views)} shop images, {len(crops)} video trajectories", flush=True)
    vocab = AttributeVocab.build(rows)
    y = np.stack([vocab.labels(r) for r in rows])
    yv = np.stack([vocab.labels(r) for r in vrows])
    for name, describe in DESCRIPTORS.items():
        t0 = time.time()
        x = np.stack([describe(v) for v in views])
        ms = (time.time() - t0) / len(views) * 1000
        xv = np.stack([np.mean([describe(v) for v in vs], 0) for vs in crops])
        res = probe(vocab, x, y, xv, yv)
        print(f"{name:20s} {x.shape[1]:4d} numbers {ms:.2f} ms/image  " + "  ".join(
            f"{a} {s:.2f}/{v:.2f}" for a, (s, v) in res.items()), flush=True)


if __name__ == "__main__":
    main()
