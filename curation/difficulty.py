"""Difficulty of RL items from a policy model's pass rate, and which items the RL pool keeps.

Each task is put to the policy K times (sampled, seeds `seed`..`seed+K-1`, assistant turn prefilled with `<think>`
so small models keep the tag layout). A sample is correct when `trainers.rewards.answer_score` of its answer reaches
`correct_score`. With c correct of n answered samples, pass@k is the unbiased estimate 1 − C(n−c, k) / C(n, k)
(k = `pass_k`, 1 by default: the plain pass rate) and **difficulty = 1 − pass@k**.

Items the policy always solves give GRPO no signal (every reward in the group is equal), nor do items it always
fails. Dropping both is the usual recipe, but a tiny policy such as the embedded SmolLM2-135M fails nearly every
item, so dropping all-wrong items would leave an empty pool on the demo. Defaults: all-correct items are dropped
(`drop_all_correct=True`), all-wrong items are kept (`drop_all_wrong=False`) with difficulty 1.0; with a policy
that is the model you will train, set `drop_all_wrong=True`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from curation.collection import Batches, Collection, StageRows
from curation.llm.base import GenRequest, LLMBackend
from curation.llm.identity import llm_identity
from curation.stage import Rejected, Stage, StageConfig
from schemas import TaskRecord, VideoView
from trainers.rewards import AnswerConfig, answer_score, parse_completion
from trainers.textview import task_messages

log = logging.getLogger(__name__)
UNKNOWN = 0.5


class DifficultyConfig(StageConfig):
    """K samples per item, how they are drawn and scored, and which items the RL pool drops."""

    k: int = Field(4, ge=1, description="samples per item")
    pass_k: int = Field(1, ge=1, description="the k of pass@k (at most k)")
    temperature: float = Field(0.8, ge=0.0)
    max_new_tokens: int = Field(192, ge=1)
    seed: int = 0
    correct_score: float = Field(1.0, ge=0.0, le=1.0, description="answer_score that counts as correct")
    answer: AnswerConfig = Field(default_factory=AnswerConfig, description="set by the top-level `answer` section")
    subtitles: bool = True
    drop_all_correct: bool = True
    drop_all_wrong: bool = False


@dataclass
class Difficulty:
    """One item's outcome: samples answered, correct, failed, and difficulty = 1 − pass@k."""

    task_id: str
    samples: int
    correct: int
    errors: int
    difficulty: float


@dataclass
class Estimates:
    """The difficulty stage's result for the pools: one estimate per task, and the rule that keeps an item."""

    difficulties: list[Difficulty]
    keep: Callable[[Difficulty], Rejected | None]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021); 0 when n is 0."""
    if n == 0:
        return 0.0
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


class DifficultyStage(Stage[DifficultyConfig, TaskRecord, Difficulty]):
    """Estimates difficulty with a policy backend (the embedded LLM by default, passed in by the flow)."""

    name = "difficulty"
    Config = DifficultyConfig
    version = 1
    reads = ("tasks",)
    needs = ("tasks",)
    uses = ("policy",)  # the run's policy model, whose pass@K this is

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        return [llm_identity(run.policy)]

    @classmethod
    def build(cls, collection: Collection) -> DifficultyStage:
        return cls(collection.llm(collection.config.policy), collection.config.difficulty)

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """pass@K of every task, cached per task (the policy's K samples are a run's most expensive LLM work).

        Writes no table: the estimates go to the pools stage (`extra`), with `keep` to drop items by them."""
        tasks: list[TaskRecord] = collection.rows("tasks")

        def estimate(batch: list[TaskRecord]) -> list[Difficulty]:
            return self.estimate(batch, collection.views)

        keys = [t.task_id for t in tasks]
        found = batches.map(keys, tasks, estimate, Difficulty, size=max(1, batches.size // self.config.k))
        return StageRows(extra=Estimates(found, self.keep))

    def __init__(self, backend: LLMBackend, config: DifficultyConfig | None = None) -> None:
        super().__init__(config)
        self.backend = backend

    def models(self) -> list[str]:
        return [getattr(self.backend, "model_id", "unknown")]

    def estimate(self, tasks: list[TaskRecord], views: dict[str, VideoView]) -> list[Difficulty]:
        """One `Difficulty` per task, in order; all K×len(tasks) requests go to the backend as one batch."""
        cfg = self.config
        requests = []
        for task in tasks:
            messages = task_messages(task, views[task.video_id], subtitles=cfg.subtitles)
            requests += [
                GenRequest(messages, cfg.max_new_tokens, cfg.temperature, cfg.seed + i, prefill="<think>")
                for i in range(cfg.k)
            ]
        results = self.backend.generate(requests) if requests else []
        failed = Counter(r.error for r in results if r.error is not None)
        if failed:
            log.info("difficulty: %d of %d policy samples failed (%s)", sum(failed.values()), len(results),
                        ", ".join(f"{k} ×{v}" for k, v in failed.most_common()))  # fmt: skip
        out = []
        for n, task in enumerate(tasks):
            mine = results[n * cfg.k : (n + 1) * cfg.k]
            answered = [r for r in mine if r.error is None]
            correct = sum(
                answer_score(
                    parse_completion("<think>" + r.text).answer,
                    task.answer,
                    task.problem_type,
                    task.options,
                    cfg.answer,
                )
                >= cfg.correct_score - 1e-9
                for r in answered
            )
            # No answered sample says nothing about the item: it keeps the neutral RlRecord default.
            value = 1.0 - pass_at_k(len(answered), correct, cfg.pass_k) if answered else UNKNOWN
            out.append(Difficulty(task.task_id, len(answered), correct, len(mine) - len(answered), value))
        return out

    def keep(self, d: Difficulty) -> Rejected | None:
        """None when the item goes into the RL pool, else why not (`all_correct`, `all_wrong`).

        An item whose samples all failed (backend errors) is kept with difficulty 0.5: the policy's failure is
        not the item's."""
        if d.samples == 0:
            return None
        if self.config.drop_all_correct and d.correct == d.samples:
            return Rejected("all_correct", f"{d.correct}/{d.samples} samples correct")
        if self.config.drop_all_wrong and d.correct == 0:
            return Rejected("all_wrong", f"0/{d.samples} samples correct")
        return None
