"""Keeps the player's resident memory flat over hours (docs/reliability.md, "Memory").

Measured with ``video2shop bench --only soak`` and a 6-second clip looping (a loop every 6 s
instead of every 48 s), RSS read every 5 s:

- The Python heap does not grow: tracemalloc saw +0.07 MB over 90 s of looping while RSS grew
  7.8 MB.
- Without VLC (``--no-vlc``, OpenCV playback) RSS stays flat to the kilobyte; with VLC it grows
  at every loop (about 10 MB per loop of the demo in kiosk mode, 3.7 MB per loop of the short
  clip with the engine on): each start of playback creates VLC's input, decoder and output
  threads anew, and glibc gives new threads their own malloc arenas (up to 8 per core) whose
  freed memory is fragmented and not given back.
- With at most two arenas (``MALLOC_ARENA_MAX=2``) the same run is flat over four minutes,
  with VLC and the engine.

So the player caps glibc's arenas before any thread starts, unless the user set
``MALLOC_ARENA_MAX`` (glibc reads it itself), and gives freed heap pages back when playback
restarts (``malloc_trim``). Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENAS = 2


@functools.cache  # trim() runs at every loop and open: load the library once
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Caps glibc's malloc arenas (call before threads start). True when it took effect."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False  # the user's own setting, which glibc applied at start
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, int(arenas)))


def trim() -> bool:
    """Returns free heap pages to the system (glibc's malloc_trim). True when some were."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))
