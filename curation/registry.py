"""Every stage of a curate run, in run order: the one place a stage is registered.

Per-video stages run on each video, collection stages over every video at once; a stage's needs come before it.
Adding a stage: write its module (a `Stage` subclass with name, Config, reads, writes, needs, version, timeout and
`process` or `run`), a schema for a table it adds (`schemas/`), and add its class here. Everything else is derived
from this list: the run config's sections and `run.timeouts` fields (flows/config.py), the `--until` names, the cache
keys, the flow's loops (tests/test_stage_contract.py adds a stage this way).
"""

from __future__ import annotations

from typing import Any

from curation.asr import AsrStage
from curation.difficulty import DifficultyStage
from curation.draft import DraftStage
from curation.evidence import EvidenceStage
from curation.negatives import NegativesStage
from curation.pools import PoolsStage
from curation.probe import ProbeStage
from curation.refine import RefineStage
from curation.shots import ShotsStage
from curation.stage import Stage
from curation.tasks import TasksStage
from curation.verify import VerifyStage

STAGES: tuple[type[Stage[Any, Any, Any]], ...] = (
    ProbeStage,
    ShotsStage,
    AsrStage,
    EvidenceStage,
    TasksStage,
    DraftStage,
    RefineStage,
    VerifyStage,
    NegativesStage,
    DifficultyStage,
    PoolsStage,
)
NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: dict[str, type[Stage[Any, Any, Any]]] = {s.name: s for s in STAGES}


def stages_until(until: str | None = None) -> list[type[Stage[Any, Any, Any]]]:
    """The stages a run with `--until until` runs, in order (all with None); a name that is no stage is an error."""
    if until is not None and until not in NAMES:
        raise ValueError(f"--until {until!r}: not a stage (one of {', '.join(NAMES)})")
    return list(STAGES[: NAMES.index(until) + 1] if until is not None else STAGES)
