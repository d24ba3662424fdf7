"""What a check is: a name, the reason codes it returns, and one judgement of one chain.

In the spirit of datatrove's filters: a check looks at one chain — its `CotRecord`, the `TaskRecord` it answers and
(when known) the `VideoView` of its video — and returns `None` to keep it, a `Fail` with a reason code and detail to
drop it, or `SKIP` when it has nothing to judge (no view for a check that needs one, no samples for
self-consistency): a skipped check is not counted as checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Final

from curation.checks.thresholds import CheckThresholds
from schemas import CotRecord, TaskRecord, VideoView
from trainers.citations import CitationReport, check_citations
from trainers.rewards import Parsed, parse_completion


@dataclass(frozen=True)
class Fail:
    """A check's verdict against a chain: the reason code (counted) and a one-line detail (kept)."""

    reason: str
    detail: str = ""


class _Skip:
    def __repr__(self) -> str:
        return "SKIP"


SKIP: Final = _Skip()
Verdict = Fail | _Skip | None


def chain_text(cot: CotRecord) -> str:
    """The text the verifier judges: the refined chain, or the draft when there is no refinement."""
    return cot.refined if cot.refined is not None else cot.draft


@dataclass
class Chain:
    """One chain as the checks see it, with what several checks share computed once."""

    cot: CotRecord
    task: TaskRecord
    view: VideoView | None = None
    samples: list[str] | None = None  # K sampled completions of the same task (self-consistency)
    format_score: float = 0.0
    accuracy: float = 0.0
    text: str = field(init=False)
    _citations: dict[float, CitationReport | None] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.text = chain_text(self.cot)

    @cached_property
    def parsed(self) -> Parsed:
        return parse_completion(self.text)

    @property
    def think(self) -> str:
        """The think part ("" when there is none)."""
        return self.parsed.think or ""

    @property
    def answer(self) -> str | None:
        return self.parsed.answer

    def citations(self, tol: float) -> CitationReport | None:
        """The citation report of the think part against the view (None without a view or a think part)."""
        if tol not in self._citations:
            view = self.view
            self._citations[tol] = check_citations(self.think, view, tol) if view is not None and self.think else None
        return self._citations[tol]


class Check:
    """One judgement of a chain. Subclasses set `name` and `reasons` and implement `judge`."""

    name: ClassVar[str]
    reasons: ClassVar[tuple[str, ...]]  # the reason codes `judge` may return, the first being the usual one
    needs_view: ClassVar[bool] = False

    def __init__(self, config: CheckThresholds) -> None:
        self.config = config

    def __call__(self, chain: Chain) -> Verdict:
        if self.needs_view and chain.view is None:
            return SKIP
        return self.judge(chain)

    def judge(self, chain: Chain) -> Verdict:
        """None to keep the chain, `Fail(reason, detail)` to drop it, `SKIP` when there is nothing to judge."""
        raise NotImplementedError

    def accepted(self, chain: Chain) -> None:
        """Called for every chain the verifier accepted (a check with memory, like near-duplicates, keeps it)."""

    def fail(self, detail: str = "", reason: str | None = None) -> Fail:
        """A `Fail` with this check's (first) reason code."""
        return Fail(reason or self.reasons[0], detail)
