"""A device that fails at run time: a GPU that runs out of memory, hits an illegal address or
is lost (an Xid, a driver reset) in the middle of a video. The model that saw it moves to the
CPU, the call is run again there, and a notice says so once; the player shows it in the status
bar (app/engine_thread.py) and goes on.

Tests cannot break a GPU on purpose, so a failure can be injected: with
``VIDEO2SHOP_INJECT_DEVICE_ERROR=N`` the N-th guarded call of each model raises the error a
failing CUDA device raises (``torch.AcceleratorError`` where torch has it). On a GPU machine the
fallback is real (scripts/gpu-check.sh runs it); on a CPU-only one the model is on the CPU
already and the call is simply run again.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import torch

INJECT_ENV = "VIDEO2SHOP_INJECT_DEVICE_ERROR"
_notices: deque[str] = deque(maxlen=20)
_lock = threading.Lock()
T = TypeVar("T")

_ACCELERATOR_ERROR = getattr(torch, "AcceleratorError", None)  # torch >= 2.8
_WORDS = ("CUDA", "cuDNN", "CUBLAS", "cublas", "NCCL", "device-side assert", "HIP error")


def is_device_error(exc: BaseException) -> bool:
    """An error of the device rather than of the input: out of memory, a CUDA or cuDNN
    failure, a lost device."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    if _ACCELERATOR_ERROR is not None and isinstance(exc, _ACCELERATOR_ERROR):
        return True
    return isinstance(exc, RuntimeError) and any(w in str(exc) for w in _WORDS)


def injected_error() -> Exception:
    text = (f"CUDA error: an illegal memory access was encountered (injected by {INJECT_ENV})")
    if _ACCELERATOR_ERROR is not None:
        try:
            return _ACCELERATOR_ERROR(text)
        except TypeError:  # a constructor that wants more than a message
            pass
    return RuntimeError(text)


def take_notices() -> list[str]:
    """The fallback notices since the last call (for a status bar), oldest first."""
    with _lock:
        out = list(_notices)
        _notices.clear()
    return out


class DeviceGuard:
    """Runs one model's calls. On a device error it calls ``to_cpu`` (which moves the model),
    leaves a notice and runs the call again; a second device error, or any other error, is
    raised as it is."""

    def __init__(self, name: str, device: Callable[[], torch.device],
                 to_cpu: Callable[[], None]) -> None:
        self.name, self._device, self._to_cpu = name, device, to_cpu
        self.calls = 0
        self.fell_back = ""  # the notice, once it fell back
        try:
            self._inject_at = int(os.environ.get(INJECT_ENV, "0") or 0)
        except ValueError:
            self._inject_at = 0

    def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        self.calls += 1
        try:
            if self._inject_at and self.calls == self._inject_at:
                raise injected_error()
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_device_error(exc) or self.fell_back:
                raise
            was = self._device().type
            self._to_cpu()
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else \
                type(exc).__name__
            where = "moved to the CPU" if was != "cpu" else "run again on the CPU"
            self.fell_back = f"{self.name}: the {was.upper()} device failed ({reason}); {where}"
            with _lock:
                _notices.append(self.fell_back)
            return fn(*args, **kwargs)
