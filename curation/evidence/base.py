"""The evidence-backend interface, and the pixel statistics every backend's rows carry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from schemas import DetectedObject, EvidenceRecord, FrameRecord


class BackendError(Exception):
    """A backend failed for a whole video (e.g. an endpoint that keeps timing out); becomes a Rejected."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class EvidenceBackend(ABC):
    """Looks at keyframes. `describe` fills what it can see into records the stage has already started."""

    name: str = "backend"

    def setup(self) -> None:  # noqa: B027 - optional hook; most backends have nothing to load
        """Load models or check connectivity once per worker."""

    def models(self) -> list[str]:
        """Model identifiers for provenance."""
        return []

    @abstractmethod
    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        """Fill `rows[i]` from `images[i]` (BGR) of `frames[i]`. Raise BackendError for a whole-video failure."""


class TextReader(Protocol):
    """Reads on-screen text: per keyframe (BGR), the words in reading order with normalised boxes and scores 0-1."""

    model_id: str

    def setup(self) -> None:
        """Load models once."""

    def read(self, images: Sequence[np.ndarray]) -> list[list[DetectedObject]]:
        """Per image, its words."""
        ...


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """BGR image from JPEG bytes, or None if they are not a decodable image."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img if img is not None and img.size else None


def brightness(image: np.ndarray) -> float:
    """Mean luma in [0, 1]."""
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean() / 255.0)


def motion(prev: np.ndarray | None, image: np.ndarray, size: tuple[int, int] = (64, 36)) -> float:
    """Mean absolute grey difference to the previous keyframe in [0, 1] (0 for the first keyframe).

    Both frames are reduced to the same small size first: keyframes of one video may differ in JPEG size, and
    fine detail and compression noise are not motion.
    """
    if prev is None:
        return 0.0
    a = cv2.resize(cv2.cvtColor(prev, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA)
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() / 255.0)


def repeats(frames: list[FrameRecord], images: list[np.ndarray], tolerance: int = 2) -> list[int]:
    """Per keyframe, the index of the keyframe it repeats (itself if none): the previous keyframe of the same shot
    when the two images are the same up to `tolerance` grey levels per pixel (a still shot: title cards, slides).

    A repeat shows nothing its original does not, so the models look only once; on real footage, where every
    keyframe moves, nothing is a repeat.
    """
    out: list[int] = []
    for i, (f, img) in enumerate(zip(frames, images, strict=True)):
        j = i - 1
        same = (
            j >= 0
            and frames[j].shot_id == f.shot_id
            and images[j].shape == img.shape
            and (frames[j].jpeg == f.jpeg or int(cv2.absdiff(images[j], img).max()) <= tolerance)
        )
        out.append(out[j] if same else i)
    return out
