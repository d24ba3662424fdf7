"""On-screen text: find text-like regions cheaply, read only those with tesseract, keep only words that hold up.

Reading whole keyframes with tesseract is slow and, on busy scenes, "reads" texture as text ("if hy", "ar 4d").
So (1) a morphological-gradient text detector proposes regions (strokes of text have dense, paired edges along a
line); keyframes without any are not read at all; (2) each region is upscaled so letters are ~40 px high,
binarised, and turned dark-on-light (light text with a dark outline, as players and encoders stamp it, is taken by
its light fill); (3) all regions of a video go to tesseract in one call, stacked on one page; (4) a word is kept by
tesseract's own word confidence and a character and dictionary check, and a line only if it holds at least one
word that is clearly a word or a number.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from schemas import DetectedObject

log = logging.getLogger(__name__)

TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata")
SYSTEM_WORDS = Path("/usr/share/dict/words")
# Numbers as on-screen text writes them: "9", "24", "1.4s", "12:05", "45%", "3x".
NUMBER = re.compile(r"^[-+]?\d+(?:[.,:]\d+)*(?:s|ms|m|h|x|k|px|fps|%|°)?$")
# Characters real captions, signs and overlays use; tesseract's reads of texture bring in |, ~, _, {, \ and such.
ALLOWED = re.compile(r"^[A-Za-z0-9.,:;!?'\"()&%°#/+=@$€£-]+$")
SYMBOLS = frozenset("=-+:&/#@")  # read as their own word between two words ("Frame = 15", "A & B")
# A number with a symbol glued on either side ("0/", "=15"), as tesseract reads "0 /" set close together.
GLUED = re.compile(r"^(?:(\d+(?:[.,:]\d+)*[a-z%]*)([=/+&#@])|([=/+&#@])(\d+(?:[.,:]\d+)*[a-z%]*))$")
MIN_GLYPHS = 3  # letter-like blobs a region needs to be read
GAP = 24  # white pixels between regions on the page sent to tesseract


@dataclass(frozen=True)
class OcrConfig:
    """Thresholds for keeping words; confidences are tesseract's, 0-100."""

    min_word_conf: float = 60.0
    anchor_conf: float = 80.0  # a line needs one word this sure that is a dictionary word or a number
    min_region_height: int = 8  # pixels at keyframe size; smaller text is unreadable there anyway
    letter_height: int = 40  # regions are scaled so letters are about this high for tesseract
    # tesseract gives digits next to a symbol ("23 /") low confidence even when it reads them right; a number in a
    # line that an anchor word vouches for needs only this much.
    number_conf: float = 20.0


def words_file() -> Path | None:
    """A word list: the system's, else tesseract's own English dictionary unpacked once into the cache."""
    if SYSTEM_WORDS.is_file():
        return SYSTEM_WORDS
    from trainers.embedded import cache_root

    out = cache_root() / "tesseract-eng-words.txt"
    if out.is_file():
        return out
    data = next((Path(d) / "eng.traineddata" for d in TESSDATA_DIRS if (Path(d) / "eng.traineddata").is_file()), None)
    if data is None or not shutil.which("combine_tessdata") or not shutil.which("dawg2wordlist"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "eng.")
        subprocess.run(["combine_tessdata", "-u", str(data), prefix], check=True, capture_output=True)
        for unichar, dawg in (("lstm-unicharset", "lstm-word-dawg"), ("unicharset", "word-dawg")):
            if Path(prefix + dawg).is_file():
                part = out.with_suffix(".part")
                subprocess.run(
                    ["dawg2wordlist", prefix + unichar, prefix + dawg, str(part)], check=True, capture_output=True
                )
                part.parent.mkdir(parents=True, exist_ok=True)
                part.rename(out)
                return out
    return None


@functools.cache
def dictionary() -> frozenset[str]:
    """Lower-cased English words (empty if no word list can be found: then only confidence decides)."""
    path = words_file()
    if path is None:
        log.warning("no English word list found (/usr/share/dict/words or tesseract's); OCR checks confidence only")
        return frozenset()
    return frozenset(w.strip().lower() for w in path.read_text(errors="ignore").splitlines() if w.strip())


