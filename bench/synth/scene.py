"""Sets for the synthetic dramas: rooms and streets with depth, props, a camera and light.

The world is a pinhole view seen from eye height: a thing at distance ``Z`` is ``f / Z`` pixels
per body height tall and stands on the floor at ``horizon + eye * f / Z``. Characters and props
share that rule, so a person walking away shrinks and rises towards the horizon, and whoever is
nearer is drawn later (in front).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from bench.synth.fabric import COLORS, shade

EYE = 0.78  # camera height, in body heights


@dataclass
class Prop:
    """An RGBA sprite standing at distance ``z``; ``x`` is its centre, in world pixels."""

    sprite: np.ndarray  # h x w x 4 float32, alpha 0..1
    x: float
    z: float
    name: str
    anchor_y: float = 1.0  # which row of the sprite stands on the floor (fraction of height)


@dataclass
class World:
    background: np.ndarray  # H x W x 3 float32 RGB
    horizon: float
    focal: float  # world pixels per body height at distance 1
    props: list[Prop] = field(default_factory=list)
    kind: str = "room"
    seats: list[tuple[float, float]] = field(default_factory=list)  # (x, z) one can sit at
    z_wall: float = 5.0

    @property
    def size(self) -> tuple[int, int]:
        return self.background.shape[1], self.background.shape[0]

    def scale_at(self, z: float) -> float:
        return self.focal / z

    def floor_y(self, z: float) -> float:
        return self.horizon + EYE * self.focal / z


def _rgb(name_or_rgb) -> np.ndarray:
    v = COLORS[name_or_rgb] if isinstance(name_or_rgb, str) else name_or_rgb
    return np.asarray(v, np.float32)


def _vgrad(h: int, w: int, top, bottom) -> np.ndarray:
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(_rgb(top) * (1 - t) + _rgb(bottom) * t, (h, w, 3)).copy()


def _rect(img: np.ndarray, x0, y0, x1, y1, color) -> None:
    h, w = img.shape[:2]
    x0, x1 = int(max(0, min(w, x0))), int(max(0, min(w, x1)))
    y0, y1 = int(max(0, min(h, y0))), int(max(0, min(h, y1)))
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = color


def _noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    small = rng.random((max(2, h // cell), max(2, w // cell))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


# --- rooms -------------------------------------------------------------------------------------
WALLS = [
    (226, 214, 190),
    (196, 206, 190),
    (184, 198, 210),
    (214, 180, 160),
    (200, 200, 196),
    (232, 224, 206),
    (170, 160, 175),
]
WOODS = [(150, 100, 62), (118, 80, 52), (176, 132, 90), (96, 70, 52)]


def make_room(rng: np.random.Generator, width: int, height: int) -> World:
    focal = height / 1.15
    horizon = 0.42 * height / 1.15 * 1.0 + 0.02 * height
    z_wall = float(rng.uniform(4.2, 5.5))
    base_y = horizon + EYE * focal / z_wall
    wall = np.asarray(WALLS[rng.integers(len(WALLS))], np.float32)
    img = _vgrad(height, width, shade(wall.tolist(), 0.08), shade(wall.tolist(), -0.12))
    # wallpaper: faint stripes or a damask of noise
    xx = np.mgrid[0:height, 0:width][1].astype(np.float32)
    if rng.random() < 0.5:
        period = float(rng.uniform(14, 30))
        img *= (1 - 0.05 * (np.sin(xx / period * 2 * np.pi) > 0.3))[..., None]
    else:
        img *= (1 - 0.06 * _noise(rng, height, width, 12))[..., None]
    # floor with planks in perspective
    wood = np.asarray(WOODS[rng.integers(len(WOODS))], np.float32)
    fy = int(base_y)
    floor = _vgrad(height - fy, width, shade(wood.tolist(), -0.25), shade(wood.tolist(), 0.1))
    if rng.random() < 0.7:
        vx = width / 2 + rng.uniform(-0.2, 0.2) * width
        fyy, fxx = np.mgrid[0 : height - fy, 0:width].astype(np.float32)
        depth = (fyy + 1) / (height - fy)
        ux = (fxx - vx) / np.maximum(depth, 0.02)
        seam = np.abs(((ux / 60.0) % 1.0) - 0.5) > 0.47
        floor *= (1 - 0.18 * seam)[..., None]
        floor *= (1 - 0.05 * _noise(rng, height - fy, width, 6))[..., None]
    else:  # a rug
        floor = floor * 0.6 + _rgb(str(rng.choice(["burgundy", "navy", "olive", "beige"]))) * 0.4
    img[fy:] = floor
    _rect(img, 0, fy - 0.012 * height, width, fy + 2, shade(wall.tolist(), -0.45))
    # windows, paintings, a door, shelves on the wall
    x = float(rng.uniform(0.02, 0.12)) * width
    while x < width * 0.95:
        kind = rng.choice(
            ["window", "painting", "door", "shelf", "gap"], p=[0.3, 0.25, 0.1, 0.15, 0.2]
        )
        w = float(rng.uniform(0.08, 0.16)) * width
        if kind == "window":
            _window(img, rng, x, horizon - 0.28 * height, w, 0.36 * height, wall)
        elif kind == "painting":
            _painting(img, rng, x, horizon - 0.2 * height, w * 0.8, 0.16 * height)
        elif kind == "door":
            dh = base_y - (horizon - 0.3 * height)
            _rect(img, x, base_y - dh, x + w * 0.6, base_y, shade(wood.tolist(), -0.1))
            _rect(
                img,
                x + w * 0.48,
                base_y - dh * 0.5,
                x + w * 0.52,
                base_y - dh * 0.47,
                (200, 180, 120),
            )
        elif kind == "shelf":
            _shelf(img, rng, x, base_y - 0.3 * height, w, 0.3 * height, wood)
        x += w + float(rng.uniform(0.03, 0.1)) * width
    world = World(img, horizon, focal, kind="room", z_wall=z_wall)
    # furniture at depths, and sometimes a foreground plant or lamp
    for _ in range(int(rng.integers(1, 4))):
        z = float(rng.uniform(2.2, z_wall - 0.3))
        px = float(rng.uniform(0.1, 0.9)) * width
        item = rng.choice(["sofa", "table", "plant", "lamp", "chair"])
        prop = _furniture(rng, str(item), world.scale_at(z))
        world.props.append(Prop(prop, px, z, str(item)))
        if item in ("sofa", "chair"):
            world.seats.append((px, z - 0.05))
    return world


def _window(img, rng, x, y, w, h, wall) -> None:
    sky = _vgrad(int(h), int(w), (150, 190, 235), (225, 235, 245))
    if rng.random() < 0.4:  # evening
        sky = _vgrad(int(h), int(w), (60, 70, 120), (230, 150, 100))
    x0, y0 = int(x), int(y)
    hh, ww = sky.shape[:2]
    H, W = img.shape[:2]
    sub = img[max(0, y0) : min(H, y0 + hh), max(0, x0) : min(W, x0 + ww)]
    sub[:] = sky[: sub.shape[0], : sub.shape[1]]
    frame = (238, 236, 230)
    t = max(2, int(w * 0.05))
    _rect(img, x - t, y - t, x + w + t, y, frame)
    _rect(img, x - t, y + h, x + w + t, y + h + t, frame)
    _rect(img, x - t, y, x, y + h, frame)
    _rect(img, x + w, y, x + w + t, y + h, frame)
    _rect(img, x + w / 2 - t / 2, y, x + w / 2 + t / 2, y + h, frame)
    _rect(img, x, y + h / 2 - t / 2, x + w, y + h / 2 + t / 2, frame)
    # curtains with folds
    cur = _rgb(str(rng.choice(["burgundy", "cream", "navy", "olive", "mustard"])))
    cw = w * 0.22
    for cx in (x - t - cw * 0.6, x + w + t - cw * 0.4):
        xx = np.mgrid[0 : int(h * 1.15), 0 : int(cw)][1].astype(np.float32)
        folds = 0.8 + 0.2 * np.sin(xx / max(cw, 1) * 6 * np.pi)
        patch = cur * folds[..., None]
        y0c, x0c = int(y - t * 2), int(cx)
        sub = img[
            max(0, y0c) : min(H, y0c + patch.shape[0]), max(0, x0c) : min(W, x0c + patch.shape[1])
        ]
        sub[:] = patch[: sub.shape[0], : sub.shape[1]]


def _painting(img, rng, x, y, w, h) -> None:
    _rect(img, x - 4, y - 4, x + w + 4, y + h + 4, (90, 70, 40))
    art = np.empty((int(h), int(w), 3), np.float32)
    art[:] = _rgb(str(rng.choice(list(COLORS))))
    for _ in range(5):
        c = _rgb(str(rng.choice(list(COLORS))))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.1, 0.4) * min(w, h)
        cv2.circle(art, (int(cx), int(cy)), int(r), tuple(float(v) for v in c), -1, cv2.LINE_AA)
    H, W = img.shape[:2]
    x0, y0 = int(x), int(y)
    sub = img[max(0, y0) : min(H, y0 + art.shape[0]), max(0, x0) : min(W, x0 + art.shape[1])]
    sub[:] = art[: sub.shape[0], : sub.shape[1]]


def _shelf(img, rng, x, y, w, h, wood) -> None:
    _rect(img, x, y, x + w, y + h, shade(wood.tolist(), -0.2))
    rows = 3
    for r in range(rows):
        y0 = y + h * r / rows + 4
        y1 = y + h * (r + 1) / rows - 2
        bx = x + 4
        while bx < x + w - 8:
            bw = float(rng.uniform(4, 10))
            bh = (y1 - y0) * float(rng.uniform(0.6, 0.95))
            _rect(img, bx, y1 - bh, bx + bw, y1, _rgb(str(rng.choice(list(COLORS)))) * 0.85)
            bx += bw + 1
        _rect(img, x, y1, x + w, y1 + 3, shade(wood.tolist(), 0.1))


def _sprite(h: int, w: int) -> np.ndarray:
    return np.zeros((max(2, h), max(2, w), 4), np.float32)


def _fill(sprite: np.ndarray, pts, color, aa: bool = True) -> None:
    rgb = np.zeros(sprite.shape[:2], np.float32)
    q = np.round(np.asarray(pts, float) * 16).astype(np.int32)
    cv2.fillPoly(rgb, [q], 1.0, cv2.LINE_AA if aa else cv2.LINE_8, 4)
    a = rgb[..., None]
    sprite[..., :3] = sprite[..., :3] * (1 - a) + np.asarray(color, np.float32) * a
    sprite[..., 3] = np.maximum(sprite[..., 3], rgb)


def _furniture(rng: np.random.Generator, item: str, s: float) -> np.ndarray:
    """A piece of furniture drawn at ``s`` pixels per body height."""
    if item == "sofa":
        w, h = int(0.95 * s), int(0.5 * s)
        sp = _sprite(h, w)
        c = _rgb(str(rng.choice(["grey", "navy", "olive", "camel", "burgundy", "teal"])))
        _fill(
            sp, [(0.06 * w, 0), (0.94 * w, 0), (0.94 * w, 0.7 * h), (0.06 * w, 0.7 * h)], c * 0.85
        )
        _fill(sp, [(0, 0.45 * h), (w, 0.45 * h), (w, 0.9 * h), (0, 0.9 * h)], c)
        _fill(sp, [(0, 0.3 * h), (0.1 * w, 0.3 * h), (0.1 * w, 0.9 * h), (0, 0.9 * h)], c * 0.75)
        _fill(sp, [(0.9 * w, 0.3 * h), (w, 0.3 * h), (w, 0.9 * h), (0.9 * w, 0.9 * h)], c * 0.75)
        _fill(
            sp, [(0.05 * w, 0.9 * h), (0.1 * w, 0.9 * h), (0.1 * w, h), (0.05 * w, h)], (40, 30, 20)
        )
        _fill(
            sp, [(0.9 * w, 0.9 * h), (0.95 * w, 0.9 * h), (0.95 * w, h), (0.9 * w, h)], (40, 30, 20)
        )
        return sp
    if item == "chair":
        w, h = int(0.32 * s), int(0.55 * s)
        sp = _sprite(h, w)
        c = _rgb(WOODS[rng.integers(len(WOODS))])
        _fill(sp, [(0.1 * w, 0), (0.9 * w, 0), (0.9 * w, 0.6 * h), (0.1 * w, 0.6 * h)], c)
        _fill(sp, [(0, 0.55 * h), (w, 0.55 * h), (w, 0.65 * h), (0, 0.65 * h)], c * 0.8)
        for x0 in (0.05, 0.85):
            _fill(
                sp,
                [(x0 * w, 0.6 * h), ((x0 + 0.1) * w, 0.6 * h), ((x0 + 0.1) * w, h), (x0 * w, h)],
                c * 0.7,
            )
        return sp
    if item == "table":
        w, h = int(0.7 * s), int(0.62 * s)
        sp = _sprite(h, w)
        c = _rgb(WOODS[rng.integers(len(WOODS))])
        _fill(sp, [(0, 0.38 * h), (w, 0.38 * h), (w, 0.46 * h), (0, 0.46 * h)], c)
        for x0 in (0.06, 0.88):
            _fill(
                sp,
                [
                    (x0 * w, 0.46 * h),
                    ((x0 + 0.06) * w, 0.46 * h),
                    ((x0 + 0.06) * w, h),
                    (x0 * w, h),
                ],
                c * 0.75,
            )
        vase = _rgb(str(rng.choice(["white", "teal", "royal blue", "mustard"])))
        _fill(
            sp,
            [(0.45 * w, 0.2 * h), (0.55 * w, 0.2 * h), (0.57 * w, 0.38 * h), (0.43 * w, 0.38 * h)],
            vase,
        )
        for k in range(4):
            cx = w * (0.42 + 0.05 * k)
            cv2.circle(
                sp,
                (int(cx), int(0.15 * h)),
                max(2, int(0.04 * w)),
                (*(float(v) for v in _rgb(str(rng.choice(["red", "pink", "lavender"])))), 1.0),
                -1,
                cv2.LINE_AA,
            )
        return sp
    if item == "plant":
        w, h = int(0.45 * s), int(0.85 * s)
        sp = _sprite(h, w)
        pot = _rgb(str(rng.choice(["white", "brown", "charcoal", "beige"])))
        _fill(sp, [(0.3 * w, 0.78 * h), (0.7 * w, 0.78 * h), (0.64 * w, h), (0.36 * w, h)], pot)
        green = _rgb("green")
        for _ in range(14):
            ang = rng.uniform(-1.3, 1.3)
            ln = rng.uniform(0.35, 0.75) * h
            tip = (w / 2 + np.sin(ang) * ln * 0.6, 0.78 * h - np.cos(ang) * ln)
            leaf = [(w / 2 - 0.03 * w, 0.78 * h), tip, (w / 2 + 0.03 * w, 0.78 * h)]
            mid = ((leaf[0][0] + tip[0]) / 2 + 0.06 * w, (leaf[0][1] + tip[1]) / 2)
            _fill(sp, [leaf[0], mid, tip, leaf[2]], green * rng.uniform(0.6, 1.1))
        return sp
    if item == "lamp":
        w, h = int(0.35 * s), int(1.05 * s)
        sp = _sprite(h, w)
        _fill(
            sp,
            [(0.47 * w, 0.2 * h), (0.53 * w, 0.2 * h), (0.53 * w, h), (0.47 * w, h)],
            (50, 48, 46),
        )
        _fill(
            sp, [(0.3 * w, 0.97 * h), (0.7 * w, 0.97 * h), (0.7 * w, h), (0.3 * w, h)], (50, 48, 46)
        )
        _fill(
            sp,
            [(0.2 * w, 0.22 * h), (0.8 * w, 0.22 * h), (0.65 * w, 0), (0.35 * w, 0)],
            (240, 225, 190),
        )
        return sp
    if item == "pillar":
        w, h = int(0.3 * s), int(2.6 * s)
        sp = _sprite(h, w)
        c = _rgb(str(rng.choice(["beige", "grey", "cream", "white"])))
        xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
        sp[..., :3] = c * (0.75 + 0.25 * np.cos(xx * 1.4))
        sp[..., 3] = 1.0
        return sp
    if item == "tree":
        w, h = int(0.9 * s), int(2.4 * s)
        sp = _sprite(h, w)
        _fill(
            sp,
            [(0.45 * w, 0.45 * h), (0.55 * w, 0.45 * h), (0.57 * w, h), (0.43 * w, h)],
            (90, 65, 45),
        )
        for _ in range(10):
            cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.08, 0.45) * h
            r = rng.uniform(0.15, 0.3) * w
            col = _rgb("olive") * rng.uniform(0.7, 1.2)
            cv2.circle(
                sp, (int(cx), int(cy)), int(r), (*(float(v) for v in col), 1.0), -1, cv2.LINE_AA
            )
        return sp
    if item == "lamppost":
        w, h = int(0.25 * s), int(2.8 * s)
        sp = _sprite(h, w)
        _fill(
            sp,
            [(0.44 * w, 0.08 * h), (0.56 * w, 0.08 * h), (0.58 * w, h), (0.42 * w, h)],
            (45, 50, 55),
        )
        _fill(
            sp,
            [(0.2 * w, 0.0), (0.8 * w, 0.0), (0.7 * w, 0.08 * h), (0.3 * w, 0.08 * h)],
            (235, 220, 170),
        )
        return sp
    if item == "bench":
        w, h = int(0.9 * s), int(0.5 * s)
        sp = _sprite(h, w)
        c = _rgb(WOODS[rng.integers(len(WOODS))])
        for y0 in (0.0, 0.18, 0.5):
            _fill(sp, [(0, y0 * h), (w, y0 * h), (w, (y0 + 0.1) * h), (0, (y0 + 0.1) * h)], c)
        for x0 in (0.08, 0.88):
            _fill(
                sp,
                [(x0 * w, 0.0), ((x0 + 0.04) * w, 0.0), ((x0 + 0.04) * w, h), (x0 * w, h)],
                (40, 40, 44),
            )
        return sp
    if item == "car":
        w, h = int(2.4 * s), int(0.75 * s)
        sp = _sprite(h, w)
        c = _rgb(str(rng.choice(["red", "white", "black", "royal blue", "grey", "mustard"])))
        _fill(sp, [(0.0, 0.4 * h), (w, 0.4 * h), (w, 0.85 * h), (0, 0.85 * h)], c)
        _fill(
            sp,
            [(0.22 * w, 0.0), (0.72 * w, 0.0), (0.82 * w, 0.42 * h), (0.14 * w, 0.42 * h)],
            c * 0.9,
        )
        _fill(
            sp,
            [
                (0.26 * w, 0.06 * h),
                (0.68 * w, 0.06 * h),
                (0.76 * w, 0.38 * h),
                (0.19 * w, 0.38 * h),
            ],
            (150, 180, 200),
        )
        for x0 in (0.2, 0.8):
            cv2.circle(
                sp, (int(x0 * w), int(0.85 * h)), int(0.14 * h), (25, 25, 25, 1.0), -1, cv2.LINE_AA
            )
        return sp
    raise ValueError(f"unknown prop {item!r}")


# --- streets -----------------------------------------------------------------------------------
FACADES = [
    (196, 176, 150),
    (170, 100, 80),
    (226, 214, 190),
    (140, 150, 160),
    (210, 190, 160),
    (120, 100, 90),
    (230, 230, 225),
]


def make_street(rng: np.random.Generator, width: int, height: int) -> World:
    focal = height / 1.15
    horizon = 0.4 * height
    z_wall = float(rng.uniform(5.0, 7.0))
    base_y = horizon + EYE * focal / z_wall
    img = _vgrad(height, width, (120, 165, 215), (205, 220, 235))
    if rng.random() < 0.3:
        img = _vgrad(height, width, (70, 80, 120), (235, 170, 120))
    x = -float(rng.uniform(0, 0.1)) * width
    while x < width:
        w = float(rng.uniform(0.15, 0.3)) * width
        top = float(rng.uniform(0.0, 0.22)) * height
        col = np.asarray(FACADES[rng.integers(len(FACADES))], np.float32)
        _rect(img, x, top, x + w, base_y, col)
        # windows in a grid, with reflections
        cols = max(2, int(w / (0.045 * width)))
        rows = max(2, int((base_y - top - 0.16 * height) / (0.09 * height)))
        for r in range(rows):
            for c in range(cols):
                wx = x + w * (c + 0.25) / cols
                wy = top + 0.04 * height + r * 0.09 * height
                glass = (90, 110, 140) if rng.random() < 0.7 else (230, 210, 150)
                _rect(img, wx, wy, wx + w * 0.5 / cols, wy + 0.05 * height, glass)
        # a shop front with a striped awning and a sign
        sy = base_y - 0.16 * height
        _rect(img, x + 0.05 * w, sy, x + 0.95 * w, base_y, (60, 70, 80))
        _rect(img, x + 0.1 * w, sy + 0.03 * height, x + 0.9 * w, base_y, (150, 170, 185))
        aw = _rgb(str(rng.choice(["red", "green", "navy", "mustard", "teal"])))
        ay = sy - 0.035 * height
        for k in range(12):
            c = aw if k % 2 == 0 else np.asarray((240, 238, 230), np.float32)
            _rect(
                img,
                x + 0.05 * w + k * 0.9 * w / 12,
                ay,
                x + 0.05 * w + (k + 1) * 0.9 * w / 12,
                sy,
                c,
            )
        _rect(
            img, x + 0.3 * w, ay - 0.035 * height, x + 0.7 * w, ay - 0.005 * height, (235, 230, 215)
        )
        x += w
    # pavement in perspective
    pave = _vgrad(height - int(base_y), width, (150, 148, 142), (185, 180, 172))
    fyy, fxx = np.mgrid[0 : pave.shape[0], 0:width].astype(np.float32)
    depth = (fyy + 1) / pave.shape[0]
    ux = (fxx - width / 2) / np.maximum(depth, 0.02)
    seam = (np.abs(((ux / 90.0) % 1.0) - 0.5) > 0.48) | (
        np.abs(((np.log(depth + 0.05) * 9) % 1.0) - 0.5) > 0.46
    )
    pave *= (1 - 0.15 * seam)[..., None]
    img[int(base_y) :] = pave
    _rect(img, 0, base_y - 2, width, base_y + 2, (110, 108, 104))
    world = World(img, horizon, focal, kind="street", z_wall=z_wall)
    for _ in range(int(rng.integers(1, 4))):
        z = float(rng.uniform(2.0, z_wall - 0.3))
        item = str(rng.choice(["tree", "lamppost", "bench", "car"]))
        px = float(rng.uniform(0.05, 0.95)) * width
        world.props.append(Prop(_furniture(rng, item, world.scale_at(z)), px, z, item))
        if item == "bench":
            world.seats.append((px, z - 0.05))
    return world


def add_foreground(world: World, rng: np.random.Generator, x: float, z: float = 0.9) -> Prop:
    """An occluder nearer than every character: a pillar, plant or lamp post in the way."""
    item = str(
        rng.choice(
            ["pillar", "plant", "lamppost"]
            if world.kind == "room"
            else ["lamppost", "tree", "pillar"]
        )
    )
    prop = Prop(_furniture(rng, item, world.scale_at(z)), x, z, item)
    world.props.append(prop)
    return prop
