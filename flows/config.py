"""The curate run's configuration: one validated section per stage, from YAML/TOML plus `--set` overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from curation.llm.factory import LLMConfig
from curation.registry import BY_NAME, STAGES
from flows.errors import UserError
from schemas.settings import ConfigError, Settings, load
from trainers.rewards import AnswerConfig

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")


class _Timeouts(Settings):
    """Seconds a stage may take; one field per stage (its `timeout` declaration), so `--set run.timeouts.shots=10`
    changes only shots and a stage name that does not exist is an error. Readers look a stage up by name:
    `getattr(config.run.timeouts, stage)`. A per-video stage's item that took longer is rejected with reason
    `timeout` (checked when it returns). A collection stage with a timeout starts no LLM batch once it has passed:
    the items left get reason `timeout`, never cached, so a re-run continues. Other collection stages take none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _only_stages_that_stop(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and BY_NAME[str(info.field_name)].timeout is None:
            raise ValueError(f"takes no timeout (only {', '.join(c.name for c in STAGES if c.timeout)} do)")
        return value


def _timeout_field(cls: type[Any]) -> tuple[Any, Any]:
    if cls.timeout is None:
        return float | None, Field(None, description="none: the stage has no point to stop at")
    return float | None, Field(cls.timeout.default, gt=0, description=f"seconds {cls.timeout.what} (unset: no limit)")


StageTimeouts = create_model(  # type: ignore[call-overload]
    "StageTimeouts", __base__=_Timeouts, **{cls.name: _timeout_field(cls) for cls in STAGES}
)


# Each worker loads its own models (about 1 GB more resident memory per worker with the embedded LLM and Whisper).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per core, at most `MAX_DEFAULT_WORKERS`: the LLM stages use one thread per worker, so a second
    worker on a second core runs a second batch at once."""
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
    timeouts: StageTimeouts = Field(  # type: ignore[valid-type]
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


class _RunSections(BaseModel):
    """Every section is optional; the defaults are the real defaults (tiny demo configs live in configs/). Besides
    these, one section per registered stage (its `Config`), named after it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: RunConfig = RunConfig()
    policy: LLMConfig = Field(default_factory=LLMConfig, description="the policy model whose pass@K sets difficulty")
    answer: AnswerConfig = Field(
        default_factory=AnswerConfig,
        description="how an answer is scored against its truth (numeric tolerance, box time tolerance): set once "
        "here for the stages that score answers; the same settings as the trainers' grpo.rewards.answer",
    )

    @model_validator(mode="before")
    @classmethod
    def _answer_to_stages(cls, data: Any) -> Any:
        """The top-level `answer` section is what the stages with an `answer` field score with (in their keys)."""
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
    def _one_answer_config(self) -> _RunSections:
        for stage in ANSWER_STAGES:
            if getattr(self, stage).answer != self.answer:
                raise ValueError(f"{stage}.answer: answer tolerances are set once, in the top-level `answer` section")
        return self


ANSWER_STAGES = tuple(cls.name for cls in STAGES if "answer" in cls.Config.model_fields)
_Sections = create_model(  # type: ignore[call-overload]
    "CurateConfig", __base__=_RunSections, **{cls.name: (cls.Config, cls.Config()) for cls in STAGES}
)


class CurateConfig(_Sections):  # type: ignore[misc,valid-type]
    """A curate run's configuration: `run`, `policy`, `answer` and one section per registered stage."""


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> CurateConfig:
    """Read a YAML or TOML config file (optional) and apply `--set` overrides; errors name the offending key."""
    try:
        return load(CurateConfig, path, overrides or [])
    except ConfigError as e:
        raise UserError(str(e)) from None
