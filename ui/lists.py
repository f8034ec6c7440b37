"""List views whose items are chosen: a click, or Enter on the keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QListWidget, QListWidgetItem

ONCE_S = 0.5  # a click and the activation it causes are one choice


def on_choice(view: QListWidget, slot: Callable[[QListWidgetItem], None]) -> None:
    """Calls ``slot(item)`` when an item is clicked or activated (Enter), once per choice:
    styles that activate items on a single click send both signals for one click."""
    last: list = [None, 0.0]

    def chosen(item: QListWidgetItem) -> None:
        now = time.monotonic()
        if last[0] is item and now - last[1] < ONCE_S:
            return
        last[:] = [item, now]
        slot(item)

    view.itemClicked.connect(chosen)
    view.itemActivated.connect(chosen)
