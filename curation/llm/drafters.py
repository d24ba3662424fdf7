"""Several drafting models in one run: weighted backends, and which of them drafts each task.

Mixing generators reduces single-model bias in the chains. `draft.llms` lists the backends with weights;
each task is drafted by `draft.drafters_per_task` of them, drawn without replacement with probability
proportional to weight (Efraimidis–Spirakis keys from a hash of seed, task and backend, so the draw is
deterministic: a re-run assigns the same drafters and hits the cache). Each chain records its backend's model id
in `cot.model`, so acceptance per model is a GROUP BY away.
"""

from __future__ import annotations

import hashlib
import math

from pydantic import BaseModel, ConfigDict, Field

from curation.llm.factory import LLMConfig


class DrafterConfig(BaseModel):
    """One drafting backend and its share of the drafting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: LLMConfig = Field(default_factory=LLMConfig)
    weight: float = Field(1.0, gt=0.0, description="relative share of the tasks this backend drafts")


def _key(seed: int, task_id: str, index: int, weight: float) -> float:
    digest = hashlib.sha256(f"{seed}:{task_id}:{index}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64  # in (0, 1)
    return -math.log(u) / weight  # smallest keys win: weighted sampling without replacement


def assign_drafters(
    task_ids: list[str], drafters: list[DrafterConfig], per_task: int = 1, seed: int = 0
) -> dict[str, list[int]]:
    """For each task id, the indices (into `drafters`) of the backends that draft it, in index order."""
    k = min(per_task, len(drafters))
    out: dict[str, list[int]] = {}
    for tid in task_ids:
        ranked = sorted(range(len(drafters)), key=lambda j: _key(seed, tid, j, drafters[j].weight))
        out[tid] = sorted(ranked[:k])
    return out
