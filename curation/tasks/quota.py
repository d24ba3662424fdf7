"""How many tasks a generator makes for one video, and the windows a long video's whole-video questions are cut into.

A generator's quota grows with what its tasks are about (`TaskGenerator.basis`): minutes of video for the visual
generators, minutes of speech for the ones that quote the transcript. It is `per_minute` (or `per_speech_minute`)
times those minutes, rounded up, never below `min_per_video` (a short clip still gets the old fixed few) nor above
`max_per_video`. Generators pick their tasks evenly over their candidates in time order (`trainers.textview.spread`),
so a larger quota covers the whole video rather than its first minutes.

Questions that range over a whole video (ordering, `TaskGenerator.windowed`) would need the whole video's view on a
long one; there they are asked per window of about `window_s` seconds instead (whole shots, so a window starts and
ends at cuts), each question naming its window ("Consider only the video between 120.00s and 181.20s."), so its
evidence sits in one window and the viewing budget (`curation.budget`, which reads the times a question names)
shows that window first.
"""

from __future__ import annotations

import dataclasses
import math

from schemas import VideoView
from trainers.textview import fmt_time

BASES = ("video", "speech")


def speech_minutes(view: VideoView) -> float:
    """Minutes of the video covered by transcript segments with text (overlaps counted once)."""
    spans = sorted((s.start, s.end) for s in view.segments if s.text.strip() and s.end > s.start)
    total, end = 0.0, -math.inf
    for a, b in spans:
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total / 60.0


def task_quota(minutes: float, rate: float, floor: int, cap: int) -> int:
    """ceil(rate × minutes), at least `floor`, at most `cap` (the floor gives way to the cap)."""
    n = math.ceil(rate * minutes - 1e-9) if minutes > 0 else 0
    return max(min(floor, cap), min(cap, n))


def windows(view: VideoView, window_s: float) -> list[tuple[float, float, set[str]]]:
    """The video's shots grouped into consecutive windows of about `window_s` seconds: (start, end, shot ids).

    A window closes at the first cut at least `window_s` after its start; a short last window joins the one before.
    One window (the whole video) when the video is shorter than two windows or has no shots."""
    shots = sorted(view.shots, key=lambda s: s.start)
    if not shots or view.duration < 2 * window_s:
        return [(0.0, view.duration, {s.shot_id for s in shots})]
    groups: list[list] = [[]]
    for s in shots:
        if groups[-1] and s.start - groups[-1][0].start >= window_s:
            groups.append([])
        groups[-1].append(s)
    if len(groups) > 1 and groups[-1][-1].end - groups[-1][0].start < window_s / 2:
        groups[-2].extend(groups.pop())
    return [(g[0].start, g[-1].end, {s.shot_id for s in g}) for g in groups]


def window_view(view: VideoView, start: float, end: float, shot_ids: set[str]) -> VideoView:
    """The part of `view` in one window: its shots with their keyframes and evidence, and the transcript
    segments and words that overlap it. Times stay the video's own."""

    def inside(a: float, b: float) -> bool:
        return min(b, end) - max(a, start) > 0 or start <= a < end

    def in_window(shot_id: str, time: float) -> bool:
        return shot_id in shot_ids if shot_id else start <= time < end

    return dataclasses.replace(
        view,
        shots=[s for s in view.shots if s.shot_id in shot_ids],
        frames=[f for f in view.frames if in_window(f.shot_id, f.time)],
        evidence=[e for e in view.evidence if in_window(e.shot_id, e.time)],
        segments=[s for s in view.segments if inside(s.start, s.end)],
        words=[w for w in view.words if inside(w.start, w.end)],
    )


def scoped_question(question: str, start: float, end: float) -> str:
    """The question limited to one window of the video."""
    return f"Consider only the video between {fmt_time(start)}s and {fmt_time(end)}s. {question}"
