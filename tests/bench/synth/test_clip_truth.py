"""A whole clip, planned by hand: tracks per garment per shot, boxes on the decoded video."""

import json

import numpy as np

from bench.synth.body import Build
from bench.synth.clip import Actor, Camera, Character, ClipPlan, Shot, render_clip
from bench.synth.scene import World
from engine.video import VideoReader

W, H, FPS = 320, 180, 25.0


def product(pid, category, rgb):
    return {"id": pid, "category": category, "attributes": {}, "fold_seed": 3,
            "fabric": {"pattern": "solid", "base": list(rgb), "accent": list(rgb)}}


def plain_world():
    bg = np.full((int(H * 1.25 * 1.12), int(W * 1.25 * 1.7), 3), 120, np.float32)
    return World(bg, horizon=0.4 * bg.shape[0], focal=bg.shape[0] / 1.15)


def still_actor(char, n, x, z=1.6):
    zero = np.zeros(n)
    return Actor(char, np.full(n, x), np.full(n, z), zero, zero, zero, zero, zero, "stand")


def shot(start, n, actors):
    world = plain_world()
    ww, wh = world.size
    cam = Camera(np.full(n, ww / 2), np.full(n, wh / 2), np.ones(n))
    return Shot(start, n, world, cam, actors, gain=np.ones(n), tint=np.ones(3, np.float32),
                defocus=np.zeros(n), noise=0.0, light_dir=0.0)


def test_tracks_follow_shots_and_boxes_sit_on_the_decoded_garment(tmp_path):
    red = Character(0, Build((200, 160, 130), (30, 20, 10)),
                    [product("pt", "trousers", (20, 20, 220)), product("pr", "top", (230, 20, 20))])
    world_w = plain_world().size[0]
    plan = ClipPlan("t", W, H, FPS, 40, crf=12, motion_blur=0.0)
    plan.shots = [shot(0, 20, [still_actor(red, 20, world_w * 0.45)]),
                  shot(20, 20, [still_actor(red, 20, world_w * 0.55)])]
    gt = render_clip(plan, tmp_path / "t.mp4")
    json.dumps(gt)  # serialisable as written to disk
    tracks = gt["tracks"]
    # one track per garment per shot: the cut ends them
    assert sorted((t["product_id"], t["boxes"][0][0], t["boxes"][-1][0]) for t in tracks) == [
        ("pr", 0, 19), ("pr", 20, 39), ("pt", 0, 19), ("pt", 20, 39)]
    assert len({t["track_id"] for t in tracks}) == 4
    assert gt["video"]["shots"] == [[0, 20], [20, 40]]
    top = next(t for t in tracks if t["product_id"] == "pr" and t["boxes"][0][0] == 20)
    frame_idx, x1, y1, x2, y2, vis = top["boxes"][5]
    assert vis > 0.9  # nothing in front of it
    with VideoReader(tmp_path / "t.mp4") as r:
        bgr = r.read(int(frame_idx)).astype(int)
    red_px = (bgr[..., 2] > 150) & (bgr[..., 1] < 90) & (bgr[..., 0] < 90)
    ys, xs = np.nonzero(red_px)
    # the red garment's pixels fill the box, to within the codec's blur
    assert abs(xs.min() - x1) <= 2 and abs(xs.max() + 1 - x2) <= 2
    assert abs(ys.min() - y1) <= 2 and abs(ys.max() + 1 - y2) <= 3
