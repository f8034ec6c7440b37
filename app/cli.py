"""The ``video2shop`` command. ``video2shop play`` (and ``python main.py``) starts the player;
the other subcommands are app/commands.py, their arguments app/cli_args.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from app.cli_args import build_parser
from app.commands import run_analyze, run_bench, run_eval, run_synth, run_train
from app.errors import UsageError
from engine.resources import DEMO_ANNOTATIONS, DEMO_CATALOG, DEMO_VIDEO


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in ("play", "synth", "analyze", "eval", "train", "bench",
                                     "catalog", "library", "-h", "--help"):
        argv = ["play", *argv]  # `video2shop FILE` plays FILE
    args = parser.parse_args(argv)
    try:
        if args.command == "play":
            return run_player(args)
        if args.command == "synth":
            return run_synth(args)
        if args.command == "analyze":
            return run_analyze(args)
        if args.command == "eval":
            return run_eval(args)
        if args.command == "train":
            return run_train(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "library":
            from app.library_cli import run_library

            return run_library(args, UsageError)
        if args.command == "catalog":
            from app.catalog_cli import run_catalog

            return run_catalog(args)
    except UsageError as exc:
        print(f"video2shop: {exc}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


def run_player(args: argparse.Namespace) -> int:
    from app.stdio import protect_standard_streams

    protect_standard_streams()  # a closed log pipe or a full disk must not stop the player
    from app.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before Qt's, VLC's and the engine's threads (app/memory.py)
    headless = args.screenshot is not None
    has_display = any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY"))
    if not has_display and not os.environ.get("QT_QPA_PLATFORM"):
        if headless:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            raise UsageError(
                "no display to open a window on: run under xvfb-run (make run does), or use "
                "--screenshot PNG to render offscreen"
            )
    if args.click is not None and not headless:
        raise UsageError("--click needs --screenshot (it is for automation)")

    video = args.video
    annotations = args.annotations
    if video is None:
        if not DEMO_VIDEO.exists():
            raise UsageError(
                f"no VIDEO given and the demo clip is missing ({DEMO_VIDEO}); "
                "run `make demo` to make it"
            )
        video = str(DEMO_VIDEO)
        # the demo's ground truth: the boxes without the engine, beside them in QA mode
        if annotations is None and DEMO_ANNOTATIONS.exists() and (args.no_engine or args.qa):
            annotations = str(DEMO_ANNOTATIONS)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.controller import PlayerController

    # The engine thread runs Python between its numpy, OpenCV and model calls; each time the
    # main thread lets go of the interpreter (any OpenCV or Qt call that releases it), it can
    # wait a whole switch interval to get it back. 1 ms instead of 5 keeps painting smooth.
    sys.setswitchinterval(0.001)
    from app.settings import Settings
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Video2Shop")
    app.setOrganizationName("Video2Shop")
    from app.i18n import install_translation

    lang_message = install_translation(app, args.lang)  # before any window is made
    settings = Settings()
    window = MainWindow()
    engine = None
    if not args.no_engine:
        from app.engine_thread import EngineThread

        engine = EngineThread(args.detector, args.device)
    controller = PlayerController(
        window, settings, use_vlc=not args.no_vlc, loop=args.loop or args.kiosk, engine=engine
    )
    if args.qa:
        window.set_qa(True)
    _route_exceptions(controller, headless)

    if headless:
        w, h = args.size or (1280, 760)
        window.resize(int(w), int(h))
    elif args.size:
        window.resize(int(args.size[0]), int(args.size[1]))
    elif settings.geometry is not None:
        window.restoreGeometry(settings.geometry)

    errors: list[str] = []
    controller.error_shown.connect(errors.append)
    if lang_message:
        print(f"video2shop: {lang_message}", file=sys.stderr)
        controller.show_status(lang_message)
    opened = controller.open_video(video)
    if annotations and not controller.load_annotations(annotations):
        opened = False
    if opened and args.subtitles and not controller.load_subtitles(args.subtitles):
        controller.show_error(window.statusBar().currentMessage())
        opened = False
    if opened and args.frame is not None:
        if controller.reader is not None and args.frame >= controller.reader.frame_count:
            controller.show_error(
                f"frame {args.frame} is past the end: the video has frames 0 to "
                f"{controller.reader.frame_count - 1}"
            )
            opened = False
        else:
            opened = controller.show_frame(args.frame)

    if headless:
        window.show()
        app.processEvents()
        _wait_for(app, lambda: not controller.subtitles.pending(), args.wait)
        if not opened:
            print(
                f"video2shop: {errors[-1] if errors else 'cannot open ' + video}", file=sys.stderr
            )
            window.close()
            return 2
        # without the engine, a picture of the file's boxes as they are, unless a card (a
        # click) or a catalogue was asked for
        if engine is not None or args.click is not None or args.catalog:
            controller.open_catalog(args.catalog or str(DEMO_CATALOG))
        if engine is not None:
            frame = controller.index
            _wait_for(app, lambda: controller.snapshot is not None and any(
                a <= frame < b for a, b in controller.snapshot.analysed), args.wait)
        # and the catalogue, so that the products' timeline is in the picture
        _wait_for(app, lambda: controller.catalog is not None
                  or not controller.catalogue.loader.busy(), args.wait)
        if engine is not None or (controller.given and controller.catalog is not None):
            _wait_for(app, lambda: controller.snapshot is not None
                      and controller.snapshot.matched > 0, min(args.wait, 5))
        if args.click is not None:
            shown: list[int] = []
            controller.card_shown.connect(shown.append)
            tid = window.video.click_video_point(*args.click)
            # products from the cache show at once; their deciding frames follow a step later
            # (read back from the cache): the picture has them both
            if tid >= 0 and _wait_for(app, lambda: tid in shown, args.wait):
                _wait_for(app, lambda: tid in controller.snapshot.evidence, min(args.wait, 5))
                app.processEvents()
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        if args.click is not None:
            print(json.dumps(controller.card_summary(), ensure_ascii=False))
        controller.shutdown()
        window.close()
        if not ok:
            print(f"video2shop: cannot write screenshot {args.screenshot}", file=sys.stderr)
            return 2
        return 0

    if args.kiosk:
        window.set_kiosk(True)
        controller.kiosk.start()
    else:
        window.show()
    # the catalogue (AsymNet, the shop images' embeddings, FAISS) loads once the first boxes
    # are out, or after a few seconds: on two cores it would otherwise slow the engine's start
    catalog_opened = []

    def open_catalog_once() -> None:
        if not catalog_opened:
            catalog_opened.append(True)
            controller.open_catalog(args.catalog or str(DEMO_CATALOG))

    if engine is not None:
        controller.analysis_updated.connect(
            lambda: controller.snapshot is not None and controller.snapshot.tracks
            and open_catalog_once())
        QTimer.singleShot(3000, open_catalog_once)
    else:
        QTimer.singleShot(0, open_catalog_once)
    if opened and (args.kiosk or args.loop):
        QTimer.singleShot(0, controller.transport.play)
    _close_on_signals(window)
    return app.exec()


def _close_on_signals(window) -> None:
    """Ctrl+C in the terminal, or SIGTERM from a service manager stopping a booth, closes the
    player as its close button does (settings saved, the engine thread stopped, the video
    released), whatever it shows: an open file dialog or menu is dismissed first, and the
    event loop (a dialog's too) is left. The handler only queues that work: it may interrupt
    any slot. Python runs signal handlers only between bytecodes, so a timer wakes it while
    Qt's event loop waits. A second signal while closing ends the process at once."""
    import signal

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    closing: list[int] = []

    def close_all(signum: int) -> None:
        # stderr cannot raise here (app/stdio.py), even when its pipe has closed
        print(f"video2shop: {signal.Signals(signum).name}, closing", file=sys.stderr)
        app = QApplication.instance()
        for _ in range(8):  # nested: a menu over a dialog over the window
            top = app.activePopupWidget() or app.activeModalWidget()
            if top is None:
                break
            reject = getattr(top, "reject", None)
            reject() if reject is not None else top.close()
        window.close()
        app.quit()

    def handler(signum, _frame) -> None:
        if closing:
            os._exit(128 + signum)
        closing.append(signum)
        QTimer.singleShot(0, lambda: close_all(signum))

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)


def _wait_for(app, done, seconds: float) -> bool:
    """Runs the event loop until ``done()`` or ``seconds`` pass (screenshots of live results)."""
    import time

    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.02)
    return True


def _route_exceptions(controller, headless: bool) -> None:
    """An exception in a Qt slot goes to the status bar (and stderr), never kills the player."""

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        if not headless:
            controller.show_status(f"Internal error: {exc_type.__name__}: {exc}")

    sys.excepthook = hook


if __name__ == "__main__":
    sys.exit(main())
