"""AsymNet put together (IFN head, VFN, similarity tree), its weights file, and the API the
engine uses: ``TrajectoryMatcher`` embeds crops and shop images and ranks candidates for one
trajectory, with the single-frame and average-pooling baselines on the same IFN."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.asymnet.frames import CLIP_LEN, MAX_CLIPS, sample_frames
from engine.asymnet.ifn import (
    COLOR_DIM,
    EMBED_DIM,
    SPP_DIM,
    IFNHead,
    ImageFeatureNetwork,
    frame_box,
    shop_view,
)
from engine.asymnet.rerank import Reranker, load_reranker, rerank_path
from engine.asymnet.tree import SimilarityTree, TreeOutput
from engine.asymnet.vfn import VideoFeatureNetwork
from engine.backbone import WeightsError, pick_device
from engine.device import DeviceGuard
from engine.resources import ASYMNET_WEIGHTS

log = logging.getLogger(__name__)
DEFAULT_WEIGHTS = ASYMNET_WEIGHTS
FORMAT = "video2shop-asymnet"
FORMAT_VERSION = 3  # 3: the IFN's colour descriptor beside the SPP vector
METHODS = ("single_frame", "avg_pool", "asymnet")


class AsymNet(nn.Module):
    """The trainable parts: the IFN's projection head, the VFN and the tree."""

    def __init__(self, spp_dim: int = SPP_DIM, dim: int = EMBED_DIM, head_hidden: int = 256,
                 clip_len: int = CLIP_LEN, max_clips: int = MAX_CLIPS,
                 head_dropout: float = 0.5, color_dim: int = COLOR_DIM) -> None:
        super().__init__()
        self.config = {"spp_dim": spp_dim, "dim": dim, "head_hidden": head_hidden,
                       "clip_len": clip_len, "max_clips": max_clips,
                       "head_dropout": head_dropout, "color_dim": color_dim}
        self.head = IFNHead(spp_dim, head_hidden, dim, dropout=head_dropout, color_dim=color_dim)
        self.vfn = VideoFeatureNetwork(dim, clip_len=clip_len)
        self.tree = SimilarityTree(dim)

    @property
    def clip_len(self) -> int:
        return self.config["clip_len"]

    @property
    def max_clips(self) -> int:
        return self.config["max_clips"]

    def score(self, frames: torch.Tensor, clip_mask: torch.Tensor, shop: torch.Tensor,
              quality: torch.Tensor | None = None) -> TreeOutput:
        """frames (B, n * clip_len, D) IFN embeddings in time order, clip_mask (B, n),
        shop (B, C, D) or (C, D) IFN embeddings, quality (B, n * clip_len, 3) per-frame cues
        (``frame_quality``) -> the tree's output."""
        return self.tree(self.vfn(frames, clip_mask, quality), clip_mask, shop)


