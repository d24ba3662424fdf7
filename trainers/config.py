"""Typed, validated configuration of SFT, GRPO and eval: pydantic models read by the one config system.

A config file (YAML or TOML) holds one section per command (``sft``, ``grpo``, ``eval``); keys are the field names
below, nested tables for nested objects (``[grpo.rewards.tiou]``). `vidcot train` and `vidcot eval` read it with
``schemas.settings`` — the same loader and ``--set key.path=value`` parser as `vidcot curate` — so an unknown key
or a bad value (``learning_rate: fast``, ``batch_size: 0``) is a one-line error naming the key and the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator

from schemas.settings import ConfigError, Settings, load, validate
from trainers.rewards import RewardConfig

Variant = Literal["grpo", "t-grpo", "dgrpo"]
LossType = Literal["grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo"]
VARIANTS: tuple[str, ...] = Variant.__args__  # type: ignore[attr-defined]
LOSS_TYPES: tuple[str, ...] = LossType.__args__  # type: ignore[attr-defined]


def default_threads() -> int:
    """Half the visible cores, at least one: on a shared 2-core box two torch threads were 5× slower than one."""
    return max(1, (os.cpu_count() or 2) // 2)


def _max_steps(default: int) -> Any:
    return Field(default, ge=-1, description="optimizer steps to run; -1: train for `epochs`")


class LoraSettings(Settings):
    """LoRA adapter (peft) on the attention and MLP projections."""

    enabled: bool = False
    r: int = Field(16, ge=1, description="adapter rank")
    alpha: int = Field(32, ge=1, description="scaling numerator (alpha / r)")
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: str = Field("all-linear", min_length=1)


class _Training(Settings):
    """What SFT and GRPO share: the step budget, the optimizer, saving, logging, threads and the prompt view."""

    model: str | None = Field(None, description="model dir or run dir; unset: the embedded SmolLM2-135M")
    split: str = Field("train", min_length=1)
    max_steps: int = _max_steps(-1)
    batch_size: int = Field(8, ge=1, description="per-device batch size")
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    learning_rate: float = Field(5e-5, gt=0.0)
    save_steps: int = Field(50, ge=1)
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(5, ge=1)
    seed: int = Field(0, ge=0)
    threads: int = Field(default_factory=default_threads, ge=1, description="torch threads")
    subtitles: bool = Field(True, description="False: cut the transcript block out of every prompt")
    images: int = Field(4, ge=0, description="keyframes per row for vision-language models (text-only: ignored)")
    lora: LoraSettings = Field(default_factory=LoraSettings)

    @model_validator(mode="after")
    def _some_steps(self) -> _Training:
        if self.max_steps == 0:
            raise ValueError("max_steps: 0 trains nothing (use -1 to train for the configured epochs)")
        return self


class SftSettings(_Training):
    """Cold-start SFT on the ``sft`` pool (loss on the assistant turn only)."""

    epochs: float = Field(1.0, gt=0.0)
    warmup: float = Field(0.0, ge=0.0, description="≥ 1: warmup steps; in [0, 1): a fraction of all steps")
    max_length: int = Field(512, ge=1, description="tokens per example")
    streaming: bool = Field(False, description="stream shards instead of loading the pool (needs max_steps)")


class TemporalSettings(Settings):
    """T-GRPO: each item is also rolled out on a shuffled-shot view of its prompt.

    A correct ordered rollout (accuracy ≥ ``correct_threshold``) earns ``bonus`` only when the group's ordered
    accuracy p beats the shuffled accuracy p̃ by the ratio: p > ``ratio`` × p̃ (and p > 0). The default 1.0
    asks for strictly better accuracy with the order than without; a ratio below 1 loosens that.
    """

    bonus: float = Field(0.3, ge=0.0)
    ratio: float = Field(1.0, ge=0.0)
    correct_threshold: float = Field(0.5, ge=0.0, le=1.0)


class DifficultySettings(Settings):
    """DGRPO: each completion's advantage is multiplied by w = min_weight + (max_weight − min_weight) × d,
    d = the item's ``difficulty`` from the pool clipped to [0, 1]; an item with a null difficulty gets w = 1."""

    min_weight: float = Field(0.5, ge=0.0)
    max_weight: float = Field(1.5, ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> DifficultySettings:
        if self.max_weight < self.min_weight:
            raise ValueError(f"max_weight ({self.max_weight}) is below min_weight ({self.min_weight})")
        return self


class GrpoSettings(_Training):
    """GRPO and its variants on the ``rl`` pool."""

    max_steps: int = _max_steps(20)
    batch_size: int = Field(4, ge=1, description="per-device batch size (completions, not prompts)")
    learning_rate: float = Field(1e-6, gt=0.0)
    logging_steps: int = Field(1, ge=1)
    variant: Variant = "grpo"
    loss_type: LossType = "dapo"
    beta: float = Field(0.0, ge=0.0, description="KL coefficient (0: no reference model)")
    scale_rewards: Literal["group", "batch", "none"] = "group"
    num_generations: int = Field(4, ge=2, description="rollouts per prompt (advantages compare rollouts)")
    max_prompt_length: int = Field(768, ge=1, description="prompts longer than this are dropped (logged)")
    max_completion_length: int = Field(192, ge=1)
    temperature: float = Field(1.0, gt=0.0)
    rewards: RewardConfig = Field(default_factory=RewardConfig)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    difficulty: DifficultySettings = Field(default_factory=DifficultySettings)

    @model_validator(mode="after")
    def _whole_groups(self) -> GrpoSettings:
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"batch_size × grad_accum ({self.batch_size * self.grad_accum}) must be divisible by "
                f"num_generations ({self.num_generations})"
            )
        return self


