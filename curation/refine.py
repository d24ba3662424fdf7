"""Frame-conditioned refinement: check a draft's claims against the keyframe evidence of the times it cites.

Claims read from the think part, sentence by sentence (each sentence is checked against the range it cites, or
the last range cited before it, or the whole video when nothing was cited yet):

- `time`   — every cited `[t s]` / `[a–b s]` lies in [0, duration]; a span's ends agree with a shot boundary or a
             transcript segment/word boundary within `boundary_tol_s`;
- `object` — a COCO label (or any label this video's evidence uses) is detected in a keyframe of the range;
- `count`  — "two people", "3 cars": some keyframe in the range shows exactly that many;
- `colour` — a basic colour name is among the range's dominant colours;
- `text`   — a quoted string appears in the range's OCR text.

The range's keyframes are those within ±`time_tol_s` of it plus those of the shots it overlaps.
`grounding` = supported claims / claims. A chain with no checkable claim gets NEUTRAL_GROUNDING (0.5) and the
flag `no_claims`: it is neither evidence of grounding nor of hallucination.

Unsupported claims → a second LLM pass that sees the evidence of the cited shots and rewrites the think; if the
rewrite still fails the check, a deterministic correction replaces each unsupported sentence with a statement of
what the keyframes of its range show (sentences citing times outside the video are dropped). Still unsupported,
or nothing left → `Rejected("unsupported_claims", <the claims>)`. The answer is never changed here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import Field

from curation.draft import CONCLUSION, DraftStage, compose_chain, observation_text
from curation.llm.base import GenRequest, LLMBackend
from curation.llm.factory import LLMConfig, backend_from_config
from curation.llm.prompts import REFINE_REWRITE, SYSTEM_SHORT, combined_hash
from curation.stage import Rejected, Stage, StageConfig
from curation.textview import MAX_COLOURS, MAX_OBJECTS, fmt_time, object_counts, summarise_evidence
from schemas import CotRecord, EvidenceRecord, Message, ShotRecord, TaskRecord, VideoView
from trainers.rewards import parse_completion

NEUTRAL_GROUNDING = 0.5

# The 80 COCO classes the bundled detector reports (ssd_mobilenet_v2_coco).
LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis",
    "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
    "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)
SYNONYMS = {
    "people": "person", "man": "person", "men": "person", "woman": "person", "women": "person",
    "persons": "person", "boy": "person", "girl": "person", "child": "person", "children": "person",
    "bike": "bicycle", "motorbike": "motorcycle", "plane": "airplane", "aeroplane": "airplane",
    "television": "tv", "phone": "cell phone", "sofa": "couch", "doughnut": "donut", "automobile": "car",
}
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray", "grey",
           "cyan", "magenta")
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a single": 1}

_NUM = r"\d+(?:\.\d+)?"
_SPAN = re.compile(rf"\[\s*({_NUM})\s*s?\s*(?:–|—|-|to)\s*({_NUM})\s*s\s*\]")
_POINT = re.compile(rf"\[\s*({_NUM})\s*s\s*\]")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,})[\"”]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[\"“])")


@dataclass
class Claim:
    """One checkable statement: its kind, value, the time range it was checked against, and the verdict."""

    kind: str  # time, object, count, colour, text
    value: str
    start: float
    end: float
    supported: bool
    why: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.value!r} @[{fmt_time(self.start)}–{fmt_time(self.end)}s]: {self.why}"


@dataclass
class GroundingReport:
    """The claims of a chain and the grounding score (NEUTRAL_GROUNDING with flag `no_claims` when none)."""

    claims: list[Claim] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def unsupported(self) -> list[Claim]:
        return [c for c in self.claims if not c.supported]

    @property
    def score(self) -> float:
        if not self.claims:
            return NEUTRAL_GROUNDING
        return sum(c.supported for c in self.claims) / len(self.claims)


def _canon(word: str) -> str:
    w = word.lower()
    return SYNONYMS.get(w, "gray" if w == "grey" else w)


def _label_alternatives(labels: set[str]) -> str:
    words = sorted(labels | set(SYNONYMS), key=len, reverse=True)  # longest first: "hot dog" before "dog"
    return "|".join(re.escape(w) for w in words)


def _norm_text(s: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", s.lower()))


def cited_ranges(sentence: str) -> list[tuple[float, float, bool]]:
    """The (start, end, is_span) times a sentence cites, in order."""
    out = [(float(a), float(b), True) for a, b in _SPAN.findall(sentence)]
    out += [(float(t), float(t), False) for t in _POINT.findall(sentence)]
    return out


def range_evidence(view: VideoView, start: float, end: float, tol: float) -> list[EvidenceRecord]:
    """Evidence of keyframes within ±tol of [start, end] and of the shots that range overlaps."""
    shots = {s.shot_id for s in overlapping_shots(view, start, end)}
    return [e for e in view.evidence if start - tol <= e.time <= end + tol or e.shot_id in shots]


def overlapping_shots(view: VideoView, start: float, end: float) -> list[ShotRecord]:
    """Shots that overlap [start, end] (a point range picks the shot containing it)."""
    shots = sorted(view.shots, key=lambda s: s.start)
    if start == end:
        return [s for s in shots if s.start <= start < s.end or (start == s.end == view.duration)]
    return [s for s in shots if min(end, s.end) - max(start, s.start) > 1e-6]


def _boundaries(view: VideoView) -> list[float]:
    times = [0.0, view.duration]
    times += [t for s in view.shots for t in (s.start, s.end)]
    times += [t for s in view.segments for t in (s.start, s.end)]
    times += [t for w in view.words for t in (w.start, w.end)]
    return times


def check_time(view: VideoView, start: float, end: float, is_span: bool, boundary_tol: float) -> Claim:
    """Whether a cited time lies in the video and (for spans) starts and ends on a boundary."""
    label = f"{fmt_time(start)}–{fmt_time(end)}s" if is_span else f"{fmt_time(start)}s"
    dur = view.duration
    if start < 0 or end > dur + 1e-3 or start > end:
        return Claim("time", label, start, end, False, f"outside the video (0–{fmt_time(dur)}s)")
    if is_span:
        bounds = _boundaries(view)
        far = [t for t in (start, end) if min(abs(t - b) for b in bounds) > boundary_tol]
        if far:
            return Claim("time", label, start, end, False, "does not match a shot or transcript boundary")
    return Claim("time", label, start, end, True)


def check_chain(
    think: str, view: VideoView, time_tol_s: float = 0.5, boundary_tol_s: float = 0.5
) -> GroundingReport:
    """Extract the claims of a think text and check each against the evidence of the range it refers to."""
    checker = _Checker(view, time_tol_s, boundary_tol_s)
    report = GroundingReport()
    current = (0.0, view.duration)
    for sentence in split_sentences(think):
        if sentence.startswith(CONCLUSION):
            continue
        claims, current = checker.sentence(sentence, current)
        report.claims += claims
    if not report.claims:
        report.flags.append("no_claims")
    return report


class _Checker:
    """Claim extraction and checking for one video (the label vocabulary includes the video's own labels)."""

    def __init__(self, view: VideoView, time_tol_s: float, boundary_tol_s: float) -> None:
        self.view = view
        self.time_tol_s = time_tol_s
        self.boundary_tol_s = boundary_tol_s
        labels = {_canon(lab) for lab in LABELS} | {o.label.lower() for e in view.evidence for o in e.objects}
        alts = _label_alternatives(labels)
        self.objects = re.compile(rf"\b({alts})(?:e?s)?\b", re.IGNORECASE)
        nums = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
        self.counts = re.compile(rf"\b(\d+|{nums})\s+(?:[a-z]+\s+)?({alts})(?:e?s)?\b", re.IGNORECASE)

    def sentence(
        self, sentence: str, current: tuple[float, float]
    ) -> tuple[list[Claim], tuple[float, float]]:
        """The claims of one sentence, and the range later uncited sentences refer to."""
        ranges = cited_ranges(sentence)
        claims = [check_time(self.view, a, b, span, self.boundary_tol_s) for a, b, span in ranges]
        if ranges:
            current = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        prose = _QUOTED.sub(" ", _POINT.sub(" ", _SPAN.sub(" ", sentence)))
        evidence = range_evidence(self.view, current[0], current[1], self.time_tol_s)
        return claims + self._content(sentence, prose, evidence, current), current

    def _content(
        self, sentence: str, prose: str, evidence: list[EvidenceRecord], rng: tuple[float, float]
    ) -> list[Claim]:
        a, b = rng
        claims: list[Claim] = []
        per_frame: dict[str, list[int]] = {}  # label -> its count in each keyframe that shows it
        for ev in evidence:
            per: dict[str, int] = {}
            for o in ev.objects:
                per[_canon(o.label)] = per.get(_canon(o.label), 0) + 1
            if ev.people:
                per["person"] = max(per.get("person", 0), ev.people)
            for lab, n in per.items():
                per_frame.setdefault(lab, []).append(n)
        counted: set[int] = set()
        for m in self.counts.finditer(prose):
            n = int(m.group(1)) if m.group(1).isdigit() else NUMBER_WORDS[m.group(1).lower()]
            lab = _canon(m.group(2))
            ok = n in per_frame.get(lab, [])
            why = "" if ok else f"keyframes show {per_frame.get(lab, [0])}"
            claims.append(Claim("count", f"{n} {lab}", a, b, ok, why))
            counted.add(m.start(2))
        found: set[str] = set()
        for m in self.objects.finditer(prose):
            lab = _canon(m.group(1))
            if lab in found or m.start(1) in counted:
                continue
            found.add(lab)
            ok = lab in per_frame
            claims.append(Claim("object", lab, a, b, ok, "" if ok else "not detected in these keyframes"))
        colours = {_canon(c) for ev in evidence for c in ev.colours}
        for c in dict.fromkeys(_canon(w) for w in re.findall(r"[a-z]+", prose.lower()) if w in COLOURS):
            ok = c in colours
            claims.append(Claim("colour", c, a, b, ok, "" if ok else f"colours here: {sorted(colours)}"))
        ocr = _norm_text(" ".join(ev.ocr_text for ev in evidence))
        for q in _QUOTED.findall(sentence):
            want = _norm_text(q)
            if want:
                ok = f" {want} " in f" {ocr} "
                claims.append(Claim("text", q, a, b, ok, "" if ok else "not in the on-screen text here"))
        return claims


def split_sentences(text: str) -> list[str]:
    """Sentences of a think text (a citation like `[4.00–8.00s]` never splits one)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def evidence_statement(view: VideoView, start: float, end: float, time_tol_s: float) -> str:
    """What the keyframes of each shot in [start, end] show, as checkable sentences citing the shots' times."""
    shots = sorted(view.shots, key=lambda s: s.start)
    parts = []
    for s in overlapping_shots(view, start, end):
        ev = range_evidence(view, s.start, s.end, time_tol_s)
        k = shots.index(s) + 1
        parts.append(f"In shot {k} [{fmt_time(s.start)}–{fmt_time(s.end)}s], the keyframes show {_describe(ev)}.")
    return " ".join(parts)


def _describe(evidence: list[EvidenceRecord]) -> str:
    """Evidence as prose the claim checker reads back as supported ("2 people", "the text \"OPEN\"")."""
    parts: list[str] = []
    for lab, n in object_counts(evidence).most_common(MAX_OBJECTS):
        parts.append(f"{n} {_plural(lab)}" if n > 1 else f"a {lab}")
    texts = list(dict.fromkeys(" ".join(ev.ocr_text.split()) for ev in evidence if ev.ocr_text.strip()))
    parts += [f'the text "{t}"' for t in texts[:2]]
    colours = list(dict.fromkeys(c for ev in evidence for c in ev.colours))[:MAX_COLOURS]
    if colours:
        parts.append(("the colour " if len(colours) == 1 else "the colours ") + _join(colours))
    return _join(parts) if parts else "nothing that the detectors recognise"


def _plural(label: str) -> str:
    if label == "person":
        return "people"
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class RefineConfig(StageConfig):
    """Refinement settings. `llm: null` skips the rewrite pass (deterministic correction only)."""

    llm: LLMConfig | None = Field(default_factory=lambda: LLMConfig())
    time_tol_s: float = Field(default=0.5, ge=0)
    boundary_tol_s: float = Field(default=0.5, ge=0)
    rewrite_tokens: int = Field(default=64, ge=8)
    deterministic_fallback: bool = True
    temperature: float = Field(default=0.0, ge=0)
    seed: int = 0


class RefineStage(Stage[RefineConfig, tuple[CotRecord, TaskRecord, VideoView], CotRecord]):
    """(draft cot, task, view) → the cot with `refined`, `grounding_draft`, `grounding` filled, or `Rejected`.

    Reason codes: `malformed_draft` (no think/answer to check), `unsupported_claims`.
    """

    name: ClassVar[str] = "refine"
    Config: ClassVar[type[StageConfig]] = RefineConfig

    def __init__(self, config: RefineConfig | None = None, backend: LLMBackend | None = None) -> None:
        super().__init__(config)
        self.backend = backend

    def setup(self) -> None:
        """Load the rewrite LLM once (unless one was passed in or the config has none)."""
        if self.backend is None and self.config.llm is not None:
            self.backend = backend_from_config(self.config.llm)

    def models(self) -> list[str]:
        return [self.backend.model_id] if self.backend is not None else []

    def process(self, item: tuple[CotRecord, TaskRecord, VideoView]) -> CotRecord | Rejected:
        """Refine one draft (prefer `process_batch`)."""
        return self.process_batch([item])[0]

    def check(self, think: str, view: VideoView) -> GroundingReport:
        """`check_chain` with this stage's tolerances."""
        return check_chain(think, view, self.config.time_tol_s, self.config.boundary_tol_s)

    def process_batch(self, items: list[tuple[CotRecord, TaskRecord, VideoView]]) -> list[CotRecord | Rejected]:
        """Check every draft; rewrite the unsupported ones in one batched LLM pass; correct or drop the rest."""
        self.ensure_setup()
        out: list[CotRecord | Rejected | None] = [None] * len(items)
        parsed: list[tuple[str, str, GroundingReport] | None] = [None] * len(items)
        for i, (cot, _, view) in enumerate(items):
            p = parse_completion(cot.draft)
            if p.think is None or p.answer is None:
                out[i] = Rejected("malformed_draft", f"no single think/answer in {cot.draft[:80]!r}")
                continue
            report = self.check(p.think, view)
            parsed[i] = (p.think, p.answer, report)
            if not report.unsupported:
                out[i] = self._result(cot, cot.draft, p.answer, report.score, report.score)
        todo = [i for i in range(len(items)) if out[i] is None]
        rewrites: dict[int, str] = {}
        if todo and self.backend is not None:
            reqs = [self._rewrite_request(items[i], parsed[i]) for i in todo]  # type: ignore[arg-type]
            for i, res in zip(todo, self.backend.generate(reqs), strict=True):
                if res.ok:
                    rewrites[i] = observation_text(res.text, items[i][2], items[i][1])
        for i in todo:
            cot, _, view = items[i]
            think, answer, report = parsed[i]  # type: ignore[misc]
            out[i] = self._fix(cot, view, think, answer, report, rewrites.get(i))
        return [o if o is not None else Rejected("unsupported_claims", "no result") for o in out]

    def _fix(
        self, cot: CotRecord, view: VideoView, think: str, answer: str, report: GroundingReport, rewrite: str | None
    ) -> CotRecord | Rejected:
        candidates = [rewrite] if rewrite else []
        if self.config.deterministic_fallback:
            candidates.append(self.correct(think, view))
        last = report
        for new_think in candidates:
            if not new_think:
                continue
            last = self.check(new_think, view)
            if not last.unsupported:
                return self._result(cot, compose_chain(new_think, answer), answer, report.score, last.score)
        claims = "; ".join(c.describe() for c in (last.unsupported or report.unsupported))
        return Rejected("unsupported_claims", f"grounding {report.score:.2f}: {claims}")

    def correct(self, think: str, view: VideoView) -> str:
        """Deterministic correction: keep supported sentences, restate unsupported ones from the evidence.

        A sentence whose cited range lies wholly outside the video is dropped; a partly outside one is restated
        for the part inside.
        """
        checker = _Checker(view, self.config.time_tol_s, self.config.boundary_tol_s)
        kept: list[str] = []
        current = (0.0, view.duration)
        for sentence in split_sentences(think):
            if sentence.startswith(CONCLUSION):
                continue
            claims, current = checker.sentence(sentence, current)
            if all(c.supported for c in claims):
                kept.append(sentence)
                continue
            a, b = max(0.0, current[0]), min(view.duration, current[1])
            if a > b:
                continue
            statement = evidence_statement(view, a, b, self.config.time_tol_s)
            if statement and statement not in kept:
                kept.append(statement)
        return " ".join(kept)

    def _rewrite_request(self, item: tuple[CotRecord, TaskRecord, VideoView], parsed: tuple) -> GenRequest:
        _, task, view = item
        think, _, report = parsed
        ranges = [(c.start, c.end) for c in report.claims if c.kind == "time" and c.supported]
        shots = {s.shot_id: s for a, b in ranges for s in overlapping_shots(view, a, b)} or {
            s.shot_id: s for s in view.shots
        }
        order = sorted(view.shots, key=lambda s: s.start)
        lines = [
            f"Shot {order.index(s) + 1} [{fmt_time(s.start)}–{fmt_time(s.end)}s]: "
            + summarise_evidence(range_evidence(view, s.start, s.end, self.config.time_tol_s))
            for s in sorted(shots.values(), key=lambda s: s.start)
        ]
        user = REFINE_REWRITE.render(
            question=task.question,
            evidence="\n".join(lines) or "nothing detected",
            unsupported=", ".join(f"{c.kind} {c.value!r}" for c in report.unsupported),
            think=think,
        )
        return GenRequest(
            messages=[Message("system", SYSTEM_SHORT.text), Message("user", user)],
            max_new_tokens=self.config.rewrite_tokens,
            temperature=self.config.temperature,
            seed=self.config.seed,
            prefill="In shot ",
            stop=["\n\n"],
        )

    def _result(self, cot: CotRecord, text: str, answer: str, g_draft: float, g: float) -> CotRecord:
        prov = self.provenance(prompt_hash=combined_hash(*DraftStage.PROMPTS, REFINE_REWRITE))
        return dataclasses.replace(
            cot, refined=text, predicted_answer=answer, grounding_draft=g_draft, grounding=g, provenance=prov
        )
