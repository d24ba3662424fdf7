"""Keyframes: a bounded pool of sharper candidate frames per shot, the choice among them, and size-capped JPEGs.

Candidates are taken during the single decode pass. Memory stays bounded for shots of any length: each
provisional shot keeps at most `max_per_shot` candidates, and when it fills up, every other one is dropped and
the sampling stride doubles, so the survivors stay evenly spread over the shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Candidate:
    """A frame that may become a keyframe: its time and a sharper BGR copy."""

    time: float
    image: np.ndarray


class CandidatePool:
    """Candidate keyframes of the shots not yet finalised, thinned evenly within each provisional shot."""

    def __init__(self, max_per_shot: int = 16, first_stride: int = 1) -> None:
        self.max_per_shot = max(2, max_per_shot)
        self.first_stride = max(1, first_stride)
        self._items: list[Candidate] = []
        self._shot_start = 0.0
        self._stride = self.first_stride
        self._seen = 0  # frames offered since the provisional shot began

    def new_shot(self, at: float) -> None:
        """A provisional boundary at `at` seconds: density counting restarts for the next shot."""
        self._shot_start = at
        self._stride = self.first_stride
        self._seen = 0

    def wants(self) -> bool:
        """Whether the frame about to be offered should be kept (decide before paying for a sharper copy)."""
        keep = self._seen % self._stride == 0
        self._seen += 1
        return keep

    def add(self, time: float, image: np.ndarray) -> None:
        self._items.append(Candidate(time, image))
        current = [c for c in self._items if c.time >= self._shot_start]
        if len(current) > self.max_per_shot:
            drop = {id(c) for c in current[1::2]}
            self._items = [c for c in self._items if id(c) not in drop]
            self._stride *= 2

    def take_before(self, t: float) -> list[Candidate]:
        """Remove and return the candidates earlier than `t` (their shot is final)."""
        taken = [c for c in self._items if c.time < t]
        self._items = [c for c in self._items if c.time >= t]
        return taken


def choose(candidates: list[Candidate], start: float, end: float, k: int) -> list[Candidate]:
    """Up to `k` candidates nearest to evenly spaced points of [start, end] (the centres of k equal parts)."""
    inside = [c for c in candidates if start <= c.time <= end] or candidates
    chosen: list[Candidate] = []
    for i in range(k):
        target = start + (i + 0.5) / k * (end - start)
        free = [c for c in inside if all(c is not o for o in chosen)]
        if not free:
            break
        chosen.append(min(free, key=lambda c: abs(c.time - target)))
    return sorted(chosen, key=lambda c: c.time)


def encode_jpeg(image: np.ndarray, max_bytes: int, quality: int = 90, min_quality: int = 40) -> tuple[bytes, int, int]:
    """JPEG bytes no larger than `max_bytes` (lower quality first, then smaller size), with the final width, height."""
    img = image
    while True:
        for q in range(quality, min_quality - 1, -10):
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
            if ok and len(buf) <= max_bytes:
                return buf.tobytes(), img.shape[1], img.shape[0]
        if img.shape[1] <= 64:
            # Tiny and still too big means the cap is unreasonable; return the smallest we made.
            return buf.tobytes(), img.shape[1], img.shape[0]
        img = cv2.resize(
            img, (max(1, img.shape[1] * 3 // 4), max(1, img.shape[0] * 3 // 4)), interpolation=cv2.INTER_AREA
        )
