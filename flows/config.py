"""The curate run's configuration: one validated section per stage, from YAML/TOML plus `--set` overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curation.asr import AsrConfig
from curation.difficulty import DifficultyConfig
from curation.draft import DraftConfig
from curation.evidence import EvidenceConfig
from curation.llm.factory import LLMConfig
from curation.negatives import NegativesConfig
from curation.pools import PoolsConfig
from curation.probe import ProbeConfig
from curation.refine import RefineConfig
from curation.shots import ShotsConfig
from curation.tasks import TasksConfig
from curation.verify import VerifyConfig
from flows.errors import UserError
from schemas.settings import ConfigError, Settings, load
from trainers.rewards import AnswerConfig

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")


def _seconds(default: float | None, what: str) -> Any:
    return Field(default, gt=0, description=f"seconds {what} (unset: no limit)")


# A collection stage can only stop between batches of LLM work; one that makes no LLM calls could never act on one.
_NO_TIMEOUT: Any = Field(None, description="none: the stage makes no LLM calls, so it has no point to stop at")


class StageTimeouts(Settings):
    """Seconds a stage may take; one field per stage, so `--set run.timeouts.shots=10` changes only shots and a
    stage name that does not exist is an error. Readers look a stage up by name: `getattr(config.run.timeouts,
    stage)`. A per-video stage's item that took longer is rejected with reason `timeout` (checked when it
    returns). draft, refine and difficulty start no batch once theirs has passed: the items left get reason
    `timeout`, never cached, so a re-run continues. tasks, verify, negatives and pools take none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probe: float | None = _seconds(120.0, "to probe one video")
    shots: float | None = _seconds(1800.0, "to detect one video's shots and keyframes")
    asr: float | None = _seconds(3600.0, "to transcribe one video")
    evidence: float | None = _seconds(1800.0, "to tag one video's keyframes")
    tasks: float | None = _NO_TIMEOUT
    draft: float | None = _seconds(None, "to draft the chains")
    refine: float | None = _seconds(None, "to refine the chains")
    verify: float | None = _NO_TIMEOUT
    negatives: float | None = _NO_TIMEOUT
    difficulty: float | None = _seconds(None, "to estimate difficulty")
    pools: float | None = _NO_TIMEOUT

    @field_validator("tasks", "verify", "negatives", "pools")
    @classmethod
    def _batched_only(cls, value: float | None) -> float | None:
        if value is not None:
            raise ValueError("only the per-video stages and draft, refine and difficulty take a timeout")
        return value


# Each worker loads its own models (about 1 GB more resident memory per worker with the embedded LLM and Whisper).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per core, at most `MAX_DEFAULT_WORKERS`: the LLM stages use one thread per worker, so on 2 cores
    the demo's synthesis takes 51 s with 2 workers and 79 s with 1 (draft 47 → 28 s, difficulty 23 → 15 s)."""
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


class RunConfig(Settings):
    """How the run is executed (not part of any stage's cache key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default_factory=default_workers,
        ge=1,
        le=64,
        description="videos, or LLM batches of draft, refine and difficulty, processed at once (threads or Dask "
        f"worker processes); default: the machine's cores, at most {MAX_DEFAULT_WORKERS}",
    )
    extensions: tuple[str, ...] = Field(VIDEO_EXTENSIONS, description="file extensions picked up from folders")
    timeouts: StageTimeouts = Field(
        default_factory=lambda: StageTimeouts(),
        description="seconds per stage before its item is rejected with reason `timeout` (unset: no limit)",
    )
    shard_rows: int = Field(50_000, ge=1, description="rows per Parquet shard when publishing")
    llm_batch: int = Field(16, ge=1, description="LLM requests per batch in the synthesis stages")
    runner: Literal["threads", "dask"] = Field(
        "threads",
        description="task runner of the per-video stages and the LLM batches: a thread pool here, or Dask worker "
        "processes (prefect-dask)",
    )
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (tcp://host:8786); unset: a LocalCluster of `workers`"
    )

    @model_validator(mode="after")
    def _address_needs_dask(self) -> RunConfig:
        if self.dask_address is not None and self.runner != "dask":
            raise ValueError("dask_address is set but runner is not dask (set run.runner=dask)")
        return self


class _AnswerOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: AnswerConfig


class CurateConfig(BaseModel):
    """Every section is optional; the defaults are the real defaults (tiny demo configs live in configs/)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: RunConfig = RunConfig()
    probe: ProbeConfig = ProbeConfig()
    shots: ShotsConfig = ShotsConfig()
    asr: AsrConfig = AsrConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    tasks: TasksConfig = TasksConfig()
    draft: DraftConfig = DraftConfig()
    refine: RefineConfig = RefineConfig()
    verify: VerifyConfig = VerifyConfig()
    negatives: NegativesConfig = NegativesConfig()
    difficulty: DifficultyConfig = DifficultyConfig()
    policy: LLMConfig = Field(default_factory=LLMConfig, description="the policy model whose pass@K sets difficulty")
    pools: PoolsConfig = PoolsConfig()
    answer: AnswerConfig = Field(
        default_factory=AnswerConfig,
        description="how an answer is scored against its truth (numeric tolerance, box time tolerance): set once "
        "here for verify and difficulty; the same settings as the trainers' grpo.rewards.answer",
    )

    @model_validator(mode="before")
    @classmethod
    def _answer_to_stages(cls, data: Any) -> Any:
        """The top-level `answer` section is what verify and difficulty score with (it is in their cache keys)."""
        if not isinstance(data, dict) or "answer" not in data:
            return data
        try:  # a bad `answer` is reported once, under its own key
            _AnswerOnly(answer=data["answer"])
        except ValidationError:
            return data
        data = dict(data)
        for stage in ANSWER_STAGES:
            section = data.get(stage, {})
            if isinstance(section, dict) and "answer" not in section:
                data[stage] = {**section, "answer": data["answer"]}
        return data

    @model_validator(mode="after")
    def _one_answer_config(self) -> CurateConfig:
        for stage in ANSWER_STAGES:
            if getattr(self, stage).answer != self.answer:
                raise ValueError(f"{stage}.answer: answer tolerances are set once, in the top-level `answer` section")
        return self


ANSWER_STAGES = ("verify", "difficulty")


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> CurateConfig:
    """Read a YAML or TOML config file (optional) and apply `--set` overrides; errors name the offending key."""
    try:
        return load(CurateConfig, path, overrides or [])
    except ConfigError as e:
        raise UserError(str(e)) from None
