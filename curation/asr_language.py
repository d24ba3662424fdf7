"""Which language each speech chunk is transcribed in, when a short chunk's own detection is unsure.

Whisper detects a language from the audio of one chunk. On a word or two ("Go.", "Fine.") it guesses: an English
"Fine." comes out German at 0.33, a "Go." Dutch at 0.49, and the chunk is then decoded in that language ("En go!")
or dropped as improbable text. A short chunk with a low language probability takes the language of its sure
neighbours instead: the previous and next sure chunks when they agree, else the language most of the sure speech
around it is in (the decoded window: up to `asr.window_seconds` of the file). Its probability is then Whisper's
probability for that language on the chunk, not the one it detected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Detected:
    """One speech chunk's language detection: speech seconds, best language, its probability, all probabilities."""

    seconds: float
    language: str
    probability: float
    probabilities: Mapping[str, float]


def settle_languages(
    chunks: Sequence[Detected], short_seconds: float, min_probability: float
) -> list[tuple[str, float]]:
    """Per chunk, the language to transcribe it in and that language's probability on the chunk."""

    def unsure(c: Detected) -> bool:
        return c.seconds < short_seconds and c.probability < min_probability

    sure = [i for i, c in enumerate(chunks) if not unsure(c)]
    spoken: dict[str, float] = {}
    for i in sure:
        spoken[chunks[i].language] = spoken.get(chunks[i].language, 0.0) + chunks[i].seconds
    majority = max(spoken, key=lambda k: spoken[k]) if spoken else None
    out = []
    for i, c in enumerate(chunks):
        if not unsure(c) or majority is None:
            out.append((c.language, c.probability))
            continue
        before = next((chunks[j].language for j in reversed(sure) if j < i), None)
        after = next((chunks[j].language for j in sure if j > i), None)
        near = {x for x in (before, after) if x is not None}
        language = near.pop() if len(near) == 1 else majority
        out.append((language, float(c.probabilities.get(language, 0.0))))
    return out
