"""Evidence-first reasoning skeletons: the chain a task's own evidence gives, written by code.

Every silver task is made from evidence (curation/tasks/*.py): a shot's keyframes that show an object, a colour
or a text; a count that every keyframe of a shot agrees on; the word timestamps of a spoken phrase; the shot
table; detection boxes; an absence checked over the whole video. `build_skeleton` turns that same evidence into
observations with citations in the normal form of `trainers.citations` (times `[12.40s]`, spans
`[12.40–15.00s]`, keyframes `[kf f00003]`, quoted speech `says "…"`), then the inference that gives the answer:

    In shot 2 [4.00–8.00s], the keyframes [kf f00001] show a car. None of the other options (dog, bus) is seen
    there. That is option B.

(the drafting stage appends "So the answer is B."). Sentences that only strengthen the chain ("none of the other
options is seen") are kept only when the claim checker supports them. Tasks whose evidence is not known to code
(user questions) get no skeleton: they are drafted in rationale mode.

`Facts` are what a rewrite must keep: the cited times, keyframes, boxes, quoted phrases, numbers and the objects
and colours named. `polish_problem` says why an LLM's rewrite of a skeleton may not replace it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from curation.checks import DEFAULT_CHECKS, failing
from curation.tasks.absence import absence_statement
from curation.tasks.counting import frame_counts
from schemas import CotRecord, EvidenceRecord, FrameRecord, ShotRecord, TaskRecord, VideoView
from trainers.citations import add_keyframes, check_citations, keyframe_cite, point_cite, span_cite
from trainers.claims import (
    BOX_CITE,
    KEYFRAME_CITE,
    NUMBER_WORDS,
    SYNONYMS,
    ClaimChecker,
    check_chain,
    cited_ranges,
    split_sentences,
    strip_citations,
)
from trainers.textview import CONCLUSION, fmt_time, object_counts, overlapping_shots, shot_evidence

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_OPTION = re.compile(r"^\s*([A-Z])[.)]\s*(.*)$", re.DOTALL)
_QUOTED = re.compile(r"[\"“]([^\"”]{2,})[\"”]")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_BETWEEN = re.compile(r"between (\d+(?:\.\d+)?)s and (\d+(?:\.\d+)?)s")
_COUNT_Q = re.compile(r"^How many (.+?) can be seen", re.IGNORECASE)
_BOX_Q = re.compile(r"^Where is the (.+?) between", re.IGNORECASE)
_CLIP = re.compile(r"^\s*(\d+)\.\s+(.+)$", re.MULTILINE)
_WORDS = re.compile(r"[a-z]+")
_OPTION_NAMED = re.compile(r"\boption\s+([A-Za-z])\b")
LOOP_NGRAM = 3  # a rewrite that repeats a 3-word run three times is looping


@dataclass(frozen=True)
class Line:
    """One sentence of a skeleton; `optional` ones are dropped when the claim checker does not support them."""

    text: str
    optional: bool = False


@dataclass(frozen=True)
class Skeleton:
    """A chain's reasoning (no conclusion) built from a task's evidence, and the answer it leads to."""

    think: str
    answer: str


# ----------------------------------------------------------------------------------------------------
# Helpers over a view


def _shots(view: VideoView) -> list[ShotRecord]:
    return sorted(view.shots, key=lambda s: s.start)


def _number(view: VideoView, shot: ShotRecord) -> int:
    return [s.shot_id for s in _shots(view)].index(shot.shot_id) + 1


def _span(shot: ShotRecord) -> str:
    return span_cite(shot.start, shot.end)


def _task_shot(task: TaskRecord, view: VideoView) -> ShotRecord | None:
    """The shot a task is about: its first evidence shot, else the shot its question's range names."""
    by_id = {s.shot_id: s for s in view.shots}
    for i in task.evidence_ids:
        if i in by_id:
            return by_id[i]
    m = _BETWEEN.search(task.question)
    if m:
        a, b = float(m.group(1)), float(m.group(2))
        for s in _shots(view):
            if abs(s.start - a) < 0.006 and abs(s.end - b) < 0.006:
                return s
    return None


