"""Makes the bundled demo (resources/demo/): the synthetic benchmark's ``demo`` preset.

    make demo        # or: .venv/bin/python scripts/make_demo.py

Writes demo.mp4 (the clip), demo.json (its ground truth, which the player shows as boxes),
catalog/ (products.jsonl and shop images) and card.json. Deterministic for the seed below:
the same catalogue and ground truth every time (the MP4's bytes depend on the ffmpeg build).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synth.generate import generate  # noqa: E402
from engine import resources  # noqa: E402

SEED = 7


def main() -> int:
    out = resources.DEMO
    with tempfile.TemporaryDirectory() as tmp:
        card = generate(tmp, "demo", SEED, log=lambda m: print(m, file=sys.stderr))
        src = Path(tmp)
        clip = src / "clips" / "demo001.mp4"
        for old in ("demo.mp4", "demo.json", "card.json"):
            (out / old).unlink(missing_ok=True)
        shutil.rmtree(out / "catalog", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, out / "demo.mp4")
        shutil.copy(src / "clips" / "demo001.json", out / "demo.json")
        shutil.copy(src / "card.json", out / "card.json")
        shutil.copytree(src / "catalog", out / "catalog")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    c = card["counts"]
    print(
        f"wrote {out}: {c['video_seconds']} s clip, {c['trajectories']} trajectories, "
        f"{c['products']} products, {size:.1f} MB in all"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
