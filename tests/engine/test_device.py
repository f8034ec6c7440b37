"""A device that fails mid-run (engine/device.py): the model moves to the CPU, the call is run
again there with the same answer, and one notice says so. The failure is injected
(VIDEO2SHOP_INJECT_DEVICE_ERROR); on a GPU machine (scripts/gpu-check.sh) the models start on
CUDA and the move is real."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.asymnet.model import TrajectoryMatcher
from engine.detect import create_detector
from engine.detect.garment import GarmentDetector
from engine.detect.world import FeatureNet
from engine.device import INJECT_ENV, DeviceGuard, injected_error, is_device_error, take_notices

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def test_what_counts_as_a_device_error():
    assert is_device_error(injected_error())
    assert is_device_error(RuntimeError("CUDA error: device-side assert triggered"))
    assert is_device_error(torch.cuda.OutOfMemoryError("CUDA out of memory."))
    assert is_device_error(RuntimeError("cuDNN error: CUDNN_STATUS_EXECUTION_FAILED"))
    assert not is_device_error(RuntimeError("shape '[2, 3]' is invalid for input of size 5"))
    assert not is_device_error(ValueError("CUDA"))  # only runtime errors of the device


def test_a_guard_falls_back_once_and_raises_what_is_not_the_device():
    moved = []
    guard = DeviceGuard("test model", lambda: torch.device("cuda"), lambda: moved.append(1))
    take_notices()
    calls = []

    def fails_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return "answer"

    assert guard.run(fails_once) == "answer" and moved == [1] and len(calls) == 2
    assert take_notices() == ["test model: the CUDA device failed (CUDA error: an illegal "
                              "memory access was encountered); moved to the CPU"]
    with pytest.raises(RuntimeError, match="CUDA"):  # a second failure is not hidden
        guard.run(lambda: (_ for _ in ()).throw(RuntimeError("CUDA error: again")))
    with pytest.raises(ValueError, match="bad input"):
        DeviceGuard("m", lambda: torch.device("cuda"), lambda: None).run(
            lambda: (_ for _ in ()).throw(ValueError("bad input")))
    assert take_notices() == []


@pytest.fixture(scope="module")
def frames():
    cap = cv2.VideoCapture("resources/demo/demo.mp4")
    out = [cap.read()[1] for _ in range(4)]
    cap.release()
    return out


def test_the_matcher_goes_on_on_the_cpu_with_the_same_answers(frames, monkeypatch):
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
    boxes = np.array([[100, 60, 220, 300]] * len(rgb), np.float32)
    reference = TrajectoryMatcher(device="cpu")
    want = reference.embed_crops(rgb, boxes)
    want_rank = reference.rank(want, want[:2])
    monkeypatch.setenv(INJECT_ENV, "2")
    matcher = TrajectoryMatcher(device=DEVICE)
    take_notices()
    first = matcher.embed_crops(rgb, boxes)  # call 1: fine
    second = matcher.embed_crops(rgb, boxes)  # call 2: the device fails, the CPU answers
    assert matcher.device.type == "cpu"
    assert float((first * second).sum(1).min()) > 0.99
    assert np.allclose(second, want, atol=1e-4)
    ranked = matcher.rank(second, second[:2])  # goes on working
    assert np.allclose(ranked.scores, want_rank.scores, atol=1e-3)
    notices = take_notices()
    assert len(notices) == 1 and notices[0].startswith(f"AsymNet: the {DEVICE.upper()} device "
                                                       "failed (CUDA error: an illegal memory")


def test_the_detector_goes_on_on_the_cpu_with_the_same_boxes(frames, monkeypatch):
    want = create_detector("garment", device="cpu").detect(frames)
    monkeypatch.setenv(INJECT_ENV, "1")
    detector = GarmentDetector.load(device=DEVICE)  # torch (create_detector's CPU one is ONNX)
    take_notices()
    got = detector.detect(frames)  # its first batch fails on the device
    assert detector.device.type == "cpu"
    assert [len(d) for d in got] == [len(d) for d in want]
    for a, b in zip(got, want, strict=True):
        assert np.allclose(a.xyxy, b.xyxy, atol=1.0)
    assert [n.split(":")[0] for n in take_notices()] == ["the garment detector"]


def test_the_world_classifier_goes_on_on_the_cpu(frames, monkeypatch):
    rgb = [cv2.cvtColor(cv2.resize(f, (224, 224)), cv2.COLOR_BGR2RGB) for f in frames]
    want = FeatureNet("cpu")(rgb)
    monkeypatch.setenv(INJECT_ENV, "1")
    net = FeatureNet(DEVICE)
    take_notices()
    got = net(rgb)
    assert net.device.type == "cpu" and np.allclose(got, want, atol=1e-3)
    assert [n.split(":")[0] for n in take_notices()] == ["the world classifier"]
