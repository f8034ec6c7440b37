"""One synthetic drama clip: shots, a cast in outfits, what each actor does, and the camera.

``plan_clip`` decides everything from a seeded generator; ``render_clip`` draws it frame by
frame, pipes the frames to ffmpeg (H.264 in MP4) and returns the exact ground truth in the
annotations format: one track per garment per shot (a cut ends every track, as it ends a
tracker's), boxes clipped to the frame, and the visible fraction as the 6th number.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.synth.body import Build, Pose
from bench.synth.garments import CATEGORIES
from bench.synth.render import Canvas, render_figure
from bench.synth.scene import World, add_foreground, make_room, make_street
from engine.encode import H264Writer

PROP_LABEL = -2
SKIN_TONES = [
    (241, 206, 180),
    (226, 184, 152),
    (200, 150, 115),
    (160, 110, 80),
    (115, 78, 56),
    (234, 196, 170),
]
HAIR = [
    (30, 24, 20),
    (60, 40, 25),
    (110, 75, 40),
    (170, 130, 80),
    (200, 180, 140),
    (25, 25, 30),
    (120, 50, 30),
]


@dataclass
class Degradation:
    """How much a preset spoils the picture."""

    defocus: tuple[float, float] = (0.0, 0.8)  # gaussian sigma range, pixels at 640x360
    noise: tuple[float, float] = (0.5, 2.0)  # sigma range, grey levels
    motion_blur: float = 0.6  # blur length per pixel of camera motion per frame
    light_swing: float = 0.08  # +- gain over a shot
    crf: int = 22
    occluder_rate: float = 0.4  # chance a shot has a foreground occluder with someone behind it
    zoom_range: tuple[float, float] = (1.0, 1.5)
    shake: float = 0.0
    z_far: float = 3.3  # how far away actors stand (body heights; nearer is larger)


@dataclass
class Character:
    cid: int
    build: Build
    outfit: list[dict[str, Any]]


@dataclass
class Actor:
    char: Character
    x: np.ndarray  # world pixels, per frame of the shot
    z: np.ndarray
    facing: np.ndarray
    stride: np.ndarray
    walk: np.ndarray
    sit: np.ndarray
    gesture: np.ndarray
    action: str


@dataclass
class Camera:
    cx: np.ndarray
    cy: np.ndarray
    zoom: np.ndarray


@dataclass
class Shot:
    start: int
    frames: int
    world: World
    camera: Camera
    actors: list[Actor]
    gain: np.ndarray
    tint: np.ndarray
    defocus: np.ndarray
    noise: float
    light_dir: float


@dataclass
class ClipPlan:
    clip_id: str
    width: int
    height: int
    fps: float
    frames: int
    shots: list[Shot] = field(default_factory=list)
    cast: list[Character] = field(default_factory=list)
    crf: int = 22
    motion_blur: float = 0.6
    noise_seed: int = 0


def _ease(n: int) -> np.ndarray:
    t = np.linspace(0, 1, max(n, 1))
    return t * t * (3 - 2 * t)


def make_cast(rng: np.random.Generator, pool: list[dict[str, Any]], n: int) -> list[Character]:
    """``n`` characters in outfits from ``pool``: an upper and a lower garment, or a full one.
    No product is worn twice in a clip."""
    by_slot: dict[str, list[dict]] = {"upper": [], "lower": [], "full": []}
    for p in rng.permutation(len(pool)):
        by_slot[CATEGORIES[pool[p]["category"]].slot].append(pool[p])
    cast = []
    for cid in range(n):
        full_ok = bool(by_slot["full"])
        pair_ok = bool(by_slot["upper"]) and bool(by_slot["lower"])
        if not full_ok and not pair_ok:
            break
        if full_ok and (not pair_ok or rng.random() < 0.3):
            outfit = [by_slot["full"].pop()]
        else:
            upper = by_slot["upper"].pop()
            lower = by_slot["lower"]
            # a coat hides shorts and short skirts: it goes with trousers or jeans
            fits = [
                i
                for i, p in enumerate(lower)
                if upper["category"] != "coat" or p["category"] in ("trousers", "jeans")
            ]
            if not fits:
                by_slot["upper"].insert(0, upper)
                upper = next((u for u in by_slot["upper"] if u["category"] != "coat"), None)
                if upper is None:
                    break
                by_slot["upper"].remove(upper)
                fits = list(range(len(lower)))
            outfit = [lower.pop(fits[-1]), upper]
        build = Build(
            skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
            hair=HAIR[rng.integers(len(HAIR))],
            hair_style=str(rng.choice(["short", "long", "bun", "short", "long"])),
            shoulders=float(rng.uniform(0.9, 1.12)),
            hips=float(rng.uniform(0.92, 1.1)),
            height=float(rng.uniform(0.93, 1.05)),
            shoes=tuple(
                int(v)
                for v in rng.choice([(35, 30, 28), (120, 80, 50), (230, 230, 225), (60, 20, 25)])
            ),
        )
        cast.append(Character(cid, build, outfit))
    return cast


def _walk_phase(speed_bh: np.ndarray, fps: float, start: float) -> np.ndarray:
    """Walk cycle phase from speed in body heights per second (a step is 0.4 bh)."""
    return start + np.cumsum(speed_bh / fps / 0.8 * 2 * np.pi)


def _segments(rng: np.random.Generator, n: int, rate: float, length: tuple[int, int]) -> np.ndarray:
    """A 0..1 signal that rises for a while now and then (gestures)."""
    out = np.zeros(n)
    t = int(rng.integers(0, max(1, n // 3)))
    while t < n:
        if rng.random() < rate:
            ln = int(rng.integers(*length))
            ramp = np.sin(np.linspace(0, np.pi, ln)) ** 0.5
            out[t : t + ln] = np.maximum(out[t : t + ln], ramp[: max(0, min(ln, n - t))])
            t += ln
        t += int(rng.integers(10, 40))
    return out


def plan_actor(
    rng: np.random.Generator,
    char: Character,
    action: str,
    world: World,
    n: int,
    fps: float,
    view: tuple[float, float],
    z_range: tuple[float, float],
    cross_x: float | None = None,
    cross_z: float | None = None,
) -> Actor:
    """Per-frame position and pose of one actor doing ``action`` during a shot of n frames.
    ``view`` is the world x range the camera sees at some point of the shot."""
    zn, zf = z_range
    lo, hi = view
    zero = np.zeros(n)
    gesture = _segments(rng, n, 0.5, (18, 45))
    if action in ("cross", "pass_behind"):
        d = float(rng.choice([-1.0, 1.0]))
        z0 = cross_z if cross_z is not None else float(rng.uniform(zn + 0.2, zf))
        z = np.full(n, z0) + np.linspace(0, float(rng.uniform(-0.3, 0.3)), n)
        speed = np.full(n, float(rng.uniform(0.4, 0.7)))  # body heights per second
        # stop a while in the middle, sometimes
        if action == "cross" and rng.random() < 0.4:
            a = int(rng.integers(n // 4, n // 2))
            b = min(n, a + int(rng.integers(int(fps), int(3 * fps))))
            speed[a:b] = 0.0
        step_px = speed / fps * world.scale_at(z0)
        travel = float(np.sum(step_px))
        if cross_x is not None:
            start = cross_x - d * travel * float(rng.uniform(0.35, 0.65))
        else:
            margin = 0.25 * world.scale_at(z0)
            if rng.random() < 0.5:  # enters from outside the view
                start = (lo - margin) if d > 0 else (hi + margin)
            else:  # already there when the shot starts, walks out
                start = lo + float(rng.uniform(0.1, 0.6)) * (hi - lo)
                if d < 0:
                    start = hi - (start - lo)
        x = start + d * np.cumsum(step_px)
        moving = speed > 0
        facing = np.where(moving, d * float(rng.uniform(1.0, 1.35)), float(rng.uniform(-0.3, 0.3)))
        facing = cv2.GaussianBlur(facing.reshape(1, -1).astype(np.float64), (0, 0), 4).ravel()
        stride = cv2.GaussianBlur(moving.astype(np.float64).reshape(1, -1), (0, 0), 3).ravel()
        walk = _walk_phase(speed, fps, float(rng.uniform(0, 6.28)))
        gesture = gesture * (1 - stride)
        return Actor(char, x, z, facing, stride, walk, zero, gesture, action)
    if action in ("approach", "recede"):
        x0 = float(rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo)))
        speed = float(rng.uniform(0.5, 0.75))
        z_far = min(zf + 0.6, world.z_wall - 0.4)
        dz = speed / fps
        walk_frames = int(min(n * 0.8, (z_far - zn) / dz))
        path = np.concatenate(
            [
                z_far - dz * np.arange(walk_frames),
                np.full(n - walk_frames, z_far - dz * walk_frames),
            ]
        )
        if action == "recede":
            path = path[::-1]
        moving = np.abs(np.gradient(path)) > 1e-6
        stride = cv2.GaussianBlur(moving.astype(np.float64).reshape(1, -1), (0, 0), 3).ravel()
        facing = np.where(
            moving, 0.0 if action == "approach" else np.pi, float(rng.uniform(-0.3, 0.3))
        )
        x = x0 + np.linspace(0, float(rng.uniform(-0.1, 0.1)) * (hi - lo), n)
        walk = _walk_phase(moving * speed, fps, float(rng.uniform(0, 6.28)))
        return Actor(char, x, path, facing, stride, walk, zero, gesture * (1 - stride), action)
    if action == "sit" and world.seats:
        sx, sz = world.seats[int(rng.integers(len(world.seats)))]
        facing = np.full(n, float(rng.uniform(-0.25, 0.25)))
        return Actor(
            char, np.full(n, sx), np.full(n, sz), facing, zero, zero, np.ones(n), gesture, "sit"
        )
    # stand and talk: turns now and then
    x0 = float(rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)))
    z0 = float(rng.uniform(zn, zf))
    facing = np.full(n, float(rng.uniform(-0.5, 0.5)))
    t = int(rng.integers(n // 5, max(n // 5 + 1, n // 2)))
    if rng.random() < 0.6:
        ln = int(rng.integers(int(fps), int(3 * fps)))
        target = float(rng.choice([np.pi / 2, -np.pi / 2, np.pi]))
        facing[t : t + ln] = target
    facing = cv2.GaussianBlur(facing.reshape(1, -1), (0, 0), 5).ravel()
    return Actor(char, np.full(n, x0), np.full(n, z0), facing, zero, zero, zero, gesture, "stand")


def plan_clip(
    rng: np.random.Generator,
    clip_id: str,
    cast: list[Character],
    seconds: float,
    width: int,
    height: int,
    fps: float,
    deg: Degradation,
    shots_per_minute: tuple[float, float] = (3.0, 6.0),
) -> ClipPlan:
    frames = int(round(seconds * fps))
    n_shots = max(1, int(round(seconds / 60.0 * rng.uniform(*shots_per_minute))))
    n_shots = min(n_shots, max(1, int(seconds // 4)))
    cuts = (
        np.sort(
            rng.choice(
                np.arange(int(4 * fps), frames - int(4 * fps) + 1), size=n_shots - 1, replace=False
            )
        )
        if n_shots > 1
        else []
    )
    # keep shots at least 4 s long
    bounds = [0, *[int(c) for c in cuts], frames]
    for k in range(1, len(bounds) - 1):
        bounds[k] = max(bounds[k], bounds[k - 1] + int(4 * fps))
    bounds = [b for b in bounds if b <= frames]
    if bounds[-1] != frames:
        bounds.append(frames)
    plan = ClipPlan(
        clip_id,
        width,
        height,
        fps,
        frames,
        cast=cast,
        crf=deg.crf,
        motion_blur=deg.motion_blur,
        noise_seed=int(rng.integers(1 << 31)),
    )
    ws = 1.25  # the world is drawn 1.25x finer than the frame at zoom 1
    for a, b in itertools.pairwise(bounds):
        n = b - a
        wW, wH = int(width * ws * 1.7), int(height * ws * 1.12)
        world = (make_room if rng.random() < 0.55 else make_street)(rng, wW, wH)
        view_w = width * ws  # world pixels seen at zoom 1
        z_lo, z_hi = deg.zoom_range
        zoom0 = zoom1 = float(rng.uniform(z_lo, z_hi))
        if rng.random() < 0.6 and z_hi / z_lo > 1.2:  # a push-in or a pull-out
            zoom0, zoom1 = z_lo * float(rng.uniform(1.0, 1.1)), z_hi * float(rng.uniform(0.9, 1.0))
            if rng.random() < 0.5:
                zoom0, zoom1 = zoom1, zoom0
        zoom = zoom0 + (zoom1 - zoom0) * _ease(n)
        cx0 = float(rng.uniform(0.3, 0.7)) * wW
        cx1 = cx0 + float(rng.uniform(-0.3, 0.3)) * wW if rng.random() < 0.7 else cx0
        cx = cx0 + (cx1 - cx0) * _ease(n)
        half = view_w / zoom / 2
        cx = np.clip(cx, half, wW - half)
        cy = np.full(n, wH * 0.5) + np.linspace(0, float(rng.uniform(-0.04, 0.04)) * wH, n)
        cy = np.clip(cy, height * ws / zoom / 2, wH - height * ws / zoom / 2)
        if deg.shake:
            t = np.arange(n) / fps
            cx = cx + deg.shake * wW * 0.002 * np.sin(t * 7.3 + rng.uniform(0, 6))
            cy = cy + deg.shake * wH * 0.002 * np.sin(t * 9.1 + rng.uniform(0, 6))
        cam = Camera(cx, cy, zoom)
        lo = float(np.min(cx - view_w / zoom / 2))
        hi = float(np.max(cx + view_w / zoom / 2))
        # who is in this shot, doing what
        k = int(rng.integers(max(1, min(3, len(cast))), len(cast) + 1))
        members = [cast[i] for i in sorted(rng.choice(len(cast), size=k, replace=False))]
        actors = []
        z_range = (1.25, min(deg.z_far, world.z_wall - 0.8))
        occluder = rng.random() < deg.occluder_rate
        for i, ch in enumerate(members):
            if occluder and i == 0:
                ox = float(rng.uniform(lo + 0.3 * (hi - lo), hi - 0.3 * (hi - lo)))
                add_foreground(world, rng, ox)
                cz = float(rng.uniform(1.4, 2.6))
                actors.append(
                    plan_actor(
                        rng,
                        ch,
                        "pass_behind",
                        world,
                        n,
                        fps,
                        (lo, hi),
                        z_range,
                        cross_x=ox,
                        cross_z=cz,
                    )
                )
                continue
            action = str(
                rng.choice(
                    ["cross", "approach", "recede", "stand", "sit"], p=[0.25, 0.15, 0.1, 0.3, 0.2]
                )
            )
            actors.append(plan_actor(rng, ch, action, world, n, fps, (lo, hi), z_range))
        base_gain = float(rng.uniform(0.82, 1.1))
        swing = deg.light_swing * np.sin(np.linspace(0, rng.uniform(1, 4), n) + rng.uniform(0, 6))
        tint = np.asarray([rng.uniform(0.92, 1.06), 1.0, rng.uniform(0.9, 1.08)], np.float32)
        d0, d1 = rng.uniform(*deg.defocus), rng.uniform(*deg.defocus)
        plan.shots.append(
            Shot(
                start=a,
                frames=n,
                world=world,
                camera=cam,
                actors=actors,
                gain=base_gain * (1 + swing),
                tint=tint,
                defocus=np.linspace(d0, d1, n),
                noise=float(rng.uniform(*deg.noise)),
                light_dir=float(rng.uniform(-0.6, 0.6)),
            )
        )
    return plan


def render_clip(plan: ClipPlan, out_mp4: str | Path, progress=None) -> dict[str, Any]:
    """Renders ``plan`` to ``out_mp4`` and returns its ground truth (annotations format)."""
    W, H, fps = plan.width, plan.height, plan.fps
    writer = H264Writer(out_mp4, W, H, fps, crf=plan.crf)
    tracks: dict[int, dict[str, Any]] = {}
    next_track = 1
    noise_rng = np.random.default_rng(plan.noise_seed)
    noise_bank = [
        noise_rng.standard_normal((H + 16, W + 16, 3)).astype(np.float32) for _ in range(3)
    ]
    ws = 1.25
    try:
        for shot in plan.shots:
            gid_of: dict[tuple[int, int], int] = {}
            for actor in shot.actors:
                for gi, product in enumerate(actor.char.outfit):
                    gid_of[(actor.char.cid, gi)] = next_track
                    tracks[next_track] = {
                        "track_id": next_track,
                        "category": product["category"],
                        "product_id": product["id"],
                        "boxes": [],
                    }
                    next_track += 1
            world = shot.world
            prev_cx = None
            for t in range(shot.frames):
                frame_index = shot.start + t
                zoom = shot.camera.zoom[t]
                vw, vh = W * ws / zoom, H * ws / zoom
                k = W / vw
                ox = shot.camera.cx[t] - vw / 2
                oy = shot.camera.cy[t] - vh / 2
                M = np.array([[k, 0, -ox * k], [0, k, -oy * k]])
                bg = cv2.warpAffine(
                    world.background,
                    M,
                    (W, H),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT,
                )
                canvas = Canvas(bg, np.zeros((H, W), np.int32))
                items: list[tuple[float, int, Any]] = []
                for i, p in enumerate(world.props):
                    items.append((p.z, 0, (i, p)))
                for i, a in enumerate(shot.actors):
                    items.append((float(a.z[t]), 1, (i, a)))
                items.sort(key=lambda it: (-it[0], it[1]))
                for z, kind, (_, obj) in items:
                    if kind == 0:
                        _draw_prop(canvas, obj, world, k, ox, oy)
                    else:
                        a = obj
                        s = world.scale_at(z) * k
                        pose = Pose(
                            x=(a.x[t] - ox) * k,
                            y=(world.floor_y(z) - oy) * k,
                            scale=s,
                            facing=float(a.facing[t]),
                            walk=float(a.walk[t]),
                            stride=float(a.stride[t]),
                            sit=float(a.sit[t]),
                            gesture=float(a.gesture[t]),
                        )
                        if pose.x + s < 0 or pose.x - s > W:
                            continue  # off screen: nothing visible
                        outfit = [
                            (gid_of[(a.char.cid, gi)], p) for gi, p in enumerate(a.char.outfit)
                        ]
                        drawn = render_figure(
                            canvas, pose, a.char.build, outfit, light_dir=shot.light_dir
                        )
                        for gid, d in drawn.items():
                            tracks[gid].setdefault("_drawn", {})[frame_index] = d
                # visibility from the label map
                counts = np.bincount(
                    np.clip(canvas.label.ravel(), 0, None), minlength=next_track + 1
                )
                for gid, tr in tracks.items():
                    d = tr.get("_drawn", {}).pop(frame_index, None)
                    if d is None or d.box is None or d.full_area <= 0:
                        continue
                    vis = min(1.0, counts[gid] / d.full_area)
                    if counts[gid] > 0:
                        x1, y1, x2, y2 = d.box
                        tr["boxes"].append(
                            [
                                frame_index,
                                round(x1, 1),
                                round(y1, 1),
                                round(x2, 1),
                                round(y2, 1),
                                round(vis, 3),
                            ]
                        )
                # light, optics, sensor
                rgb = canvas.rgb
                rgb *= shot.gain[t] * shot.tint
                cx = shot.camera.cx[t] * k
                if prev_cx is not None and plan.motion_blur > 0:
                    speed = abs(cx - prev_cx)
                    length = int(min(15, speed * plan.motion_blur))
                    if length >= 2:
                        kern = np.zeros((1, length), np.float32)
                        kern[:] = 1.0 / length
                        rgb = cv2.filter2D(rgb, -1, kern)
                prev_cx = cx
                sigma = float(shot.defocus[t]) * W / 640
                if sigma > 0.3:
                    rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
                if shot.noise > 0:
                    bank = noise_bank[frame_index % 3]
                    dy, dx = (frame_index * 7) % 16, (frame_index * 5) % 16
                    rgb += bank[dy : dy + H, dx : dx + W] * shot.noise
                writer.write(np.clip(rgb, 0, 255).astype(np.uint8))
                if progress is not None:
                    progress(1)
    except BaseException:
        writer.__exit__(*sys.exc_info())
        raise
    writer.close()
    out_tracks = []
    for tr in tracks.values():
        tr.pop("_drawn", None)
        if tr["boxes"]:
            out_tracks.append(tr)
    video = {
        "fps": fps,
        "frame_count": plan.frames,
        "width": W,
        "height": H,
        "clip": plan.clip_id,
        "shots": [[s.start, s.start + s.frames] for s in plan.shots],
    }
    return {"video": video, "tracks": out_tracks}


def _draw_prop(canvas: Canvas, prop, world: World, k: float, ox: float, oy: float) -> None:
    sh, sw = prop.sprite.shape[:2]
    w, h = sw * k, sh * k
    x0 = (prop.x - sw / 2 - ox) * k
    y0 = (world.floor_y(prop.z) - sh * prop.anchor_y - oy) * k
    W, H = canvas.size
    if x0 > W or y0 > H or x0 + w < 0 or y0 + h < 0:
        return
    M = np.array([[k, 0, x0], [0, k, y0]])
    # warp only the frame region the sprite covers
    fx0, fy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    fx1, fy1 = min(W, int(np.ceil(x0 + w))), min(H, int(np.ceil(y0 + h)))
    if fx1 <= fx0 or fy1 <= fy0:
        return
    M[0, 2] -= fx0
    M[1, 2] -= fy0
    patch = cv2.warpAffine(
        prop.sprite,
        M,
        (fx1 - fx0, fy1 - fy0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    a = patch[..., 3:4]
    region = canvas.rgb[fy0:fy1, fx0:fx1]
    region *= 1 - a
    region += patch[..., :3] * a
    lab = canvas.label[fy0:fy1, fx0:fx1]
    lab[a[..., 0] > 0.5] = PROP_LABEL
