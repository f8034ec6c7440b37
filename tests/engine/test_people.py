"""The real-footage localiser (``people``) and the default ``auto`` fusion, on real photographs
that ship in packages (Debian's opencv-doc, matplotlib) and on the synthetic demo.

Boxes below were drawn by eye on the pictures (pixels of the original files)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest

from engine.categories import compatible, groups_of
from engine.detect import create_detector
from engine.detect.fused import FusedDetector
from engine.detect.world import WorldClassifier, WorldModelError
from engine.geometry import iou_matrix
from engine.resources import DEMO_VIDEO
from engine.types import Detections

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
ROOT = Path(__file__).resolve().parents[2]


def _read(path: Path) -> np.ndarray:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make setup` (Debian's opencv-doc)")
    img = cv2.imread(str(path))
    assert img is not None, path
    return img


@pytest.fixture(scope="module")
def people():
    return create_detector("people")


@pytest.fixture(scope="module")
def auto():
    return create_detector("auto", device="cpu")


def _best(dets: Detections, box) -> tuple[float, str]:
    if not len(dets):
        return 0.0, ""
    iou = iou_matrix(dets.xyxy, np.array([box]))[:, 0]
    i = int(iou.argmax())
    return float(iou[i]), str(dets.data["category"][i])


def test_messi_shirt_and_shorts_are_found_and_his_face_is_not_boxed(people):
    img = _read(OPENCV_DATA / "messi5.jpg")
    det = people.detect([img])[0]
    iou, cat = _best(det, [180, 110, 315, 245])  # the striped shirt
    assert iou >= 0.5 and groups_of(cat) == {"upper"}
    iou, cat = _best(det, [225, 215, 330, 290])  # the shorts
    assert iou >= 0.3 and groups_of(cat) == {"lower"}
    face = np.array([[258, 80, 292, 118]])  # by eye
    covered = iou_matrix(det.xyxy, face)[:, 0]
    assert covered.max() < 0.1


def test_two_people_in_one_frame_one_seen_from_behind(people):
    img = _read(OPENCV_DATA / "basketball1.png")
    det = people.detect([img])[0]
    upper = det.xyxy[[groups_of(c) == {"upper"} for c in det.data["category"]]]
    centres = (upper[:, 0] + upper[:, 2]) / 2
    assert (centres < 200).any(), "the man facing the camera (left)"
    assert (centres > 420).any(), "the man seen from behind (right)"


def test_portrait_cut_by_the_frame_gives_the_visible_uniform(people):
    img = _read(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    det = people.detect([img])[0]
    assert len(det) >= 1
    iou, cat = _best(det, [40, 360, 512, 600])  # the uniform, to the bottom edge
    assert iou >= 0.6 and groups_of(cat) == {"upper"}
    assert all(groups_of(c) != {"lower"} for c in det.data["category"])  # no legs in view


def test_the_localiser_finds_far_away_pedestrians(people):
    cap = cv2.VideoCapture(str(OPENCV_DATA / "vtest.avi"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = cap.read()
    cap.release()
    assert ok
    det = people.detect([frame])[0]
    assert len(det) >= 6  # at least three walkers, each an upper and a lower box
    heights = det.xyxy[:, 3] - det.xyxy[:, 1]
    assert heights.max() < 100  # nobody is near the camera


def test_auto_picks_the_garment_detector_on_the_demo_and_the_localiser_on_real_people(auto):
    cap = cv2.VideoCapture(str(DEMO_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 150)
    ok, frame = cap.read()
    cap.release()
    assert ok
    auto.reset()
    assert auto.world_of(frame) == "garment"
    auto.reset()
    assert auto.world_of(_read(OPENCV_DATA / "messi5.jpg")) == "people"
    det = auto.detect([_read(OPENCV_DATA / "messi5.jpg")])[0]
    assert set(det.data["source"]) == {"people"}
    assert all(auto.categories[c] == n for c, n in zip(det.class_id, det.data["category"],
                                                       strict=True))


def test_the_world_classifier_tells_the_renderer_from_real_pictures(auto, tiny_benchmark):
    """Frames of synthetic seed 11 (not one it was trained on; 320x180) against real pictures
    it never saw (the evaluation set's stills, which its training leaves out), with a margin."""
    root, _ = tiny_benchmark
    frames = []
    for clip in sorted((root / "clips").glob("*.mp4")):
        cap = cv2.VideoCapture(str(clip))
        for i in range(0, 100, 20):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, frame = cap.read()
            if ok:
                frames.append(frame)
        cap.release()
    assert len(frames) >= 10
    synthetic = auto.world.p_synthetic(frames)
    real = auto.world.p_synthetic([
        _read(OPENCV_DATA / n) for n in ("messi5.jpg", "basketball1.png", "basketball2.png")]
        + [_read(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")])
    assert synthetic.min() > 0.7, synthetic
    assert real.max() < 0.3, real


def test_categories_of_one_group_are_compatible():
    assert compatible("coat", "full-length") and compatible("coat", "upper-body")
    assert not compatible("jeans", "upper-body")
    assert compatible("kimono", "lower-body")  # a shop's own name rules nothing out


def test_a_broken_world_model_file_says_what_to_do(tmp_path):
    bad = tmp_path / "world.json"
    bad.write_text('{"mean": [1, 2]}')
    with pytest.raises(WorldModelError, match=r"train_world\.py"):
        WorldClassifier(bad)


def test_bad_settings_are_refused_with_their_value(auto):
    with pytest.raises(ValueError, match="threshold"):
        FusedDetector(auto.garment, auto.people, auto.world, threshold=1.5)
    with pytest.raises(ValueError, match="reprobe"):
        FusedDetector(auto.garment, auto.people, auto.world, reprobe=0)
    from engine.detect.people import PeopleDetector

    with pytest.raises(ValueError, match="large_person"):
        PeopleDetector(large_person=2.0)


def test_no_gui_opencv_or_contrib_build_in_the_environment():
    """opencv-python ships its own Qt (it aborts PySide6 offscreen); mediapipe declares
    opencv-contrib-python, which the set-up keeps out (--no-deps)."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("opencv-python", "opencv-contrib-python"):
        with pytest.raises(PackageNotFoundError):
            version(name)
    assert hasattr(cv2, "HOGDescriptor")
    assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 640, 3), (480, 3, 3), (40, 40, 3),
                                   (150, 90, 3)])
def test_frames_of_any_size_give_boxes_or_none_and_never_crash(people, shape):
    frame = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    det = people.detect([frame])[0]
    h, w = shape[:2]
    assert ((det.xyxy >= 0) & (det.xyxy[:, [0, 2]] <= w).all() if len(det) else True)
    assert len(det) == 0 or (det.xyxy[:, [1, 3]] <= h).all()


def test_the_first_start_already_uses_the_export(tmp_path, monkeypatch):
    """The first start on a machine exports the features and runs the export, as every later
    start does: an analysis does not depend on whether it was the first (the torch network's
    numbers differ in the last bits)."""
    from engine.detect.world import OrtFeatures, default_features

    monkeypatch.setenv("VIDEO2SHOP_CACHE", str(tmp_path))
    assert isinstance(default_features("cpu"), OrtFeatures)
    assert len(list((tmp_path / "models").glob("*.onnx"))) == 1  # no temporary file left
    assert isinstance(default_features("cpu"), OrtFeatures)


def test_the_world_classifier_export_gives_the_torch_networks_numbers(tmp_path):
    """Without CUDA the classifier runs from an ONNX export of its features (no torch import
    before the first boxes): the same probabilities as the torch network."""
    from engine.detect.world import FeatureNet, OrtFeatures, export_features

    net = FeatureNet("cpu")
    path = export_features(net, tmp_path / "world-features.onnx")
    frames = [_read(OPENCV_DATA / n) for n in ("messi5.jpg", "basketball1.png")]
    cap = cv2.VideoCapture(str(DEMO_VIDEO))
    frames.append(cap.read()[1])
    cap.release()
    torch_p = WorldClassifier(features=net).p_synthetic(frames)
    onnx_p = WorldClassifier(features=OrtFeatures(path)).p_synthetic(frames)
    assert np.abs(torch_p - onnx_p).max() < 1e-3, (torch_p, onnx_p)
    assert torch_p[:2].max() < 0.5 < torch_p[2]
