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

import bisect
import dataclasses
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import Field

from curation.stage import StageConfig
from schemas import EvidenceRecord, FrameRecord, Message, TaskRecord, VideoView
from trainers.prompts import coarse_to_fine
from trainers.textview import overlapping_shots, segment_line, shot_line, shot_overlaps, task_messages, text_view
from trainers.vocab import DECIMAL

_TIME = re.compile(rf"({DECIMAL})\s*s\b")
#: the share of a model's context a prompt may take, and the densest text view in characters a token
#: (see `BudgetConfig.within`)
CONTEXT_SHARE = 0.75
DENSE_CHARS_PER_TOKEN = 2.0


class BudgetConfig(StageConfig):
    """The viewing budget of one sample."""

    max_frames: int = Field(8, ge=1, description="keyframes (image inputs) per sample")
    max_tokens: int = Field(1024, ge=64, description="approximate tokens of text view per sample")
    chars_per_token: float = Field(4.0, gt=0, description="characters per token when estimating")

    def within(self, max_input_tokens: int, reserve_chars: int = 0) -> BudgetConfig:
        """This budget, its text view cut to fit a model that takes `max_input_tokens` prompt tokens, of which the
        rest of the prompt (question, options, template) takes `reserve_chars` characters.

        The prompt gets at most `CONTEXT_SHARE` of the context, counted at `DENSE_CHARS_PER_TOKEN`: the estimate
        counts `chars_per_token` characters a token, but a text view's times and counts tokenise a digit at a time
        (the embedded model reads an hour's view at 2.1 characters a token)."""
        chars = max_input_tokens * CONTEXT_SHARE * DENSE_CHARS_PER_TOKEN - reserve_chars
        cap = max(64, int(chars / self.chars_per_token))
        return self if self.max_tokens <= cap else self.model_copy(update={"max_tokens": cap})


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


class ShotIndex:
    """Each shot's keyframes, evidence and transcript segments, found once (linear in the video's size)."""

    def __init__(self, view: VideoView) -> None:
        self.view = view
        shots = sorted(view.shots, key=lambda s: s.start)
        starts = [s.start for s in shots]
        ids = {s.shot_id for s in shots}

        def owner(shot_id: str, time: float) -> str | None:
            if shot_id in ids:
                return shot_id
            i = bisect.bisect_right(starts, time) - 1  # as `shot_evidence`: by time when the id is not a shot's
            return shots[i].shot_id if i >= 0 and time < shots[i].end else None

        self.evidence: dict[str, list[EvidenceRecord]] = defaultdict(list)
        for e in view.evidence:
            if (sid := owner(e.shot_id, e.time)) is not None:
                self.evidence[sid].append(e)
        self.frames: dict[str, list[FrameRecord]] = defaultdict(list)
        for f in view.frames:
            self.frames[f.shot_id].append(f)
        self.segments: dict[str, set[str]] = defaultdict(set)
        for g in view.segments:
            lo = max(0, bisect.bisect_right(starts, g.start) - 1)
            for shot in shots[lo : bisect.bisect_left(starts, max(g.end, g.start + 1e-9))]:
                if shot_overlaps(shot, g.start, g.end, view.duration):
                    self.segments[shot.shot_id].add(g.segment_id)

    def restricted(self, shot_ids: set[str]) -> VideoView:
        """The view with only these shots' keyframes and evidence (every shot kept, for the numbering)."""
        return dataclasses.replace(
            self.view,
            evidence=[e for sid in shot_ids for e in self.evidence.get(sid, ())],
            frames=[f for sid in shot_ids for f in self.frames.get(sid, ())],
        )


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

    local = ShotIndex(view)

    def render(shot_ids: set[str]) -> tuple[str, set[str]]:
        segs = {g for sid in shot_ids for g in local.segments.get(sid, ())}
        part = local.restricted(shot_ids)
        return text_view(part, subtitles, keyframes, shot_ids=shot_ids, segment_ids=segs), segs

    def fits(text: str) -> bool:
        return estimate_tokens(text, budget.chars_per_token) <= budget.max_tokens

    number = {s.shot_id: i for i, s in enumerate(shots, start=1)}
    # Exact line lengths, each shot's from its own evidence (rendering the whole view per shot would be quadratic).
    cost = {
        s.shot_id: len(shot_line(number[s.shot_id], s, local.restricted({s.shot_id}), keyframes)) + 1 for s in shots
    }
    seg_cost = {g.segment_id: len(segment_line(g)) + 1 for g in view.segments if segment_line(g)}
    base = len(render(set())[0]) + 8  # header, "Shots:", transcript heading; slack for the header's counts
    limit = budget.max_tokens * budget.chars_per_token
    whole = base + sum(cost.values()) + (sum(seg_cost.values()) if subtitles else 0)
    complete = True
    segs: set[str] | None = None
    full = text_view(view, subtitles=subtitles, keyframes=keyframes) if whole <= limit + 64 or not shots else ""
    if full and (fits(full) or not shots):
        text, shown = full, [s.shot_id for s in shots]
    else:
        # Greedy on the line lengths, then one real render, trimmed from the last non-required shot added if the
        # header's digits tipped it over.
        rest = [s for s in shots if s.shot_id not in need]
        order = need + [rest[i].shot_id for i in coarse_to_fine(len(rest))]
        picked: list[str] = []
        covered: set[str] = set()
        size = base
        for sid in order:
            new_segs = (local.segments.get(sid, set()) - covered) if subtitles else set()
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


def budgeted_messages(
    task: TaskRecord, view: VideoView, budget: BudgetConfig, max_input_tokens: int | None, subtitles: bool = True
) -> list[Message]:
    """`trainers.textview.task_messages` on the budgeted view of `task` (`select_view`), cut to fit a model of
    `max_input_tokens` context (when known): what a policy asked to answer the task sees, whatever the video's
    length."""
    if max_input_tokens:
        bare = task_messages(task, view, subtitles=subtitles, view_text="")
        budget = budget.within(max_input_tokens, sum(len(m.content) for m in bare))
    sel = select_view(task, view, budget, subtitles=subtitles)
    return task_messages(task, view, subtitles=subtitles, view_text=sel.text)


def fit_lines(lines: list[str], budget: BudgetConfig) -> list[str]:
    """As many of `lines` as fit the budget's text tokens, picked spread over the list (`coarse_to_fine`), in order."""
    limit = budget.max_tokens * budget.chars_per_token
    keep: set[int] = set()
    size = 0
    for i in coarse_to_fine(len(lines)):
        if size + len(lines[i]) + 1 <= limit:
            keep.add(i)
            size += len(lines[i]) + 1
    return [line for i, line in enumerate(lines) if i in keep]
