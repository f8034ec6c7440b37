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

- A long video analysed for an hour (``bench --only soak``) was flat from the 6th minute on
  but 400-550 MB above its first sample: the detectors' and AsymNet's temporaries (frames,
  crops, activations of 0.1-30 MB) are freed into the heap, and glibc's mmap threshold, which
  rises to 32 MB after the first large free, keeps them there, resident and fragmented. Read
  from ``/proc/PID/smaps`` at 140 s: +144 MB in ``[heap]`` and +109 MB in the second arena
  over the 10 s sample. A fixed 128 KB threshold (``MALLOC_MMAP_THRESHOLD_``) kept RSS at
  800-830 MB but cost a third of the analysis' speed (IFN 311 -> 519 ms a trajectory, system
  time 15 -> 49 s in ``bench --only engine real --quick``); ``malloc_trim`` after every
  analysis step kept it at 850-990 MB for about 10 ms a call (at most 29). So the engine thread
  trims every 5 s while it analyses (``app.engine_thread.TRIM_EVERY_S``).

So the player caps glibc's arenas before any thread starts, unless the user set
``MALLOC_ARENA_MAX`` (glibc reads it itself), gives freed heap pages back when playback
restarts (``malloc_trim``) and, while the engine analyses, every few seconds. All are no-ops
where the C library is not glibc.
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
