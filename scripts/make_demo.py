"""Makes the bundled demo clip and its annotations (resources/demo/).

    make demo        # or: .venv/bin/python scripts/make_demo.py

Deterministic: the same command gives the same frames and boxes. The synthetic VideoShop
benchmark (`video2shop synth --preset demo`) will replace this placeholder.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.synth.marker_clip import make_marker_clip  # noqa: E402


def main() -> int:
    out = ROOT / "resources" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    ann = make_marker_clip(
        out / "demo.mp4", frames=300, fps=25.0, width=640, height=360, audio=True, gop=25
    )
    ann.save(out / "demo.json")
    print(
        f"wrote {out / 'demo.mp4'} ({(out / 'demo.mp4').stat().st_size // 1024} KB) "
        f"and {out / 'demo.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