def save_asymnet(model: AsymNet, path: str | Path, meta: dict | None = None) -> str:
    """Writes the weights (half precision) with the config and ``meta`` (training data, seed,
    command); returns the model version (a hash of the weights)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu()
             for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config,
               "meta": meta or {}, "state": state}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return model_version(path)


def model_version(path: str | Path) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"asymnet-{digest[:12]}"


def load_asymnet(path: str | Path = DEFAULT_WEIGHTS) -> tuple[AsymNet, dict]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no AsymNet weights at {path}: train them with "
                           "`video2shop train asymnet --data DIR` (resources/models/asymnet.md)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: torch raises many kinds
        raise WeightsError(f"cannot read AsymNet weights {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an AsymNet weights file")
    version = payload.get("format_version")
    if version not in (2, FORMAT_VERSION):
        raise WeightsError(f"{path} has format version {version}; this build reads versions 2 "
                           f"and {FORMAT_VERSION}: retrain or update")
    config, state = dict(payload["config"]), dict(payload["state"])
    if version == 2:  # before the colour descriptor: the same head without its colour branch
        config["color_dim"] = 0
        renames = {"head.net.0.": "head.spp.0.", "head.net.2.": "head.spp.2.",
                   "head.net.4.": "head.out.1."}
        state = {next((new + k[len(old):] for old, new in renames.items()
                       if k.startswith(old)), k): v for k, v in state.items()
                 if k != "vfn.attn.2.bias"}  # a constant before a softmax: always ignored
    model = AsymNet(**config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in state.items()})
    except RuntimeError as exc:
        raise WeightsError(f"{path} does not fit the AsymNet model: {exc}") from exc
    return model.eval(), dict(payload.get("meta", {}))


def _reranker_for(weights: str | Path, version: str) -> Reranker | None:
    """The re-ranker saved beside ``weights`` when it was fitted on them; None otherwise (a
    re-ranker of other weights would read their features wrongly: the tree's order stands)."""
    path = rerank_path(weights)
    if not path.is_file():
        return None
    rr = load_reranker(path)
    if rr.asymnet_version != version:
        log.warning("%s was fitted on %s, not %s: the tree's order is used", path,
                    rr.asymnet_version or "other weights", version)
        return None
    return rr


@dataclass
class RankResult:
    scores: np.ndarray  # (C,) higher is better
    clip_weights: np.ndarray | None = None  # (C, n) the tree's path weights per clip
    frame_indices: np.ndarray | None = None  # (n * clip_len,) rows of the input fed to the VFN
    # (C,) asymnet: the score's log-odds, from the leaves' logits in float64 (the re-ranker's
    # feature; a float32 score near 1 keeps too few digits of 1 - s for a log-odds that is
    # the same whatever the number of threads that computed it)
    log_odds: np.ndarray | None = None


def mixture_log_odds(leaf_logits: torch.Tensor, path_weights: torch.Tensor) -> torch.Tensor:
    """log(s / (1 - s)) of the tree's score s = sum_i pi_i sigmoid(f_i), over the last axis,
    in float64: log s and log(1 - s) each as a log-sum-exp (a padded leaf has pi = 0)."""
    f, log_pi = leaf_logits.double(), torch.log(path_weights.double())
    return (torch.logsumexp(log_pi + torch.nn.functional.logsigmoid(f), -1)
            - torch.logsumexp(log_pi + torch.nn.functional.logsigmoid(-f), -1))


class TrajectoryMatcher:
    """Scores one clothing trajectory against shop candidates.

    ``embed_crops`` / ``embed_shop`` turn uint8 RGB images into IFN embeddings; ``rank`` takes a
    trajectory's frame embeddings (time order) and candidate embeddings and scores them with one
    of ``METHODS``."""

    def __init__(self, weights: str | Path = DEFAULT_WEIGHTS, device: str = "auto",
                 model: AsymNet | None = None, rerank: bool = True) -> None:
        self.reranker: Reranker | None = None
        if model is None:
            model, self.meta = load_asymnet(weights)
            self.version = model_version(weights)
            if rerank:
                self.reranker = _reranker_for(weights, self.version)
        else:
            self.meta, self.version = {}, "untrained"
        self.device = pick_device(device)
        self.model = model.eval().to(self.device)
        self.ifn = ImageFeatureNetwork()
        self.ifn.head = self.model.head
        self.ifn.backbone.to(self.device)
        self.guard = DeviceGuard("AsymNet", lambda: self.device, self._to_cpu)

    def _to_cpu(self) -> None:
        self.device = torch.device("cpu")
        self.model.to(self.device)
        self.ifn.backbone.to(self.device)

    @property
    def ranking_version(self) -> str:
        """What decides the card: the weights, and the re-ranker when there is one (caches of
        matches are keyed by it; ``version`` names the catalogue's vectors)."""
        return self.version + (f"+{self.reranker.version}" if self.reranker else "")

    def embed_views_and_colors(self, views: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """IFN embeddings (N, D) and colour descriptors (N, COLOR_DIM) of uint8 RGB views, from
        one pass of the backbone."""
        return self.guard.run(self.ifn.embed_images_and_colors, views)

    @torch.no_grad()
    def embed_views(self, views: list[np.ndarray]) -> np.ndarray:
        return self.guard.run(self.ifn.embed_images, views)

    def embed_crops(self, frames_rgb: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
        """One crop per (frame, box) pair -> (N, D) embeddings."""
        return self.embed_views([frame_box(f, b) for f, b in zip(frames_rgb, boxes, strict=True)])

    def embed_shop(self, images_rgb: list[np.ndarray]) -> np.ndarray:
        return self.embed_views([shop_view(im) for im in images_rgb])

    def rank(self, frames: np.ndarray, candidates: np.ndarray, method: str = "asymnet",
             weights: np.ndarray | None = None, quality: np.ndarray | None = None
             ) -> RankResult:
        return self.guard.run(self._rank, frames, candidates, method, weights, quality)

    @torch.no_grad()
    def _rank(self, frames: np.ndarray, candidates: np.ndarray, method: str = "asymnet",
              weights: np.ndarray | None = None, quality: np.ndarray | None = None
              ) -> RankResult:
        """frames (T, D) the trajectory's embeddings in time order; candidates (C, D); for
        ``single_frame``, ``weights`` (T,) picks the frame (largest, most visible, most
        confident: the caller's choice, never the answer); for ``asymnet``, ``quality``
        (T, 3) per-frame cues (``frame_quality``), all ones when not given."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        frames = np.asarray(frames, np.float32)
        candidates = np.asarray(candidates, np.float32)
        if len(frames) == 0:
            raise ValueError("a trajectory needs at least one frame")
        if method == "single_frame":
            best = int(np.argmax(weights)) if weights is not None else len(frames) // 2
            return RankResult(candidates @ frames[best])
        if method == "avg_pool":
            mean = frames.mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            return RankResult(candidates @ mean)
        pick = sample_frames(len(frames), self.model.clip_len, self.model.max_clips)
        x = torch.from_numpy(frames[pick]).unsqueeze(0).to(self.device)
        n = len(pick) // self.model.clip_len
        mask = torch.ones(1, n, dtype=torch.bool, device=self.device)
        q = None
        if quality is not None:
            q = torch.from_numpy(np.asarray(quality, np.float32)[pick]).unsqueeze(0)
            q = q.to(self.device)
        states = self.model.vfn(x, mask, q)
        scores, weights_out, log_odds = [], [], []
        cand = torch.from_numpy(candidates).to(self.device)
        for i in range(0, len(cand), 1024):
            out = self.model.tree(states, mask, cand[i:i + 1024])
            scores.append(out.score[0])
            weights_out.append(out.path_weights[0, :, :n])
            log_odds.append(mixture_log_odds(out.leaf_logits[0], out.path_weights[0]))
        return RankResult(torch.cat(scores).cpu().numpy(), torch.cat(weights_out).cpu().numpy(),
                          pick, torch.cat(log_odds).cpu().numpy())

