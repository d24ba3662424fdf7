"""Anchoring check: the times a chain cites are times the video's records give, and what it says about the whole
video is said of the whole video.

Citation validity (`trainers.citations`) only asks that a time lie inside the video, and the consistency check only
rejects claims the evidence contradicts; neither notices a span moved to where nothing begins or ends, a video said
to start at 3.00s, or an absence checked over one shot but stated of "the video". These are the wrong times of a
chain that is otherwise well formed:

===============  ================================================================================================
reason           rejects a chain when
===============  ================================================================================================
unanchored_time  (view) a cited span starts or ends farther than `citation_tol_s` from every shot cut, transcript
                 segment or word boundary, and the video's start and end
wrong_time       (view) "the video starts at [t]" with t not 0, or "ends at [t]" with t not its end; "shot k [a–b]"
                 with a span that is not shot k's
partial_absence  (view) "no keyframe of the video [a–b]" (or "anywhere", "the whole video") over a span that is
                 not the whole video
===============  ================================================================================================
"""

from __future__ import annotations

import re

from curation.checks.analysis import reasoning
from curation.checks.base import Chain, Check, Verdict
from schemas import VideoView
from trainers.claims import _SPAN, cited_ranges, is_negated, split_sentences
from trainers.textview import fmt_time

_STARTS = re.compile(r"\b(?:video|clip)\s+(?:starts|begins)\s+(?:at\s+)?\[(\d+(?:\.\d+)?)", re.IGNORECASE)
_ENDS = re.compile(r"\b(?:video|clip)\b[^.]*?\bends\s+(?:at\s+)?\[(?:\d+(?:\.\d+)?\s*[–-]\s*)?(\d+(?:\.\d+)?)s\]",
                   re.IGNORECASE)  # fmt: skip
_SHOT_SPAN = re.compile(r"\bshot (\d+) \[(\d+(?:\.\d+)?)\s*[–-]\s*(\d+(?:\.\d+)?)s\]", re.IGNORECASE)
_WHOLE = re.compile(r"\b(?:of the (?:whole )?video|anywhere|whole video|entire video)\b", re.IGNORECASE)


def boundaries(view: VideoView) -> list[float]:
    """Every time a span may start or end at: the video's ends, shot cuts, transcript segment and word ends."""
    times = [0.0, view.duration]
    times += [t for s in view.shots for t in (s.start, min(s.end, view.duration) if view.duration else s.end)]
    times += [t for s in view.segments for t in (s.start, s.end)]
    times += [t for w in view.words for t in (w.start, w.end)]
    return times


def anchoring(think: str, view: VideoView, tol: float) -> tuple[str, str] | None:
    """(reason, detail) for the first unanchored span, wrong start/end of the video or partial absence; None."""
    bounds = boundaries(view)
    dur = view.duration
    for sentence in split_sentences(reasoning(think)):
        for a, b, is_span in cited_ranges(sentence):
            if not is_span:
                continue
            far = [t for t in (a, b) if min(abs(t - x) for x in bounds) > tol]
            if far:
                return "unanchored_time", f"[{fmt_time(a)}–{fmt_time(b)}s]: {fmt_time(far[0])}s is no cut or word time"
        shots = sorted(view.shots, key=lambda s: s.start)
        for m in _SHOT_SPAN.finditer(sentence):
            k, a, b = int(m.group(1)), float(m.group(2)), float(m.group(3))
            if 1 <= k <= len(shots):
                s = shots[k - 1]
                end = min(s.end, dur) if dur else s.end
                if abs(a - s.start) > tol or abs(b - end) > tol:
                    return (
                        "wrong_time",
                        f"shot {k} is [{fmt_time(s.start)}–{fmt_time(end)}s], not [{m.group(2)}–{m.group(3)}s]",
                    )
        start = _STARTS.search(sentence)
        if start and abs(float(start.group(1))) > 0.05:
            return "wrong_time", f"the video starts at 0.00s, not {start.group(1)}s"
        end_at = _ENDS.search(sentence)
        if end_at and abs(float(end_at.group(1)) - dur) > max(0.05, 0.01 * dur):
            return "wrong_time", f"the video ends at {fmt_time(dur)}s, not {end_at.group(1)}s"
        if is_negated(sentence) and _WHOLE.search(sentence):
            spans = [(float(x), float(y)) for x, y in _SPAN.findall(sentence)]
            if spans and not any(x <= 0.05 and y >= dur - max(0.05, 0.01 * dur) for x, y in spans):
                x, y = spans[0]
                return "partial_absence", f"says the whole video but checks [{fmt_time(x)}–{fmt_time(y)}s]"
    return None


class AnchoringCheck(Check):
    """Cited spans start and end at the video's own times; the video's start, end and whole are stated right."""

    name = "anchoring"
    reasons = ("unanchored_time", "wrong_time", "partial_absence")
    needs_view = True

    def judge(self, chain: Chain) -> Verdict:
        assert chain.view is not None
        found = anchoring(chain.think, chain.view, self.config.citation_tol_s)
        return None if found is None else self.fail(found[1], found[0])
