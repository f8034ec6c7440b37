"""person-layout on a real photograph: matplotlib's sample portrait of Grace Hopper (public
domain), seen from the chest up in her uniform."""

import os

import cv2
import matplotlib
import numpy as np
import pytest

from engine.detect import DetectorError, create_detector


@pytest.fixture(scope="module")
def portrait():
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    img = cv2.imread(path)
    assert img is not None, path
    return img


def test_the_upper_body_box_covers_the_uniform_below_the_face(portrait):
    det = create_detector("person-layout").detect([portrait])[0]
    assert det.data["category"].tolist() == ["upper-body"]  # no legs in the picture
    x1, y1, x2, y2 = det.xyxy[0]
    faces = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    (fx, fy, fw, fh), = faces.detectMultiScale(cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY), 1.1, 5,
                                               minSize=(24, 24))
    assert fy + fh * 0.9 <= y1 <= fy + fh * 1.4  # starts at the shoulders, under the chin
    assert y2 == portrait.shape[0]  # runs out of the picture
    assert x1 < fx and x2 > fx + fw  # wider than the face
    # the box is mostly the dark uniform
    crop = portrait[int(y1):int(y2), int(x1):int(x2)]
    assert np.median(crop.mean(axis=2)) < 90


def test_unknown_detector_names_list_the_valid_ones():
    with pytest.raises(DetectorError,
                       match="valid: auto, garment, people, person-layout, onnx:PATH"):
        create_detector("yolo")


def test_a_missing_onnx_model_is_a_clear_error(tmp_path):
    with pytest.raises(DetectorError, match="not found"):
        create_detector(f"onnx:{tmp_path / 'nope.onnx'}")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="cannot load ONNX model"):
        create_detector(f"onnx:{bad}")
