"""Chains that a stage dropped still become `cot` rows, so every rejection is kept and counted in one place."""

from __future__ import annotations

import dataclasses
import hashlib

from curation.stage import Rejected
from schemas import CotRecord, Provenance, TaskRecord, VideoView
from trainers.claims import check_chain
from trainers.rewards import parse_completion

DETAIL_CHARS = 500  # a backend's error page can be long; the reason code is what gets counted
# Failures of the LLM backend rather than of the chain: never cached, so a re-run asks again.
TRANSIENT = frozenset({"llm_error", "timeout"})


def retry_later(cot: CotRecord) -> bool:
    """Whether a chain was dropped for a reason of the run (a down endpoint), not of the chain."""
    return (cot.reject_reason or "").rsplit(":", 1)[-1] in TRANSIENT


def dropped_draft(task: TaskRecord, rejected: Rejected, model: str, prov: Provenance) -> CotRecord:
    """A `cot` row for a task whose draft failed (LLM error, no answer, …): no text, the reason kept."""
    cot_id = hashlib.sha256(f"{task.task_id}|{model}|{prov.config_hash}|failed".encode()).hexdigest()[:16]
    return CotRecord(
        cot_id=cot_id, task_id=task.task_id, video_id=task.video_id, model=model, draft="", refined=None,
        predicted_answer=None, format_score=0.0, accuracy=0.0, grounding_draft=0.0, grounding=0.0,
        confidence=0.0, accepted=False, reject_reason=f"draft:{rejected.reason}", provenance=prov,
        reject_detail=rejected.detail[:DETAIL_CHARS],
    )  # fmt: skip


def dropped_refinement(
    cot: CotRecord, view: VideoView, rejected: Rejected, time_tol: float, boundary_tol: float
) -> CotRecord:
    """The draft's row when refinement dropped it, with the draft's own grounding score for comparison."""
    think = parse_completion(cot.draft).think
    score = check_chain(think, view, time_tol, boundary_tol).score if think else 0.0
    return dataclasses.replace(
        cot, grounding_draft=score, grounding=score, accepted=False, reject_reason=f"refine:{rejected.reason}",
        reject_detail=rejected.detail[:DETAIL_CHARS],
    )  # fmt: skip