def _task_frames(task: TaskRecord, view: VideoView) -> list[FrameRecord]:
    """The keyframes among a task's evidence ids, in time order."""
    ids = set(task.evidence_ids)
    return sorted((f for f in view.frames if f.frame_id in ids), key=lambda f: f.time)


def _shot_frames(view: VideoView, shot: ShotRecord) -> list[FrameRecord]:
    ids = {e.frame_id for e in shot_evidence(view, shot)}
    return sorted((f for f in view.frames if f.frame_id in ids or f.shot_id == shot.shot_id), key=lambda f: f.time)


def _kf(frames: list[FrameRecord]) -> str:
    return f" {keyframe_cite([f.frame_id for f in frames])}" if frames else ""


def _option_texts(task: TaskRecord) -> dict[str, str]:
    out = {}
    for opt in task.options:
        m = _OPTION.match(opt)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plural(label: str) -> str:
    if label == "person":
        return "people"
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def describe(evidence: list[EvidenceRecord]) -> str:
    """What keyframes show, as prose the claim checker reads back ("2 people, a car and the colour red")."""
    parts = [
        f"{n} {_plural(label)}" if n > 1 else f"{_article(label)} {label}"
        for label, n in object_counts(evidence).most_common(4)
    ]
    texts = list(dict.fromkeys(" ".join(e.ocr_text.split()) for e in evidence if e.ocr_text.strip()))
    parts += [f'the text "{t}"' for t in texts[:1] if '"' not in t]
    colours = list(dict.fromkeys(c.lower() for e in evidence for c in e.colours))[:2]
    if colours:
        parts.append(("the colour " if len(colours) == 1 else "the colours ") + _join(colours))
    return _join(parts) if parts else ""


# ----------------------------------------------------------------------------------------------------
# One builder per task generator: the lines of the skeleton, or None when the evidence is not there


def _visible(task: TaskRecord, view: VideoView) -> list[Line] | None:
    shot = _task_shot(task, view)
    options = _option_texts(task)
    chosen = options.get(task.answer.strip().upper()[:1])
    if shot is None or chosen is None:
        return None
    q = task.question.lower()
    kind = "object" if "objects" in q else "text" if "texts" in q else "colour"
    thing = {
        "object": f"{_article(chosen)} {chosen}",
        "text": f'the text "{chosen}"',
        "colour": f"the colour {chosen}",
    }[kind]
    frames = _task_frames(task, view) or _shot_frames(view, shot)
    verb = "shows" if len(frames) == 1 else "show"
    keyframes = "keyframe" if len(frames) == 1 else "keyframes"
    lines = [Line(f"In shot {_number(view, shot)} {_span(shot)}, the {keyframes}{_kf(frames)} {verb} {thing}.")]
    others = [t for letter, t in sorted(options.items()) if letter != task.answer.strip().upper()[:1]]
    if others:
        shown = [f'"{t}"' for t in others] if kind == "text" else others
        verb = "appears" if kind == "text" else "is prominent" if kind == "colour" else "is seen"
        lines.append(Line(f"None of the other options ({', '.join(shown)}) {verb} there.", optional=True))
    named = f'"{chosen}"' if kind == "text" else chosen
    lines.append(Line(f"That is option {task.answer.strip().upper()[:1]} ({named})."))
    return lines


def _absence(task: TaskRecord, view: VideoView) -> list[Line] | None:
    statement = absence_statement(task, view)
    if not statement or not task.answer.strip():
        return None
    letter = task.answer.strip().upper()[:1]
    chosen = _option_texts(task).get(letter)
    return [Line(statement), Line(f"That is option {letter} ({chosen})." if chosen else f"That is option {letter}.")]


