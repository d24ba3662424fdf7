"""Naming a keyframe's dominant colours, and saying nothing where a name would be a guess.

Real footage is mostly dull: wood, skin, shade, foliage in half light. Named by hue alone (the old way), a khaki
post read as "yellow" and yellow-green grass as "yellow" too. So a pixel is named only when it clearly is that
colour: chroma and lightness in CIE Lab (perceptual, unlike HSV's saturation, which is high for near-black noise)
decide between a hue name, a grey-scale name and none; the hue name comes from bins with gaps between them, so a
hue on the border of two names gets neither; dark warm hues are brown. A name is reported only if it covers a
clear share of the frame, and not when a neighbouring name it could be confused with covers far more (yellow
tips of green grass, the orange rim of a red light).
"""

from __future__ import annotations

import cv2
import numpy as np

# Hue bins in degrees (OpenCV's HSV hue), with gaps between names: a hue in a gap is not named. Green starts past
# yellow-green (grass is green to a viewer, hue ~70); yellow is narrow.
HUES: tuple[tuple[float, float, str], ...] = (
    (0, 10, "red"),
    (15, 41, "orange"),
    (45, 63, "yellow"),
    (68, 160, "green"),
    (172, 195, "cyan"),
    (205, 255, "blue"),
    (265, 285, "purple"),
    (295, 330, "magenta"),
    (345, 360, "red"),
)
# Lab chroma a pixel needs for each hue name: orange and yellow need a strong colour (skin, wood, khaki and
# lamp-lit walls have those hues at chroma 20-45 and are not what anyone calls orange or yellow).
MIN_CHROMA: dict[str, float] = {
    "red": 35, "orange": 50, "yellow": 50, "green": 25, "cyan": 25, "blue": 20, "purple": 25, "magenta": 30,
}  # fmt: skip
GREY_CHROMA = 10.0  # below: grey-scale; between this and a hue's minimum: too tinted for grey, too dull to name
# Names a viewer confuses with each other; a name is reported only with a clear lead over its neighbours'.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "yellow": ("green", "orange", "brown"),
    "orange": ("red", "yellow", "brown"),
    "brown": ("orange", "red"),
    "red": ("orange", "magenta", "pink", "brown"),
    "green": ("yellow", "cyan"),
    "cyan": ("green", "blue"),
    "blue": ("cyan", "purple"),
    "purple": ("blue", "magenta"),
    "magenta": ("purple", "pink", "red"),
    "pink": ("red", "magenta"),
}


def pixel_names(image: np.ndarray, size: tuple[int, int] = (64, 36)) -> np.ndarray:
    """Per pixel of the image reduced to `size`, its colour name, or "" where the colour is unclear."""
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab).reshape(-1, 3)
    hue = cv2.cvtColor(small, cv2.COLOR_BGR2HSV_FULL).reshape(-1, 3)[:, 0].astype(np.float32) * (360.0 / 256.0)
    light, chroma = lab[:, 0], np.hypot(lab[:, 1], lab[:, 2])
    names = np.full(len(light), "", dtype=object)
    for lo, hi, name in HUES:
        names[(hue >= lo) & (hue < hi) & (chroma >= MIN_CHROMA[name])] = name
    reddish = (hue < 10) | (hue >= 345)
    # Dark warm colours are brown (wood, leather, lamp-lit walls); a deep saturated red stays red.
    warm = (hue >= 5) & (hue < 50) | reddish & (chroma < 45)
    names[warm & (light < 40) & (chroma >= 20)] = "brown"
    # Pale reds and magentas are pink.
    names[((hue >= 300) | reddish) & (light >= 70) & (chroma >= 15) & (chroma < 45)] = "pink"
    grey = chroma < GREY_CHROMA
    names[grey] = "grey"
    names[grey & (light >= 88)] = "white"
    names[(grey & (light < 20)) | (light < 12)] = "black"  # too dark for any hue to show
    return names


def colour_names(image: np.ndarray, min_share: float = 0.1, lead: float = 2.0, top: int = 3) -> list[str]:
    """Names of the dominant colours, most common first, at most `top`; empty when none is clear.

    A name covers at least `min_share` of the image and is not the fringe of a larger region of a name it could be
    confused with (one covering `lead` times its share or more: yellow-green tips of green grass, the orange rim of
    a red light). Distinct blocks of colour (a test pattern's bars) are all named.
    """
    names = pixel_names(image)
    labels, counts = np.unique(names.astype(str), return_counts=True)
    share = {str(k): c / len(names) for k, c in zip(labels, counts, strict=True) if k}
    kept = [
        n
        for n in sorted(share, key=lambda n: (-share[n], n))
        if share[n] >= min_share and all(share.get(m, 0.0) < lead * share[n] for m in NEIGHBOURS.get(n, ()))
    ]
    return kept[:top]
