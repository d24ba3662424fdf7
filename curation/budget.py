"""Viewing budgets: which shots, keyframes and transcript spans of a long video one sample gets to see.

A sample's budget is `max_frames` keyframes (the image inputs) and `max_tokens` tokens of text view (counted as
characters / `chars_per_token`, a deliberately conservative estimate that needs no tokenizer). When the whole
video fits, nothing is cut. When it does not, `select_view` assigns the quota in this order:

1. the shots the answer depends on (`required_shots`: the task's evidence shots, the shots of its evidence
   keyframes and transcript segments, of its answer span, and of the times its question names; every shot for
   an absence question, since an absence holds only over the whole video), in time order;
2. then the other shots, spread over the video (coarse-to-fine: the middle first, then the quarters, …), so a
   partial view still covers the timeline;

each shot entering with the transcript segments it overlaps, as long as the rendered text view stays within
`max_tokens`. Keyframes are assigned the same way: one per required shot, then one per other shown shot, then the
rest of the required shots' keyframes, up to `max_frames`. The budget is never exceeded: if even the required
shots do not fit, as many of them as fit are shown (in time order) and `complete` is False.

`ViewSelection.used` — the larger of the two fractions (frames / max_frames, tokens / max_tokens) — is recorded
per `sft`/`rl` row as `budget_used` (with `budget_frames`, `budget_tokens`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pydantic import Field

from curation.stage import StageConfig
from schemas import FrameRecord, SegmentRecord, ShotRecord, TaskRecord, VideoView
from trainers.textview import overlapping_shots, segment_line, shot_line, shot_overlaps, text_view
from trainers.vocab import DECIMAL

_TIME = re.compile(rf"({DECIMAL})\s*s\b")


class BudgetConfig(StageConfig):
    """The viewing budget of one sample."""

    max_frames: int = Field(8, ge=1, description="keyframes (image inputs) per sample")
    max_tokens: int = Field(1024, ge=64, description="approximate tokens of text view per sample")
    chars_per_token: float = Field(4.0, gt=0, description="characters per token when estimating")


@dataclass
class ViewSelection:
    """What one sample sees: the text view, the keyframes, and how much of the budget that is."""

    text: str
    frame_ids: list[str]
    shot_ids: list[str]
    required: list[str]
    tokens: int
    frames: int
    used: float
    complete: bool = True
    segment_ids: list[str] = field(default_factory=list)


def estimate_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """Approximate token count of a text (characters / chars_per_token, rounded up)."""
    return math.ceil(len(text) / chars_per_token)


def required_shots(task: TaskRecord, view: VideoView) -> list[str]:
    """Ids of the shots the task's answer depends on (see the module docstring), in time order."""
    shots = sorted(view.shots, key=lambda s: s.start)
    ids = set(task.evidence_ids)
    need = {s.shot_id for s in shots if s.shot_id in ids}
    need |= {f.shot_id for f in view.frames if f.frame_id in ids}
    need |= {e.shot_id for e in view.evidence if e.frame_id in ids}
    for seg in view.segments:
        if seg.segment_id in ids:
            need |= {s.shot_id for s in overlapping_shots(view, seg.start, seg.end)}
    spans: list[tuple[float, float]] = []
    if task.span:
        spans.append((task.span[0], task.span[1]))
    times = [float(t) for t in _TIME.findall(task.question)]
    if len(times) >= 2:
        spans.append((min(times), max(times)))
    elif times:
        spans.append((times[0], times[0]))
    for a, b in spans:
        need |= {s.shot_id for s in overlapping_shots(view, a, b)}
    return [s.shot_id for s in shots if s.shot_id in need]


def coarse_to_fine(n: int) -> list[int]:
    """Indices 0..n-1 ordered so every prefix is spread over the range: middle, quarters, eighths, …"""
    order: list[int] = []
    seen: set[int] = set()
    parts = 1
    while len(order) < n:
        for k in range(parts):
            i = min(n - 1, int((k + 0.5) * n / parts))
            if i not in seen:
                seen.add(i)
                order.append(i)
        parts *= 2
        if parts > 2 * n:
            order += [i for i in range(n) if i not in seen]
    return order