def _counting(task: TaskRecord, view: VideoView) -> list[Line] | None:
    if task.question.lower().startswith("how many shots"):
        shots = _shots(view)
        if not shots:
            return None
        listed = _join([f"shot {i} {_span(s)}" for i, s in enumerate(shots, start=1)])
        n = len(shots)
        return [Line(f"The video is cut into {listed}."), Line(f"That is {n} shot{'s' if n != 1 else ''}.")]
    m = _COUNT_Q.match(task.question)
    shot = _task_shot(task, view)
    if m is None or shot is None:
        return None
    plural = m.group(1)
    frames = _task_frames(task, view) or _shot_frames(view, shot)
    by_frame = {e.frame_id: e for e in view.evidence}
    labels = {lab for f in frames if f.frame_id in by_frame for lab in frame_counts(by_frame[f.frame_id], 0.0)}
    label = next((lab for lab in sorted(labels) if plural in (_plural(lab), lab + "s", SYNONYMS.get(plural))), None)
    if label is None:
        label = SYNONYMS.get(plural, plural[:-1] if plural.endswith("s") else plural)
    count = task.answer.strip()
    noun = plural if count != "1" else label
    every = "the keyframe" if len(frames) == 1 else "every keyframe"
    return [Line(f"In shot {_number(view, shot)} {_span(shot)}, {every}{_kf(frames)} shows {count} {noun}.")]


def _ocr(task: TaskRecord, view: VideoView) -> list[Line] | None:
    shot = _task_shot(task, view)
    if shot is None or '"' in task.answer:
        return None
    frames = _task_frames(task, view) or _shot_frames(view, shot)
    keyframes, verb = ("keyframe", "shows") if len(frames) == 1 else ("keyframes", "show")
    where = f"In shot {_number(view, shot)} {_span(shot)}"
    return [Line(f'{where}, the {keyframes}{_kf(frames)} {verb} the text "{task.answer}".')]


def _numeric(task: TaskRecord, view: VideoView) -> list[Line] | None:
    q = task.question.lower()
    if q.startswith("how long is the video"):
        return [
            Line(
                f"The video starts at {point_cite(0.0)} and ends at {point_cite(view.duration)}, "
                f"so it is {task.answer} seconds long."
            )
        ]
    shot = _task_shot(task, view)
    if shot is None:
        return None
    k = _number(view, shot)
    # A time the sentence cites alone would get a keyframe of the shot around it, maybe too far off to count as
    # "at" that time: each sentence also cites its shot's span.
    if "how long" in q:
        return [
            Line(
                f"The shot that begins at {point_cite(shot.start)} is shot {k} {_span(shot)}; it ends at "
                f"{point_cite(shot.end)}, so it lasts {task.answer} seconds."
            )
        ]
    if "begin" in q and k <= len(ORDINALS):
        return [Line(f"The {ORDINALS[k - 1]} shot of the video is shot {k} {_span(shot)}, so it begins "
                     f"{point_cite(shot.start)} into the video.")]  # fmt: skip
    return None


def _grounding(task: TaskRecord, view: VideoView) -> list[Line] | None:
    quoted = _QUOTED.findall(task.question)
    if not quoted or not task.span or len(task.span) != 2:
        return None
    a, b = task.span
    shots = overlapping_shots(view, a, b)
    where = _join([f"shot {_number(view, s)} {_span(s)}" for s in shots])
    where = f"In {where}, the" if shots else "The"
    return [
        Line(
            f'{where} transcript says "{quoted[0]}" from {point_cite(a)} to {point_cite(b)}, so the phrase is '
            f"said at {span_cite(a, b)} in the video."
        )
    ]


def _ordering(task: TaskRecord, view: VideoView) -> list[Line] | None:
    by_id = {s.shot_id: s for s in view.shots}
    in_time = [by_id[i] for i in task.evidence_ids if i in by_id]
    order = [int(x) for x in re.findall(r"\d+", task.answer)]
    if not in_time or len(in_time) != len(order) or len(_CLIP.findall(task.question)) != len(order):
        return None
    lines = []
    for clip, shot in zip(order, in_time, strict=True):
        what = describe(shot_evidence(view, shot))
        if not what:
            return None
        frames = _shot_frames(view, shot)
        lines.append(Line(f"Clip {clip} is shot {_number(view, shot)} {_span(shot)}, whose keyframes{_kf(frames)} "
                          f"show {what}."))  # fmt: skip
    lines.append(Line(f"In time order the clips are {', '.join(str(c) for c in order)}."))
    return lines


