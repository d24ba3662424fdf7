"""Temporal grounding of a spoken phrase: "when is '…' said?" → the span from the words' own timestamps.

Phrases are non-overlapping runs of `phrase_words` words inside one ASR segment. A phrase that occurs more than
once in the whole transcript is ambiguous (the answer fits several places) and is dropped, as is one whose words
the ASR was unsure of. Only segments in the configured languages are quoted, never text of unknown language
(`curation.tasks.speech`). Embedded subtitle cues ground too: a cue shown once gives its own span. These tasks are
answerable from subtitles by construction (leakage flags them).
"""

from __future__ import annotations

from itertools import groupby

from curation.tasks.base import TaskGenerator
from curation.tasks.leakage import words as norm_words
from curation.tasks.speech import quotable_segments
from schemas import RejectRecord, TaskRecord, VideoView, WordRecord
from trainers.textview import spread


def _token(w: WordRecord) -> str:
    return " ".join(norm_words(w.word))


class Generator(TaskGenerator):
    """Span answers "[start, end]" for phrases said exactly once."""

    name = "grounding"
    problem_types = ("span",)
    basis = "speech"  # its quota grows with the minutes of speech (curation.tasks.quota)

    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        said = {s.segment_id for s in quotable_segments(view, self.config, "asr")}
        words = [w for w in view.words if w.segment_id in said and _token(w)]
        cues = self._cues(view)
        if not words and not cues:
            if view.words:
                return [self.reject(view, "unquotable_language", "no words in a known, configured language")]
            return [self.reject(view, "no_speech", "no transcribed words")]
        words.sort(key=lambda w: (w.start, w.index))
        n = self.config.phrase_words
        stream = [_token(w) for w in words]
        counts: dict[tuple[str, ...], int] = {}
        for i in range(len(stream) - n + 1):
            key = tuple(stream[i : i + n])
            counts[key] = counts.get(key, 0) + 1
        candidates: list[list[WordRecord]] = []
        for _, seg_words in groupby(words, key=lambda w: w.segment_id):
            seg = list(seg_words)
            for j in range(0, len(seg) - n + 1, n):
                candidates.append(seg[j : j + n])
        out: list[TaskRecord | RejectRecord] = []
        good: list[list[WordRecord]] = []
        for phrase in candidates:
            key = tuple(_token(w) for w in phrase)
            text = " ".join(key)
            if counts.get(key, 0) > 1:
                out.append(
                    self.reject(view, "ambiguous_phrase", f'"{text}" is said {counts[key]} times', phrase[0].segment_id)
                )
            elif min(w.probability for w in phrase) < self.config.min_word_probability:
                out.append(self.reject(view, "low_confidence_words", f'"{text}"', phrase[0].segment_id))
            elif phrase[-1].end <= phrase[0].start:
                out.append(self.reject(view, "bad_word_times", f'"{text}"', phrase[0].segment_id))
            else:
                good.append(phrase)
        if not candidates and not cues:
            out.append(self.reject(view, "too_few_words", f"no segment has {n} words"))
        spans: list[tuple[str, str, float, float, str]] = [
            ("phrase", " ".join(" ".join(norm_words(w.word)) for w in p), p[0].start, p[-1].end, p[0].segment_id)
            for p in good
        ] + cues
        for kind, text, start, end, segment_id in spread(spans, self.config.max_per_video):
            if kind == "phrase":
                question = f'When is the phrase "{text}" spoken in the video? Give the start and end time in seconds.'
            else:
                question = f'When is the subtitle "{text}" shown in the video? Give the start and end time in seconds.'
            out.append(
                self.task(
                    view,
                    "span",
                    question,
                    f"[{start:.2f}, {end:.2f}]",
                    evidence_ids=[segment_id],
                    span=[round(start, 2), round(end, 2)],
                )
            )
        return out

    def _cues(self, view: VideoView) -> list[tuple[str, str, float, float, str]]:
        """Subtitle cues of quotable tracks shown once, with 2 to 12 words: ("subtitle", text, start, end, id)."""
        cues = quotable_segments(view, self.config, "subtitle")
        texts = [" ".join(norm_words(c.text)) for c in cues]
        return [
            ("subtitle", t, c.start, c.end, c.segment_id)
            for c, t in zip(cues, texts, strict=True)
            if 2 <= len(t.split()) <= 12 and texts.count(t) == 1 and c.end > c.start
        ]
