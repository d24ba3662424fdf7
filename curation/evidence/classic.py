"""The classic offline backend: COCO objects (SSD MobileNet v2), on-screen text (tesseract), faces (CenterFace),
colours.

Every item it reports carries a confidence, and only confident items are reported: detector labels that are sure
on their own or seen again within the shot (`detector.py`), words that tesseract is sure of and that pass a
character and dictionary check, read only where a text detector finds text (`ocr.py`), faces from a face model
(`faces.py`). Boxes are stored normalised to [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import cv2
import numpy as np

from curation.evidence.base import EvidenceBackend
from curation.evidence.detector import DETECTOR_ID, ObjectDetector, confident_objects
from curation.evidence.faces import FACE_ID, FaceDetector
from curation.evidence.ocr import OcrConfig, read_text
from schemas import EvidenceRecord, FrameRecord


def colour_names(image: np.ndarray, min_share: float = 0.1, top: int = 3) -> list[str]:
    """Names of the dominant colours (each covering at least `min_share` of the image), most common first."""
    small = cv2.resize(image, (48, 27), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    h, s, v = hsv[:, 0] * 2.0, hsv[:, 1] / 255.0, hsv[:, 2] / 255.0  # hue in degrees
    names = np.full(len(h), "", dtype=object)
    hue_bins = [
        (15, "red"),
        (40, "orange"),
        (70, "yellow"),
        (160, "green"),
        (200, "cyan"),
        (255, "blue"),
        (285, "purple"),
        (330, "magenta"),
        (345, "pink"),
        (361, "red"),
    ]
    hue_name = np.full(len(h), "red", dtype=object)
    lower = 0.0
    for upper, name in hue_bins:
        hue_name[(h >= lower) & (h < upper)] = name
        lower = upper
    names[:] = hue_name
    # Dark oranges and reds read as brown; pale reds and magentas as pink.
    names[np.isin(hue_name, ["orange", "red"]) & (v < 0.6) & (s > 0.3)] = "brown"
    names[np.isin(hue_name, ["red", "magenta"]) & (s < 0.5) & (v > 0.7)] = "pink"
    grey = s < 0.2
    names[grey] = "grey"
    names[grey & (v > 0.85)] = "white"
    names[v < 0.18] = "black"
    labels, counts = np.unique(names.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [str(labels[i]) for i in order if counts[i] / len(names) >= min_share][:top]


class ClassicBackend(EvidenceBackend):
    """Offline vision models only; deterministic."""

    name = "classic"

    def __init__(
        self,
        min_score: float = 0.4,
        ocr: bool = True,
        threads: int = 1,
        object_threshold: float = 0.75,
        max_box_area: float = 0.9,
        class_thresholds: Mapping[str, float] | None = None,
        overlap: float = 0.5,
        ocr_config: OcrConfig | None = None,
        faces: bool = True,
        face_threshold: float = 0.5,
        face_width: int = 320,
    ) -> None:
        self.min_score, self.ocr, self.threads = min_score, ocr, threads
        self.object_threshold, self.overlap, self.max_box_area = object_threshold, overlap, max_box_area
        self.class_thresholds = dict(class_thresholds or {})
        self.ocr_config = ocr_config or OcrConfig()
        self.use_faces, self.face_threshold, self.face_width = faces, face_threshold, face_width
        self._detector: ObjectDetector | None = None
        self._faces: FaceDetector | None = None

    def setup(self) -> None:
        cv2.setNumThreads(self.threads)
        # tesseract's OpenMP threads oversubscribe busy machines; one per call is fastest for small pages.
        os.environ.setdefault("OMP_THREAD_LIMIT", str(self.threads))
        self._detector = ObjectDetector(self.min_score)
        if self.use_faces:
            self._faces = FaceDetector(self.face_threshold, self.face_width)

    def models(self) -> list[str]:
        out = [DETECTOR_ID]
        if self.ocr:
            out.append("tesseract-ocr")
        if self.use_faces:
            out.append(FACE_ID)
        return out

    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        assert self._detector is not None, "setup() first"
        raw = self._detector.detect(images)
        kept = confident_objects(
            raw,
            [f.shot_id for f in frames],
            self.object_threshold,
            self.class_thresholds,
            self.min_score,
            self.overlap,
            self.max_box_area,
        )
        texts = read_text(images, self.ocr_config) if self.ocr else [[] for _ in images]
        for image, row, objects, words in zip(images, rows, kept, texts, strict=True):
            row.objects = objects
            row.people = sum(1 for o in objects if o.label == "person")
            if self._faces is not None:
                row.face_boxes = self._faces.detect(image)
                row.faces = len(row.face_boxes)
            row.colours = colour_names(image)
            row.ocr_words = words
            row.ocr_text = " ".join(w.label for w in words)
            row.ocr_confidence = min((w.score for w in words), default=0.0)