def text_regions(image: np.ndarray, min_height: int = 8) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) that look like lines of text.

    Candidates are runs of dense edges joined along a line (morphological gradient, Otsu, horizontal closing);
    one is text if, binarised in either polarity, it holds at least `MIN_GLYPHS` glyph-like parts: blobs of
    similar height, most of the line's height, not much wider than high. Texture (grass, fences, bokeh) gives
    blobs, not rows of letters.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Join letters and words of a line (word gaps are ~1/3 of the letter height at keyframe size).
    joined = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    H, W = gray.shape
    rects = [tuple(cv2.boundingRect(c)) for c in contours]
    runs = [(x, y, w, h) for x, y, w, h in rects if min_height <= h <= H // 4 and w >= h * 0.4]
    boxes = [(x, y, w, h) for x, y, w, h in _lines(runs) if w >= h * 1.5 and h <= H // 4]
    return _merge([b for b in boxes if glyphs(gray[b[1] : b[1] + b[3], b[0] : b[0] + b[2]])[0] >= MIN_GLYPHS], W, H)


def _lines(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes joined into lines: side by side, overlapping vertically by half, a gap under 1.5 heights apart."""
    out: list[list[int]] = []
    for x, y, w, h in sorted(boxes):
        for m in out:
            overlap = min(m[1] + m[3], y + h) - max(m[1], y)
            if overlap >= 0.5 * min(m[3], h) and x - (m[0] + m[2]) <= 1.5 * max(m[3], h):
                x2, y2 = max(m[0] + m[2], x + w), max(m[1] + m[3], y + h)
                m[0], m[1] = min(m[0], x), min(m[1], y)
                m[2], m[3] = x2 - m[0], y2 - m[1]
                break
        else:
            out.append([x, y, w, h])
    return [(a, b, c, d) for a, b, c, d in out]


def glyphs(gray: np.ndarray) -> tuple[int, float]:
    """How many letter-like blobs a line region holds, in its better polarity, and their median height."""
    h = gray.shape[0]
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    best, size = 0, float(h)
    for mask in (bw, 255 - bw):
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        heights = [
            int(st[cv2.CC_STAT_HEIGHT])
            for st in stats[1:n]
            if 0.35 * h <= st[cv2.CC_STAT_HEIGHT] <= 0.95 * h
            and st[cv2.CC_STAT_WIDTH] <= 1.5 * st[cv2.CC_STAT_HEIGHT]
            and st[cv2.CC_STAT_WIDTH] >= 2
        ]
        if heights:
            med = float(np.median(heights))
            count = sum(1 for x in heights if abs(x - med) <= 0.25 * med)
            if count > best:
                best, size = count, med
    return best, size


def _merge(boxes: list[tuple[int, int, int, int]], W: int, H: int) -> list[tuple[int, int, int, int]]:
    """Pad boxes a little and merge overlapping ones, so one line is one region."""
    padded = [(max(0, x - 4), max(0, y - 3), min(W, x + w + 4), min(H, y + h + 3)) for x, y, w, h in boxes]
    merged: list[list[int]] = []
    for b in sorted(padded, key=lambda b: (b[1], b[0])):
        for m in merged:
            if b[0] <= m[2] and m[0] <= b[2] and b[1] <= m[3] and m[1] <= b[3]:
                m[:] = [min(m[0], b[0]), min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3])]
                break
        else:
            merged.append(list(b))
    return [(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in merged]


def prepare(crop: np.ndarray, letter_height: int) -> list[np.ndarray]:
    """A region as dark text on white, upscaled (the form tesseract reads best); one or two readings of it.

    The first is Otsu's split, turned so the background (the region's border) is white. Where the region has both
    near-white and near-black pixels - light text with a dark outline, over anything - the second takes only the
    light fill as text, which Otsu's split mixes up with a light background.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    f = min(4.0, max(1.0, letter_height / max(1.0, glyphs(gray)[1])))
    gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([bw[0], bw[-1], bw[:, 0], bw[:, -1]])
    if border.mean() < 127:  # background dark: the text is the light part
        bw = 255 - bw
    out = [bw]
    if (gray >= 200).mean() >= 0.05 and (gray <= 50).mean() >= 0.05:
        out.append(np.where(gray >= 200, 0, 255).astype(np.uint8))
    return [cv2.copyMakeBorder(b, GAP // 2, GAP // 2, GAP // 2, GAP // 2, cv2.BORDER_CONSTANT, value=255) for b in out]


@dataclass
class Word:
    """A word tesseract read, with where it is."""

    text: str
    conf: float  # 0-100
    image: int
    line: tuple[int, int]  # (region, tesseract line) - words of one line stay together
    box: tuple[float, float, float, float]  # normalised to the keyframe


def read_words(images: Sequence[np.ndarray], cfg: OcrConfig) -> list[list[Word]]:
    """Every word tesseract reads in the text regions of `images`, one tesseract call for all of them.

    Of a region's readings (see `prepare`), the one whose plausible words tesseract is surest of is kept.
    """
    regions = [(i, r) for i, img in enumerate(images) for r in text_regions(img, cfg.min_region_height)]
    out: list[list[Word]] = [[] for _ in images]
    if not regions:
        return out
    import pytesseract  # here: its import (~0.25 s, it pulls in pandas) only where there is text to read

    pages: list[tuple[int, np.ndarray]] = []  # (region, reading)
    for r, (i, (x, y, w, h)) in enumerate(regions):
        pages.extend((r, p) for p in prepare(images[i][y : y + h, x : x + w], cfg.letter_height))
    width = max(p.shape[1] for _, p in pages)
    offsets, rows, top = [], [], 0
    for _, p in pages:
        rows.append(cv2.copyMakeBorder(p, 0, 0, 0, width - p.shape[1], cv2.BORDER_CONSTANT, value=255))
        offsets.append(top)
        top += p.shape[0]
    # psm 6 (uniform block) on the stacked regions: each is a line or a few; white gaps keep them apart.
    data = pytesseract.image_to_data(np.vstack(rows), config="--psm 6", output_type=pytesseract.Output.DICT)
    bounds = np.array([*offsets, top])
    readings: list[list[Word]] = [[] for _ in pages]
    for k, raw in enumerate(data["text"]):
        text, conf = raw.strip(), float(data["conf"][k])
        if not text or conf < 0:
            continue
        n = int(np.searchsorted(bounds, data["top"][k] + data["height"][k] / 2, side="right")) - 1
        if not 0 <= n < len(pages):
            continue
        r, page = pages[n]
        i, (x, y, w, h) = regions[r]
        sx, sy = (page.shape[1] - GAP) / w, (page.shape[0] - GAP) / h  # page pixels per keyframe pixel
        H, W = images[i].shape[:2]
        x1 = x + (data["left"][k] - GAP // 2) / sx
        y1 = y + (data["top"][k] - offsets[n] - GAP // 2) / sy
        box = (x1 / W, y1 / H, (x1 + data["width"][k] / sx) / W, (y1 + data["height"][k] / sy) / H)
        clipped = tuple(float(min(1.0, max(0.0, b))) for b in box)
        line = (r, data["block_num"][k] * 10_000 + data["par_num"][k] * 100 + data["line_num"][k])
        readings[n].extend(Word(t, conf, i, line, b) for t, b in unglue(text, clipped))  # type: ignore[arg-type]
    words = dictionary()
    best: dict[int, tuple[float, list[Word]]] = {}
    for (r, _), found in zip(pages, readings, strict=True):
        score = sum(w.conf for w in found if plausible(w.text, words))
        if r not in best or score > best[r][0]:
            best[r] = (score, found)
    for r in sorted(best):
        out[regions[r][0]].extend(best[r][1])
    return out


def unglue(text: str, box: tuple[float, ...]) -> list[tuple[str, tuple[float, ...]]]:
    """A token with a symbol glued to a number ("0/", "=15") as two tokens, the box split by characters: tesseract
    joins them when the space between is narrow, and a number with a symbol attached is no number."""
    m = GLUED.match(text)
    if m is None:
        return [(text, box)]
    first, second = (g for g in m.groups() if g is not None)
    x1, y1, x2, y2 = box
    cut = x1 + (x2 - x1) * len(first) / len(text)
    return [(first, (x1, y1, cut, y2)), (second, (cut, y1, x2, y2))]


def plausible(word: str, words: frozenset[str]) -> bool:
    """A token that could be real text: allowed characters, and a dictionary word, a number or a lone symbol."""
    if word in SYMBOLS:
        return True
    if not ALLOWED.match(word):
        return False
    core = word.strip(".,:;!?'\"()")
    if not core:
        return False
    if NUMBER.match(core):
        return True
    if not core.replace("'", "").replace("-", "").isalpha():
        return False  # letters and digits mixed ("4d", "l1ght") are read texture, not words or numbers
    if not (core.islower() or core.isupper() or core.istitle()):
        return False  # "Cc", "wEe": real text is lower, UPPER or Title case
    return not words or core.lower() in words


def is_anchor(word: Word, words: frozenset[str], cfg: OcrConfig) -> bool:
    """A word that vouches for its line: sure, and a number (two digits or more) or a dictionary word (3+ letters)."""
    core = word.text.strip(".,:;!?'\"()")
    if word.conf < cfg.anchor_conf:
        return False
    if NUMBER.match(core):
        return sum(ch.isdigit() for ch in core) >= 2  # a lone digit is a speck as often as a number
    return len(core) >= 3 and core.isalpha() and (not words or core.lower() in words)


def keep_words(found: list[Word], cfg: OcrConfig, words: frozenset[str]) -> list[Word]:
    """The words of one keyframe that are kept: sure and plausible, in lines that have an anchor word."""
    lines: dict[tuple[int, int], list[Word]] = {}
    for w in found:
        lines.setdefault(w.line, []).append(w)
    kept: list[Word] = []
    for line in lines.values():
        good = [w for w in line if plausible(w.text, words) and w.conf >= _floor(w, cfg)]
        # An unsure number stands only between two words ("Frame = 23 / PTS"): at a line's end it is as often a
        # misread ("4.005" for "4.00s"). A symbol stands only between two kept words, never at a line's end.
        good = [w for k, w in enumerate(good) if w.conf >= cfg.min_word_conf or 0 < k < len(good) - 1]
        good = [w for k, w in enumerate(good) if w.text not in SYMBOLS or 0 < k < len(good) - 1]
        if any(is_anchor(w, words, cfg) for w in good):
            kept.extend(good)
    return kept


def _floor(word: Word, cfg: OcrConfig) -> float:
    """The confidence a plausible word needs: numbers (and a symbol between two words) less than words."""
    core = word.text.strip(".,:;!?'\"()")
    return cfg.number_conf if NUMBER.match(core) or word.text in SYMBOLS else cfg.min_word_conf


def read_text(images: Sequence[np.ndarray], cfg: OcrConfig | None = None) -> list[list[DetectedObject]]:
    """Per keyframe, the kept words in reading order, each with its box (normalised) and confidence (0-1)."""
    cfg = cfg or OcrConfig()
    read = read_words(images, cfg)
    # The word list (~0.5 s to load, once per process) only when tesseract read something.
    words = dictionary() if any(read) else frozenset()
    out = []
    for found in read:
        kept = keep_words(found, cfg, words)
        kept.sort(key=lambda w: (w.line, w.box[0]))
        out.append([DetectedObject(w.text, round(w.conf / 100.0, 3), *w.box) for w in kept])
    return out


class TesseractReader:
    """tesseract on the text regions of keyframes (see the module's docstring), behind the same interface as
    RapidOCR's reader."""

    model_id = "tesseract-ocr"

    def __init__(self, cfg: OcrConfig | None = None) -> None:
        self.cfg = cfg or OcrConfig()

    def setup(self) -> None:
        thread_limit(1)

    def read(self, images: Sequence[np.ndarray]) -> list[list[DetectedObject]]:
        """Per keyframe, the kept words in reading order."""
        return read_text(images, self.cfg)


def thread_limit(threads: int) -> None:
    """tesseract's OpenMP threads oversubscribe busy machines; one per call is fastest for small pages."""
    os.environ.setdefault("OMP_THREAD_LIMIT", str(threads))
