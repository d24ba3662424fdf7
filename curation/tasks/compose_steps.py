"""What the compositional generators (`curation.tasks.compose_*`) share: lookups over the evidence tables that
one program step makes, the step record they append to a task's trace, and the check that every step they wrote
is one the claim and citation checkers support.

A compositional task is answered by a small program whose every step reads evidence rows and hands its output to
the next (a phrase's time → the shot holding that time → the objects its keyframes show). Each step is kept as a
`TraceStep` with the rows it read and its sentence with citations; the sentences in order are the task's skeleton
(`curation.skeleton`), and `curation.checks.steps` checks that a chain states every step, in order, on that
step's evidence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from curation.tasks.base import TasksConfig
from curation.tasks.leakage import words as norm_words
from curation.tasks.speech import quotable_segments
from curation.tasks.visible import confident_text, seen
from schemas import EvidenceRecord, ShotRecord, TraceStep, VideoView
from trainers.citations import check_citations, keyframe_cite, point_cite, span_cite
from trainers.claims import check_chain
from trainers.textview import shot_evidence

# Seconds two events must lie apart before a question may say which came first.
MIN_GAP_S = 0.5


@dataclass(frozen=True)
class Phrase:
    """A run of words said exactly once in the transcript, inside one segment, with confident words."""

    text: str
    start: float
    end: float
    segment_id: str


def once_said(view: VideoView, config: TasksConfig) -> tuple[list[Phrase], int]:
    """Phrases of `phrase_words` words (the first run of each quotable ASR segment) said exactly once, in time
    order, and how many candidates were dropped as said twice or heard with low confidence."""
    said = {s.segment_id for s in quotable_segments(view, config, "asr")}
    words = sorted(
        (w for w in view.words if w.segment_id in said and norm_words(w.word)), key=lambda w: (w.start, w.index)
    )
    tokens = [" ".join(norm_words(w.word)) for w in words]
    n = config.phrase_words
    counts: dict[tuple[str, ...], int] = {}
    for i in range(len(tokens) - n + 1):
        counts[tuple(tokens[i : i + n])] = counts.get(tuple(tokens[i : i + n]), 0) + 1
    out: list[Phrase] = []
    dropped = 0
    taken: set[str] = set()
    for i in range(len(words) - n + 1):
        run = words[i : i + n]
        seg = run[0].segment_id
        if seg in taken or any(w.segment_id != seg for w in run):
            continue
        taken.add(seg)
        key = tuple(tokens[i : i + n])
        if (
            counts[key] > 1
            or min(w.probability for w in run) < config.min_word_probability
            or run[-1].end <= run[0].start
        ):
            dropped += 1
            continue
        out.append(Phrase(" ".join(key), run[0].start, run[-1].end, seg))
    return out, dropped


def shots_of(view: VideoView) -> list[ShotRecord]:
    """The view's shots in time order."""
    return sorted(view.shots, key=lambda s: s.start)


def number(view: VideoView, shot: ShotRecord) -> int:
    """A shot's 1-based number in time order (what chains and the text view call it)."""
    return [s.shot_id for s in shots_of(view)].index(shot.shot_id) + 1


def shot_holding(view: VideoView, start: float, end: float) -> ShotRecord | None:
    """The one shot that holds [start, end] whole, or None when the range crosses a cut."""
    inside = [s for s in shots_of(view) if s.start <= start and end <= s.end]
    return inside[0] if len(inside) == 1 else None


def labels(evidence: list[EvidenceRecord], min_score: float) -> set[str]:
    """Object labels these keyframes show at `min_score` or more."""
    return set(seen(evidence, "object", min_score))


def frames_showing(evidence: list[EvidenceRecord], label: str, min_score: float) -> list[EvidenceRecord]:
    """The keyframes (in time order) that show `label` at `min_score` or more."""
    return sorted((e for e in evidence if label in seen([e], "object", min_score)), key=lambda e: e.time)


def first_shot(view: VideoView, label: str, min_score: float) -> tuple[ShotRecord, list[EvidenceRecord]] | None:
    """The first shot whose keyframes show `label` confidently, and those keyframes — or None when it is never
    shown, or when an earlier keyframe shows it below `min_score` (weak evidence: it may have appeared there)."""
    for shot in shots_of(view):
        ev = shot_evidence(view, shot)
        strong = frames_showing(ev, label, min_score)
        if strong:
            return shot, strong
        if label in labels(ev, 0.0):
            return None
    return None


def first_text(view: VideoView, text: str) -> tuple[EvidenceRecord, float | None] | None:
    """The first keyframe whose confident on-screen text is `text`, and the time of the last keyframe before it
    (None when it is the video's first keyframe)."""
    frames = sorted(view.evidence, key=lambda e: e.time)
    for i, ev in enumerate(frames):
        if confident_text(ev) == text:
            return ev, frames[i - 1].time if i else None
    return None


def kf(evidence: list[EvidenceRecord]) -> str:
    """`[kf …]` for these keyframes."""
    return keyframe_cite([e.frame_id for e in sorted(evidence, key=lambda e: e.time)])


def a(label: str) -> str:
    """The label with its indefinite article ("a car", "an apple")."""
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"


def shot_span(shot: ShotRecord, view: VideoView) -> str:
    """`[a–bs]` of a shot (its end clipped to the video's, which a shot table may overrun by a frame)."""
    return span_cite(shot.start, min(shot.end, view.duration) if view.duration else shot.end)


