"""Garment regions from a person's BlazePose landmarks, person mask and colours.

Landmarks say where the body is (shoulders, hips, knees, ankles, also when cut by the frame's
edge: BlazePose extrapolates them); the person mask and a skin model say which of those pixels
are clothes. Colour then separates the cases a box from proportions cannot:
- an upper garment and a lower one (torso and thighs differ), or one full-length garment
  (a dress or a closed coat: torso and thighs alike and cloth between the knees);
- a skirt (cloth between the knees) from trousers, shorts (bare shins) from long trousers;
- an outer layer worn open over another (a jacket over a shirt: the torso's middle differs
  from its two sides, which agree): the outer box and the inner one.

Every box is trimmed to the rows and columns that hold clothes, so skin, hair and background
at its edges fall away, and clipped to the frame, so a person cut by it gives the visible part.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.detect.mediapipe_models import Pose

NOSE, L_SH, R_SH, L_EL, R_EL, L_WR, R_WR = 0, 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KN, R_KN, L_AN, R_AN = 23, 24, 25, 26, 27, 28


@dataclass
class Region:
    """One garment box: ``category`` a name of ``CATEGORIES`` in ``real.py``, ``layer`` "outer",
    "inner" or "" (the only garment there)."""

    category: str
    box: np.ndarray
    score: float
    layer: str = ""
    person: np.ndarray | None = None  # the whole person's box, set by the localiser
    mouth: np.ndarray | None = None   # and that person's mouth (no garment covers it)


def skin_map(bgr: np.ndarray, face_bgr: np.ndarray | None = None) -> np.ndarray:
    """Pixels that look like skin: a fixed YCrCb range (wide, for every skin tone), narrowed to
    the person's own face colour when a face is at hand."""
    ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    cr, cb, y = ycc[..., 1].astype(np.float32), ycc[..., 2].astype(np.float32), ycc[..., 0]
    fixed = (cr >= 135) & (cr <= 178) & (cb >= 80) & (cb <= 130) & (y > 40)
    if face_bgr is None or face_bgr.size < 48:
        return fixed
    f = cv2.cvtColor(face_bgr, cv2.COLOR_BGR2YCrCb).reshape(-1, 3).astype(np.float32)
    fcr, fcb = f[:, 1], f[:, 2]
    keep = (fcr >= 130) & (fcr <= 185) & (fcb >= 75) & (fcb <= 135)
    if keep.sum() < 20:
        return fixed
    mcr, mcb = np.median(fcr[keep]), np.median(fcb[keep])
    scr, scb = max(4.0, 2.5 * fcr[keep].std()), max(4.0, 2.5 * fcb[keep].std())
    own = (np.abs(cr - mcr) <= scr) & (np.abs(cb - mcb) <= scb) & (y > 30)
    near = (np.abs(cr - mcr) <= 2 * scr) & (np.abs(cb - mcb) <= 2 * scb)
    return own | (fixed & near)


def _clip(box, w: int, h: int) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)],
                    np.float32)


def _area(b) -> float:
    return float(max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]))


