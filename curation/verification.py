"""The verify stage on the collection contract: every chain of the run through `VerifyStage`'s checks.

Kept apart from curation/verify.py (the checks themselves): this module only gathers what verifying a collection
needs — accepted chains of earlier runs for near-duplicates, self-consistency samples from the drafting model —
and summarises the verdicts for the run summary.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from curation.collection import Batches, Collection, StageRows
from curation.verify import VerifyStage, draw_samples, reason_counts
from schemas import CotRecord


class CollectionVerifyStage(VerifyStage):
    """Verify every chain of the collection; chains of earlier runs count for near-duplicates."""

    version = 1
    reads = ("tasks", "cot")
    writes = ("cot",)
    needs = ("refine",)
    uses = ("draft",)  # self-consistency samples come from the first drafting model

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        cots: list[CotRecord] = collection.rows("cot")
        if not cots:
            return StageRows(rows={"cot": []})
        by_task = {t.task_id: t for t in collection.rows("tasks")}
        current = {c.cot_id for c in cots}  # a chain is never a near-duplicate of itself
        self.remember(c for c in collection.published("cot") if c.cot_id not in current)
        items = [(c, by_task[c.task_id]) for c in cots]
        samples = None
        if self.config.self_consistency > 0:
            backend = collection.llm(collection.config.draft.drafters()[0].llm)
            samples = draw_samples(backend, items, collection.views, self.config.self_consistency)
        verified = self.process_batch(items, samples=samples, views=collection.views)
        return StageRows(rows={"cot": verified}, stats=verdict_stats(verified))


def verdict_stats(cots: list[CotRecord]) -> dict[str, Any]:
    """Verdict counts, mean grounding and citation accuracy of drafts and accepted chains, chains per model."""
    accepted = [c for c in cots if c.accepted]
    drafted = [c for c in cots if c.draft]
    by_model: defaultdict[str, Counter[str]] = defaultdict(Counter)
    checks: defaultdict[str, Counter[str]] = defaultdict(Counter)  # per verifier check: chains it ran on, failed
    for c in cots:
        for name in c.checks_run:
            checks[name]["ran"] += 1
        for name in c.checks_failed:
            checks[name]["failed"] += 1
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
        "checks": {name: {"ran": n["ran"], "failed": n["failed"]} for name, n in sorted(checks.items())},
    }