def not_before(view: VideoView, shot: ShotRecord, label: str) -> TraceStep:
    """The step that no keyframe before `shot` shows `label`: its sentence cites the last keyframe before the
    shot, so the checkers read it against the keyframes up to that time and not those of `shot` itself."""
    before = sorted((e for e in view.evidence if e.time < shot.start), key=lambda e: e.time)
    last = before[-1].time if before else 0.0
    return step("not_before", [e.frame_id for e in before], 0.0, last, label,
                f"No keyframe up to {point_cite(last)} shows {a(label)}.")  # fmt: skip


def first_seen(view: VideoView, shot: ShotRecord, frames: list[EvidenceRecord], label: str) -> list[TraceStep]:
    """The steps that find the shot where `label` is first seen: none of the keyframes before it shows it (when it
    is not the first shot), and its keyframes do."""
    k = number(view, shot)
    steps = [not_before(view, shot, label)] if k > 1 else []
    steps.append(step("first_shot", [shot.shot_id, *(e.frame_id for e in frames)], shot.start, shot.end, label,
                      f"{a(label).capitalize()} is first seen in shot {k} {shot_span(shot, view)}, in its "
                      f"keyframes {at_keyframes(frames)} {kf(frames)}."))  # fmt: skip
    return steps


def step(op: str, rows: list[str], start: float, end: float, output: str, text: str) -> TraceStep:
    """One trace step (see `schemas.TraceStep`)."""
    return TraceStep(op=op, rows=list(rows), start=round(start, 2), end=round(end, 2), output=output, text=text)


LETTER = "{letter}"  # in a choose step's text: the answer's letter, assigned after generation (curation/balance.py)


def find_phrase(ph: Phrase) -> TraceStep:
    """The step that finds when a phrase is said (its words' own times)."""
    return step("find_phrase", [ph.segment_id], ph.start, ph.end, ph.text,
                f'The phrase "{ph.text}" is said at {span_cite(ph.start, ph.end)}.')  # fmt: skip


def choose(what: str, last: TraceStep) -> TraceStep:
    """The last step of a multiple-choice task: the option the previous steps' result names (`what`, its text)."""
    return step("choose", [], last.start, last.end, what.strip('"'), f"That is option {LETTER} ({what}).")


def unsupported(steps: list[TraceStep], view: VideoView, tol: float = 0.5) -> str | None:
    """Why the steps' sentences are not all supported by the evidence (a failing citation, an unsupported or
    contradicted claim), or None. A generator drops a task whose own trace the checkers would not accept."""
    think = " ".join(s.text for s in steps)
    report = check_citations(think, view, tol)
    if report.errors:
        return report.errors[0]
    bad = check_chain(think, view, tol, tol).unsupported
    return bad[0].describe() if bad else None


def object_pool(views: list[VideoView], min_score: float, rng: random.Random) -> list[str]:
    """Object labels these views show confidently, shuffled (deterministic for a seeded `rng`)."""
    pool = sorted({lab for v in views for lab in labels(v.evidence, min_score)})
    rng.shuffle(pool)
    return pool


def others(view: VideoView, collection: list[VideoView]) -> list[VideoView]:
    """The collection's other videos, by id."""
    return [v for v in sorted(collection, key=lambda v: v.video_id) if v.video_id != view.video_id]


def join(items: list[str]) -> str:
    """ "x", "x and y", "x, y and z"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Everyday COCO objects, for distractors when the collection's own are too few: only those this video never shows
# at any score are used, so the evidence makes each of them false.
COMMON_OBJECTS = ("dog", "cat", "car", "chair", "bottle", "cup", "bicycle", "bus", "bird", "tv", "laptop", "book",
                  "clock", "umbrella", "horse", "boat", "person", "bench", "couch", "potted plant")  # fmt: skip


def object_distractors(view: VideoView, collection: list[VideoView], exclude: set[str], min_score: float,
                       rng: random.Random) -> list[str]:  # fmt: skip
    """Objects for wrong options, best first: shown elsewhere in this video, then in other videos, then everyday
    objects this video never shows; never one in `exclude`."""
    pool = object_pool([view], min_score, rng) + object_pool(others(view, collection), min_score, rng)
    anywhere = labels(view.evidence, 0.0)
    fallback = [x for x in COMMON_OBJECTS if x not in anywhere]
    rng.shuffle(fallback)
    return [x for x in dict.fromkeys(pool + fallback) if x not in exclude]


def at_keyframes(evidence: list[EvidenceRecord]) -> str:
    """ "at [6.00s]" / "at [6.00s] and [7.00s]": a shot's keyframe times, cited as points. A negated sentence cites
    these, not the shot's span: the checkers read a span with the keyframes just across its cuts too."""
    return "at " + join([point_cite(t) for t in sorted({round(e.time, 2) for e in evidence})])


def lacks(
    view: VideoView, shot: ShotRecord, evidence: list[EvidenceRecord], label: str, op: str, lead: str
) -> TraceStep:
    """The step that a shot's keyframes show no `label`: "{lead}'s keyframes at [t…] show no {label}."."""
    return step(op, [shot.shot_id, *(e.frame_id for e in evidence)], shot.start, shot.end, label,
                f"{lead}'s keyframes {at_keyframes(evidence)} show no {label}.")  # fmt: skip
