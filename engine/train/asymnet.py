"""``video2shop train asymnet``: AsymNet end to end on cached backbone features.

CPU-friendly: the EfficientNet-Lite0 backbone stays at its ImageNet weights, so every crop and
shop image is pushed through it once (``matching_data``); what trains is the IFN's projection,
the VFN and the similarity tree, together, from one loss:

- the tree's posterior (EM-like) objective on (trajectory, candidate) pairs and a ranking term
  over each trajectory's candidates (engine/asymnet/tree.py);
- InfoNCE between video and shop embeddings at the level of single frames and of the mean of a
  trajectory's frames, so that the IFN the baselines use is trained as well as it can be
  ("no weaker features for them").

Each trajectory's candidates: its product, the product's siblings (same family: they differ in
one attribute, the hard negatives), other products of the same category, products mined from
the whole gallery (the ones the current model ranks nearest to the trajectory: what a
shop-sized catalogue confuses it with) and random products. ``negatives``: catalogues without
clips (``synth --catalog-only``) whose products join the gallery as wrong answers only.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.asymnet.frames import QUALITY_DIM, sample_frames
from engine.asymnet.ifn import COLOR_DIM, ImageFeatureNetwork
from engine.asymnet.model import AsymNet, save_asymnet
from engine.asymnet.tree import posterior_loss, ranking_loss
from engine.backbone import pick_device
from engine.train.attributes import AttributeHeads, AttributeVocab, visible_attributes
from engine.train.matching_data import (
    MatchingSet,
    extract_features,
    extract_products,
    read_products,
)


@dataclass
class TrainConfig:
    steps: int = 2000
    batch: int = 32
    siblings: int = 2
    same_category: int = 3
    mined: int = 6  # hard negatives mined from the whole gallery by the current model
    random_negatives: int = 4
    mine_every: int = 200  # steps between two minings (the first after warm-up)
    mine_pool: int = 32  # mined negatives are drawn from this many nearest wrong products
    color: bool = True  # the IFN's colour descriptor (False: the SPP vector alone)
    # weight of the attribute classifiers' loss on video and shop embeddings (0: none, as the
    # shipped weights were trained; 0.5 measured in docs/asymnet.md); engine/train/attributes.py
    attributes: float = 0.0
    lr: float = 1e-3
    weight_decay: float = 0.05
    temperature: float = 0.05
    seed: int = 0
    device: str = "cpu"  # auto: a GPU when torch sees one

    def __post_init__(self) -> None:
        for name in ("steps", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


def load_training_set(data: Sequence[str | Path], split: str, *, frames_per_track: int = 40,
                      negatives: Sequence[str | Path] = (), device: str = "cpu",
                      log: Callable[[str], None] = lambda m: None) -> MatchingSet:
    ifn = ImageFeatureNetwork()
    ifn.backbone.to(pick_device(device))  # the backbone's features: the GPU when there is one
    out = MatchingSet()
    for i, d in enumerate(data):
        log(f"features of {d} ({split})")
        out.extend(extract_features(d, split, ifn, frames_per_track=frames_per_track,
                                    with_flips=True, prefix=f"d{i}:", log=log))
        out.attributes.update({f"d{i}:{p['id']}": visible_attributes(p)
                               for p in read_products(Path(d))})
    for i, d in enumerate(negatives):
        log(f"features of {d} (negatives)")
        out.products += extract_products(d, ifn, prefix=f"n{i}:", log=log)
        out.attributes.update({f"n{i}:{p['id']}": visible_attributes(p)
                               for p in read_products(Path(d))})
    return out


class CandidateSampler:
    def __init__(self, data: MatchingSet, cfg: TrainConfig, rng: np.random.Generator) -> None:
        self.data, self.cfg, self.rng = data, cfg, rng
        self.index = {p.key: i for i, p in enumerate(data.products)}
        self.family: dict[str, list[int]] = defaultdict(list)
        self.category: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(data.products):
            self.family[p.family].append(i)
            self.category[p.key.split(":")[0] + ":" + p.category].append(i)
        self.tracks = [t for t in data.tracks if t.product in self.index]
        if not self.tracks:
            raise ValueError("no trajectory names a product of its catalogue: nothing to learn")
        self.mined: dict[str, np.ndarray] = {}
        self.image_owner = np.concatenate([np.full(len(p.pooled), i)
                                           for i, p in enumerate(data.products)])

    @torch.no_grad()
    def mine(self, model: AsymNet) -> float:
        """The ``mine_pool`` wrong products nearest to each trajectory's mean embedding, by
        the model as it is now (a product: its best image). Returns the share of trajectories
        whose product is not the nearest (how hard the gallery still is)."""
        was = model.training
        model.eval()
        try:
            images = torch.cat([p.pooled for p in self.data.products])
            dev = next(model.parameters()).device
            gallery = torch.cat([model.head(images[i:i + 4096].to(dev)).cpu()
                                 for i in range(0, len(images), 4096)])
            means = torch.stack([F.normalize(model.head(t.pooled.to(dev)).mean(0), dim=0).cpu()
                                 for t in self.tracks])
            n_products = len(self.data.products)
            owner = torch.from_numpy(self.image_owner)
            wrong_first = 0
            for start in range(0, len(self.tracks), 256):
                sims = means[start:start + 256] @ gallery.T
                best = torch.full((len(sims), n_products), -2.0)
                best.scatter_reduce_(1, owner.expand(len(sims), -1), sims, "amax")
                for row, t in enumerate(self.tracks[start:start + 256]):
                    pos = self.index[t.product]
                    order = torch.argsort(best[row], descending=True)[: self.cfg.mine_pool + 1]
                    wrong_first += int(order[0]) != pos
                    self.mined[t.key] = order[order != pos][: self.cfg.mine_pool].numpy()
        finally:
            model.train(was)
        return wrong_first / len(self.tracks)

    def candidates(self, track) -> list[int]:
        pos = self.index[track.product]
        p = self.data.products[pos]
        chosen = [pos]
        sib = [i for i in self.family[p.family] if i != pos]
        self.rng.shuffle(sib)
        chosen += sib[: self.cfg.siblings]
        same = [i for i in self.category[p.key.split(":")[0] + ":" + p.category]
                if i not in chosen]
        if same:
            chosen += list(self.rng.choice(same, min(self.cfg.same_category, len(same)),
                                           replace=False))
        mined = [int(i) for i in self.mined.get(track.key, ()) if int(i) not in chosen]
        if mined:
            chosen += list(self.rng.choice(mined, min(self.cfg.mined, len(mined)),
                                           replace=False))
        want = (1 + self.cfg.siblings + self.cfg.same_category + self.cfg.mined
                + self.cfg.random_negatives)
        while len(chosen) < want:
            i = int(self.rng.integers(len(self.data.products)))
            if i not in chosen:
                chosen.append(i)
        return chosen

    def shop_row(self, product: int) -> torch.Tensor:
        p = self.data.products[product]
        j = int(self.rng.integers(len(p.pooled)))
        if p.flipped is not None and self.rng.random() < 0.5:
            return p.flipped[j]
        return p.pooled[j]


def train_asymnet(data: MatchingSet, cfg: TrainConfig, *, model: AsymNet | None = None,
                  log: Callable[[str], None] = lambda m: None, stats: dict | None = None
                  ) -> tuple[AsymNet, list[float]]:
    """The trained model (on the CPU, in eval mode) and the loss of every step. ``stats``,
    when given, receives ``attribute_accuracy``: each attribute classifier's accuracy on the
    front shop image of every training product at the end (with attribute targets)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = model or AsymNet(color_dim=COLOR_DIM if cfg.color else 0)
    dev = pick_device(cfg.device)
    model.to(dev).train()
    sampler = CandidateSampler(data, cfg, rng)
    heads, product_labels = None, None
    params = list(model.parameters())
    if cfg.attributes > 0 and data.attributes:
        rows = [data.attributes.get(p.key, {}) for p in data.products]
        vocab = AttributeVocab.build(rows)
        if vocab.names:
            heads = AttributeHeads(model.config["dim"], vocab).to(dev).train()
            product_labels = torch.from_numpy(np.stack([vocab.labels(r) for r in rows])).to(dev)
            params += list(heads.parameters())
            log("attribute targets: " + ", ".join(
                f"{a} ({len(v)})" for a, v in vocab.values.items()))
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))
    n_cand = 1 + cfg.siblings + cfg.same_category + cfg.mined + cfg.random_negatives
    losses: list[float] = []
    t0 = time.monotonic()
    for step in range(cfg.steps):
        if cfg.mined and cfg.mine_every and step >= 100 and (step - 100) % cfg.mine_every == 0:
            hard = sampler.mine(model)
            log(f"step {step}: mined {cfg.mine_pool} nearest wrong products per trajectory "
                f"among {len(data.products)}; the nearest is wrong for {hard:.0%}")
        batch = [sampler.tracks[i] for i in rng.integers(len(sampler.tracks), size=cfg.batch)]
        rows, clips, quals = [], [], []
        for t in batch:
            pick = sample_frames(len(t.pooled), model.clip_len, model.max_clips, rng)
            rows.append(t.pooled[pick])
            quals.append(t.quality[pick] if t.quality is not None
                         else np.ones((len(pick), QUALITY_DIM), np.float32))
            clips.append(len(pick) // model.clip_len)
        n_max = max(clips)
        frames = torch.zeros(cfg.batch, n_max * model.clip_len, rows[0].shape[1])
        quality = torch.ones(cfg.batch, n_max * model.clip_len, QUALITY_DIM)
        mask = torch.zeros(cfg.batch, n_max, dtype=torch.bool)
        for b, (r, q, n) in enumerate(zip(rows, quals, clips, strict=True)):
            frames[b, : len(r)] = r.float()
            quality[b, : len(q)] = torch.from_numpy(q)
            mask[b, :n] = True
        cand = [sampler.candidates(t) for t in batch]
        shop = torch.stack([torch.stack([sampler.shop_row(i) for i in c]) for c in cand])
        frames, quality, mask, shop = (frames.to(dev), quality.to(dev), mask.to(dev),
                                       shop.to(dev).float())

        emb = model.head(frames.reshape(-1, frames.shape[-1])).reshape(
            cfg.batch, frames.shape[1], -1)
        shop_emb = model.head(shop.reshape(-1, shop.shape[-1])).reshape(cfg.batch, n_cand, -1)
        out = model.score(emb, mask, shop_emb, quality)
        labels = torch.zeros(cfg.batch, n_cand, device=dev)
        labels[:, 0] = 1
        loss_tree = posterior_loss(out, labels) + ranking_loss(
            out, torch.zeros(cfg.batch, dtype=torch.long, device=dev))

        # InfoNCE against every candidate image of the batch (siblings included)
        gallery = shop_emb.reshape(-1, shop_emb.shape[-1])
        target = torch.arange(cfg.batch, device=dev) * n_cand
        frame_mask = torch.repeat_interleave(mask, model.clip_len, dim=1)
        valid = frame_mask.float()
        mean = F.normalize((emb * valid.unsqueeze(-1)).sum(1), dim=-1)
        loss_mean = F.cross_entropy(mean @ gallery.T / cfg.temperature, target)
        one = torch.stack([emb[b, int(rng.integers(int(valid[b].sum())))]
                           for b in range(cfg.batch)])
        loss_frame = F.cross_entropy(one @ gallery.T / cfg.temperature, target)
        loss = loss_tree + loss_mean + loss_frame
        loss_attr = torch.zeros((), device=dev)
        if heads is not None:
            # every frame of the trajectory, its mean and every candidate shop image say
            # their product's attributes with the same classifiers
            own = product_labels[torch.tensor([sampler.index[t.product] for t in batch],
                                              device=dev)]
            per_frame = own.unsqueeze(1).expand(-1, emb.shape[1], -1)[frame_mask]
            video = torch.cat([emb[frame_mask], mean])
            shop_labels = product_labels[torch.tensor(cand, device=dev)]
            loss_attr = 0.5 * (heads.loss(video, torch.cat([per_frame, own]))
                               + heads.loss(gallery, shop_labels.reshape(-1, own.shape[1])))
            loss = loss + cfg.attributes * loss_attr

        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0 or step == 0:
            recent = np.mean(losses[-100:])
            parts = [float(x.detach()) for x in (loss_tree, loss_mean, loss_frame, loss_attr)]
            log(f"step {step + 1}/{cfg.steps}: loss {recent:.3f} (tree {parts[0]:.3f}, "
                f"mean {parts[1]:.3f}, frame {parts[2]:.3f}, attributes {parts[3]:.3f}) "
                f"{time.monotonic() - t0:.0f} s")
    if heads is not None:
        acc = _gallery_accuracy(model, heads, data, product_labels)
        log("attribute accuracy on the training gallery's shop images: "
            + ", ".join(f"{a} {v:.2f}" for a, v in acc.items()))
        if stats is not None:
            stats["attribute_accuracy"] = {a: round(v, 4) for a, v in acc.items()}
    return model.cpu().eval(), losses


@torch.no_grad()
def _gallery_accuracy(model: AsymNet, heads: AttributeHeads, data: MatchingSet,
                      labels: torch.Tensor) -> dict[str, float]:
    model.eval()
    dev = labels.device
    first = torch.stack([p.pooled[0] for p in data.products])  # each product's front view
    emb = torch.cat([model.head(first[i:i + 4096].to(dev)) for i in range(0, len(first), 4096)])
    return heads.accuracy(emb, labels)


def run_training(data: Sequence[str | Path], out: str | Path, cfg: TrainConfig, *,
                 split: str = "train", frames_per_track: int = 40,
                 negatives: Sequence[str | Path] = (), command: str = "",
                 log: Callable[[str], None] = lambda m: None) -> str:
    t0 = time.monotonic()
    feats = load_training_set(data, split, frames_per_track=frames_per_track,
                              negatives=negatives, device=cfg.device, log=log)
    log(f"training on {len(feats.tracks)} trajectories, {len(feats.products)} products")
    stats: dict = {}
    model, losses = train_asymnet(feats, cfg, log=log, stats=stats)
    meta = {"data": [str(d) for d in data], "negatives": [str(d) for d in negatives],
            "split": split, "config": cfg.__dict__,
            "trajectories": len(feats.tracks), "products": len(feats.products),
            "frames_per_track": frames_per_track, "command": command,
            "final_loss": float(np.mean(losses[-100:])), **stats,
            "seconds": round(time.monotonic() - t0, 1)}
    version = save_asymnet(model, out, meta)
    log(f"wrote {out} ({version}) in {meta['seconds']:.0f} s")
    return version
