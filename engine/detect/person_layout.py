"""``person-layout``: garments on real footage without a trained garment model.

People come from OpenCV's HOG people detector, and faces from its Haar cascade (for people
seen from the waist up, whom HOG misses); garment regions follow from the body's proportions:
upper body from the shoulders to the hips, lower body from the hips to the ankles, and the two
together as full length. Needs no training and no download: the models ship inside OpenCV.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.detect.base import DetectorError
from engine.geometry import iou_matrix
from engine.types import Detections

CATEGORIES = ["upper-body", "lower-body", "full-length"]


class PersonLayoutDetector:
    name = "person-layout"
    version = f"opencv-{cv2.__version__}-hog-haar"
    categories = CATEGORIES

    def __init__(self, max_width: int = 640, hog_threshold: float = 0.3,
                 use_faces: bool = True, full_length: bool = False) -> None:
        if not hasattr(cv2, "HOGDescriptor") or not hasattr(cv2, "CascadeClassifier"):
            raise DetectorError("this OpenCV has no HOG or cascade detectors (OpenCV 5 dropped "
                                "them): install opencv-python-headless<5")
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        face_xml = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.faces = cv2.CascadeClassifier(face_xml)
        if self.faces.empty():
            raise DetectorError(f"cannot load OpenCV's face cascade {face_xml}")
        self.max_width = max_width
        self.hog_threshold = hog_threshold
        self.use_faces = use_faces
        self.full_length = full_length

    def people(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whole-person boxes (N, 4) in frame pixels, not clipped to the frame (a person seen
        from the chest up extends below it), and their scores."""
        w = bgr.shape[1]
        scale = min(1.0, self.max_width / w)
        small = cv2.resize(bgr, None, fx=scale, fy=scale) if scale < 1 else bgr
        rects, weights = self.hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8),
                                                   scale=1.05)
        boxes, scores = [], []
        for (x, y, bw, bh), s in zip(rects, np.asarray(weights).reshape(-1), strict=True):
            if s < self.hog_threshold:
                continue
            # HOG's window has a margin around the person: shrink it
            boxes.append([x + 0.15 * bw, y + 0.07 * bh, x + 0.85 * bw, y + 0.95 * bh])
            scores.append(float(min(1.0, 0.4 + 0.3 * s)))
        if self.use_faces:
            grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
            for fx, fy, fw, fh in self.faces.detectMultiScale(grey, 1.1, 5, minSize=(24, 24)):
                # a person is about 7.5 faces tall, the head's top a quarter face above the
                # detected face, the shoulders 3.4 faces wide
                top, tall, cx, wide = fy - 0.25 * fh, 7.5 * fh, fx + fw / 2, 3.4 * fw
                box = [cx - wide / 2, top, cx + wide / 2, top + tall]
                if boxes and iou_matrix(np.array([box]), np.array(boxes)).max() > 0.2:
                    continue
                boxes.append(box)
                scores.append(0.6)
        return np.array(boxes, np.float32).reshape(-1, 4) / scale, np.array(scores, np.float32)

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        results = []
        for frame in frames_bgr:
            people, scores = self.people(frame)
            fh, fw = frame.shape[:2]
            boxes, conf, cls = [], [], []
            for (x1, y1, x2, y2), s in zip(people, scores, strict=True):
                ph, pw, cx = y2 - y1, x2 - x1, (x1 + x2) / 2
                regions = [
                    (0, [cx - 0.42 * pw, y1 + 0.17 * ph, cx + 0.42 * pw, y1 + 0.53 * ph], s),
                    (1, [cx - 0.33 * pw, y1 + 0.5 * ph, cx + 0.33 * pw, y1 + 0.97 * ph], s * 0.9),
                ]
                if self.full_length:
                    regions.append((2, [cx - 0.42 * pw, y1 + 0.17 * ph, cx + 0.42 * pw,
                                        y1 + 0.97 * ph], s * 0.8))
                for c, (a, b, c2, d), score in regions:
                    clipped = [max(0.0, a), max(0.0, b), min(float(fw), c2), min(float(fh), d)]
                    area = (c2 - a) * (d - b)
                    inside = max(0.0, clipped[2] - clipped[0]) * max(0.0, clipped[3] - clipped[1])
                    # a close-up shows a fifth of the region: still worth a box
                    if area <= 0 or inside / area < 0.15:
                        continue
                    boxes.append(clipped)
                    conf.append(score)
                    cls.append(c)
            cls_arr = np.array(cls, np.int64)
            results.append(Detections(
                xyxy=np.array(boxes, np.float32).reshape(-1, 4),
                confidence=np.array(conf, np.float32), class_id=cls_arr,
                data={"category": np.array([CATEGORIES[c] for c in cls_arr], dtype=object)},
            ))
        return results