def select_view(
    task: TaskRecord,
    view: VideoView,
    budget: BudgetConfig,
    subtitles: bool = True,
    keyframes: bool = False,
    max_frames: int | None = None,
) -> ViewSelection:
    """The budgeted view of `view` for `task` (see the module docstring). `max_frames` may lower the frame
    budget (e.g. a pool's own keyframe limit)."""
    frame_budget = min(budget.max_frames, max_frames or budget.max_frames)
    shots = sorted(view.shots, key=lambda s: s.start)
    need = [s.shot_id for s in shots] if task.generator == "absence" else required_shots(task, view)

    def in_shot(shot: ShotRecord, seg: SegmentRecord) -> bool:
        return shot_overlaps(shot, seg.start, seg.end, view.duration)

    def render(shot_ids: set[str]) -> tuple[str, set[str]]:
        chosen = [s for s in shots if s.shot_id in shot_ids]
        segs = {g.segment_id for g in view.segments if any(in_shot(s, g) for s in chosen)}
        return text_view(view, subtitles, keyframes, shot_ids=shot_ids, segment_ids=segs), segs

    def fits(text: str) -> bool:
        return estimate_tokens(text, budget.chars_per_token) <= budget.max_tokens

    full = text_view(view, subtitles=subtitles, keyframes=keyframes)
    complete = True
    segs: set[str] | None = None
    if fits(full) or not shots:
        text, shown = full, [s.shot_id for s in shots]
    else:
        # Greedy on exact line lengths (rendering the whole view per candidate would be quadratic), then one
        # real render, trimmed from the last non-required shot added if the header's digits tipped it over.
        number = {s.shot_id: i for i, s in enumerate(shots, start=1)}
        cost = {s.shot_id: len(shot_line(number[s.shot_id], s, view, keyframes)) + 1 for s in shots}
        seg_cost = {g.segment_id: len(segment_line(g)) + 1 for g in view.segments if segment_line(g)}
        seg_of = {s.shot_id: {g.segment_id for g in view.segments if in_shot(s, g)} for s in shots}
        base = len(render(set())[0]) + 8  # header, "Shots:", transcript heading; slack for the header's counts
        limit = budget.max_tokens * budget.chars_per_token
        rest = [s for s in shots if s.shot_id not in need]
        order = need + [rest[i].shot_id for i in coarse_to_fine(len(rest))]
        picked: list[str] = []
        covered: set[str] = set()
        size = base
        for sid in order:
            new_segs = (seg_of[sid] - covered) if subtitles else set()
            extra = cost[sid] + sum(seg_cost.get(g, 0) for g in new_segs)
            if size + extra <= limit:
                picked.append(sid)
                covered |= new_segs
                size += extra
            elif sid in need:
                complete = False
        text, segs = render(set(picked))
        while not fits(text) and picked:
            drop = next((p for p in reversed(picked) if p not in need), picked[-1])
            picked.remove(drop)
            complete = complete and drop not in need
            text, segs = render(set(picked))
        shown = [s.shot_id for s in shots if s.shot_id in set(picked)]
    frames = assign_frames(view, shown, need, frame_budget)
    tokens = estimate_tokens(text, budget.chars_per_token)
    used = max(len(frames) / frame_budget, tokens / budget.max_tokens)
    return ViewSelection(
        text=text,
        frame_ids=[f.frame_id for f in frames],
        shot_ids=shown,
        required=need,
        tokens=tokens,
        frames=len(frames),
        used=round(min(1.0, used), 4),
        complete=complete and fits(text),
        segment_ids=sorted(segs) if segs is not None else [g.segment_id for g in view.segments],
    )


def assign_frames(view: VideoView, shown: list[str], need: list[str], limit: int) -> list[FrameRecord]:
    """Keyframe quota: one per required shot, one per other shown shot, then the required shots' others."""
    by_shot: dict[str, list[FrameRecord]] = {}
    for f in sorted(view.frames, key=lambda f: f.time):
        by_shot.setdefault(f.shot_id, []).append(f)
    if not view.shots:
        return sorted(view.frames, key=lambda f: f.time)[:limit]
    need = [s for s in need if s in shown]  # images of a shot the text view had no room for would cite nothing
    others = [s for s in shown if s not in need]
    queue: list[FrameRecord] = []
    queue += [by_shot[s][len(by_shot[s]) // 2] for s in need if by_shot.get(s)]
    queue += [by_shot[s][len(by_shot[s]) // 2] for s in others if by_shot.get(s)]
    queue += [f for s in need for f in by_shot.get(s, [])]
    picked: list[FrameRecord] = []
    for f in queue:
        if f not in picked and len(picked) < limit:
            picked.append(f)
    return sorted(picked, key=lambda f: f.time)