def trim_to_cloth(box: np.ndarray, cloth: np.ndarray, *, keep_top: bool = False,
                  min_fraction: float = 0.25) -> np.ndarray | None:
    """``box`` shrunk to the rows and columns where clothes are (``cloth``: the frame's
    person-and-not-skin map); None when almost nothing in it is cloth. Profiles are relative to
    the box's own dense part, so a thin garment (one trouser leg in a wide box) keeps its
    columns. ``keep_top`` leaves the top edge (a shoulder line from landmarks) as it is."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    sub = cloth[y1:y2, x1:x2].astype(np.float32)
    if sub.mean() < 0.08:
        return None
    k = max(1, min(sub.shape) // 20)
    rows = np.convolve(sub.mean(1), np.ones(k) / k, mode="same")
    cols = np.convolve(sub.mean(0), np.ones(k) / k, mode="same")

    def span(p: np.ndarray) -> tuple[int, int]:
        thr = min_fraction * float(np.percentile(p, 80))
        on = np.flatnonzero(p >= thr)
        return (int(on[0]), int(on[-1]) + 1) if len(on) else (0, len(p))

    r0, r1 = span(rows)
    c0, c1 = span(cols)
    if keep_top:
        r0 = 0
    out = np.array([x1 + c0, y1 + r0, x1 + c1, y1 + r1], np.float32)
    return out if _area(out) >= 0.15 * _area(box) else None


def _patch_colour(lab: np.ndarray, cloth: np.ndarray, cx: float, cy: float, r: float
                  ) -> tuple[np.ndarray | None, float]:
    """Median Lab colour of the cloth pixels in a square of half-size ``r`` around (cx, cy),
    and the fraction of its pixels that are cloth."""
    h, w = cloth.shape
    x1, x2 = int(max(0, cx - r)), int(min(w, cx + r + 1))
    y1, y2 = int(max(0, cy - r)), int(min(h, cy + r + 1))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None, 0.0
    c = cloth[y1:y2, x1:x2]
    frac = float(c.mean())
    if c.sum() < 6:
        return None, frac
    return np.median(lab[y1:y2, x1:x2][c], axis=0), frac


def _delta(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return float("inf")
    return float(np.linalg.norm(a.astype(np.float32) - b.astype(np.float32)))


def regions_from_pose(pose: Pose, cloth: np.ndarray, lab: np.ndarray, skin: np.ndarray,
                      frame_shape: tuple[int, int]) -> list[Region]:
    """The garments of one person seen with landmarks."""
    h, w = frame_shape
    p, vis = pose.xy, pose.visibility
    sh_mid, hip_mid = (p[L_SH] + p[R_SH]) / 2, (p[L_HIP] + p[R_HIP]) / 2
    torso = float(np.linalg.norm(hip_mid - sh_mid))
    sw = float(np.linalg.norm(p[L_SH] - p[R_SH]))
    if torso < 12 or vis[[L_SH, R_SH]].mean() < 0.4:
        return []
    scale = max(sw, 0.45 * torso)
    # each garment is as sure as the landmarks it hangs from: a close-up's hips are out of
    # view (low visibility) and say nothing against the shirt
    score = 0.55 + 0.4 * float(np.clip(vis[[L_SH, R_SH]].mean(), 0.0, 1.0))
    lower_score = 0.5 + 0.4 * float(np.clip(vis[[L_HIP, R_HIP, L_KN, R_KN]].mean(), 0.0, 1.0))
    out: list[Region] = []

    # upper: collar to just below the hips, shoulders (and arms beside the torso) across
    top = min(p[L_SH, 1], p[R_SH, 1]) - 0.12 * torso
    bottom = hip_mid[1] + 0.12 * torso
    xs = [p[L_SH, 0], p[R_SH, 0], p[L_HIP, 0], p[R_HIP, 0]]
    for j in (L_EL, R_EL):
        if vis[j] > 0.5 and top <= p[j, 1] <= bottom:
            xs.append(p[j, 0])
    upper_raw = _clip([min(xs) - 0.12 * scale, top, max(xs) + 0.12 * scale, bottom], w, h)
    upper = trim_to_cloth(upper_raw, cloth) if _area(upper_raw) > 0 else None

    # lower: hips to ankles (extrapolated when the legs leave the frame)
    legs_seen = vis[[L_HIP, R_HIP]].mean() > 0.35 and hip_mid[1] < h - 0.15 * torso
    lower = None
    if legs_seen:
        ank_y = max(p[L_AN, 1], p[R_AN, 1])
        knee_y = max(p[L_KN, 1], p[R_KN, 1])
        if vis[[L_AN, R_AN]].max() < 0.3 and vis[[L_KN, R_KN]].max() >= 0.3:
            ank_y = knee_y + 0.9 * (knee_y - hip_mid[1])
        lxs = [p[j, 0] for j in (L_HIP, R_HIP, L_KN, R_KN, L_AN, R_AN)]
        hw = float(np.linalg.norm(p[L_HIP] - p[R_HIP]))
        margin = 0.25 * max(hw, 0.3 * torso)
        raw = [min(lxs) - margin, hip_mid[1] - 0.1 * torso, max(lxs) + margin,
               ank_y + 0.06 * torso]
        full_h = raw[3] - raw[1]
        lower_raw = _clip(raw, w, h)
        if full_h > 0 and (lower_raw[3] - lower_raw[1]) >= 0.25 * full_h:
            lower = trim_to_cloth(lower_raw, cloth)

    # colours that tell the cases apart
    r = max(2.0, 0.09 * torso)
    chest = sh_mid + 0.55 * (hip_mid - sh_mid)
    c_torso, _ = _patch_colour(lab, cloth, chest[0], chest[1], r)
    thighs = [p[a] + 0.4 * (p[b] - p[a]) for a, b in ((L_HIP, L_KN), (R_HIP, R_KN))]
    c_thigh = [_patch_colour(lab, cloth, t[0], t[1], r)[0] for t in thighs]
    knees_mid = (p[L_KN] + p[R_KN]) / 2
    c_between, f_between = _patch_colour(lab, cloth, knees_mid[0], knees_mid[1], r)
    shins = [p[a] + 0.5 * (p[b] - p[a]) for a, b in ((L_KN, L_AN), (R_KN, R_AN))]
    shin_skin = [float(_frac(skin, s[0], s[1], r)) for s in shins]

    knees_in = legs_seen and knees_mid[1] < h and vis[[L_KN, R_KN]].mean() > 0.4
    thigh_like_torso = min(_delta(c_torso, c) for c in c_thigh) < 14
    cloth_between = knees_in and f_between > 0.6 and c_between is not None
    if (upper is not None and lower is not None and thigh_like_torso and cloth_between
            and _delta(c_between, c_torso) < 16):
        full = np.array([min(upper[0], lower[0]), upper[1], max(upper[2], lower[2]), lower[3]])
        trimmed = trim_to_cloth(_clip(full, w, h), _colour_map(lab, cloth, c_torso))
        full = full if trimmed is None else trimmed
        return [Region("full-length", np.asarray(full, np.float32),
                       (score + lower_score) / 2)]

    if upper is not None:
        # hands held in front of the chest (a ball, crossed arms) make the torso's middle
        # differ from its sides as an open jacket does: no layers are read then
        out.extend([Region("upper-body", upper, score)]
                   if _forearm_across(p, vis, upper, sh_mid[1], hip_mid[1], torso)
                   else _layers(upper, lab, cloth, skin, score))
    if lower is not None:
        if cloth_between and _delta(c_between, min(c_thigh, key=lambda c: _delta(c, c_between))
                                    if any(c is not None for c in c_thigh) else None) < 16:
            cat = "skirt"
        elif knees_in and min(shin_skin) > 0.45 and max(
                _frac(skin, t[0], t[1], r) for t in thighs) < 0.3:
            cat = "shorts"
        else:
            cat = "lower-body"
        out.append(Region(cat, lower, lower_score))
    return out


def _frac(mask: np.ndarray, cx: float, cy: float, r: float) -> float:
    h, w = mask.shape
    x1, x2 = int(max(0, cx - r)), int(min(w, cx + r + 1))
    y1, y2 = int(max(0, cy - r)), int(min(h, cy + r + 1))
    if x2 - x1 < 1 or y2 - y1 < 1:
        return 0.0
    return float(mask[y1:y2, x1:x2].mean())


def _colour_map(lab: np.ndarray, cloth: np.ndarray, colour: np.ndarray | None,
                tol: float = 18.0) -> np.ndarray:
    if colour is None:
        return cloth
    d = np.linalg.norm(lab.astype(np.float32) - colour.astype(np.float32), axis=2)
    return cloth & (d < tol)


def _forearm_across(p: np.ndarray, vis: np.ndarray, upper: np.ndarray, shoulder_y: float,
                    hip_y: float, torso: float) -> bool:
    """Whether a seen forearm crosses the middle 60% of the upper box between the shoulders
    and the hips; a hand raised to the face (a phone at the ear) leaves the chest in view."""
    ux1, ux2 = upper[0] + 0.2 * (upper[2] - upper[0]), upper[2] - 0.2 * (upper[2] - upper[0])
    for el, wr in ((L_EL, L_WR), (R_EL, R_WR)):
        if min(vis[el], vis[wr]) <= 0.5 or p[wr, 1] < shoulder_y - 0.15 * torso:
            continue
        for t in (0.25, 0.5, 0.75, 1.0):  # along the forearm
            x, y = p[el] + t * (p[wr] - p[el])
            if ux1 <= x <= ux2 and shoulder_y <= y <= hip_y:
                return True
    return False


def _layers(upper: np.ndarray, lab: np.ndarray, cloth: np.ndarray, skin: np.ndarray,
            score: float) -> list[Region]:
    """The upper box, and the layer under it when an open outer layer shows one: the torso's
    two sides agree and somewhere down its middle (a shirt's V, or below a tie) the colour
    differs from them."""
    x1, y1, x2, y2 = (float(v) for v in upper)
    bw, bh = x2 - x1, y2 - y1
    if bw < 12 or bh < 12:
        return [Region("upper-body", upper, score)]
    r = max(2.0, 0.06 * min(bw, bh))
    everything = np.ones_like(cloth)
    best, best_d, best_side = None, 0.0, None
    for fy in (0.2, 0.35, 0.5, 0.65):
        cy = y1 + fy * bh
        left, _ = _patch_colour(lab, cloth, x1 + 0.18 * bw, cy, r)
        right, _ = _patch_colour(lab, cloth, x1 + 0.82 * bw, cy, r)
        if left is None or right is None or _delta(left, right) >= 16:
            continue
        side = (left.astype(np.float32) + right.astype(np.float32)) / 2
        for fx in (0.42, 0.5, 0.58):
            mid, _ = _patch_colour(lab, everything, x1 + fx * bw, cy, r)
            d = _delta(mid, side)
            if mid is not None and d > best_d:
                best, best_d, best_side = mid, d, side
    if best is None or best_d <= 28:
        return [Region("upper-body", upper, score)]
    # the inner layer is what is not the outer one (a shirt, its tie or bow tie), minus skin
    far = np.linalg.norm(lab.astype(np.float32) - best_side, axis=2) > 0.5 * best_d
    inner_map = far & ~skin
    ix1, ix2 = int(x1 + 0.2 * bw), int(x1 + 0.8 * bw)
    inner = trim_to_cloth(np.array([ix1, y1, ix2, y2], np.float32), inner_map,
                          min_fraction=0.3)
    regions = [Region("jacket", upper, score, "outer")]
    if inner is not None and _area(inner) > 0.04 * bw * bh:
        regions.append(Region("top", inner, score * 0.95, "inner"))
    return regions


SPLIT_MIN_HEIGHT = 120  # px: a person shorter than this is split by proportions alone
SPLIT_MIN_DISTANCE = 14.0  # Lab units between the two garments' mean colour and texture


def colour_split(box: np.ndarray, cloth: np.ndarray, lab: np.ndarray, *, lo: float = 0.3,
                 hi: float = 0.95) -> float | None:
    """Where, down a person seen without landmarks (from behind, cut by the frame), one garment
    gives way to the next: the row, as a fraction of the box's height in [lo, hi], that splits
    the clothed rows' colour and texture (mean L, a, b and the spread of L) into the two runs
    that differ most for their sizes (Otsu's criterion along the body). None when the two
    runs differ by less than SPLIT_MIN_DISTANCE (one colour head to knee: a coat, a suit)."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(cloth.shape[1], x2), min(cloth.shape[0], y2)
    ph = y2 - y1
    if ph < SPLIT_MIN_HEIGHT or x2 - x1 < 8:
        return None
    on = cloth[y1:y2, x1:x2] > 0.5
    sub = lab[y1:y2, x1:x2].astype(np.float32)
    n = on.sum(1).astype(np.float32)
    rows = np.flatnonzero(n >= max(3.0, 0.1 * (x2 - x1)))
    rows = rows[rows >= int(0.15 * ph)]  # below the head
    if len(rows) < 20:
        return None
    feats = np.zeros((len(rows), 4), np.float32)
    for i, r in enumerate(rows):
        px = sub[r][on[r]]
        feats[i, :3] = px.mean(0)
        feats[i, 3] = px[:, 0].std()
    k = max(1, len(rows) // 30)  # smooth along the body: one stripe is not a hem
    feats = np.stack([np.convolve(np.pad(feats[:, j], k, mode="edge"), np.ones(2 * k + 1)
                                  / (2 * k + 1), mode="valid") for j in range(4)], 1)
    csum = np.cumsum(feats, 0)
    total = csum[-1]
    best, best_d, best_score = None, 0.0, 0.0
    for i in range(5, len(rows) - 5):
        frac = (rows[i] + 0.5) / ph
        if not lo <= frac <= hi:
            continue
        m1 = csum[i - 1] / i
        m2 = (total - csum[i - 1]) / (len(rows) - i)
        d = float(np.linalg.norm(m1 - m2))
        score = d * d * i * (len(rows) - i) / len(rows) ** 2
        if score > best_score:
            best, best_d, best_score = frac, d, score
    return best if best is not None and best_d >= SPLIT_MIN_DISTANCE else None


def regions_from_person_box(box: np.ndarray, cloth: np.ndarray, score: float,
                            frame_shape: tuple[int, int], lab: np.ndarray | None = None
                            ) -> list[Region]:
    """The garments of a person seen without landmarks (a far-away pedestrian, a back view):
    the upper and lower parts of the body, split where the clothes change colour or texture
    when the person is tall enough to tell (``colour_split``), else by the body's proportions
    (which a person cut by the frame's edge would get wrong), trimmed by the mask where it
    holds."""
    h, w = frame_shape
    x1, y1, x2, y2 = (float(v) for v in box)
    ph, pw = y2 - y1, x2 - x1
    split = colour_split(box, cloth, lab) if lab is not None else None
    upper_end, lower_start = (split, split) if split is not None else (0.55, 0.5)
    parts = [("upper-body", [x1 + 0.08 * pw, y1 + 0.17 * ph, x2 - 0.08 * pw,
                             y1 + upper_end * ph]),
             ("lower-body", [x1 + 0.12 * pw, y1 + lower_start * ph, x2 - 0.12 * pw,
                             y1 + 0.97 * ph if y2 < h - 2 else y2])]
    out = []
    for cat, b in parts:
        raw = _clip(b, w, h)
        if _area(raw) < 0.3 * _area(b) or _area(raw) < 30:
            continue
        trimmed = trim_to_cloth(raw, cloth, min_fraction=0.2)
        out.append(Region(cat, raw if trimmed is None else trimmed, score))
    return out