def _boxes(task: TaskRecord, view: VideoView) -> list[Line] | None:
    m = _BOX_Q.match(task.question)
    try:
        boxes = json.loads(task.answer)
    except ValueError:
        return None
    if m is None or not isinstance(boxes, list) or not boxes:
        return None
    label = m.group(1)
    frames = sorted(view.frames, key=lambda f: f.time)
    lines = []
    for box in boxes:
        t = float(box["time"])
        near = [f for f in frames if abs(f.time - t) < 0.006]
        corners = ",".join(f"{float(box[k]):.3f}" for k in ("x1", "y1", "x2", "y2"))
        lines.append(
            Line(f"At {point_cite(t)}{_kf(near[:1])} the {label} is in the box [box {corners} @ {fmt_time(t)}s] "
                 "of the frame.")
        )  # fmt: skip
    return lines


def _trace(task: TaskRecord, view: VideoView) -> list[Line] | None:
    """A compositional task's skeleton is its program trace: one cited sentence per step (curation/tasks/compose_*)."""
    return [Line(step.text.replace("{letter}", task.answer)) for step in task.trace] if task.trace else None


BUILDERS: dict[str, Callable[[TaskRecord, VideoView], list[Line] | None]] = {
    "visible": _visible,
    "absence": _absence,
    "counting": _counting,
    "ocr": _ocr,
    "numeric": _numeric,
    "grounding": _grounding,
    "ordering": _ordering,
    "boxes": _boxes,
}


# Generators with no builder above, each on purpose: user questions (code does not know their evidence: drafted in
# rationale mode) and the compositional ones (their tasks carry a program trace: `_trace`). Every other generator of
# `curation.tasks.GENERATORS` has a builder (tests/test_stage_contract.py checks it).
NO_BUILDER: frozenset[str] = frozenset(
    {"user", "compose_speech_vision", "compose_vision_speech", "compose_temporal", "compose_shots", "compose_change"}
)


def build_skeleton(task: TaskRecord, view: VideoView, tol: float = 0.5) -> Skeleton | None:
    """The evidence-first reasoning of a task (see the module docstring), or None when code does not know the
    evidence it was built from. Every time-citing sentence cites keyframes (`add_keyframes`); optional sentences
    the claim checker does not support are left out."""
    builder = _trace if task.trace else BUILDERS.get(task.generator)
    try:
        lines = builder(task, view) if builder is not None else None
    except (KeyError, ValueError, TypeError, IndexError):  # a malformed task (e.g. an answer in another form)
        lines = None
    if not lines:
        return None
    think = _assemble(lines, view, tol)
    if any(line.optional for line in lines) and evidence_problem(think, view, tol) is not None:
        think = _assemble([line for line in lines if not line.optional], view, tol)
    return Skeleton(think=think, answer=task.answer)


def _assemble(lines: list[Line], view: VideoView, tol: float) -> str:
    return add_keyframes(" ".join(line.text for line in lines), view, tol)


# ----------------------------------------------------------------------------------------------------
# What a rewrite must keep, and why it may not replace the skeleton


