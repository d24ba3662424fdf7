"""T-GRPO and DGRPO on top of TRL's ``GRPOTrainer``: one reward and one small subclass, no trainer copy.

**T-GRPO** (temporal contrast, after Video-R1). ``TemporalContrastReward`` is an extra reward function. For each
item in the batch (its rollouts are grouped by ``sample_id``) it builds one shuffled view of the prompt — the shot
lines permuted, their numbers and times removed (`trainers.prompts.shuffled_view`) — and the trainer generates
as many rollouts on that view as on the real one. With p the mean accuracy of the ordered rollouts and p̃ that of
the shuffled ones, every ordered rollout whose accuracy is ≥ ``correct_threshold`` gets ``bonus`` when
p > ``ratio`` × p̃ and p > 0; otherwise the reward is 0. Items without at least two shots get 0 and cost no extra
generation. The shuffled rollouts only score; they are never trained on.

**DGRPO** (difficulty-weighted). After TRL has computed the group-normalised advantages, each completion's
advantage is multiplied by w(d) = min_weight + (max_weight − min_weight) × clip(d, 0, 1), d = the item's
``difficulty`` column from the ``rl`` pool (1 − pass rate of a policy model; w = 1 when null). With the defaults
(0.5, 1.5) a hard item moves the policy three times as much as an easy one and d = 0.5 is plain GRPO.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from trainers.config import DifficultySettings, TemporalSettings
from trainers.prompts import shuffled_view
from trainers.rewards import AnswerConfig, accuracy_reward

Generate = Callable[[list[Any]], list[str]]


def difficulty_weights(difficulties: Sequence[float | None], settings: DifficultySettings) -> list[float]:
    """DGRPO advantage weights: min_weight + (max_weight − min_weight) × clip(d, 0, 1); 1 (the advantage as GRPO
    computed it) for an item whose difficulty was not measured (None)."""
    span = settings.max_weight - settings.min_weight
    return [1.0 if d is None else settings.min_weight + span * min(1.0, max(0.0, float(d))) for d in difficulties]


def temporal_bonus(
    ordered: Sequence[float],
    shuffled: Sequence[float | None],
    groups: Sequence[str],
    settings: TemporalSettings,
) -> list[float]:
    """T-GRPO bonus per ordered rollout, from ordered accuracies, shuffled accuracies (None: no shuffled view
    for that rollout) and group keys. See the module docstring for the rule."""
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out = [0.0] * len(ordered)
    for idx in by_group.values():
        shuf = [shuffled[i] for i in idx if shuffled[i] is not None]
        if not shuf:
            continue
        p = sum(ordered[i] for i in idx) / len(idx)
        p_shuffled = sum(shuf) / len(shuf)  # type: ignore[arg-type]
        if p > 0 and p > settings.ratio * p_shuffled:
            for i in idx:
                if ordered[i] >= settings.correct_threshold:
                    out[i] = settings.bonus
    return out


def group_keys(prompts: Sequence[Any], sample_id: Sequence[str] | None) -> list[str]:
    """Which rollouts belong to the same item: by ``sample_id`` when the pool has it, else by prompt text."""
    if sample_id is not None:
        return [str(s) for s in sample_id]
    return [json.dumps(p, sort_keys=True, default=str) for p in prompts]


class TemporalContrastReward:
    """The T-GRPO reward function. Needs a generator (``bind``) that returns one completion text per prompt;
    ``VidcotGRPOTrainer`` binds its own policy."""

    __name__ = "temporal_reward"  # TRL names reward columns by __name__

    def __init__(self, settings: TemporalSettings, answer: AnswerConfig | None = None, seed: int = 0) -> None:
        self.settings = settings
        self.answer = answer
        self.seed = seed
        self.generate: Generate | None = None

    def bind(self, generate: Generate) -> None:
        """Set the function that rolls out the shuffled prompts."""
        self.generate = generate

    def _rng(self, key: str, step: int) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{step}:{key}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        solution: Sequence[str],
        problem_type: Sequence[str],
        options: Sequence[Sequence[str] | None] | None = None,
        sample_id: Sequence[str] | None = None,
        trainer_state: Any = None,
        log_metric: Callable[[str, float], None] | None = None,
        **kw: Any,
    ) -> list[float]:
        if self.generate is None:
            raise RuntimeError("TemporalContrastReward is not bound to a generator; use VidcotGRPOTrainer")
        step = getattr(trainer_state, "global_step", 0)
        groups = group_keys(prompts, sample_id)
        views: dict[str, Any] = {}
        for g, p in zip(groups, prompts, strict=True):
            if g not in views:
                views[g] = shuffled_view(list(p), self._rng(g, step)) if isinstance(p, list) else None
        todo = [i for i, g in enumerate(groups) if views[g] is not None]
        shuffled: list[float | None] = [None] * len(prompts)
        if todo:
            texts = self.generate([views[groups[i]] for i in todo])
            accs = accuracy_reward(
                texts,
                [solution[i] for i in todo],
                [problem_type[i] for i in todo],
                [options[i] for i in todo] if options is not None else None,
                config=self.answer,
            )
            for i, a in zip(todo, accs, strict=True):
                shuffled[i] = a
        ordered = accuracy_reward(completions, solution, problem_type, options, config=self.answer)
        bonus = temporal_bonus(ordered, shuffled, groups, self.settings)
        if log_metric is not None and todo:
            log_metric("t_grpo/ordered_accuracy", sum(ordered[i] for i in todo) / len(todo))
            log_metric("t_grpo/shuffled_accuracy", sum(shuffled[i] or 0.0 for i in todo) / len(todo))
            log_metric("t_grpo/bonus_rate", sum(b > 0 for b in bonus) / len(bonus))
        return bonus


@functools.cache
def make_trainer_class() -> type:
    """``VidcotGRPOTrainer``, built lazily so importing this module does not import TRL."""
    import torch
    from trl import GRPOTrainer

    class VidcotGRPOTrainer(GRPOTrainer):
        """``GRPOTrainer`` + DGRPO advantage weights + a policy-bound generator for ``TemporalContrastReward``."""

        def __init__(self, *args: Any, difficulty: DifficultySettings | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.difficulty = difficulty
            for func in self.reward_funcs:
                if isinstance(func, TemporalContrastReward):
                    func.bind(self.generate_texts)

        def generate_texts(self, prompts: list[Any]) -> list[str]:
            """One sampled completion per prompt from the current policy (same sampling settings as the
            rollouts), decoded to text; used for the shuffled views."""
            prompt_ids, images, fields = self._tokenize_prompts(prompts)
            ids, _ = self._generate_single_turn(prompt_ids, images, fields, self.num_generations)
            return self._tokenizer.batch_decode(ids, skip_special_tokens=True)

        def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
            output = super()._generate_and_score_completions(inputs)
            if self.difficulty is not None:
                adv = output["advantages"]
                weights = difficulty_weights([x.get("difficulty") for x in inputs], self.difficulty)
                w = torch.tensor(weights, dtype=adv.dtype, device=adv.device)
                output["advantages"] = adv * (w if adv.dim() == 1 else w.unsqueeze(1))
                mode = "train" if self.model is not None and self.model.training else "eval"
                self._metrics[mode]["dgrpo/mean_weight"].append(float(w.mean()))
            return output

    return VidcotGRPOTrainer
