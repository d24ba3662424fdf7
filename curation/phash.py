"""64-bit DCT perceptual hash of an image (the classic pHash): near-identical frames get near-identical hashes."""

from __future__ import annotations

import cv2
import numpy as np


def phash(image: np.ndarray) -> str:
    """Hex string (16 chars) of the 64-bit DCT hash of a BGR or grayscale image.

    The image is reduced to 32x32 grey, transformed with a 2-D DCT, and the 8x8 lowest frequencies (skipping
    the DC term's influence on the threshold) are compared with their median: one bit each.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8]
    # The DC coefficient is overall brightness and dwarfs the rest; leaving it out keeps the median meaningful.
    median = float(np.median(low.flatten()[1:]))
    bits = (low > median).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
