"""Standard output and error that cannot stop the player.

A booth's player writes its messages to whatever its service manager gave it: a pipe to a log
reader that may have exited (``video2shop play 2>&1 | head -c 10``), a file on a disk that may
fill. Python then raises ``BrokenPipeError`` or ``OSError(ENOSPC)`` from ``print``, wherever
it is called: in a slot, in the exception hook, in the SIGTERM handler itself, so that the
window never closes. Wrapped here, a write that fails points the stream's descriptor at
``/dev/null`` (what Python's documentation advises for a closed pipe; it also keeps the
interpreter's last flush at exit quiet) and the player goes on without its log.
"""

from __future__ import annotations

import io
import os
import sys


class QuietStream(io.TextIOBase):
    """A text stream that forwards to ``stream`` until a write fails, then drops output."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.failed: OSError | None = None  # the first error: why the output stopped

    def _drop(self, exc: OSError) -> None:
        if self.failed is None:
            self.failed = exc
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        if self.failed is None:
            try:
                self._stream.write(text)
                if "\n" in text:
                    self._stream.flush()
            except OSError as exc:  # EPIPE, ENOSPC, EFBIG, EIO
                self._drop(exc)
        return len(text)

    def flush(self) -> None:
        if self.failed is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._drop(exc)

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:
        return getattr(self._stream, "errors", None)


def protect_standard_streams() -> None:
    """Wraps sys.stdout and sys.stderr (once) so that no write to them can raise."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietStream):
            setattr(sys, name, QuietStream(stream))
