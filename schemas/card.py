"""Statistics of a dataset as the dataset card (and the browse page) show them.

`CardStats` is computed by `data_cards.stats.collect_stats` from the dataset's tables at one revision; every
field is plain data (numbers, strings, lists, dicts), so `to_json()` is a JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.synthesis import SourceAcceptance


@dataclass
class Histogram:
    """Counts per bin; `edges` has one more item than `counts` (bin i is edges[i] <= x < edges[i+1])."""

    edges: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class RejectCount:
    """How many things one stage dropped for one reason code."""

    stage: str
    reason: str
    count: int


@dataclass
class ModelAcceptance:
    """Chains drafted by one model (`cot.model`) and how many the verifier accepted."""

    model: str
    chains: int
    accepted: int

    @property
    def rate(self) -> float:
        return self.accepted / self.chains if self.chains else 0.0


@dataclass
class CitationAccuracy:
    """Mean `cot.citation_accuracy` of accepted chains and of all chains (present only when the column exists)."""

    accepted: float | None
    all: float | None


@dataclass
class CheckAcceptance:
    """Chains one verifier check judged (`cot.checks_run`) and how many of them failed it (`cot.checks_failed`)."""

    check: str
    checked: int
    failed: int

    @property
    def rate(self) -> float:
        return (self.checked - self.failed) / self.checked if self.checked else 1.0


@dataclass
class RevisionInfo:
    """One manifest revision: when, by which command, how many rows it added."""

    revision: int
    created: str
    command: str
    rows_added: int


@dataclass
class CardProvenance:
    """Where the data came from: models, prompt templates and stage configs by stage, versions, run config."""

    models: dict[str, list[str]] = field(default_factory=dict)  # stage -> model ids used
    prompt_hashes: dict[str, list[str]] = field(default_factory=dict)  # stage -> prompt template hashes
    config_hashes: dict[str, list[str]] = field(default_factory=dict)  # stage -> stage config hashes
    vidcot_versions: list[str] = field(default_factory=list)  # package_version of the rows
    packages: dict[str, str] = field(default_factory=dict)  # versions installed where the card was built
    config: dict[str, Any] = field(default_factory=dict)  # the config of the latest revision


@dataclass
class CardStats:
    """Everything the dataset card reports about one revision of a dataset."""

    dataset: str
    revision: int
    created: str  # when that revision was committed
    videos: int  # distinct videos kept (status ok)
    videos_rejected: int  # input files rejected: by the probe, or videos rejected at shots
    hours: float  # total duration of the kept videos
    shots: int
    keyframes: int
    speech_minutes: float  # total duration of ASR segments
    languages: dict[str, float] = field(default_factory=dict)  # language -> minutes of speech
    table_rows: dict[str, int] = field(default_factory=dict)  # every table, from the manifest
    pool_rows: dict[str, dict[str, int]] = field(default_factory=dict)  # sft/rl/pairs -> split -> rows
    rejects: list[RejectCount] = field(default_factory=list)  # most frequent first
    problem_types: dict[str, dict[str, int]] = field(default_factory=dict)  # tasks/sft/rl -> problem type -> rows
    generators: dict[str, int] = field(default_factory=dict)  # tasks per generator
    subtitle_leak_share: float | None = None  # share of tasks answerable from the transcript alone
    absence_share: float | None = None  # share of tasks from the 'absence' generator
    # Tasks whose prompt prints the answer (tasks.prompt_answerable): their share of all tasks, how many, and how
    # many of them still have rows in sft or rl (0 unless pools.keep_prompt_answerable kept them).
    prompt_answerable_share: float | None = None
    prompt_answerable_tasks: int = 0
    prompt_answerable_in_pools: int = 0
    difficulty: Histogram = field(default_factory=Histogram)  # rl.difficulty, 10 bins over [0, 1]
    chain_words_all: Histogram = field(default_factory=Histogram)  # words per chain, every chain in `cot`
    chain_words_accepted: Histogram = field(default_factory=Histogram)  # same bins, accepted chains only
    acceptance: list[ModelAcceptance] = field(default_factory=list)  # per drafting model
    cot_reject_reasons: dict[str, int] = field(default_factory=dict)  # verifier reject reasons of chains
    citation_accuracy: CitationAccuracy | None = None
    check_acceptance: list[CheckAcceptance] = field(default_factory=list)  # per verifier check, in check order
    source_acceptance: list[SourceAcceptance] = field(default_factory=list)  # per cot.source, in COT_SOURCES order
    revisions: list[RevisionInfo] = field(default_factory=list)
    provenance: CardProvenance = field(default_factory=CardProvenance)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (histograms as edges/counts, acceptance per model, source and check
        with its rate)."""
        doc = asdict(self)
        for key in ("acceptance", "source_acceptance", "check_acceptance"):
            for row, acc in zip(doc[key], getattr(self, key), strict=True):
                row["rate"] = round(acc.rate, 4)
        return doc
