import pytest

from app.controller import PlayerController
from app.settings import Settings
from ui.main_window import MainWindow


@pytest.fixture
def make_player(qtbot, tmp_path):
    """A real window and controller; ``use_vlc`` picks the backend."""
    made = []

    def make(use_vlc: bool = False, settings_path=None, **kw):
        window = MainWindow()
        qtbot.addWidget(window)
        settings = Settings(settings_path or tmp_path / "player.ini")
        controller = PlayerController(
            window, settings, use_vlc=use_vlc, vlc_args=("--aout=dummy",), **kw
        )
        window.resize(1000, 640)
        window.show()
        made.append(controller)
        return window, controller

    yield make
    for c in made:
        c.shutdown()


@pytest.fixture
def live_player(make_player, tmp_path):
    """A player with its real engine thread (CPU, 24-frame segments, a cache of its own)."""
    from app.engine_thread import EngineThread

    def make(**engine_kw):
        engine = EngineThread(device="cpu", segment=24,
                              cache_path=str(tmp_path / "analysis.sqlite"), **engine_kw)
        return make_player(engine=engine)

    return make
