"""Records of the synthesis stages: silver tasks, chains of thought, and the training pools."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.common import Message, Provenance

PROBLEM_TYPES = (
    "multiple choice",
    "numerical",
    "OCR",
    "free-form",
    "regression",
    "span",
    "ordering",
    "box",
)
SPLITS = ("train", "val", "test")


@dataclass
class TraceStep:
    """One step of the small program that answered a compositional task (curation/tasks/compose_*.py): what it
    did (`op`), the evidence rows it read (segment, shot, keyframe ids) and where they lie, the value it gave the
    next step (`output`, words a chain stating the step names; "" when the step's output is its cited time), and
    the step as one cited sentence (`text`, the skeleton's line; "{letter}" in it stands for the answer's letter,
    which is assigned after generation)."""

    op: str
    rows: list[str]
    start: float
    end: float
    output: str
    text: str


@dataclass
class TaskRecord:
    """A silver question with a verifiable answer, and the evidence it was built from."""

    task_id: str
    video_id: str
    generator: str
    problem_type: str
    question: str
    answer: str
    options: list[str] = field(default_factory=list)
    span: list[float] | None = None  # [start, end] seconds, for span answers
    evidence_ids: list[str] = field(default_factory=list)
    subtitle_leak: bool = False
    split: str = "train"
    provenance: Provenance | None = None
    # The prompt's own layout (duration header, shot times) prints the answer (curation/tasks/answerable.py).
    prompt_answerable: bool = False
    # The program trace of a compositional task, in order (None for single look-ups and older shards).
    trace: list[TraceStep] | None = None


@dataclass
class CotRecord:
    """A drafted chain of thought, its refinement and the verifier's verdict."""

    cot_id: str
    task_id: str
    video_id: str
    model: str
    draft: str
    refined: str | None
    predicted_answer: str | None
    format_score: float
    accuracy: float
    grounding_draft: float
    grounding: float
    confidence: float
    accepted: bool
    reject_reason: str | None
    provenance: Provenance | None = None
    # Evidence-bound citations (trainers/citations.py): valid / checked of the verified text and of the draft.
    citation_accuracy: float = 0.0
    citation_accuracy_draft: float = 0.0
    citations_checked: int = 0
    citation_errors: list[str] = field(default_factory=list)
    # What the stage that dropped the chain said (the backend's error, the unsupported claims); "" when kept.
    reject_detail: str = ""
    # How the chain was written (curation/draft.py): one of COT_SOURCES; "" for chains drafted before it was kept.
    source: str = ""
    # The verifier's checks (curation/checks) that judged this chain, and those it failed, by name; [] for chains
    # dropped before the verifier or verified before checks were recorded.
    checks_run: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)


COT_SOURCES = ("skeleton", "polished", "rationale", "blind")


@dataclass
class SourceAcceptance:
    """Chains drafted one way, and how many of them the verifier accepted."""

    source: str
    chains: int = 0
    accepted: int = 0

    @property
    def rate(self) -> float:
        return self.accepted / self.chains if self.chains else 0.0


def acceptance_by_source(rows: Iterable[CotRecord | tuple[str, bool]]) -> dict[str, SourceAcceptance]:
    """Chains and accepted chains per `source` (records, or (source, accepted) pairs read from the `cot` table),
    in COT_SOURCES order; chains without a recorded source count as "unrecorded"."""
    out = {s: SourceAcceptance(s) for s in COT_SOURCES}
    for row in rows:
        source, accepted = (row.source, row.accepted) if isinstance(row, CotRecord) else row
        entry = out.setdefault(source or "unrecorded", SourceAcceptance(source or "unrecorded"))
        entry.chains += 1
        entry.accepted += int(bool(accepted))
    return {s: a for s, a in out.items() if a.chains}


@dataclass
class SftRecord:
    sample_id: str
    task_id: str
    video_id: str
    split: str
    problem_type: str
    messages: list[Message]
    video_path: str
    keyframe_ids: list[str] = field(default_factory=list)
    provenance: Provenance | None = None
    # Viewing budget (curation/budget.py): share of the frame/token budget the prompt uses, and what it holds.
    budget_used: float = 0.0
    budget_frames: int = 0
    budget_tokens: int = 0


@dataclass
class RlRecord:
    sample_id: str
    task_id: str
    video_id: str
    split: str
    problem_type: str
    prompt: list[Message]
    solution: str
    options: list[str] = field(default_factory=list)
    span: list[float] | None = None
    difficulty: float | None = None  # 1 − pass@k of the policy; null when it could not be measured (see rejects)
    negatives: list[str] = field(default_factory=list)
    video_path: str = ""
    provenance: Provenance | None = None
    keyframe_ids: list[str] = field(default_factory=list)
    budget_used: float = 0.0
    budget_frames: int = 0
    budget_tokens: int = 0


@dataclass
class PairRecord:
    pair_id: str
    task_id: str
    video_id: str
    split: str
    prompt: list[Message]
    chosen: str
    rejected: str
    reason: str
    provenance: Provenance | None = None


@dataclass
class NegativeRecord:
    """A hard negative: something that looks like the right answer but is not."""

    negative_id: str
    video_id: str
    kind: str  # near_duplicate_shot, near_miss_span, shuffled_order, rejected_chain
    anchor_id: str
    value: str
    score: float
    provenance: Provenance | None = None


@dataclass
class Rejected:
    """A dropped item as a stage returns it: a reason code (snake_case, stable, countable) and a readable detail.

    A collection stage names what it dropped (`video_id`, `item_id`, `path`); the flow adds the stage's name and
    provenance and writes it as a `RejectRecord` row of the `rejects` table.
    """

    reason: str
    detail: str = ""
    video_id: str | None = None
    item_id: str | None = None
    path: str | None = None


@dataclass
class RejectRecord:
    """Anything dropped, with the stage and a reason code."""

    stage: str
    reason: str
    detail: str
    path: str | None = None
    video_id: str | None = None
    item_id: str | None = None
    provenance: Provenance | None = None
