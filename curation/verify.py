"""The verifier: the last filter before a chain of thought enters the SFT pool — a list of checks.

Each chain (the refined text, else the draft) is scored with the same functions the trainers reward with
(`trainers.rewards.format_reward` / `accuracy_reward`), then judged by every check `VerifyConfig.checks` lists
(`curation.checks`: name, reason codes, what each rejects). The first failing check's reason is the chain's
`reject_reason` (its detail `reject_detail`); `cot.checks_run` / `cot.checks_failed` record every check's verdict,
and `curation.checks.check_counts` turns them into acceptance per check. A chain that refinement already dropped
keeps its reason (scores are still filled; no check judges it).

In the curate flow the stage runs on the collection (`run`): every chain of the run, with accepted chains of
earlier runs remembered for `near_duplicate` and self-consistency samples from the drafting model; `verdict_stats`
gives the run summary its numbers (verdicts, acceptance per check and per `cot.source`). One chain at a time, as
tests and other stages call it: `VerifyStage(config).process_batch(pairs, samples=..., views=...)` with `pairs` a
list of (CotRecord, TaskRecord); `remember(cots)` first registers accepted chains of earlier runs for
`near_duplicate`. Without `views` the checks that need the video (citations, consistency, and the view-dependent
parts of relevance and support) skip.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from curation.checks import (
    DEFAULT_CHECKS,
    Chain,
    VerifyConfig,
    agreement,
    build_checks,
    chain_text,
    check_counts,
    english_like,
    jaccard,
    judge,
    shingles,
)
from curation.checks.basic import NearDuplicateCheck
from curation.collection import Batches, Collection, StageRows
from curation.stage import Stage
from schemas import CotRecord, TaskRecord, VideoView
from schemas.synthesis import acceptance_by_source
from trainers.citations import check_citations
from trainers.rewards import accuracy_reward, format_reward, parse_completion

if TYPE_CHECKING:
    from curation.llm.base import LLMBackend

__all__ = [
    "DEFAULT_CHECKS",
    "VerifyConfig",
    "VerifyStage",
    "agreement",
    "chain_text",
    "check_counts",
    "draw_samples",
    "english_like",
    "jaccard",
    "reason_counts",
    "shingles",
    "verdict_stats",
]


class VerifyStage(Stage[VerifyConfig, tuple[CotRecord, TaskRecord], CotRecord]):
    """Scores chains and sets `accepted` / `reject_reason`; counts first reasons in `self.reasons`."""

    name = "verify"
    Config = VerifyConfig
    version = 2  # 2: support refuses a chain that picks another option letter than its answer
    reads = ("tasks", "cot")
    writes = ("cot",)
    needs = ("refine",)
    uses = ("draft",)  # self-consistency samples come from the first drafting model

    def __init__(self, config: VerifyConfig | None = None) -> None:
        super().__init__(config)
        self.reasons: Counter[str] = Counter()
        self.checks = build_checks(self.config)
        # near_duplicate keeps its memory even when it is not configured, so `remember` always works.
        found = [c for c in self.checks if isinstance(c, NearDuplicateCheck)]
        self._duplicates = found[0] if found else NearDuplicateCheck(self.config)

    def remember(self, cots: Iterable[CotRecord]) -> None:
        """Register chains accepted by an earlier run, so new near-duplicates of them are rejected."""
        for cot in cots:
            if cot.accepted:
                self._duplicates.remember(cot.task_id, chain_text(cot))

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """The collection contract: verify every chain of the run; chains of earlier runs count for
        near-duplicates (a chain is never a near-duplicate of itself)."""
        cots: list[CotRecord] = collection.rows("cot")
        if not cots:
            return StageRows(rows={"cot": []})
        by_task = {t.task_id: t for t in collection.rows("tasks")}
        current = {c.cot_id for c in cots}
        self.remember(c for c in collection.published("cot") if c.cot_id not in current)
        items = [(c, by_task[c.task_id]) for c in cots]
        samples = None
        if self.config.self_consistency > 0:
            backend = collection.llm(collection.config.draft.drafters()[0].llm)
            samples = draw_samples(backend, items, collection.views, self.config.self_consistency)
        verified = self.process_batch(items, samples=samples, views=collection.views)
        return StageRows(rows={"cot": verified}, stats=verdict_stats(verified))

    def cite(self, cot: CotRecord, view: VideoView) -> None:
        """Check the citations of the chain and of its draft against the video; fill the citation columns."""
        tol = self.config.citation_tol_s
        think = parse_completion(chain_text(cot)).think
        report = check_citations(think, view, tol) if think else None
        cot.citation_accuracy = report.accuracy if report else 0.0
        cot.citations_checked = report.checked if report else 0
        cot.citation_errors = list(report.errors) if report else []
        draft = parse_completion(cot.draft).think if cot.draft else None
        cot.citation_accuracy_draft = check_citations(draft, view, tol).accuracy if draft else 0.0

    def process(self, item: tuple[CotRecord, TaskRecord]) -> CotRecord:
        """Verify one chain (see `process_batch`)."""
        return self.process_batch([item])[0]

    def process_batch(
        self,
        items: list[tuple[CotRecord, TaskRecord]],
        samples: dict[str, list[str]] | None = None,
        views: dict[str, VideoView] | None = None,
    ) -> list[CotRecord]:
        """Fill format_score, predicted_answer, accuracy (and confidence with samples); run the checks; set
        accepted / reject_reason / reject_detail / checks_run / checks_failed.

        `samples` maps cot_id to K sampled completions of the same task (see `draw_samples`); used only when
        `self_consistency` > 0. With `views` (video_id → view) every chain's citations — and its draft's — are
        checked too (`citation_accuracy`, `citation_accuracy_draft`, `citations_checked`, `citation_errors`), and
        the checks that need the video run. Records are updated in place and returned in order.
        """
        views = views or {}
        for cot, _ in items:
            if cot.video_id in views:
                self.cite(cot, views[cot.video_id])
        if not items:
            return []
        texts = [chain_text(c) for c, _ in items]
        fmt = format_reward(texts)
        acc = accuracy_reward(
            texts,
            solution=[t.answer for _, t in items],
            problem_type=[t.problem_type for _, t in items],
            options=[t.options for _, t in items],
            config=self.config.answer,
        )
        for (cot, task), text, f, a in zip(items, texts, fmt, acc, strict=True):
            parsed = parse_completion(text)
            cot.format_score, cot.accuracy, cot.predicted_answer = f, a, parsed.answer
            if cot.reject_reason:  # dropped upstream: its reason stands, and no check judged it
                cot.accepted = False
                cot.checks_run, cot.checks_failed = [], []
                continue
            chain = Chain(cot, task, views.get(cot.video_id), (samples or {}).get(cot.cot_id), f, a)
            verdict = judge(chain, self.checks)
            cot.checks_run, cot.checks_failed = verdict.run, verdict.failed
            cot.accepted = verdict.first is None
            cot.reject_reason = None if verdict.first is None else verdict.first.reason
            cot.reject_detail = "" if verdict.first is None else verdict.first.detail
            if cot.accepted:
                for check in self.checks:
                    check.accepted(chain)
                if self._duplicates not in self.checks:
                    self._duplicates.accepted(chain)
            else:
                self.reasons[verdict.first.reason if verdict.first else "unverified"] += 1
        self.reasons["accepted"] += sum(c.accepted for c, _ in items)
        return [c for c, _ in items]


def reason_counts(cots: Iterable[CotRecord]) -> Counter[str]:
    """Chains per verdict: "accepted" or the reject reason — what the manifest summary records."""
    return Counter("accepted" if c.accepted else (c.reject_reason or "unverified") for c in cots)


def verdict_stats(cots: list[CotRecord]) -> dict[str, Any]:
    """The run summary's numbers of verified chains: verdicts, mean grounding and citation accuracy of drafts and
    accepted chains, chains and accepted chains per drafting model and per source (`cot.source`), and per check
    the chains it ran on and failed."""
    accepted = [c for c in cots if c.accepted]
    drafted = [c for c in cots if c.draft]
    by_model: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for c in cots:
        by_model[c.model]["chains"] += 1
        by_model[c.model]["accepted"] += int(c.accepted)
    return {
        "verdicts": reason_counts(cots),
        "grounding_draft": sum(c.grounding_draft for c in drafted) / max(1, len(drafted)),
        "grounding_accepted": sum(c.grounding for c in accepted) / max(1, len(accepted)),
        "citation_draft": sum(c.citation_accuracy_draft for c in drafted) / max(1, len(drafted)),
        "citation_accepted": sum(c.citation_accuracy for c in accepted) / max(1, len(accepted)),
        "by_model": by_model,
        "by_source": acceptance_by_source(cots),
        "checks": {name: {"ran": n.checked, "failed": n.failed} for name, n in sorted(check_counts(cots).items())},
    }


def draw_samples(
    backend: LLMBackend,
    items: list[tuple[CotRecord, TaskRecord]],
    views: dict[str, VideoView],
    k: int,
    temperature: float = 0.8,
    max_new_tokens: int = 256,
    seed: int = 0,
) -> dict[str, list[str]]:
    """K sampled completions per chain's task from an `LLMBackend`, for self-consistency; failed samples are
    left out. Completions start from a `<think>` prefill (small models need it) which is put back in the text."""
    from curation.budget import BudgetConfig, budgeted_messages
    from curation.llm.base import GenRequest

    requests, owners = [], []
    for cot, task in items:
        messages = budgeted_messages(task, views[task.video_id], BudgetConfig(), backend.max_input_tokens)
        for i in range(k):
            requests.append(GenRequest(messages, max_new_tokens, temperature, seed + i, prefill="<think>"))
            owners.append(cot.cot_id)
    out: dict[str, list[str]] = {cot.cot_id: [] for cot, _ in items}
    for owner, result in zip(owners, backend.generate(requests), strict=True):
        if result.error is None:
            out[owner].append("<think>" + result.text)
    return out
