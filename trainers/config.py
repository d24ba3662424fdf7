"""Typed, validated configuration of SFT, GRPO and eval, loadable from YAML or TOML and overridable from the CLI.

A config file holds one section per command (``sft``, ``grpo``, ``eval``); keys are the field names below, nested
tables for nested objects (``[grpo.rewards.tiou]``). A bad key or value is an error that names the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from trainers.rewards import RewardConfig

VARIANTS = ("grpo", "t-grpo", "dgrpo")
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")


def default_threads() -> int:
    """Half the visible cores, at least one: on a shared 2-core box two torch threads were 5× slower than one."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class LoraSettings:
    """LoRA adapter (peft) on the attention and MLP projections."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str = "all-linear"


@dataclass
class SftSettings:
    """Cold-start SFT on the ``sft`` pool (loss on the assistant turn only)."""

    model: str | None = None  # model dir or run dir; None = the embedded SmolLM2-135M
    split: str = "train"
    max_steps: int = -1  # -1: train for `epochs`
    epochs: float = 1.0
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 5e-5
    warmup: float = 0.0  # int ≥ 1: steps; float in [0, 1): fraction of all steps
    max_length: int = 512
    save_steps: int = 50
    save_total_limit: int = 2
    logging_steps: int = 5
    seed: int = 0
    threads: int = field(default_factory=default_threads)
    streaming: bool = False  # stream shards instead of loading the pool into memory (needs max_steps)
    subtitles: bool = True  # False: cut the transcript block out of every prompt
    images: int = 4  # keyframes per row for vision-language models (text-only models ignore it)
    lora: LoraSettings = field(default_factory=LoraSettings)


@dataclass
class TemporalSettings:
    """T-GRPO: each item is also rolled out on a shuffled-shot view of its prompt.

    A correct ordered rollout (accuracy ≥ ``correct_threshold``) earns ``bonus`` only when the group's ordered
    accuracy p beats the shuffled accuracy p̃ by the ratio: p > ``ratio`` × p̃ (and p > 0). The default 1.0
    asks for strictly better accuracy with the order than without; a ratio below 1 loosens that.
    """

    bonus: float = 0.3
    ratio: float = 1.0
    correct_threshold: float = 0.5


@dataclass
class DifficultySettings:
    """DGRPO: each completion's advantage is multiplied by w = min_weight + (max_weight − min_weight) × d,
    d = the item's ``difficulty`` from the pool clipped to [0, 1] (0.5, the pool's default, gives w = 1)."""

    min_weight: float = 0.5
    max_weight: float = 1.5


@dataclass
class GrpoSettings:
    """GRPO and its variants on the ``rl`` pool."""

    model: str | None = None
    variant: str = "grpo"
    loss_type: str = "dapo"
    beta: float = 0.0
    scale_rewards: str = "group"
    split: str = "train"
    max_steps: int = 20
    batch_size: int = 4
    grad_accum: int = 1
    num_generations: int = 4
    max_prompt_length: int = 768  # prompts longer than this are dropped from the pool (logged)
    max_completion_length: int = 192
    temperature: float = 1.0
    learning_rate: float = 1e-6
    save_steps: int = 50
    save_total_limit: int = 2
    logging_steps: int = 1
    seed: int = 0
    threads: int = field(default_factory=default_threads)
    subtitles: bool = True
    images: int = 4  # keyframes per prompt for vision-language models (text-only models ignore it)
    lora: LoraSettings = field(default_factory=LoraSettings)
    rewards: RewardConfig = field(default_factory=RewardConfig)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    difficulty: DifficultySettings = field(default_factory=DifficultySettings)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"grpo.variant: {self.variant!r} is not one of {', '.join(VARIANTS)}")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"grpo.loss_type: {self.loss_type!r} is not one of {', '.join(LOSS_TYPES)}")
        if self.num_generations < 2:
            raise ValueError("grpo.num_generations: must be at least 2 (advantages compare rollouts)")
        if (self.batch_size * self.grad_accum) % self.num_generations:
            raise ValueError(
                f"grpo.batch_size × grad_accum ({self.batch_size * self.grad_accum}) must be divisible by "
                f"num_generations ({self.num_generations})"
            )


@dataclass
class EvalSettings:
    """Held-out evaluation: batched greedy decoding (sampling when ``samples`` > 1)."""

    model: str | None = None
    split: str = "test"
    limit: int | None = None
    samples: int = 1  # > 1: self-consistency vote over this many sampled completions
    temperature: float = 0.7  # used only when samples > 1
    batch_size: int = 8
    max_new_tokens: int = 192
    subtitles: str = "both"  # with | without | both
    images: int = 4  # keyframes per item for vision-language models (text-only models ignore it)
    threads: int = field(default_factory=default_threads)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.subtitles not in ("with", "without", "both"):
            raise ValueError(f"eval.subtitles: {self.subtitles!r} is not one of with, without, both")
        if self.samples < 1:
            raise ValueError("eval.samples: must be at least 1")


T = TypeVar("T")


def load_file(path: Path | str) -> dict[str, Any]:
    """A YAML (.yaml/.yml) or TOML (.toml) file as a mapping."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    if path.suffix == ".toml":
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(path.read_text()) or {}
    else:
        raise ValueError(f"config file {path}: expected .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ValueError(f"config file {path}: expected a mapping at the top level")
    return data


def build(cls: type[T], data: dict[str, Any], prefix: str) -> T:
    """A dataclass from a mapping, recursively; unknown keys and wrong types raise ValueError naming the key."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{prefix}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
    kwargs = {name: _coerce(hints[name], value, f"{prefix}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"{prefix}: {e}") from None


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(args[0], value, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a table of settings, got {value!r}")
        return build(tp, value, key)  # type: ignore[arg-type]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a mapping, got {value!r}")
        _, vt = typing.get_args(tp)
        return {k: _coerce(vt, v, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        return tuple(_coerce(typing.get_args(tp)[0], v, key) for v in value)
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and not (isinstance(value, tp) and not (tp is int and isinstance(value, bool))):
        raise ValueError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def load_settings(cls: type[T], section: str, path: Path | str | None, overrides: dict[str, Any]) -> T:
    """Settings from the ``section`` of a config file (if any), then CLI ``overrides``.

    Override keys may be dotted (``"lora.enabled"``); None values are skipped (the option was not given).
    """
    data: dict[str, Any] = dict(load_file(path).get(section, {})) if path else {}
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")  # "lora.enabled" sets a nested field
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return build(cls, data, section)
