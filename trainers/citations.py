"""Evidence-bound chains: the one normal form in which a chain cites its evidence, and the citation checker.

Every reasoning sentence in `<think>` cites what it rests on, written exactly like this:

==========  ======================================  ==========================================================
kind        normal form                             checked
==========  ======================================  ==========================================================
time        ``[12.40s]``                            lies in the video, [0, duration]
span        ``[12.40–15.00s]``                      lies in the video, start ≤ end
keyframe    ``[kf f00003]``, ``[kf f00003, f00007]``  the keyframe exists in this video, lies in (or within
                                                    ±tol of) the range the sentence cites, and its evidence
                                                    supports the sentence's claims (objects, counts, colours,
                                                    on-screen text)
box         ``[box 0.10,0.20,0.50,0.60 @ 12.40s]``  corners in [0, 1], time in the video, and a detection near
                                                    that time overlaps the region (IoU ≥ ``BOX_IOU``)
speech      ``"the words" … said … [a–bs]``         a quote in a sentence that says it is spoken is in the
                                                    transcript within the sentence's range (± tol); in a
                                                    negated sentence ("is never said") it must not be
==========  ======================================  ==========================================================

Keyframe ids are the part of `frame_id` after the video prefix (``3f2a…-f00003`` → ``f00003``): unique within a
video and short enough for a prompt. A sentence without a time refers to the last range cited before it (the whole
video at first), as in `trainers.claims`.

The drafting model is tiny, so the form is enforced by code, not hoped for: `normalise_times` rewrites the ways
models write times (``(12.4 s)``, ``[12.4-15 sec]``, ``from 12.4 to 15 seconds``) into the normal form, and
`add_keyframes` adds to every time-citing sentence the keyframes inside its range whose evidence supports it.
`check_citations` (against a video's records) and `check_text_view_citations` (against the text view a policy
saw — what the trainers' citation reward uses) return a `CitationReport`: how many citations were checked and, for
each one that fails, the reason. Citation accuracy = valid / checked (0 for a chain that cites nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import EvidenceRecord, FrameRecord, VideoView
from trainers.claims import (
    _POINT,
    _QUOTED,
    _SPAN,
    BOX_CITE,
    KEYFRAME_CITE,
    ClaimChecker,
    cited_ranges,
    is_negated,
    is_speech,
    speech_times,
    split_sentences,
    strip_citations,
)
from trainers.geometry import box_iou
from trainers.textview import CONCLUSION, fmt_time, short_frame_id
from trainers.vocab import DECIMAL

BOX_IOU = 0.3
MAX_KEYFRAMES_PER_SENTENCE = 4
_NUM = DECIMAL
_UNIT = r"(?:s|sec|secs|seconds?)"
_ANY_SPAN = re.compile(rf"[\[(]\s*({_NUM})\s*{_UNIT}?\s*(?:–|—|-|to)\s*({_NUM})\s*{_UNIT}?\s*[\])]")
_ANY_POINT = re.compile(rf"[\[(]\s*({_NUM})\s*{_UNIT}\s*[\])]|\[(\d+\.\d+)\]")
_PROSE_SPAN = re.compile(
    rf"\b(?:from|between)\s+({_NUM})\s*{_UNIT}?\s+(?:to|and|until)\s+({_NUM})\s*{_UNIT}(?![\w\]])", re.IGNORECASE
)
_PROSE_POINT = re.compile(rf"\b(at|around|near)\s+({_NUM})\s*{_UNIT}(?![\w\]])", re.IGNORECASE)
_ANY_KF = re.compile(r"[\[(](?:kf|keyframes?|frames?)\s*:?\s*([\w-]+(?:\s*,\s*[\w-]+)*)\s*[\])]", re.IGNORECASE)
# A bracketed range is a time only with a unit or a decimal point: "(2-3) cars" is a count.
_TIME_LIKE = re.compile(rf"\d\s*{_UNIT}(?![a-z])|\d\.\d", re.IGNORECASE)
_TIME_CITE = re.compile(f"{_SPAN.pattern}|{_POINT.pattern}")


@dataclass
class CitationReport:
    """Citations checked in a chain and why each failing one failed."""

    checked: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.checked - len(self.errors)

    @property
    def accuracy(self) -> float:
        """Valid / checked, in [0, 1]; 0 for a chain that cites nothing (it is not evidence-bound)."""
        return self.valid / self.checked if self.checked else 0.0


def span_cite(start: float, end: float) -> str:
    """`[a–bs]` in the normal form."""
    return f"[{fmt_time(start)}–{fmt_time(end)}s]"


def point_cite(t: float) -> str:
    """`[ts]` in the normal form."""
    return f"[{fmt_time(t)}s]"


def keyframe_cite(frame_ids: list[str]) -> str:
    """`[kf f1, f2]` in the normal form."""
    return "[kf " + ", ".join(short_frame_id(f) for f in frame_ids) + "]"


# ----------------------------------------------------------------------------------------------------
# Normalisation (code-enforced: small models write times any way they like)


def normalise_times(think: str) -> str:
    """Cited times and keyframe ids rewritten into the normal form (see the module docstring)."""

    def span(m: re.Match[str]) -> str:
        if not _TIME_LIKE.search(m.group(0)):
            return m.group(0)
        a, b = sorted((float(m.group(1)), float(m.group(2))))
        return span_cite(a, b)

    def point(m: re.Match[str]) -> str:
        return point_cite(float(m.group(1) or m.group(2)))

    out = _ANY_KF.sub(lambda m: keyframe_cite([x.strip() for x in m.group(1).split(",")]), think)
    out = _ANY_SPAN.sub(span, out)
    out = _ANY_POINT.sub(point, out)
    out = _PROSE_SPAN.sub(span, out)
    return _PROSE_POINT.sub(lambda m: f"{m.group(1)} {point_cite(float(m.group(2)))}", out)


ROUNDING = 0.005 + 1e-6  # cited times have two decimals


def _frames_in(view: VideoView, start: float, end: float, tol: float) -> list[FrameRecord]:
    """Keyframes a sentence citing [start, end] may cite, in time order: those inside the range (as its two-decimal
    times round), else — a point, or a span between keyframes — those within ±tol of it, as the checker allows.
    Never a keyframe of the surrounding shot outside that: the checker rejects it, whatever it shows."""
    inside = [f for f in view.frames if start - ROUNDING <= f.time <= end + ROUNDING]
    near = inside or [f for f in view.frames if start - tol <= f.time <= end + tol]
    return sorted(near, key=lambda f: f.time)


def add_keyframes(think: str, view: VideoView, tol: float = 0.5) -> str:
    """Every sentence that cites a time (and no keyframe yet) gets `[kf …]` after its last time citation: the
    fewest keyframes inside that range (`_frames_in`; up to MAX_KEYFRAMES_PER_SENTENCE) whose evidence supports
    its claims, or the keyframe nearest the range's middle when it makes no content claim. Negated sentences
    (absence) cite no keyframe: no single frame shows that something is missing."""
    if not view.frames:
        return think
    checker = ClaimChecker(view, tol, tol)
    by_frame: dict[str, list[EvidenceRecord]] = {}
    for e in view.evidence:
        by_frame.setdefault(e.frame_id, []).append(e)
    out = []
    for sentence in split_sentences(think):
        ranges = cited_ranges(sentence)
        if sentence.startswith(CONCLUSION) or not ranges or KEYFRAME_CITE.search(sentence) or is_negated(sentence):
            out.append(sentence)
            continue
        a, b = min(r[0] for r in ranges), max(r[1] for r in ranges)
        frames = _frames_in(view, a, b, tol)
        if not frames:
            out.append(sentence)
            continue
        chosen = _cover(checker, sentence, frames, by_frame, (a, b))
        last = max(_TIME_CITE.finditer(sentence), key=lambda m: m.end())
        cite = keyframe_cite([f.frame_id for f in chosen])
        out.append(f"{sentence[: last.end()]} {cite}{sentence[last.end() :]}")
    return " ".join(out)


def _cover(
    checker: ClaimChecker,
    sentence: str,
    frames: list[FrameRecord],
    by_frame: dict[str, list[EvidenceRecord]],
    rng: tuple[float, float],
) -> list[FrameRecord]:
    """Greedy: the keyframes that together support the most claims of the sentence, fewest first."""

    def supported(chosen: list[FrameRecord]) -> int:
        ev = [e for f in chosen for e in by_frame.get(f.frame_id, [])]
        return sum(c.supported for c in checker.content(sentence, ev, rng))

    total = len(checker.content(sentence, [e for f in frames for e in by_frame.get(f.frame_id, [])], rng))
    mid = (rng[0] + rng[1]) / 2
    if total == 0:
        return [min(frames, key=lambda f: abs(f.time - mid))]
    chosen: list[FrameRecord] = []
    best = 0
    while len(chosen) < MAX_KEYFRAMES_PER_SENTENCE:
        options = [f for f in frames if f not in chosen]
        if not options:
            break
        pick = max(options, key=lambda f: (supported([*chosen, f]), -abs(f.time - mid)))
        gain = supported([*chosen, pick])
        if gain <= best and chosen:
            break
        chosen.append(pick)
        best = gain
        if best >= total:
            break
    return sorted(chosen, key=lambda f: f.time)


# ----------------------------------------------------------------------------------------------------
# Checking


class _Source:
    """What citations are checked against (a video's records, or the text view a policy was shown)."""

    duration: float = 0.0

    def frame_range(self, kf: str) -> tuple[float, float] | None:
        """Times a keyframe covers (its own time, or its shot when only that is known); None if unknown."""
        raise NotImplementedError

    def said_at(self, quote: str) -> list[tuple[float, float]]:
        """Where a quote is said."""
        raise NotImplementedError

    def keyframe_content(self, sentence: str, kfs: list[str], rng: tuple[float, float]) -> list[str]:
        """Claims of the sentence the cited keyframes do not support (none when content is unknown)."""
        return []

    def box(self, x1: float, y1: float, x2: float, y2: float, t: float) -> str | None:
        """Why a box citation is wrong, or None."""
        return None


class _VideoSource(_Source):
    def __init__(self, view: VideoView, tol: float) -> None:
        self.view, self.tol = view, tol
        self.duration = view.duration
        self.frames = {short_frame_id(f.frame_id): f for f in view.frames}
        self.evidence: dict[str, list[EvidenceRecord]] = {}
        for e in view.evidence:
            self.evidence.setdefault(short_frame_id(e.frame_id), []).append(e)
        self.checker = ClaimChecker(view, tol, tol)

    def frame_range(self, kf: str) -> tuple[float, float] | None:
        f = self.frames.get(kf)
        return None if f is None else (f.time, f.time)

    def said_at(self, quote: str) -> list[tuple[float, float]]:
        return speech_times(self.view, quote)

    def keyframe_content(self, sentence: str, kfs: list[str], rng: tuple[float, float]) -> list[str]:
        if is_negated(sentence):
            return []
        ev = [e for k in kfs for e in self.evidence.get(k, [])]
        claims = [c for c in self.checker.content(sentence, ev, rng) if c.kind in ("object", "count", "colour", "text")]
        return [f"{c.kind} {c.value!r}" for c in claims if not c.supported]

    def box(self, x1: float, y1: float, x2: float, y2: float, t: float) -> str | None:
        near = [e for e in self.view.evidence if abs(e.time - t) <= self.tol]
        best = max(
            (box_iou(_corners(x1, y1, x2, y2), _corners(o.x1, o.y1, o.x2, o.y2)) for e in near for o in e.objects),
            default=0.0,
        )
        return None if best >= BOX_IOU else f"no detection near {fmt_time(t)}s overlaps it (best IoU {best:.2f})"


def _corners(x1: float, y1: float, x2: float, y2: float) -> dict[str, float]:
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def check_citations(think: str, view: VideoView, tol: float = 0.5) -> CitationReport:
    """Check every citation of a think text against a video's records (see the module docstring)."""
    return _check(think, _VideoSource(view, tol), tol)


def _check(think: str, src: _Source, tol: float) -> CitationReport:
    report = CitationReport()
    dur = src.duration
    current = (0.0, dur)
    for sentence in split_sentences(think):
        if sentence.startswith(CONCLUSION):
            continue
        ranges = cited_ranges(sentence)
        for a, b, is_span in ranges:
            report.checked += 1
            label = span_cite(a, b) if is_span else point_cite(a)
            if a < 0 or b > dur + 1e-3 or a > b:
                report.errors.append(f"time {label}: outside the video (0–{fmt_time(dur)}s)")
        if ranges:
            current = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        a, b = current
        for m in KEYFRAME_CITE.finditer(sentence):
            kfs = [k.strip() for k in m.group(1).split(",")]
            for kf in kfs:
                report.checked += 1
                where = src.frame_range(kf)
                if where is None:
                    report.errors.append(f"keyframe {kf}: no such keyframe in this video")
                elif where[1] < a - tol or where[0] > b + tol:
                    at = point_cite(where[0]) if where[0] == where[1] else span_cite(*where)
                    report.errors.append(f"keyframe {kf}: at {at}, outside the cited {span_cite(a, b)}")
            known = [k for k in kfs if src.frame_range(k) is not None]
            missing = src.keyframe_content(sentence, known, current) if known else []
            if missing:
                report.errors.append(f"keyframes {', '.join(known)}: do not show {'; '.join(missing)}")
        for m in BOX_CITE.finditer(sentence):
            report.checked += 1
            x1, y1, x2, y2, t = (float(g) for g in m.groups())
            label = m.group(0)
            if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
                report.errors.append(f"box {label}: not a region in [0, 1] coordinates")
            elif not 0 <= t <= dur + 1e-3:
                report.errors.append(f"box {label}: time outside the video (0–{fmt_time(dur)}s)")
            elif (why := src.box(x1, y1, x2, y2, t)) is not None:
                report.errors.append(f"box {label}: {why}")
        if is_speech(strip_citations(sentence)):
            negated = is_negated(sentence)
            for q in _QUOTED.findall(sentence):
                report.checked += 1
                said = src.said_at(q)
                here = [s for s in said if s[1] >= a - tol and s[0] <= b + tol]
                if negated and here:
                    report.errors.append(f'speech "{q}": is said at {span_cite(*here[0])}')
                elif not negated and not said:
                    report.errors.append(f'speech "{q}": not in the transcript')
                elif not negated and not here:
                    report.errors.append(f'speech "{q}": said at {span_cite(*said[0])}, not at {span_cite(a, b)}')
    return report


# ----------------------------------------------------------------------------------------------------
# The text view a policy saw (trainers: no video records at reward time)

_VIDEO_LINE = re.compile(rf"^Video: ({_NUM})s long")
_SHOT_LINE = re.compile(rf"^Shot (\d+) \[({_NUM})–({_NUM})s\](?: \(keyframes ([^)]*)\))?:")
_SEGMENT_LINE = re.compile(rf"^\[({_NUM})–({_NUM})s\] (.*)$")


@dataclass
class TextViewIndex:
    """What a text view (`trainers.textview.text_view`) lists: duration, shots with keyframes, transcript."""

    duration: float = 0.0
    shots: list[tuple[int, float, float, list[str]]] = field(default_factory=list)  # number, start, end, keyframes
    segments: list[tuple[float, float, str]] = field(default_factory=list)


def parse_text_view(text: str) -> TextViewIndex:
    """The index of a text view (any text around it, e.g. the question, is ignored)."""
    index = TextViewIndex()
    in_transcript = False
    for line in text.split("\n"):
        if m := _VIDEO_LINE.match(line):
            index.duration = float(m.group(1))
        elif m := _SHOT_LINE.match(line):
            kfs = [k.strip() for k in (m.group(4) or "").split(",") if k.strip()]
            index.shots.append((int(m.group(1)), float(m.group(2)), float(m.group(3)), kfs))
        elif line == "Transcript:":
            in_transcript = True
        elif in_transcript and (m := _SEGMENT_LINE.match(line)):
            index.segments.append((float(m.group(1)), float(m.group(2)), m.group(3)))
        elif not line.strip():
            in_transcript = False
    return index


class _TextSource(_Source):
    def __init__(self, index: TextViewIndex) -> None:
        self.duration = index.duration
        self.frames = {k: (a, b) for _, a, b, kfs in index.shots for k in kfs}
        self.segments = index.segments

    def frame_range(self, kf: str) -> tuple[float, float] | None:
        return self.frames.get(kf)

    def said_at(self, quote: str) -> list[tuple[float, float]]:
        want = " " + " ".join(re.findall(r"[a-z0-9]+", quote.lower())) + " "
        return [
            (a, b) for a, b, text in self.segments
            if want.strip() and want in " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
        ]  # fmt: skip


def check_text_view_citations(think: str, view_text: str, tol: float = 0.5) -> CitationReport:
    """Check a completion's citations against the text view it was given: times in the video, keyframe ids
    listed (in the shot of the cited range), quoted speech in a transcript line of that range. What each
    keyframe shows is not in the text view, so keyframe content is not checked here."""
    return _check(think, _TextSource(parse_text_view(view_text)), tol)


def cited_shots(think: str, view_text: str, tol: float = 0.0) -> list[set[int]]:
    """Per sentence, the shot numbers of the text view it looks at (by cited times and keyframes)."""
    index = parse_text_view(view_text)
    owner = {k: n for n, _, _, kfs in index.shots for k in kfs}
    out = []
    for sentence in split_sentences(think):
        if sentence.startswith(CONCLUSION):
            continue
        shots: set[int] = set()
        for a, b, _ in cited_ranges(sentence):
            shots |= {n for n, s, e, _ in index.shots if (min(b, e) - max(a, s) > tol) or (a == b and s <= a < e)}
        for m in KEYFRAME_CITE.finditer(sentence):
            shots |= {owner[k.strip()] for k in m.group(1).split(",") if k.strip() in owner}
        if shots:
            out.append(shots)
    return out