@dataclass(frozen=True)
class Facts:
    """The checkable content of a think text: cited times, keyframes and boxes, quotes, numbers, things named."""

    times: frozenset[str]
    keyframes: frozenset[str]
    boxes: frozenset[str]
    quotes: frozenset[str]
    numbers: frozenset[str]
    things: frozenset[str]
    options: frozenset[str]

    def differences(self, other: Facts) -> list[str]:
        """What `other` adds to or drops from these facts, one phrase per kind."""
        out = []
        for name in ("times", "keyframes", "boxes", "quotes", "numbers", "things", "options"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs - mine:
                out.append(f"adds {name} {sorted(theirs - mine)}")
            if mine - theirs:
                out.append(f"drops {name} {sorted(mine - theirs)}")
        return out


def _num(text: str) -> str:
    x = float(text)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def facts(think: str, view: VideoView, tol: float = 0.5) -> Facts:
    """The facts of a think text (its conclusion sentence left out)."""
    body = " ".join(s for s in split_sentences(think) if not s.startswith(CONCLUSION))
    times = set()
    for a, b, is_span in cited_ranges(body):
        times.add(span_cite(a, b) if is_span else point_cite(a))
    keyframes = {k.strip() for m in KEYFRAME_CITE.finditer(body) for k in m.group(1).split(",")}
    boxes = {",".join(_num(g) for g in m.groups()) for m in BOX_CITE.finditer(body)}
    quotes = {" ".join(_WORDS.findall(q.lower())) for q in _QUOTED.findall(body)}
    prose = strip_citations(body)
    numbers = {_num(n) for n in _NUMBER.findall(prose)}
    words = _WORDS.findall(prose.lower())
    numbers |= {str(NUMBER_WORDS[w]) for w in words if w in NUMBER_WORDS}
    # Things named: what the claim checker reads as an object, count or colour (its vocabulary, its synonyms).
    checker = ClaimChecker(view, tol, tol)
    things = {
        f"{'object' if c.kind == 'absent' else c.kind} {c.value}"
        for s in split_sentences(body)
        for c in checker.content(s, [], (0.0, view.duration))
        if c.kind in ("object", "count", "colour", "absent") and c.value
    }
    options = {m.upper() for m in _OPTION_NAMED.findall(body)}
    return Facts(*(frozenset(x) for x in (times, keyframes, boxes, quotes, numbers, things, options)))


def evidence_problem(think: str, view: VideoView, tol: float = 0.5) -> str | None:
    """Why a think text is not evidence-bound — a failing citation or an unsupported claim — or None."""
    report = check_citations(think, view, tol)
    if report.checked == 0:
        return "uncited: cites no evidence"
    if report.errors:
        return "bad_citations: " + "; ".join(report.errors[:3])
    unsupported = check_chain(think, view, tol, tol).unsupported
    if unsupported:
        return "unsupported_claims: " + "; ".join(c.describe() for c in unsupported[:3])
    return None


def text_problem(think: str) -> str | None:
    """Why a rewrite does not read as whole sentences of prose — a loop or a cut-off sentence — or None."""
    words = _WORDS.findall(strip_citations(think).lower())
    runs: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - LOOP_NGRAM + 1):
        key = tuple(words[i : i + LOOP_NGRAM])
        runs[key] = runs.get(key, 0) + 1
        if runs[key] >= 3:
            return f"loop: {' '.join(key)!r} repeated"
    if not think.rstrip().endswith((".", "!", "?")):
        return "truncated: no sentence end"
    return None


def polish_problem(polished: str, skeleton: str, view: VideoView, tol: float = 0.5) -> str | None:
    """Why `polished` may not replace `skeleton` — it adds or drops a fact, does not read as prose, or is not
    evidence-bound — or None when it may."""
    if not polished.strip():
        return "empty rewrite"
    diff = facts(skeleton, view, tol).differences(facts(polished, view, tol))
    if diff:
        return "facts: " + "; ".join(diff)
    return text_problem(polished) or evidence_problem(polished, view, tol)


# Checks that need what drafting has not produced yet: refinement's grounding score, samples, accepted chains.
NOT_YET = frozenset({"grounding", "self_consistency", "near_duplicate"})


def verifier_problem(cot: CotRecord, task: TaskRecord, view: VideoView) -> str | None:
    """The reason code of the first verifier check (`curation.checks.failing`) a drafted chain fails, leaving out
    those that need later stages (NOT_YET); None when it passes."""
    return failing(cot, task, view, checks=[n for n in DEFAULT_CHECKS if n not in NOT_YET])
