"""Word error rate for ASR tests, with the light normalisation usual for English (case, punctuation, titles)."""

from __future__ import annotations

import re

_EXPAND = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; hyphens split words; common titles spelled out."""
    text = text.lower().replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return [_EXPAND.get(w, w) for w in (w.strip("'") for w in words) if w]


def wer(ref: str, hyp: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after `normalise`."""
    r, h = normalise(ref), normalise(hyp)
    if not r:
        return 0.0 if not h else 1.0
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / len(r)
