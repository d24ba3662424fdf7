"""Word error rate: one edit distance, two normalisations (the OCR reward's plain words, and ASR's English one)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence

_EXPAND = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_PUNCTUATION = str.maketrans({ch: " " for ch in string.punctuation})


def plain_words(text: str, drop_articles: bool = False) -> list[str]:
    """Lower-cased words with punctuation as spaces (and without a/an/the with `drop_articles`)."""
    words = text.lower().translate(_PUNCTUATION).split()
    return [w for w in words if w not in ("a", "an", "the")] if drop_articles else words


def normalise(text: str) -> list[str]:
    """ASR's normalisation: lower-case words without punctuation; hyphens split words; common titles spelled out."""
    text = text.lower().replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return [_EXPAND.get(w, w) for w in (w.strip("'") for w in words) if w]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def word_error_rate(reference: str, hypothesis: str, words: Callable[[str], list[str]] = plain_words) -> float:
    """Word edit distance / reference length after `words` (may exceed 1); 0 or 1 for an empty reference."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def wer(ref: str, hyp: str) -> float:
    """WER with ASR's normalisation (`normalise`), as the ASR tests measure it."""
    return word_error_rate(ref, hyp, normalise)
