from ui.controls import RATES, ControlBar, format_time


def test_format_time():
    assert format_time(0) == "00:00.00"
    assert format_time(61.5) == "01:01.50"
    assert format_time(3725.25) == "1:02:05.25"


def test_position_shows_time_and_frame_number(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_media(25.0, 250)
    bar.set_position(50)
    assert bar.seek.value() == 50
    assert bar.time_label.text() == "00:02.00 / 00:10.00   frame 50 / 249"


def test_user_actions_emit_intent_but_state_updates_do_not(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_media(25.0, 250)
    seen = []
    bar.seek_requested.connect(seen.append)
    bar.rate_requested.connect(seen.append)
    bar.set_position(10)  # the controller moving the playhead
    bar.set_rate(2.0)
    assert seen == []
    bar.seek.setValue(100)  # the viewer dragging
    bar.rate.setCurrentIndex(RATES.index(0.5))
    assert seen == [100, 0.5]
    with qtbot.waitSignal(bar.step_requested) as step:
        bar.back.click()
    assert step.args == [-1]
