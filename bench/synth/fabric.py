"""Procedural fabrics: solid, stripes, checks, plaid, dots, florals from noise, prints, denim.

A fabric is a small JSON-able spec. ``paint_fabric`` evaluates it on a grid of garment
coordinates (u, v) measured in body heights, so a pattern keeps its physical size whether the
garment is a 40-pixel figure in the back of a street or a 300-pixel shop photo: stripes thin out
with distance and alias the way they do on camera. Edges are smoothed over one pixel.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

PATTERNS = ("solid", "stripes", "checks", "plaid", "dots", "floral", "print", "denim")

# name -> RGB. Names appear in product titles, so they are the shop's words.
COLORS: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 30),
    "white": (236, 236, 232),
    "cream": (238, 226, 196),
    "beige": (212, 190, 150),
    "camel": (184, 134, 80),
    "brown": (110, 70, 45),
    "khaki": (170, 160, 110),
    "olive": (100, 110, 50),
    "green": (40, 130, 70),
    "teal": (20, 120, 125),
    "sky blue": (120, 175, 225),
    "royal blue": (40, 70, 180),
    "navy": (28, 38, 80),
    "lavender": (180, 160, 215),
    "purple": (100, 50, 130),
    "pink": (235, 150, 175),
    "red": (195, 30, 40),
    "burgundy": (110, 25, 40),
    "orange": (230, 120, 40),
    "mustard": (215, 170, 40),
    "grey": (140, 140, 140),
    "charcoal": (60, 62, 66),
}

MOTIFS = ("star", "heart", "circle", "triangle", "letter A", "letter K", "anchor", "flower")


def shade(rgb: tuple[int, int, int] | list[int], amount: float) -> tuple[int, int, int]:
    """Lighter (amount > 0) or darker (< 0) version of a colour, by mixing with white/black."""
    c = np.asarray(rgb, np.float32)
    out = c + (255 - c) * amount if amount > 0 else c * (1 + amount)
    return tuple(round(float(v)) for v in np.clip(out, 0, 255))


def _smooth_band(t: np.ndarray, duty: float, fw: np.ndarray | float) -> np.ndarray:
    """1 inside a band of width ``duty`` (in [0, 1) periods), 0 outside, edges smoothed over
    ``fw`` periods (one pixel): anti-aliased stripes."""
    t = t - np.floor(t)
    fw = np.maximum(fw, 1e-4)
    rise = np.clip(t / fw, 0, 1)
    fall = np.clip((duty - t) / fw, 0, 1)
    return np.minimum(rise, fall)


def _noise_tile(seed: int, n: int = 24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, n)).astype(np.float32)


def _sample_periodic(tile: np.ndarray, u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    n = tile.shape[0]
    mx = ((u / period) % 1.0) * n
    my = ((v / period) % 1.0) * n
    return cv2.remap(
        tile,
        mx.astype(np.float32),
        my.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )


def paint_fabric(spec: dict[str, Any], u: np.ndarray, v: np.ndarray, px: float) -> np.ndarray:
    """RGB float32 image (values 0..255) of the fabric at garment coordinates (u, v).

    ``px`` is the size of one pixel in the same units (body heights), used to smooth edges.
    """
    base = np.asarray(spec["base"], np.float32)
    accent = np.asarray(spec.get("accent", base), np.float32)
    pattern = spec["pattern"]
    out = np.empty((*u.shape, 3), np.float32)
    out[:] = base
    if pattern == "solid":
        pass
    elif pattern in ("stripes", "checks"):
        s = spec["spacing"]
        ang = np.deg2rad(spec.get("angle", 0.0))
        a = (u * np.cos(ang) + v * np.sin(ang)) / s
        band = _smooth_band(a, spec.get("duty", 0.5), px / s)
        if pattern == "stripes":
            out += (accent - base) * band[..., None]
        else:
            b = (v * np.cos(ang) - u * np.sin(ang)) / s
            band2 = _smooth_band(b, spec.get("duty", 0.5), px / s)
            mix = 0.5 * band + 0.5 * band2  # gingham: crossings full, single bands half
            out += (accent - base) * mix[..., None]
    elif pattern == "plaid":
        s = spec["spacing"]
        accent2 = np.asarray(spec.get("accent2", shade(base.tolist(), 0.5)), np.float32)
        wide_u = _smooth_band(u / s, 0.35, px / s)
        wide_v = _smooth_band(v / s, 0.35, px / s)
        thin_u = _smooth_band(u / s + 0.6, 0.06, px / s)
        thin_v = _smooth_band(v / s + 0.6, 0.06, px / s)
        out += (accent - base) * (0.5 * (wide_u + wide_v))[..., None]
        thin = np.maximum(thin_u, thin_v)[..., None]
        out = out * (1 - thin) + accent2 * thin
    elif pattern == "dots":
        s = spec["spacing"]
        r = spec.get("radius", 0.28) * s
        row = np.floor(v / s)
        uu = u + 0.5 * s * (row % 2)  # staggered rows, as polka dots are printed
        du = (uu % s) - 0.5 * s
        dv = (v % s) - 0.5 * s
        d = np.sqrt(du * du + dv * dv)
        dot = np.clip((r - d) / max(px, 1e-4), 0, 1)
        out += (accent - base) * dot[..., None]
    elif pattern == "floral":
        s = spec["spacing"]
        tile = _noise_tile(int(spec.get("noise_seed", 0)))
        n1 = _sample_periodic(tile, u, v, s * 4)
        n2 = _sample_periodic(np.roll(tile, 7, axis=0), u + 0.3 * s, v, s * 2)
        field = 0.65 * n1 + 0.35 * n2
        petals = np.clip((field - 0.58) / 0.04, 0, 1)
        centers = np.clip((field - 0.70) / 0.03, 0, 1)
        accent2 = np.asarray(spec.get("accent2", shade(accent.tolist(), -0.4)), np.float32)
        leaves = np.clip((0.32 - field) / 0.04, 0, 1) * 0.8
        leaf = np.asarray(spec.get("leaf", (70, 120, 60)), np.float32)
        out = out * (1 - leaves[..., None]) + leaf * leaves[..., None]
        out = out * (1 - petals[..., None]) + accent * petals[..., None]
        out = out * (1 - centers[..., None]) + accent2 * centers[..., None]
    elif pattern == "denim":
        # a twill: fine diagonal ridges and fading
        twill = 0.5 + 0.5 * np.sin((u + v) / 0.004)
        weight = np.clip(0.004 / max(px, 1e-4), 0, 1)  # fades to the average when too fine
        out *= (1 - 0.12 * weight * (twill - 0.5) * 2)[..., None]
        tile = _noise_tile(int(spec.get("noise_seed", 0)), 16)
        fade = _sample_periodic(tile, u, v, 0.3)
        out += (np.asarray((200, 210, 225), np.float32) - out) * (0.18 * fade)[..., None]
    elif pattern == "print":
        pass  # all-over base; the motif is drawn on the chest by the garment renderer
    else:
        raise ValueError(f"unknown pattern {pattern!r}; valid: {', '.join(PATTERNS)}")
    if spec.get("knit"):
        ribs = 0.5 + 0.5 * np.cos(u / 0.006)
        out *= (1 - 0.08 * np.clip(0.006 / max(px, 1e-4), 0, 1) * ribs)[..., None]
    return out


def draw_motif(
    img: np.ndarray,
    motif: str,
    center: tuple[float, float],
    size: float,
    color: tuple[int, int, int],
) -> np.ndarray:
    """Draws a print motif into ``img`` (in place) and returns the motif's mask (uint8)."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cx, cy = center
    r = max(1.0, size / 2)
    sh = 4  # sub-pixel precision
    if motif == "circle":
        cv2.circle(mask, (int(cx * 16), int(cy * 16)), int(r * 16), 255, -1, cv2.LINE_AA, sh)
        cv2.circle(mask, (int(cx * 16), int(cy * 16)), int(r * 0.55 * 16), 0, -1, cv2.LINE_AA, sh)
    elif motif in ("star", "flower"):
        k = 5 if motif == "star" else 6
        ang = np.linspace(-np.pi / 2, 1.5 * np.pi, 2 * k, endpoint=False)
        rr = np.where(np.arange(2 * k) % 2 == 0, r, r * (0.45 if motif == "star" else 0.7))
        pts = np.stack([cx + rr * np.cos(ang), cy + rr * np.sin(ang)], 1)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, sh)
        if motif == "flower":
            cv2.circle(
                mask, (int(cx * 16), int(cy * 16)), int(r * 0.3 * 16), 0, -1, cv2.LINE_AA, sh
            )
    elif motif == "heart":
        t = np.linspace(0, 2 * np.pi, 60)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = np.stack([cx + x / 17 * r, cy + y / 17 * r], 1)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, sh)
    elif motif == "triangle":
        pts = np.array([[cx, cy - r], [cx + r * 0.9, cy + r * 0.7], [cx - r * 0.9, cy + r * 0.7]])
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, sh)
    elif motif == "anchor":
        th = max(1, int(r * 0.22))
        cv2.line(mask, (int(cx), int(cy - r)), (int(cx), int(cy + r * 0.8)), 255, th, cv2.LINE_AA)
        cv2.line(
            mask,
            (int(cx - r * 0.5), int(cy - r * 0.5)),
            (int(cx + r * 0.5), int(cy - r * 0.5)),
            255,
            th,
            cv2.LINE_AA,
        )
        cv2.ellipse(
            mask,
            (int(cx), int(cy + r * 0.2)),
            (int(r * 0.8), int(r * 0.6)),
            0,
            20,
            160,
            255,
            th,
            cv2.LINE_AA,
        )
    elif motif.startswith("letter "):
        letter = motif.split(" ", 1)[1]
        scale = size / 22.0
        thick = max(1, round(size / 9))
        (tw, th), _ = cv2.getTextSize(letter, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
        cv2.putText(
            mask,
            letter,
            (int(cx - tw / 2), int(cy + th / 2)),
            cv2.FONT_HERSHEY_DUPLEX,
            scale,
            255,
            thick,
            cv2.LINE_AA,
        )
    else:
        raise ValueError(f"unknown motif {motif!r}; valid: {', '.join(MOTIFS)}")
    a = (mask.astype(np.float32) / 255.0)[..., None]
    img[:] = img * (1 - a) + np.asarray(color, np.float32) * a
    return mask
