"""Drawing figures and garments into a frame, with a label map that makes ground truth exact.

Every pixel of the frame records in ``label`` which object painted it last. A garment's
visible fraction is the count of its labels left after everything in front of it was drawn,
divided by the area of its full shape (measured on its own canvas, so the parts outside the
frame count as hidden): ground truth comes from the drawing itself, not from a model of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from bench.synth.body import (
    Build,
    Joints,
    Pose,
    body_parts,
    compute_joints,
    draw_parts,
    parts_bounds,
)
from bench.synth.body import ellipse as draw_ellipse
from bench.synth.fabric import draw_motif, paint_fabric, shade
from bench.synth.garments import CATEGORIES, GarmentShape, draw_shape_mask, garment_shape

SKIN_LABEL = -1  # bodies, hair, shoes: anything that is not a garment we track


@dataclass
class Canvas:
    """The frame being drawn (float32 RGB) and its label map (int32)."""

    rgb: np.ndarray
    label: np.ndarray

    @classmethod
    def from_image(cls, rgb: np.ndarray) -> Canvas:
        return cls(rgb.astype(np.float32), np.zeros(rgb.shape[:2], np.int32))

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass
class Drawn:
    full_area: int  # pixels of the garment's whole shape, in or out of the frame
    box: tuple[float, float, float, float] | None  # x1, y1, x2, y2 clipped to the frame


def _local_canvas(bounds, pad: int = 3) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = bounds
    off = np.array([np.floor(x0) - pad, np.floor(y0) - pad])
    w = int(np.ceil(x1 - off[0])) + pad + 1
    h = int(np.ceil(y1 - off[1])) + pad + 1
    return np.zeros((max(h, 1), max(w, 1)), np.uint8), off


def _intersect(off: np.ndarray, shape: tuple[int, int], size: tuple[int, int]):
    """The part of a local canvas at ``off`` that lies inside the frame: (frame slices,
    local slices) or None."""
    fw, fh = size
    ox, oy = int(off[0]), int(off[1])
    h, w = shape
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(fw, ox + w), min(fh, oy + h)
    if x1 <= x0 or y1 <= y0:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))


def _volume_shading(mask: np.ndarray, radius_px: float, floor: float = 0.58) -> np.ndarray:
    """Rounded bodies: darker towards the silhouette, from the distance to the edge."""
    dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
    t = np.clip(dist / max(radius_px, 1.0), 0, 1) ** 0.6
    return floor + (1 - floor) * t


def composite(
    canvas: Canvas, mask: np.ndarray, color: np.ndarray, off: np.ndarray, label_id: int
) -> None:
    """Blends ``color`` (local RGB) into the frame through ``mask`` (local, 0..255)."""
    hit = _intersect(off, mask.shape, canvas.size)
    if hit is None:
        return
    (fy, fx), (ly, lx) = hit
    m = mask[ly, lx]
    a = (m.astype(np.float32) / 255.0)[..., None]
    c = color[ly, lx] if color.ndim == 3 else color
    region = canvas.rgb[fy, fx]
    region *= 1 - a
    region += c * a
    lab = canvas.label[fy, fx]
    lab[m > 127] = label_id


def _grid(off: np.ndarray, shape: tuple[int, int]):
    ys = np.arange(shape[0], dtype=np.float32) + float(off[1])
    xs = np.arange(shape[1], dtype=np.float32) + float(off[0])
    return np.meshgrid(xs, ys)


def render_garment(
    canvas: Canvas,
    label_id: int,
    product: dict[str, Any],
    shape: GarmentShape,
    j: Joints,
    pose: Pose,
    light_dir: float = 0.3,
    flat: bool = False,
) -> Drawn:
    mask, off = _local_canvas(shape.bounds())
    draw_shape_mask(mask, shape, off)
    full_area = int(np.count_nonzero(mask > 127))
    fabric = product["fabric"]
    attrs = product["attributes"]
    X, Y = _grid(off, mask.shape)
    u = (X - shape.center[0]) / (j.scale * j.lateral)
    v = (Y - shape.center[1]) / j.scale
    color = paint_fabric(fabric, u, v, px=1.0 / j.scale)
    _paint_details(color, mask, shape, off, fabric, attrs)
    shading = _volume_shading(mask, 0.03 * j.scale, floor=0.8 if flat else 0.58)
    light = 1 + 0.12 * light_dir * np.clip(u * j.lateral / 0.15, -1, 1)
    folds = _folds(u, v, product.get("fold_seed", 0))
    color *= (shading * light * folds)[..., None]
    composite(canvas, mask, color, off, label_id)
    ys, xs = np.nonzero(mask > 127)
    box = None
    if len(xs):
        fw, fh = canvas.size
        x1 = max(0.0, float(xs.min() + off[0]))
        y1 = max(0.0, float(ys.min() + off[1]))
        x2 = min(float(fw), float(xs.max() + off[0] + 1))
        y2 = min(float(fh), float(ys.max() + off[1] + 1))
        if x2 > x1 and y2 > y1:
            box = (x1, y1, x2, y2)
    return Drawn(full_area, box)


def _folds(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Soft creases that move with the garment. ``u`` varies along rows and ``v`` down
    columns only, so the waves are computed once per row and the bumps are polynomial."""
    rng = np.random.default_rng(seed)
    u_row = u[0:1, :]
    v_col = v[:, 0:1]
    out = np.ones(u.shape, np.float32)
    for _ in range(3):
        c = rng.uniform(-0.12, 0.12)
        ph = rng.uniform(0, 6.28)
        w = rng.uniform(0.006, 0.012)
        d = (u_row - c - 0.015 * np.sin(v_col * 18 + ph)) / w
        bump = np.clip(1 - d * d * 0.5, 0, None) ** 2
        out -= (0.07 * bump * (0.5 + 0.5 * np.sin(v_col * 7 + ph))).astype(np.float32)
    return out