class EvalSettings(Settings):
    """Held-out evaluation: batched greedy decoding (sampling when ``samples`` > 1)."""

    model: str | None = None
    split: str = Field("test", min_length=1, description="split(s) to score, comma-separated")
    limit: int | None = Field(None, ge=1, description="score only the first N rows")
    samples: int = Field(1, ge=1, description="> 1: self-consistency vote over this many sampled completions")
    temperature: float = Field(0.7, gt=0.0, description="used only when samples > 1")
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(192, ge=1)
    subtitles: Literal["with", "without", "both"] = "both"
    images: int = Field(4, ge=0, description="keyframes per item for vision-language models (text-only: ignored)")
    threads: int = Field(default_factory=default_threads, ge=1)
    seed: int = Field(0, ge=0)


class TrainConfig(Settings):
    """A train/eval config file: every section optional; a section that is not one of these is an error."""

    sft: SftSettings = Field(default_factory=SftSettings)
    grpo: GrpoSettings = Field(default_factory=GrpoSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)


Section = Literal["sft", "grpo", "eval"]
S = TypeVar("S", SftSettings, GrpoSettings, EvalSettings)


def load_settings(
    cls: type[S],
    section: Section,
    path: Path | str | None = None,
    options: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> S:
    """Settings of ``section`` from a config file (optional), then CLI ``options`` (dotted keys such as
    ``"lora.enabled"``; None: the option was not given), then ``--set`` ``overrides`` relative to the section
    (``lora.r=8`` or ``sft.lora.r=8``). The whole file is validated; errors are one ``ConfigError`` line."""
    settings = getattr(load(TrainConfig, path, overrides, section=section, options=options), section)
    if not isinstance(settings, cls):
        raise ConfigError(f"section {section} holds {type(settings).__name__} settings, not {cls.__name__}")
    return settings


def build(cls: type[S], data: Mapping[str, Any], prefix: str) -> S:
    """``cls`` from a mapping; errors are one ``ConfigError`` line, keys under ``prefix`` (``grpo.lora.r``)."""
    field = TrainConfig.model_fields.get(prefix)
    if field is not None and field.annotation is cls:
        return getattr(validate(TrainConfig, {prefix: dict(data)}, "settings"), prefix)  # type: ignore[no-any-return]
    return validate(cls, data, prefix)
