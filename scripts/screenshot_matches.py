"""Screenshot of the player after a click on a garment, once its products are listed:
the demo at frame 200, a click on the jacket, the demo catalogue (offscreen, no VLC).

    .venv/bin/python scripts/screenshot_matches.py docs/images/player-matches.png
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.cli import DEMO_ANNOTATIONS, DEMO_CATALOG, DEMO_VIDEO
from app.controller import PlayerController
from app.settings import Settings
from ui.main_window import MainWindow


def main(out: str, frame: int = 200, click: tuple[float, float] = (439, 165)) -> int:
    app = QApplication([])
    window = MainWindow()
    controller = PlayerController(window, Settings(Path(out).with_suffix(".ini")),
                                  use_vlc=False)
    window.resize(1180, 700)
    window.show()
    controller.open_video(str(DEMO_VIDEO))
    controller.load_annotations(str(DEMO_ANNOTATIONS))
    controller.show_frame(frame)
    loop = QEventLoop()
    controller.match_jobs.done.connect(lambda *a: QTimer.singleShot(200, loop.quit))
    controller.open_catalog(str(DEMO_CATALOG))
    window.video.click_video_point(*click)
    QTimer.singleShot(180_000, loop.quit)
    loop.exec()
    app.processEvents()
    ok = window.grab().save(out)
    Path(out).with_suffix(".ini").unlink(missing_ok=True)
    controller.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
