"""The curate run's configuration: one validated section per stage, from YAML/TOML plus `--set` overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")


class RunConfig(BaseModel):
    """How the run is executed (not part of any stage's cache key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(1, ge=1, le=64, description="videos processed at once (threads)")
    extensions: tuple[str, ...] = Field(VIDEO_EXTENSIONS, description="file extensions picked up from folders")
    timeouts: dict[str, float] = Field(
        default_factory=lambda: {"probe": 120.0, "shots": 1800.0, "asr": 3600.0, "evidence": 1800.0},
        description="seconds per stage per video before the video is rejected with reason `timeout`",
    )
    shard_rows: int = Field(50_000, ge=1, description="rows per Parquet shard when publishing")
    llm_batch: int = Field(16, ge=1, description="LLM requests per batch in the synthesis stages")
    runner: Literal["threads", "dask"] = Field(
        "threads", description="perception task runner: a thread pool here, or Dask worker processes (prefect-dask)"
    )
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (tcp://host:8786); unset: a LocalCluster of `workers`"
    )

    @model_validator(mode="after")
    def _address_needs_dask(self) -> RunConfig:
        if self.dask_address is not None and self.runner != "dask":
            raise ValueError("dask_address is set but runner is not dask (set run.runner=dask)")
        return self


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


def _parse_value(text: str) -> Any:
    """`--set` values are YAML scalars: numbers, booleans, lists, or strings."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_override(doc: dict[str, Any], assignment: str) -> None:
    """Apply `section.key=value` (dots nest) to a config mapping."""
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise UserError(f"--set takes KEY=VALUE (e.g. shots.detector=content), got {assignment!r}")
    *parents, leaf = key.split(".")
    node = doc
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {key}: {p} is not a section")
    node[leaf] = _parse_value(value)


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> CurateConfig:
    """Read a YAML or TOML config file (optional) and apply overrides; errors name the offending key."""
    doc: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise UserError(f"config file {path} not found")
        text = path.read_text()
        try:
            loaded = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        except (yaml.YAMLError, tomllib.TOMLDecodeError) as e:
            raise UserError(f"config file {path} does not parse: {e}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise UserError(f"config file {path} must be a mapping of sections")
        doc = loaded or {}
    for assignment in overrides or []:
        apply_override(doc, assignment)
    try:
        return CurateConfig(**doc)
    except ValidationError as e:
        where = str(path) if path else "config"
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise UserError(f"bad config ({where}): {problems}") from None
