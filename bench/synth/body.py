"""An articulated 2-D figure: joints from a pose, and filled, shaded shapes drawn from them.

Body coordinates are in body heights: ``lat`` across the body (scaled by how far the figure has
turned), ``fwd`` along the way it faces (visible when it turns to profile), ``y`` up from the
floor. ``Pose`` places the figure in the image (feet position and pixels per body height).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SUB = 4  # cv2 drawing shift: coordinates carry 4 fractional bits
ONE = 1 << SUB


@dataclass
class Pose:
    x: float  # image x of the point between the feet
    y: float  # image y of the floor under the feet
    scale: float  # pixels per body height
    facing: float = 0.0  # radians: 0 faces the camera, +-pi/2 profile, pi the back
    walk: float = 0.0  # walk cycle phase, radians
    stride: float = 0.0  # 0 standing .. 1 walking
    sit: float = 0.0  # 0 standing .. 1 seated
    gesture: float = 0.0  # 0 .. 1: the right arm rises (talking, waving)
    lean: float = 0.0  # radians, the upper body leans sideways

    @property
    def lateral(self) -> float:
        """How wide the body looks: 1 facing the camera, about 0.45 in profile."""
        return max(0.45, abs(np.cos(self.facing)))

    @property
    def facing_back(self) -> bool:
        return abs(self.facing) > np.pi / 2


@dataclass
class Build:
    """What stays the same for a character: proportions, skin, hair."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str = "short"  # short, long, bun, bald
    shoulders: float = 1.0  # width factor
    hips: float = 1.0
    height: float = 1.0  # relative to the crowd
    shoes: tuple[int, int, int] = (40, 36, 34)


@dataclass
class Joints:
    p: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (x, y) image pixels
    scale: float = 1.0
    lateral: float = 1.0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.p[name]


def compute_joints(pose: Pose, build: Build) -> Joints:
    s = pose.scale * build.height
    lat = pose.lateral
    side = np.sin(pose.facing)  # how much "forward" shows as image x
    sit = pose.sit
    sw = 0.108 * build.shoulders
    hw = 0.062 * build.hips
    swing = np.sin(pose.walk) * pose.stride
    drop = 0.23 * sit  # a seated body is lower by the thigh's length

    pts: dict[str, tuple[float, float, float]] = {}  # name -> (lat, fwd, y)
    pts["head"] = (0.0, 0.0, 0.925 - drop)
    pts["neck"] = (0.0, 0.0, 0.848 - drop)
    pts["chest"] = (0.0, 0.0, 0.72 - drop)
    pts["waist"] = (0.0, 0.0, 0.585 - drop)
    for k, sgn in (("r", -1.0), ("l", 1.0)):
        leg_swing = swing * (1 if k == "r" else -1)
        pts[f"shoulder_{k}"] = (sgn * sw, 0.0, 0.818 - drop)
        pts[f"hip_{k}"] = (sgn * hw, 0.0, 0.52 - drop)
        hip = np.array(pts[f"hip_{k}"])
        # standing legs, swinging forward and back
        knee_st = hip + np.array([0.004 * sgn, 0.075 * leg_swing, -0.245])
        lift = 0.04 * max(0.0, -leg_swing) * pose.stride
        ankle_st = knee_st + np.array([0.0, 0.035 * leg_swing - 0.06 * lift, -0.235 + lift])
        # seated: thighs point forward (toward the camera when facing it), shins hang down
        knee_sit = hip + np.array([0.02 * sgn, 0.22, -0.03])
        ankle_sit = knee_sit + np.array([0.0, 0.02, -0.235 + 0.03])
        pts[f"knee_{k}"] = tuple(knee_st * (1 - sit) + knee_sit * sit)
        pts[f"ankle_{k}"] = tuple(ankle_st * (1 - sit) + ankle_sit * sit)
        # arms swing opposite to the legs
        shoulder = np.array(pts[f"shoulder_{k}"])
        arm_swing = -leg_swing * 0.8
        elbow = shoulder + np.array([0.018 * sgn, 0.07 * arm_swing, -0.165])
        wrist = elbow + np.array([0.006 * sgn, 0.06 * arm_swing + 0.02, -0.148])
        if k == "r" and pose.gesture > 0:
            g = pose.gesture
            up_ang = -0.4 - 1.6 * g  # the upper arm rotates out and up
            elbow = shoulder + 0.165 * np.array([np.sin(up_ang) * 1.0, 0.3 * g, -np.cos(up_ang)])
            fore_ang = up_ang - 0.9 * g
            wrist = elbow + 0.148 * np.array([np.sin(fore_ang), 0.2 * g, -np.cos(fore_ang)])
            wrist[1] = elbow[1]
            elbow = elbow * 1.0
            wrist = np.array([wrist[0], wrist[1], max(wrist[2], elbow[2] - 0.05)])
        pts[f"elbow_{k}"] = tuple(elbow)
        pts[f"wrist_{k}"] = tuple(wrist)
        pts[f"foot_{k}"] = tuple(np.array(pts[f"ankle_{k}"]) + np.array([0.0, 0.035, -0.015]))

    # the upper body leans around the waist
    if pose.lean:
        wy = pts["waist"][2]
        ca, sa = np.cos(pose.lean), np.sin(pose.lean)
        for name, (la, fw, y) in list(pts.items()):
            if y > wy and not name.startswith(("hip", "knee", "ankle", "foot")):
                dx, dy = la, y - wy
                pts[name] = (dx * ca - dy * sa, fw, wy + dx * sa + dy * ca)

    out = {}
    for name, (la, fw, y) in pts.items():
        out[name] = np.array([pose.x + (la * lat + fw * side) * s, pose.y - y * s], np.float64)
    return Joints(out, s, lat)


