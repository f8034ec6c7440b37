"""Signals emitted from threads that Qt did not start, as VLC's callbacks emit them.

PySide6 6.12.0 corrupts reference counts there and the process aborts within seconds
("deallocating None"/"deallocating True"). This runs in a child process so that a regression
fails this test instead of killing the test run.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import threading, time
    import numpy as np
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    app = QCoreApplication([])

    class Source(QObject):
        frame = Signal(object, object, int)
        tick = Signal()

    src = Source()
    got = {"frame": 0, "tick": 0}
    src.frame.connect(lambda a, b, i: got.__setitem__("frame", got["frame"] + 1))
    src.tick.connect(lambda: got.__setitem__("tick", got["tick"] + 1))

    def emit():
        for i in range(4000):
            src.frame.emit(np.zeros((4, 4, 4), np.uint8), None, i)
            src.tick.emit()

    t = threading.Thread(target=emit)
    t.start()
    deadline = time.time() + 60
    while (t.is_alive() or got["tick"] < 4000) and time.time() < deadline:
        app.processEvents()
        time.sleep(0.0005)
    print(got["frame"], got["tick"])
    """
)


def test_cross_thread_signals_do_not_corrupt_the_interpreter():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["4000", "4000"]
