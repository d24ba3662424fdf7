"""Difficulty of RL items from a policy model's pass rate, and which items the RL pool keeps.

Each task is put to the policy up to K times (sampled at `temperature`). A sample is correct when
`trainers.rewards.answer_score` of its answer reaches `correct_score`. With c correct of n answered samples, pass@k
is the unbiased estimate 1 − C(n−c, k) / C(n, k) (k = `pass_k`, 1 by default: the plain pass rate) and
**difficulty = 1 − pass@k**.

Which policy answers, and how (`prime`): a pass rate means something only if the policy answers in the expected
format. The embedded SmolLM2-135M rarely closes `<think>` on its own, so with it (`prime: auto`, no `policy.model`)
the assistant turn is prefilled with an empty think block and `<answer>` (`prime: answer`): the policy writes the
answer alone, stopped at `</answer>` or the end of its first line, which also makes a sample a few tokens instead
of a whole chain. A policy
given by path (`policy.model`, e.g. the recipe's SFT model) is prefilled with `<think>` only (`prime: think`) and
reasons first. Each estimate names its policy and prime (`Difficulty.policy`); the pools stage puts it in the RL
rows' provenance, so the card's provenance table says which policy the difficulties come from.

Cheap: the K samples of a task come from one prompt encoding (`LLMBackend.sample`; CTranslate2 draws them as K
hypotheses), tasks are batched together, and sampling stops early (`early_stop`) once a task's bucket cannot change:
the buckets are what the keep rule decides on (all correct, mixed, all wrong), so a task with one correct and one
wrong answer is mixed whatever the rest would say, and its difficulty is the estimate from the samples drawn.
CTranslate2 judges each sample as it finishes and stops the task's other samples in the same call; other backends
draw K/2 samples, then the rest for the tasks not settled. All-correct and all-wrong tasks get all K.

Only tasks that can make an RL row are estimated: a task the pools leave out whatever its difficulty
(prompt-answerable, or leaky with `pools.rl_skip_leaky`; `curation.admission`) costs no samples.

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
from functools import partial
from typing import Any, Literal

from pydantic import Field

from curation.admission import rl_rule
from curation.budget import BudgetConfig, budgeted_messages
from curation.collection import Batches, Collection, StageRows, Work
from curation.llm.base import GenRequest, GenResult, LLMBackend
from curation.llm.identity import llm_identity
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from schemas import TaskRecord, VideoView
from trainers.rewards import AnswerConfig, answer_score, parse_completion

log = logging.getLogger(__name__)
# pass@K beyond this many samples per item costs K generations per task for a difficulty that no longer moves.
MAX_K = 64


class DifficultyConfig(StageConfig):
    """K samples per item, how they are drawn and scored, and which items the RL pool drops."""

    k: int = Field(4, ge=1, le=MAX_K, description=f"samples per item (at most; see early_stop), 1..{MAX_K}")
    pass_k: int = Field(1, ge=1, description="the k of pass@k (at most k)")
    temperature: float = Field(0.8, ge=0.0)
    max_new_tokens: int = Field(192, ge=1, description="per sample with prime 'think'")
    answer_tokens: int = Field(24, ge=1, description="per sample with prime 'answer' (the answer alone)")
    prime: Literal["auto", "answer", "think"] = Field(
        "auto",
        description="how the assistant turn starts: 'answer' (empty think, then <answer>), 'think' "
        "(<think>), 'auto' ('think' when policy.model is set, else 'answer')",
    )
    early_stop: bool = Field(True, description="stop sampling a task once its bucket cannot change")
    seed: int = 0
    correct_score: float = Field(1.0, ge=0.0, le=1.0, description="answer_score that counts as correct")
    answer: AnswerConfig = Field(default_factory=AnswerConfig, description="set by the top-level `answer` section")
    subtitles: bool = True
    budget: BudgetConfig = Field(
        default_factory=BudgetConfig, description="viewing budget of the policy's prompt (curation.budget)"
    )
    drop_all_correct: bool = True
    drop_all_wrong: bool = False


@dataclass
class Difficulty:
    """One item's outcome: samples answered, correct, failed, and difficulty = 1 − pass@k; None when no sample
    was answered, with `reason` saying why (the samples' error code, or `timeout`)."""

    task_id: str
    samples: int
    correct: int
    errors: int
    difficulty: float | None
    policy: str = ""  # the model and prime that answered, e.g. "SmolLM2-… via ctranslate2 4.8.5 int8; prime=answer"
    reason: str | None = None


@dataclass
class Estimates:
    """The difficulty stage's result for the pools: one estimate per task, and the rule that keeps an item."""

    difficulties: list[Difficulty]
    keep: Callable[[Difficulty], Rejected | None]


PREFILLS = {"answer": "<think>\n</think>\n<answer>", "think": "<think>"}
STOP = "</answer>"
# What ends a sample: the answer block, and with prime `answer` also the answer's first line (answers are one line;
# a policy that rambles on costs decoding and says nothing more: 2x fewer tokens on the demo's tasks)
STOPS = {"answer": [STOP, "\n"], "think": [STOP]}


def bucket(correct: int, answered: int) -> str:
    """What the keep rule decides on: `all_correct`, `all_wrong`, `mixed`, or `unknown` (nothing answered)."""
    if answered == 0:
        return "unknown"
    if correct == answered:
        return "all_correct"
    return "all_wrong" if correct == 0 else "mixed"


def settled(correct: int, answered: int) -> bool:
    """True when no further sample can change the bucket: a correct and a wrong answer make it `mixed` for good."""
    return 0 < correct < answered


def resolve_prime(prime: str, policy_model: str | None) -> str:
    """`auto` → `think` for a policy given by path (e.g. an SFT model), `answer` for the embedded one."""
    if prime != "auto":
        return prime
    return "think" if policy_model else "answer"


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
    timeout = TimeLimit(None, "to estimate difficulty")
    Config = DifficultyConfig
    version = 4  # 4: a task no sample answered has no difficulty (null) and a reason
    reads = ("tasks",)
    needs = ("tasks",)
    uses = ("policy",)  # the run's policy model, whose pass@K this is

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        assert isinstance(config, DifficultyConfig)
        return [llm_identity(run.policy), f"prime={resolve_prime(config.prime, run.policy.model)}"]

    @classmethod
    def build(cls, collection: Collection) -> DifficultyStage:
        policy, pools = collection.config.policy, collection.config.pools
        # a partial, not a closure: the stage crosses to Dask workers with its batches
        admit = partial(rl_rule, keep_prompt_answerable=pools.keep_prompt_answerable, skip_leaky=pools.rl_skip_leaky)
        return cls(collection.llm(policy), collection.config.difficulty, policy_model=policy.model, admit=admit)

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """pass@K of every task that can make an RL row, cached per task (the policy's K samples are a run's most
        expensive LLM work); a task the pools leave out whatever its difficulty (`admit`) is not estimated.

        Writes no table: the estimates go to the pools stage (`extra`), with `keep` to drop items by them."""
        every: list[TaskRecord] = collection.rows("tasks")
        tasks = [t for t in every if self.admit is None or self.admit(t) is None]
        if len(tasks) < len(every):
            log.info("difficulty: %d of %d tasks make no RL row whatever their difficulty; not estimated",
                     len(every) - len(tasks), len(every))  # fmt: skip
        estimate: Work[TaskRecord, Difficulty] = Work(self, "estimate", collection.views)
        keys = [t.task_id for t in tasks]
        # Batches of tasks, not of samples: K samples of a task share one prompt encoding.
        found = batches.map(keys, tasks, estimate, Difficulty, size=max(1, batches.size), late=self.unknown)
        by_id = {t.task_id: t for t in tasks}
        unmeasured = [Rejected(d.reason or "not_measured", f"no sample answered ({d.errors} failed); kept in rl with "
                               "a null difficulty", by_id[d.task_id].video_id, d.task_id)
                      for d in found if d.difficulty is None]  # fmt: skip
        stats = {"not_estimated": len(every) - len(tasks), "not_measured": len(unmeasured)}
        return StageRows(rejected=unmeasured, extra=Estimates(found, self.keep), stats=stats)

    def __init__(
        self,
        backend: LLMBackend,
        config: DifficultyConfig | None = None,
        policy_model: str | None = None,
        admit: Callable[[TaskRecord], Rejected | None] | None = None,
    ) -> None:
        super().__init__(config)
        self.backend = backend
        #: why a task makes no RL row whatever its difficulty (the pools' own rules), or None; None: estimate all
        self.admit = admit
        self.prime = resolve_prime(self.config.prime, policy_model)
        #: which policy made the difficulties, and how it was primed (in every Difficulty and the RL provenance)
        self.policy = f"{getattr(backend, 'model_id', 'unknown')}; prime={self.prime}"

    def models(self) -> list[str]:
        return [self.policy]

    def unknown(self, task: TaskRecord, why: Rejected) -> Difficulty:
        """No estimate (the stage's timeout passed first): no sample, so `keep` keeps the item, as when the policy
        failed every sample; the policy's failure, or the run's, is not the item's."""
        return Difficulty(task.task_id, 0, 0, 0, None, self.policy, why.reason)

    def estimate(self, tasks: list[TaskRecord], views: dict[str, VideoView]) -> list[Difficulty]:
        """One `Difficulty` per task, in order: up to K samples of every task in one `sample` call, which stops
        drawing for a task once its bucket is settled (when `early_stop`)."""
        cfg = self.config
        prefill = PREFILLS[self.prime]
        max_new = cfg.answer_tokens if self.prime == "answer" else cfg.max_new_tokens
        requests = [
            GenRequest(budgeted_messages(t, views[t.video_id], cfg.budget, self.backend.max_input_tokens,
                                         cfg.subtitles), max_new, cfg.temperature,
                       cfg.seed, prefill=prefill, stop=STOPS[self.prime])
            for t in tasks
        ]  # fmt: skip

        def settle(i: int, done: list[GenResult]) -> bool:
            scores = [self._correct(tasks[i], r) for r in done if r.error is None]
            return settled(sum(scores), len(scores))

        samples = self.backend.sample(requests, cfg.k, settle if cfg.early_stop else None) if requests else []
        failed = Counter(r.error for rs in samples for r in rs if r.error is not None)
        drawn = sum(len(rs) for rs in samples)
        log.info("difficulty: %d tasks, %d samples (%d without early stopping)%s", len(tasks), drawn,
                 len(tasks) * cfg.k, "; failed: " + ", ".join(f"{k} ×{v}" for k, v in failed.most_common())
                 if failed else "")  # fmt: skip
        out = []
        for task, rs in zip(tasks, samples, strict=True):
            answered = [r for r in rs if r.error is None]
            correct = sum(self._correct(task, r) for r in answered)
            # No answered sample says nothing about the item: no difficulty, and why (the commonest error code).
            value = 1.0 - pass_at_k(len(answered), correct, cfg.pass_k) if answered else None
            why = None if answered else Counter(r.error for r in rs).most_common(1)[0][0] if rs else "no_samples"
            out.append(Difficulty(task.task_id, len(answered), correct, len(rs) - len(answered), value, self.policy,
                                  why))  # fmt: skip
        return out

    def _correct(self, task: TaskRecord, r: GenResult) -> bool:
        """Whether one sample's answer scores `correct_score`. With prime `think` the completion (the prefill and
        the cut `</answer>` put back) must hold one answer block; with prime `answer` the answer is the text of the
        last `<answer>` opened (the prefill's, unless the policy wrote a block of its own)."""
        completion = PREFILLS[self.prime] + r.text + (STOP if STOP not in r.text else "")
        if self.prime == "think":
            answer = parse_completion(completion).answer
        else:
            answer = completion.rsplit("<answer>", 1)[1].split(STOP, 1)[0].strip()
        cfg = self.config
        score = answer_score(answer, task.answer, task.problem_type, task.options, cfg.answer)
        return score >= cfg.correct_score - 1e-9

    def keep(self, d: Difficulty) -> Rejected | None:
        """None when the item goes into the RL pool, else why not (`all_correct`, `all_wrong`).

        An item whose samples all failed (backend errors) is kept with no difficulty (null): the policy's failure
        is not the item's."""
        if d.samples == 0:
            return None
        if self.config.drop_all_correct and d.correct == d.samples:
            return Rejected("all_correct", f"{d.correct}/{d.samples} samples correct")
        if self.config.drop_all_wrong and d.correct == 0:
            return Rejected("all_wrong", f"0/{d.samples} samples correct")
        return None