# --- drawing primitives (into a mask, with anti-aliased edges) --------------------------------
def _fx(p: np.ndarray, off: np.ndarray) -> tuple[int, int]:
    q = np.round((p - off) * ONE).astype(np.int64)
    return int(q[0]), int(q[1])


def capsule(
    mask: np.ndarray, p0, p1, r0: float, r1: float, off: np.ndarray, value: int = 255
) -> None:
    """A limb: a tapered stroke from p0 to p1 with round ends."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    n = np.hypot(*d)
    if n < 1e-6:
        cv2.circle(mask, _fx(p0, off), int(max(r0, r1) * ONE), value, -1, cv2.LINE_AA, SUB)
        return
    nrm = np.array([-d[1], d[0]]) / n
    quad = np.array([p0 + nrm * r0, p1 + nrm * r1, p1 - nrm * r1, p0 - nrm * r0])
    poly(mask, quad, off, value)
    cv2.circle(mask, _fx(p0, off), int(r0 * ONE), value, -1, cv2.LINE_AA, SUB)
    cv2.circle(mask, _fx(p1, off), int(r1 * ONE), value, -1, cv2.LINE_AA, SUB)


def poly(mask: np.ndarray, pts, off: np.ndarray, value: int = 255) -> None:
    q = np.round((np.asarray(pts, float) - off) * ONE).astype(np.int32)
    cv2.fillPoly(mask, [q], value, cv2.LINE_AA, SUB)


def ellipse(
    mask: np.ndarray,
    c,
    axes,
    angle_deg: float,
    off: np.ndarray,
    value: int = 255,
    start: float = 0,
    end: float = 360,
) -> None:
    cv2.ellipse(
        mask,
        _fx(np.asarray(c, float), off),
        (max(1, int(axes[0] * ONE)), max(1, int(axes[1] * ONE))),
        angle_deg,
        start,
        end,
        value,
        -1,
        cv2.LINE_AA,
        SUB,
    )


def torso_outline(
    j: Joints, bottom_y: float, flare: float = 0.0, width: float = 1.0, top: float = 0.0
) -> np.ndarray:
    """Polygon of a torso-shaped garment from the shoulders down to image row ``bottom_y``
    (at or below the hips); ``flare`` widens the hem (coats, dresses), in body heights;
    ``width`` loosens the fit."""
    s, lat = j.scale, j.lateral
    wc = j["waist"]
    hip_c = (j["hip_r"] + j["hip_l"]) / 2
    ext = 0.03 * s * lat * width
    waist_half = 0.08 * s * lat * width
    hip_half = 0.098 * s * lat * width
    hem_half = hip_half + flare * s * lat

    def side(sgn: float, k: str) -> list[np.ndarray]:
        sh = j[f"shoulder_{k}"]
        pts = [
            sh + np.array([sgn * ext, top * s]),
            sh + np.array([-sgn * 0.01 * s * lat * width, 0.075 * s]),
            np.array([wc[0] + sgn * waist_half, wc[1]]),
        ]
        if bottom_y > hip_c[1] + 1:
            pts.append(np.array([hip_c[0] + sgn * hip_half, hip_c[1]]))
        pts.append(
            np.array(
                [hip_c[0] + sgn * (hem_half if bottom_y > hip_c[1] + 1 else hip_half), bottom_y]
            )
        )
        return pts

    neck = (j["shoulder_r"] + j["shoulder_l"]) / 2 + np.array([0, top * s])
    return np.array([neck, *side(1.0, "l"), *reversed(side(-1.0, "r"))])


def body_parts(j: Joints, build: Build, pose: Pose):
    """The skin shapes of a figure, back to front: a list of (kind, args) to draw."""
    s = j.scale
    parts = []
    for k in ("r", "l"):
        parts.append(("capsule", (j[f"hip_{k}"], j[f"knee_{k}"], 0.046 * s, 0.036 * s)))
        parts.append(("capsule", (j[f"knee_{k}"], j[f"ankle_{k}"], 0.034 * s, 0.024 * s)))
    hip_y = (j["hip_r"][1] + j["hip_l"][1]) / 2
    parts.append(("poly", (torso_outline(j, hip_y + 0.02 * s),)))
    neck = j["neck"]
    parts.append(
        (
            "capsule",
            (neck + np.array([0, 0.03 * s]), neck - np.array([0, 0.03 * s]), 0.027 * s, 0.027 * s),
        )
    )
    for k in ("r", "l"):
        parts.append(("capsule", (j[f"shoulder_{k}"], j[f"elbow_{k}"], 0.03 * s, 0.025 * s)))
        parts.append(("capsule", (j[f"elbow_{k}"], j[f"wrist_{k}"], 0.024 * s, 0.019 * s)))
    return parts


def draw_parts(mask: np.ndarray, parts, off: np.ndarray, value: int = 255) -> None:
    """Fills shapes given as (kind, args): capsules, polygons, ellipses."""
    for kind, args in parts:
        if kind == "capsule":
            capsule(mask, *args, off=off, value=value)
        elif kind == "poly":
            poly(mask, args[0], off, value=value)
        elif kind == "ellipse":
            ellipse(mask, *args, off=off, value=value)


def parts_bounds(parts) -> tuple[float, float, float, float]:
    """x1, y1, x2, y2 around shapes given as (kind, args)."""
    xs, ys = [], []
    for kind, args in parts:
        if kind == "capsule":
            for p, r in ((args[0], args[2]), (args[1], args[3])):
                xs += [p[0] - r, p[0] + r]
                ys += [p[1] - r, p[1] + r]
        elif kind == "poly":
            xs += list(args[0][:, 0])
            ys += list(args[0][:, 1])
        elif kind == "ellipse":
            c, r = args[0], max(args[1])
            xs += [c[0] - r, c[0] + r]
            ys += [c[1] - r, c[1] + r]
    return min(xs), min(ys), max(xs), max(ys)
