"""The README's and docs' screenshots of things a single `main.py --screenshot` cannot reach: the
end carousel, keyboard focus on a box, the Chinese interface. Offscreen, on the bundled demo with
the engine (a few minutes on two cores: the carousel waits for the whole demo to be analysed).

    python scripts/doc_screenshots.py [--out docs/images] [--only carousel keyboard zh_CN]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.cli import _wait_for as _wait  # noqa: E402 (after the path and the platform)


def _player(lang: str | None = None):
    from PySide6.QtWidgets import QApplication

    from app.controller import PlayerController
    from app.engine_thread import EngineThread
    from app.settings import Settings
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    if lang:
        from app.i18n import install_translation

        install_translation(app, lang)
    window = MainWindow()
    c = PlayerController(window, Settings("/tmp/v2s-doc-shots.ini"), use_vlc=False,
                         engine=EngineThread(device="cpu"))
    window.resize(1280, 760)
    window.show()
    return app, window, c


def _save(window, path: Path) -> None:
    import cv2

    from app.images import qimage_to_rgb

    rgb = qimage_to_rgb(window.grab().toImage())
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
    print(f"wrote {path}")


def carousel(out: Path) -> None:
    from engine.resources import DEMO_CATALOG, DEMO_VIDEO

    app, window, c = _player()
    c.open_catalog(str(DEMO_CATALOG))
    c.open_video(str(DEMO_VIDEO))
    _wait(app, lambda: c.catalog is not None and c.snapshot is not None
          and c.snapshot.complete and c.snapshot.matched >= len(c.snapshot.tracks), 900)
    c.show_frame(c.reader.frame_count - 1)
    c.end_screen.show()
    app.processEvents()
    _save(window, out / "player-carousel.jpg")
    c.shutdown()


def keyboard(out: Path, lang: str | None = None, name: str = "player-keyboard.jpg") -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from engine.resources import DEMO_CATALOG, DEMO_VIDEO

    app, window, c = _player(lang)
    c.open_catalog(str(DEMO_CATALOG))
    c.open_video(str(DEMO_VIDEO))
    c.show_frame(716)
    _wait(app, lambda: c.catalog is not None and c.snapshot is not None
          and any(a <= 716 < b for a, b in c.snapshot.analysed), 300)
    c.show_frame(716)
    shown: list[int] = []
    c.card_shown.connect(shown.append)
    window.video.setFocus()
    app.processEvents()
    for _ in range(2):
        QTest.keyClick(window.video, Qt.Key.Key_Tab)
    QTest.keyClick(window.video, Qt.Key.Key_Return)
    _wait(app, lambda: bool(shown), 120)
    app.processEvents()
    _save(window, out / name)
    c.shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    ap.add_argument("--only", nargs="+", choices=("carousel", "keyboard", "zh_CN"),
                    default=("carousel", "keyboard", "zh_CN"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if "keyboard" in args.only:
        keyboard(out)
    if "zh_CN" in args.only:
        keyboard(out, "zh_CN", "player-zh_CN.jpg")
    if "carousel" in args.only:
        carousel(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
