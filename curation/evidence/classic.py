"""The classic offline backend: COCO objects (SSD MobileNet v2), on-screen text (PP-OCRv6 via RapidOCR, or
tesseract), faces (CenterFace), colours.

Every item it reports carries a confidence, and only confident items are reported: detector labels that clear
their class's threshold (`detector.py`), lines the text recogniser is sure of (`ocr_rapid.py`; with tesseract, words
it is sure of that pass a character and dictionary check, read only where a text detector finds text: `ocr.py`),
faces from a face model (`faces.py`), colour names only where the colour is clear (`colours.py`). Boxes are stored
normalised to [0, 1]. A keyframe that repeats the previous one of its shot (a still shot) is looked at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from curation.evidence.base import EvidenceBackend, TextReader, repeats
from curation.evidence.colours import colour_names
from curation.evidence.detector import DETECTOR_ID, ObjectDetector, confident_objects
from curation.evidence.faces import FACE_ID, FaceDetector
from curation.evidence.ocr import OcrConfig, TesseractReader
from curation.evidence.ocr_rapid import RapidReader
from schemas import EvidenceRecord, FrameRecord


class ClassicBackend(EvidenceBackend):
    """Offline vision models only; deterministic."""

    name = "classic"

    def __init__(
        self,
        min_score: float = 0.4,
        ocr: bool = True,
        threads: int = 1,
        object_threshold: float = 0.9,
        max_box_area: float = 0.9,
        class_thresholds: Mapping[str, float] | None = None,
        overlap: float = 0.5,
        ocr_config: OcrConfig | None = None,
        faces: bool = True,
        face_threshold: float = 0.5,
        face_width: int = 320,
        ocr_engine: str = "rapidocr",
        ocr_min_score: float = 0.8,
        ocr_det_side: int = 960,
    ) -> None:
        self.min_score, self.ocr, self.threads = min_score, ocr, threads
        self.object_threshold, self.overlap, self.max_box_area = object_threshold, overlap, max_box_area
        self.class_thresholds = dict(class_thresholds or {})
        self.ocr_config = ocr_config or OcrConfig()
        self.reader: TextReader = (
            RapidReader(ocr_min_score, ocr_det_side, threads)
            if ocr_engine == "rapidocr"
            else TesseractReader(self.ocr_config)
        )
        self.use_faces, self.face_threshold, self.face_width = faces, face_threshold, face_width
        self._detector: ObjectDetector | None = None
        self._faces: FaceDetector | None = None

    def setup(self) -> None:
        cv2.setNumThreads(self.threads)
        if self.ocr:
            self.reader.setup()
        self._detector = ObjectDetector(self.min_score)
        if self.use_faces:
            self._faces = FaceDetector(self.face_threshold, self.face_width)

    def models(self) -> list[str]:
        out = [DETECTOR_ID]
        if self.ocr:
            out.append(self.reader.model_id)
        if self.use_faces:
            out.append(FACE_ID)
        return out

    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        assert self._detector is not None, "setup() first"
        # OpenCV's thread count is per process: set it for this call (other stages may have changed it).
        cv2.setNumThreads(self.threads)
        # The models look at each distinct keyframe once; a repeat of the previous one in its shot copies its results.
        source = repeats(frames, images)
        distinct = sorted(set(source))
        at = {i: k for k, i in enumerate(distinct)}
        looked = [images[i] for i in distinct]
        found = self._detector.detect(looked)
        raw = [found[at[s]] for s in source]
        kept = confident_objects(raw, self.object_threshold, self.class_thresholds, self.overlap, self.max_box_area)
        read = self.reader.read(looked) if self.ocr else [[] for _ in looked]
        faces = [self._faces.detect(img) for img in looked] if self._faces is not None else None
        colours = [colour_names(img) for img in looked]
        for i, (row, objects) in enumerate(zip(rows, kept, strict=True)):
            k = at[source[i]]
            row.objects = objects
            row.people = sum(1 for o in objects if o.label == "person")
            if faces is not None:
                row.face_boxes = list(faces[k])
                row.faces = len(row.face_boxes)
            row.colours = list(colours[k])
            row.ocr_words = list(read[k])
            row.ocr_text = " ".join(w.label for w in read[k])
            row.ocr_confidence = min((w.score for w in read[k]), default=0.0)