def _paint_details(
    color: np.ndarray,
    mask: np.ndarray,
    shape: GarmentShape,
    off: np.ndarray,
    fabric: dict[str, Any],
    attrs: dict[str, Any],
) -> None:
    base = fabric["base"]
    for kind, d in shape.details:
        if kind == "buttons":
            cols = [d["x"] - d["dx"], d["x"] + d["dx"]] if d["double"] else [d["x"]]
            btn = shade(base, -0.55) if sum(base) > 300 else shade(base, 0.6)
            for cx in cols:
                for y in np.linspace(d["y0"], d["y1"], d["n"]):
                    p = (int(round((cx - off[0]) * 16)), int(round((y - off[1]) * 16)))
                    cv2.circle(color, p, int(d["r"] * 16), btn, -1, cv2.LINE_AA, 4)
        elif kind == "collar":
            n, s, lat = d["neck"], d["s"], d["lat"]
            tint = attrs.get("collar_color")
            col = tuple(tint) if tint else shade(base, 0.35)
            for sgn in (-1, 1):
                tri = n + np.array(
                    [
                        [sgn * 0.05 * s * lat, -0.008 * s],
                        [sgn * 0.004 * s, -0.006 * s],
                        [sgn * 0.018 * s * lat, 0.04 * s],
                    ]
                )
                q = np.round((tri - off) * 16).astype(np.int32)
                cv2.fillPoly(color, [q], col, cv2.LINE_AA, 4)
                cv2.fillPoly(mask, [q], 255, cv2.LINE_AA, 4)
        elif kind == "lapel":
            n, s, lat = d["neck"], d["s"], d["lat"]
            col = shade(base, -0.25)
            for sgn in (-1, 1):
                tri = n + np.array(
                    [
                        [sgn * 0.045 * s * lat, -0.004 * s],
                        [sgn * 0.002 * s, 0.0],
                        [sgn * 0.004 * s, (d["bottom"] - n[1]) * 0.75],
                        [sgn * 0.05 * s * lat, 0.05 * s],
                    ]
                )
                q = np.round((tri - off) * 16).astype(np.int32)
                cv2.fillPoly(color, [q], col, cv2.LINE_AA, 4)
        elif kind == "motif":
            accent = fabric.get("accent", shade(base, -0.5))
            c = d["center"] - off
            draw_motif(color, d["motif"], (float(c[0]), float(c[1])), d["size"], tuple(accent))
        elif kind == "belt":
            y0 = int(round(d["y"] - off[1] - d["h"] / 2))
            y1 = max(y0 + 1, int(round(d["y"] - off[1] + d["h"] / 2)))
            x0 = int(round(d["x"] - off[0] - d["half"]))
            x1 = int(round(d["x"] - off[0] + d["half"]))
            color[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = (52, 34, 26)
            bx = int(round(d["x"] - off[0]))
            cv2.rectangle(
                color,
                (bx - max(1, int(d["h"])), y0),
                (bx + max(1, int(d["h"])), y1),
                (190, 180, 150),
                1,
            )
        elif kind == "seams":
            for hip, ankle in d["legs"]:
                p0 = np.round(hip - off).astype(int)
                p1 = np.round(ankle - off).astype(int)
                cv2.line(
                    color,
                    tuple(int(v) for v in p0),
                    tuple(int(v) for v in p1),
                    (176, 120, 60),
                    1,
                    cv2.LINE_AA,
                )
        elif kind == "hem_band":
            y0 = int(round(d["y"] - off[1] - d["h"]))
            y1 = int(round(d["y"] - off[1]))
            band = color[max(0, y0) : max(0, y1)]
            band *= 0.82


def render_figure(
    canvas: Canvas,
    pose: Pose,
    build: Build,
    outfit: list[tuple[int, dict[str, Any]]],
    light_dir: float = 0.3,
    skin_label: int = SKIN_LABEL,
    mannequin: bool = False,
    draw_body: bool = True,
) -> dict[int, Drawn]:
    """Draws a figure wearing ``outfit`` ([(label id, product)], lower garments first).
    Returns what was drawn of each garment."""
    j = compute_joints(pose, build)
    s = j.scale
    out: dict[int, Drawn] = {}
    if draw_body:
        if build.hair_style == "long" and not mannequin:
            _hair_back(canvas, j, build, pose, skin_label)
        parts = body_parts(j, build, pose)
        bounds = parts_bounds(parts)
        mask, off = _local_canvas(bounds)
        draw_parts(mask, parts, off)
        skin = np.empty((*mask.shape, 3), np.float32)
        skin[:] = build.skin
        skin *= _volume_shading(mask, 0.03 * s)[..., None]
        composite(canvas, mask, skin, off, skin_label)
        if not mannequin:
            _shoes(canvas, j, build, skin_label)
    slots = {"lower": 0, "upper": 1, "full": 1}
    ordered = sorted(outfit, key=lambda item: slots[CATEGORIES[item[1]["category"]].slot])
    for label_id, product in ordered:
        shape = garment_shape(product["category"], product["attributes"], j, pose)
        out[label_id] = render_garment(
            canvas, label_id, product, shape, j, pose, light_dir, flat=not draw_body
        )
    if draw_body:
        _hands_and_head(canvas, j, build, pose, skin_label, mannequin)
    return out


def _shoes(canvas: Canvas, j: Joints, build: Build, label: int) -> None:
    s = j.scale
    for k in ("r", "l"):
        a, f = j[f"ankle_{k}"], j[f"foot_{k}"]
        c = (a + f) / 2 + np.array([0, 0.008 * s])
        mask, off = _local_canvas(
            (c[0] - 0.06 * s, c[1] - 0.04 * s, c[0] + 0.06 * s, c[1] + 0.04 * s)
        )
        draw_ellipse(mask, c, (0.04 * s * max(j.lateral, 0.7), 0.018 * s), 0.0, off)
        composite(canvas, mask, np.asarray(build.shoes, np.float32), off, label)


def _hair_back(canvas: Canvas, j: Joints, build: Build, pose: Pose, label: int) -> None:
    s = j.scale
    h = j["head"]
    wl = s * j.lateral
    pts = h + np.array(
        [
            [-0.07 * wl, -0.02 * s],
            [0.07 * wl, -0.02 * s],
            [0.08 * wl, 0.17 * s],
            [-0.08 * wl, 0.17 * s],
        ]
    )
    mask, off = _local_canvas((pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()))
    q = np.round((pts - off) * 16).astype(np.int32)
    cv2.fillPoly(mask, [q], 255, cv2.LINE_AA, 4)
    col = np.empty((*mask.shape, 3), np.float32)
    col[:] = build.hair
    col *= _volume_shading(mask, 0.03 * s)[..., None]
    composite(canvas, mask, col, off, label)


def _hands_and_head(
    canvas: Canvas, j: Joints, build: Build, pose: Pose, label: int, mannequin: bool
) -> None:
    s = j.scale
    h = j["head"]
    rx, ry = 0.056 * s * max(j.lateral, 0.8), 0.07 * s
    mask, off = _local_canvas((h[0] - 0.1 * s, h[1] - 0.1 * s, h[0] + 0.1 * s, h[1] + 0.1 * s))
    hands = []
    for k in ("r", "l"):
        w = j[f"wrist_{k}"]
        hands.append(w)
    if mannequin:
        draw_ellipse(mask, h, (rx * 0.9, ry * 0.95), 0.0, off)
        col = np.empty((*mask.shape, 3), np.float32)
        col[:] = build.skin
        col *= _volume_shading(mask, 0.04 * s, floor=0.7)[..., None]
        composite(canvas, mask, col, off, label)
        return
    for w in hands:
        hm, hoff = _local_canvas(
            (w[0] - 0.03 * s, w[1] - 0.03 * s, w[0] + 0.03 * s, w[1] + 0.04 * s)
        )
        draw_ellipse(hm, w + np.array([0, 0.012 * s]), (0.018 * s, 0.025 * s), 0.0, hoff)
        col = np.empty((*hm.shape, 3), np.float32)
        col[:] = build.skin
        composite(canvas, hm, col * 0.95, hoff, label)
    draw_ellipse(mask, h, (rx, ry), 0.0, off)
    face = np.empty((*mask.shape, 3), np.float32)
    face[:] = build.skin
    face *= _volume_shading(mask, 0.04 * s, floor=0.72)[..., None]
    # hair: a cap over the top (all over the head seen from behind)
    hair = np.zeros_like(mask)
    if build.hair_style != "bald":
        if pose.facing_back:
            draw_ellipse(hair, h, (rx * 1.05, ry * 1.04), 0.0, off)
        else:
            # a cap over the crown and the forehead; turned, the hair shows at the back
            side = np.sin(pose.facing)
            draw_ellipse(
                hair,
                h + np.array([0, -0.018 * s]),
                (rx * 1.07, ry * 0.86),
                0.0,
                off,
                start=180,
                end=360,
            )
            if abs(side) > 0.6:
                draw_ellipse(
                    hair,
                    h + np.array([-side * 0.04 * s, -0.004 * s]),
                    (rx * 0.55 * abs(side), ry * 0.8),
                    0.0,
                    off,
                )
        if build.hair_style == "bun":
            draw_ellipse(hair, h + np.array([0, -ry * 1.05]), (rx * 0.45, ry * 0.35), 0.0, off)
    a = (hair.astype(np.float32) / 255.0)[..., None]
    face = face * (1 - a) + np.asarray(build.hair, np.float32) * a
    if not pose.facing_back and s > 60:
        side = np.sin(pose.facing)
        for ex in (-0.022, 0.022):
            if abs(side) > 0.7 and np.sign(ex) != np.sign(side):
                continue
            e = h + np.array([ex * s * j.lateral + side * 0.02 * s, 0.004 * s]) - off
            cv2.circle(
                face,
                (int(e[0] * 16), int(e[1] * 16)),
                max(8, int(0.006 * s * 16)),
                (40, 30, 28),
                -1,
                cv2.LINE_AA,
                4,
            )
    composite(canvas, np.maximum(mask, hair), face, off, label)


# --- shop images -------------------------------------------------------------------------------
SHOP_SIZE = (256, 320)  # width, height


def render_shop_image(product: dict[str, Any], view: str, rng: np.random.Generator) -> np.ndarray:
    """A shop photo of ``product``: ``view`` is "mannequin", "flat" or "back". Returns BGR uint8.

    Studio light, plain background, frontal, garment filling the picture: the other side of
    the asymmetry AsymNet bridges."""
    w, h = SHOP_SIZE
    big = 3  # draw large, then crop and shrink: clean edges like a product photo
    cw, ch = w * big, h * big
    bg_kind = rng.choice(["white", "studio"])
    yy = np.linspace(0, 1, ch, dtype=np.float32)[:, None, None]
    if bg_kind == "white":
        bg = np.full((ch, cw, 3), 246, np.float32)
    else:
        top = np.asarray(
            rng.choice([(228, 226, 222), (214, 220, 226), (232, 224, 216)]), np.float32
        )
        bg = np.broadcast_to(top * (1.0 - 0.12 * yy), (ch, cw, 3)).copy()
    canvas = Canvas(bg, np.zeros((ch, cw), np.int32))
    # the whole figure fits; the crop to the garment comes after
    pose = Pose(x=cw / 2, y=ch * 0.97, scale=ch * 0.92, facing=np.pi if view == "back" else 0.0)
    mannequin = Build(skin=(222, 220, 214), hair=(0, 0, 0), hair_style="bald")
    light = float(rng.uniform(-0.4, 0.4))
    flat = view == "flat"
    if flat:
        pose.gesture = 0.0
    drawn = render_figure(
        canvas, pose, mannequin, [(1, product)], light_dir=light, mannequin=True, draw_body=not flat
    )
    d = drawn[1]
    if d.box is None:
        raise RuntimeError(f"product {product['id']} was not drawn")
    if flat:  # a soft shadow under a flat-lay garment
        shadow = (canvas.label == 1).astype(np.float32)
        shadow = cv2.GaussianBlur(np.roll(shadow, (12, 10), (0, 1)), (0, 0), 9)
        only = (canvas.label != 1)[..., None]
        canvas.rgb -= (shadow[..., None] * 40) * only
    x1, y1, x2, y2 = d.box
    mx, my = (x2 - x1) * 0.08 + 6, (y2 - y1) * 0.08 + 6
    x1, y1, x2, y2 = max(0, x1 - mx), max(0, y1 - my), min(cw, x2 + mx), min(ch, y2 + my)
    # fit the crop into the shop image's aspect, centred
    bw, bh = x2 - x1, y2 - y1
    if bw / bh < w / h:
        grow = bh * w / h - bw
        x1, x2 = x1 - grow / 2, x2 + grow / 2
    else:
        grow = bw * h / w - bh
        y1, y2 = y1 - grow / 2, y2 + grow / 2
    M = np.array([[w / (x2 - x1), 0, -x1 * w / (x2 - x1)], [0, h / (y2 - y1), -y1 * h / (y2 - y1)]])
    fill = tuple(float(v) for v in canvas.rgb[2, 2])
    img = cv2.warpAffine(
        canvas.rgb,
        M,
        (w, h),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
    img *= float(rng.uniform(0.95, 1.05))
    return cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
