"""The contract every curation stage follows.

A stage is a small object with a typed config, `setup()` that loads models once per worker, and `process(item)`
that never raises for one bad item: it returns a `Rejected` with a reason code instead. Stages know nothing of
Prefect, scheduling or storage; flows do that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from curation import __version__
from schemas import Provenance

In = TypeVar("In")
Out = TypeVar("Out")


class StageConfig(BaseModel):
    """Base of every stage config: unknown keys are errors, so a typo in a config file is caught by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """Stable hash of the config's values; part of every cache key and every row's provenance."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class Rejected:
    """A dropped item: a reason code (snake_case, stable, countable) and a human-readable detail."""

    reason: str
    detail: str = ""


C = TypeVar("C", bound=StageConfig)


class Stage(Generic[C, In, Out]):
    """Base class: subclasses set `name` and `Config`, and implement `process`."""

    name: ClassVar[str] = "stage"
    Config: ClassVar[type[StageConfig]] = StageConfig

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

    def models(self) -> list[str]:
        """Model identifiers (name, package and version) used by this stage, for provenance."""
        return []

    def provenance(self, prompt_hash: str | None = None) -> Provenance:
        return Provenance(
            stage=self.name,
            config_hash=self.config.config_hash(),
            package_version=__version__,
            models=self.models(),
            prompt_hash=prompt_hash,
        )


def stage_config_from(cls: type[StageConfig], values: dict[str, Any] | None, where: str) -> StageConfig:
    """Build a stage config from a mapping, with errors that name the offending key and where it came from."""
    from pydantic import ValidationError

    try:
        return cls(**(values or {}))
    except ValidationError as e:
        problems = "; ".join(f"{where}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ValueError(f"bad config: {problems}") from None
