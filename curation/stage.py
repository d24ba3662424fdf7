"""The contract every curation stage follows.

A stage is a small object with a typed config, `setup()` that loads models once per worker, and `process(item)`
that never raises for one bad item: it returns a `Rejected` with a reason code instead. Stages know nothing of
Prefect, scheduling or storage; flows do that.

Each stage class declares, once, what the flow needs to run it: its `name` and `Config`, the tables it `reads`
and `writes`, the stages it `needs`, its code `version` and the prompt templates it uses. `curation/registry.py`
lists the classes in run order. Per-video stages (`per_video = True`) are called as `process(input_for(...))` on
one video at a time; collection stages as `run(collection, batches)` over every video at once (collection.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from curation import __version__
from curation.collection import Batches, Collection, StageRows
from schemas import Provenance
from schemas.synthesis import Rejected
from trainers.templates import PromptTemplate, combined_hash

__all__ = ["Rejected", "Stage", "StageConfig", "TimeLimit", "digest", "result_values", "stage_config_from", "stage_key",
           "stage_keys"]  # fmt: skip

In = TypeVar("In")
Out = TypeVar("Out")


def result_values(model: BaseModel) -> dict[str, Any]:
    """A config's values that can change results: fields named in a model's `execution_only` set (timeouts,
    retries, concurrency, threads, batch sizes, endpoint URLs) are left out, in nested models too."""
    skip: frozenset[str] = getattr(type(model), "execution_only", frozenset())
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name not in skip:
            out[name] = _values(getattr(model, name))
    return out


def _values(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return result_values(value)
    if isinstance(value, (list, tuple)):
        return [_values(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _values(v) for k, v in value.items()}
    return json.loads(json.dumps(value, default=str))


def digest(value: Any) -> str:
    """Stable 16-hex-digit hash of a JSON-able value (or of a config's result-changing values)."""
    if isinstance(value, BaseModel):
        value = result_values(value)
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StageConfig(BaseModel):
    """Base of every stage config: unknown keys are errors, so a typo in a config file is caught by name.

    Fields that only change how a result is computed, never what it is, are listed in `execution_only`: they
    stay out of `config_hash()`, so changing a timeout or a thread count never recomputes cached work.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    execution_only: ClassVar[frozenset[str]] = frozenset()

    def config_hash(self) -> str:
        """Stable hash of the config's result-changing values; part of every cache key and row's provenance."""
        return digest(self)


C = TypeVar("C", bound=StageConfig)


@dataclass(frozen=True)
class TimeLimit:
    """A stage's field in `run.timeouts`: its default seconds (None: no limit unless set) and what they bound."""

    default: float | None
    what: str


class Stage(Generic[C, In, Out]):
    """Base class: subclasses declare the contract below, and implement `process` (per video) or `run`."""

    name: ClassVar[str] = "stage"
    Config: ClassVar[type[StageConfig]] = StageConfig
    version: ClassVar[int] = 1  # bump by hand when the stage's logic changes what it produces
    per_video: ClassVar[bool] = False
    reads: ClassVar[tuple[str, ...]] = ()  # tables it reads
    writes: ClassVar[tuple[str, ...]] = ()  # tables it writes; a per-video result holds them in this order
    needs: ClassVar[tuple[str, ...]] = ()  # stages whose results it uses: their keys are part of its key
    uses: ClassVar[tuple[str, ...]] = ()  # run config sections besides its own it reads (e.g. the policy model)
    prompts: ClassVar[tuple[PromptTemplate, ...]] = ()  # templates it renders; their hashes are in its key
    fatal: ClassVar[bool] = False  # a video this stage rejects goes no further
    # Its `run.timeouts` field; None: it takes none (a collection stage can stop only between LLM batches).
    timeout: ClassVar[TimeLimit | None] = None

    def __init__(self, config: C | None = None) -> None:
        self.config: C = config if config is not None else self.Config()  # type: ignore[assignment]
        self._ready = False

    def setup(self) -> None:
        """Load models and other expensive state. Called once per worker before the first `process`."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def process(self, item: In) -> Out | Rejected:
        raise NotImplementedError

    @classmethod
    def build(cls, collection: Collection) -> Stage[Any, Any, Any]:
        """A collection stage's object for one run (stages holding an LLM override it to take the shared one)."""
        return cls(getattr(collection.config, cls.name))

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """A collection stage's work over every video: rows per table in `writes`, and what it dropped."""
        raise NotImplementedError

    def models(self) -> list[str]:
        """Model identifiers (name, package and version) used by this stage, for provenance."""
        return []

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        """What names the models this stage runs, beyond its config (e.g. an embedded model's package version)."""
        return []

    @classmethod
    def item_key(cls, item: Any) -> str:
        """A per-video stage's cache key of one item: the video's content hash."""
        return str(item.video_id)

    @classmethod
    def duplicates(cls, records: list[Any]) -> list[tuple[Any, Rejected]]:
        """The entry stage's records that repeat another's content, each with its rejection (none by default)."""
        return []

    @classmethod
    def input_for(cls, video: Any, upstream: Callable[[str, str], Any]) -> Any:
        """A per-video stage's `process` input: the video record, or `upstream(stage, table)` rows."""
        return video

    def stats(self, tables: Mapping[str, Any]) -> dict[str, float]:
        """Numbers the run summary adds up over videos (per-video stages), from the Arrow tables produced."""
        return {}

    def provenance(self, prompt_hash: str | None = None) -> Provenance:
        return Provenance(
            stage=self.name,
            config_hash=self.config.config_hash(),
            package_version=__version__,
            models=self.models(),
            prompt_hash=prompt_hash,
        )


def stage_key(cls: type[Stage[Any, Any, Any]], run: Any, upstream: Mapping[str, str]) -> str:
    """The cache key of a stage's results in one run configuration.

    It changes with what changes results: the stage's code version, its config's result-changing values, the
    config sections it `uses`, its prompt templates, its model identities, and the keys of the stages it needs
    (so a new shots setting recomputes evidence and everything after). Execution-only settings are not in it.
    """
    config = getattr(run, cls.name)
    parts: dict[str, Any] = {
        "stage": cls.name,
        "version": cls.version,
        "config": config.config_hash(),
        "uses": {u: digest(getattr(run, u)) for u in cls.uses},
        "prompts": combined_hash(*cls.prompts) if cls.prompts else "",
        "models": cls.identity(config, run),
        "needs": {n: upstream[n] for n in cls.needs if n in upstream},
    }
    return digest(parts)


def stage_keys(stages: Sequence[type[Stage[Any, Any, Any]]], run: Any) -> dict[str, str]:
    """`stage_key` of every stage, in order (each stage's needs come before it in the registry)."""
    keys: dict[str, str] = {}
    for cls in stages:
        keys[cls.name] = stage_key(cls, run, keys)
    return keys


def stage_config_from(cls: type[StageConfig], values: dict[str, Any] | None, where: str) -> StageConfig:
    """Build a stage config from a mapping, with errors that name the offending key and where it came from."""
    from pydantic import ValidationError

    try:
        return cls(**(values or {}))
    except ValidationError as e:
        problems = "; ".join(f"{where}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ValueError(f"bad config: {problems}") from None
