"""Keyboard shortcuts as the viewer presses them, and what the player remembers."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.controller import PlayerController
from app.settings import Settings
from ui.main_window import MainWindow


@pytest.fixture
def player(make_player, long_clip):
    window, c = make_player()
    assert c.open_video(str(long_clip[0]))
    c.load_annotations(str(long_clip[1]))
    c.transport.seek_frame(150)
    window.activateWindow()
    return window, c


def press(window, key, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, key, modifier)


@pytest.mark.parametrize(
    ("key", "modifier", "expected"),
    [
        (Qt.Key.Key_Period, Qt.KeyboardModifier.NoModifier, 151),
        (Qt.Key.Key_E, Qt.KeyboardModifier.NoModifier, 151),
        (Qt.Key.Key_Comma, Qt.KeyboardModifier.NoModifier, 149),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, 275),  # +5 s at 25 fps
        (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, 25),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier, 175),  # +1 s
        (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, 125),
    ],
)
def test_seek_and_step_keys(player, key, modifier, expected):
    window, c = player
    press(window, key, modifier)
    assert c.index == expected == window.video.frame_index


def test_seeking_past_either_end_stops_there(player):
    window, c = player
    for _ in range(5):
        press(window, Qt.Key.Key_Right)
    assert c.index == 299
    for _ in range(8):
        press(window, Qt.Key.Key_Left)
    assert c.index == 0


def test_space_plays_and_pauses(qtbot, player):
    window, c = player
    press(window, Qt.Key.Key_Space)
    assert c.playing
    qtbot.waitUntil(lambda: c.index > 152, timeout=5000)
    press(window, Qt.Key.Key_Space)
    assert not c.playing
    paused_at = c.index
    qtbot.wait(200)
    assert c.index == paused_at == window.video.frame_index


def test_speed_keys_walk_the_rate_steps(player):
    window, c = player
    press(window, Qt.Key.Key_BracketRight)
    assert c.rate == 1.25
    for _ in range(10):
        press(window, Qt.Key.Key_BracketRight)
    assert c.rate == 4.0
    for _ in range(20):
        press(window, Qt.Key.Key_BracketLeft)
    assert c.rate == 0.25
    assert window.controls.rate.currentText() == "0.25x"


def test_mute_fullscreen_and_open_keys(qtbot, player, monkeypatch, marker_clip):
    window, c = player
    press(window, Qt.Key.Key_M)
    assert c.muted and window.controls.mute.isChecked()
    press(window, Qt.Key.Key_M)
    assert not c.muted
    press(window, Qt.Key.Key_F)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    assert not window.menuBar().isVisible()
    press(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)
    # Ctrl+O through the window's own wiring: only the file dialog is answered for the viewer
    import ui.main_window

    asked = []
    monkeypatch.setattr(ui.main_window.QFileDialog, "getOpenFileName",
                        lambda *a, **k: asked.append(a[1]) or (str(marker_clip[0]), ""))
    opened = []
    c.video_opened.connect(opened.append)
    press(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["Open video"] and opened == [str(marker_clip[0])]
    assert c.reader.frame_count == 100 and c.index == 0
    assert window.windowTitle().startswith(marker_clip[0].name)


def test_settings_persist_between_runs(qtbot, tmp_path, marker_clip, long_clip):
    ini = tmp_path / "persist.ini"
    window = MainWindow()
    qtbot.addWidget(window)
    c = PlayerController(window, Settings(ini), use_vlc=False)
    c.open_video(str(marker_clip[0]))
    c.open_video(str(long_clip[0]))
    c.transport.set_volume(37)
    c.transport.set_muted(True)
    window.resize(700, 455)
    c.shutdown()

    again = MainWindow()
    qtbot.addWidget(again)
    c2 = PlayerController(again, Settings(ini), use_vlc=False)
    assert c2.volume == 37 and c2.muted
    assert again.controls.volume.value() == 37
    assert Settings(ini).recent_files == [
        str(long_clip[0].resolve()),
        str(marker_clip[0].resolve()),
    ]
    recent = [a.data() for a in again.recent_menu.actions() if a.data()]
    assert recent[0] == str(long_clip[0].resolve())
    assert again.restoreGeometry(Settings(ini).geometry)
    assert again.size().width() == 700


def test_the_recent_menu_opens_a_file(qtbot, make_player, marker_clip, long_clip):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    c.open_video(str(long_clip[0]))
    older = [a for a in window.recent_menu.actions() if a.data() == str(marker_clip[0].resolve())]
    older[0].trigger()
    assert c.info.path == str(marker_clip[0].resolve()) or c.info.path.endswith("marker.mp4")


def test_a_corrupt_settings_file_falls_back_to_defaults(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[audio]\nvolume=loud\nmuted=perhaps\n[files]\nrecent=\n")
    s = Settings(ini)
    assert (s.volume, s.muted, s.recent_files) == (80, False, [])


def test_kiosk_hides_the_controls_until_the_mouse_moves(qtbot, make_player, marker_clip):
    window, c = make_player()
    c.open_video(str(marker_clip[0]))
    window.set_kiosk(True)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    assert not window.controls.isVisible()
    window.video.mouse_activity.emit()
    assert window.controls.isVisible()


def test_a_lock_left_by_a_killed_save_is_cleared_and_a_live_one_kept(tmp_path):
    """tests/killharness.py found it: a process killed while QSettings saved leaves
    FILE.lock (empty, or naming a dead process) and every later save waited 30 s for it."""
    import os
    import subprocess

    from app.settings import Settings, clear_stale_lock

    ini = tmp_path / "s.ini"
    lock = tmp_path / "s.ini.lock"
    lock.write_text("")
    os.utime(lock, (0, 0))  # empty for a long time: its maker died before writing it
    Settings(ini)
    assert not lock.exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid}\nvideo2shop\nhost\n")
    assert clear_stale_lock(str(ini)) and not lock.exists()
    lock.write_text(f"{os.getpid()}\nvideo2shop\nhost\n")  # a live owner keeps its lock
    assert not clear_stale_lock(str(ini)) and lock.exists()
