"""The verifier as a list of checks: each has a name and reason codes, judges one chain, and is counted.

=================  =====================  ==================================================================
check              reason code(s)         rejects a chain when
=================  =====================  ==================================================================
format             bad_format             it is not exactly `<think>…</think><answer>…</answer>`
length             too_short / too_long   the think part is outside [min_think_chars, max_think_chars]
language           not_english            too few ASCII letters or English function words (`english_like`)
answer             wrong_answer           accuracy against the silver answer < `min_accuracy`
coherence          incoherent             an n-gram loop, token salad (spaced colons between digits, clock
                                          runs, words broken off with a hyphen), or a truncated sentence
grounding          low_grounding          refinement's grounding score (`cot.grounding`) < `min_grounding`
citations          uncited /              (view) it cites no evidence (with `require_citations`), or citation
                   bad_citations          accuracy < `min_citation_accuracy` (`trainers.citations`)
relevance          irrelevant_evidence    it cites nothing inside the time range or shot the question asks
                                          about, or (view) nothing overlapping the task's own evidence
support            unsupported_answer     the reasoning before "So the answer is" does not state the evidence
                                          that decides the answer, per problem type (`curation.checks.analysis`)
consistency        contradicted           (view) the cited evidence contradicts a claim: a count, colour,
                                          on-screen text, quote, absence, shot number, the video's length or
                                          number of shots (`trainers.claims.contradictions`)
steps              skipped_step /         (tasks with a program trace) a step of the trace is never stated, is
                   unlinked_step /        stated off its evidence or before the step it follows, or claims
                   wrong_step             what its evidence does not show (`curation.checks.steps`)
self_consistency   low_agreement          (K samples) its answer is not the majority of its samples, or
                                          fewer than `min_agreement` of them agree (sets `cot.confidence`)
near_duplicate     near_duplicate         shingle Jaccard ≥ `near_duplicate_jaccard` with a chain already
                                          accepted for the same task
=================  =====================  ==================================================================

`VerifyConfig.checks` says which run and in which order. Every configured check judges every chain that reached
the verifier (so each check's failure count does not depend on the order); the first failure is the chain's
`reject_reason` and its detail `reject_detail`. A check with nothing to judge skips (no view, no samples).
`cot.checks_run` and `cot.checks_failed` record the names, and `check_counts` turns them into acceptance per check
for the run summary (the data card and browse compute the same from the `cot` table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from curation.checks.base import SKIP, Chain, Check, Fail, Verdict, chain_text
from curation.checks.basic import agreement, english_like, jaccard, shingles
from curation.checks.config import DEFAULT_CHECKS, VerifyConfig
from curation.checks.registry import CHECKS, REASONS
from schemas import CotRecord, TaskRecord, VideoView
from trainers.rewards import answer_score, format_reward, parse_completion

__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "REASONS",
    "SKIP",
    "Chain",
    "Check",
    "CheckCount",
    "Fail",
    "Verdict",
    "VerifyConfig",
    "agreement",
    "build_checks",
    "chain_text",
    "check_counts",
    "english_like",
    "failing",
    "first_failure",
    "jaccard",
    "judge",
    "shingles",
]


def build_checks(config: VerifyConfig, names: Iterable[str] | None = None) -> list[Check]:
    """The check objects `config.checks` names (or `names`), in order."""
    return [CHECKS[n](config) for n in (config.checks if names is None else names)]


@dataclass
class Judgement:
    """What the checks said about one chain: the names of those that judged it and of those it failed, and the
    first failure."""

    run: list[str]
    failed: list[str]
    first: Fail | None


def judge(chain: Chain, checks: list[Check]) -> Judgement:
    """Run every check on one chain (see the module docstring)."""
    run: list[str] = []
    failed: list[str] = []
    first: Fail | None = None
    for check in checks:
        verdict = check(chain)
        if verdict is SKIP:
            continue
        run.append(check.name)
        if isinstance(verdict, Fail):
            failed.append(check.name)
            first = first or verdict
    return Judgement(run, failed, first)


def first_failure(
    cot: CotRecord,
    task: TaskRecord,
    view: VideoView | None = None,
    config: VerifyConfig | None = None,
    checks: Iterable[str] | None = None,
) -> Fail | None:
    """The first check a chain fails (reason and detail), or None when it passes — without a verifier stage:
    `near_duplicate` has no memory here and `self_consistency` no samples. `grounding` reads `cot.grounding` (set
    by refinement); leave it out through `checks` for a chain nothing has scored yet."""
    cfg = config or VerifyConfig()
    text = chain_text(cot)
    parsed = parse_completion(text)
    accuracy = answer_score(parsed.answer, task.answer, task.problem_type, task.options, cfg.answer)
    chain = Chain(cot, task, view, None, format_reward([text])[0], accuracy)
    return judge(chain, build_checks(cfg, checks)).first


def failing(
    cot: CotRecord,
    task: TaskRecord,
    view: VideoView | None = None,
    config: VerifyConfig | None = None,
    checks: Iterable[str] | None = None,
) -> str | None:
    """The reason code of the first check a chain fails, or None when it passes (see `first_failure`)."""
    found = first_failure(cot, task, view, config, checks)
    return None if found is None else found.reason


@dataclass
class CheckCount:
    """Chains one check judged, and how many of them it failed."""

    check: str
    checked: int = 0
    failed: int = 0

    @property
    def passed(self) -> int:
        return self.checked - self.failed

    @property
    def rate(self) -> float:
        """Share of the chains it judged that passed it (1.0 when it judged none)."""
        return self.passed / self.checked if self.checked else 1.0


def check_counts(cots: Iterable[CotRecord]) -> dict[str, CheckCount]:
    """Acceptance per check over verified chains (from `cot.checks_run` / `cot.checks_failed`), in check order."""
    order = {name: i for i, name in enumerate(CHECKS)}
    out: dict[str, CheckCount] = {}
    for cot in cots:
        for name in cot.checks_run:
            out.setdefault(name, CheckCount(name)).checked += 1
        for name in cot.checks_failed:
            out.setdefault(name, CheckCount(name)).failed += 1
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
