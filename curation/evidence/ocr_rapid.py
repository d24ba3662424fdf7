"""On-screen text with RapidOCR: PP-OCRv6 small text detection and recognition (ONNX, Apache-2.0), bundled in the
`rapidocr` wheel, on whole keyframes.

A learned text detector finds the lines (counters, signs, captions, interface text) that a hand-made edge detector
misses or splits, and the recogniser reads digits and short tokens as surely as words, so no dictionary is needed to
keep a number. A line is kept when the recogniser is sure of it (`min_score`); its words get boxes in proportion to
their characters along the line. Lines written in other scripts than Latin are left out: the tasks quote on-screen
text in English prompts and check answers by exact match.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schemas import DetectedObject

log = logging.getLogger(__name__)

PACKAGE = "rapidocr"
RAPIDOCR_ID = "PP-OCRv6 small det + rec, ONNX (rapidocr 3.10.0, Apache-2.0)"
DET_MODEL, REC_MODEL = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"
# Latin letters (accented too), digits and the punctuation signs, captions and overlays use.
LATIN = re.compile(r"^[0-9A-Za-z\u00c0-\u024f.,:;!?'\"()&%°#/+=@$€£*<>\[\]_~-]+$")


def model_files() -> tuple[Path, Path]:
    """The detector and recogniser ONNX files inside the installed rapidocr package (never downloaded)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError("RapidOCR is not installed; run `pip install rapidocr==3.10.0 onnxruntime==1.32.0`")
    models = Path(spec.origin).parent / "models"
    det, rec = models / DET_MODEL, models / REC_MODEL
    for p in (det, rec):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing from the rapidocr package; reinstall rapidocr==3.10.0")
    return det, rec


class RapidReader:
    """PP-OCRv6 on whole keyframes, the detector's input capped at `det_side` pixels, on `threads` ONNX threads."""

    model_id = RAPIDOCR_ID

    def __init__(self, min_score: float = 0.8, det_side: int = 960, threads: int = 1) -> None:
        self.min_score, self.det_side, self.threads = min_score, det_side, threads
        self._engine: Any = None

    def setup(self) -> None:
        """Load the ONNX sessions once."""
        if self._engine is not None:
            return
        from rapidocr import RapidOCR

        det, rec = model_files()
        # It logs a warning for every keyframe without text, which is most of them.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._engine = RapidOCR(
            params={
                "Global.log_level": "error",
                # Keyframe text is upright; the direction classifier only costs time.
                "Global.use_cls": False,
                "Det.model_path": str(det),
                "Rec.model_path": str(rec),
                "Det.limit_type": "max",
                "Det.limit_side_len": self.det_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def read(self, images: Sequence[np.ndarray]) -> list[list[DetectedObject]]:
        """Per keyframe (BGR), the kept words in reading order with boxes normalised to the keyframe, score 0-1."""
        self.setup()
        return [self._read_one(img) for img in images]

    def _read_one(self, image: np.ndarray) -> list[DetectedObject]:
        result = self._engine(image)
        if not result.txts:
            return []
        H, W = image.shape[:2]
        lines = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            if float(score) < self.min_score:
                continue
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            lines.append((min(ys), min(xs), (min(xs) / W, min(ys) / H, max(xs) / W, max(ys) / H), text, float(score)))
        # Reading order: top to bottom, lines on one row left to right.
        lines.sort(key=lambda ln: (round(ln[0] / max(1.0, H / 40)), ln[1]))
        out: list[DetectedObject] = []
        for _, _, box, text, score in lines:
            out.extend(line_words(text, score, box))
        return out


def line_words(text: str, score: float, box: tuple[float, float, float, float]) -> list[DetectedObject]:
    """A recognised line as words, each with the slice of the line's box its characters take up; [] for a line in
    another script or with fewer than two letters and digits."""
    words = text.split()
    # A lone letter or digit is texture read as text about as often as it is text (a car roof's "B").
    if not words or not all(LATIN.match(w) for w in words) or sum(ch.isalnum() for ch in text) < 2:
        return []
    x1, y1, x2, y2 = box
    per_char = (x2 - x1) / max(1, len(text))
    out, at = [], 0
    for w in words:
        start = text.index(w, at)
        at = start + len(w)
        out.append(DetectedObject(w, round(score, 3), x1 + start * per_char, y1, min(x2, x1 + at * per_char), y2))
    return out
