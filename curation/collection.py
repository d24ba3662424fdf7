"""The contract of collection stages (tasks, draft, refine, verify, negatives, difficulty, pools).

A collection stage sees every video at once, because distractors, near-duplicates and splits look across videos:
`run(collection, batches) -> StageRows`. What earlier stages of the run produced is in `collection.results`; the
rows a stage returns are published to the tables it declares in `writes`. Per-item work worth caching (the LLM
calls of draft, refine and difficulty) goes through `batches.map(keys, items, fn)`: the flow's implementation
looks each key up in the stage cache, calls `fn` on the misses in batches, caches and counts; `InlineBatches`
below just calls `fn`, for tests and library use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from curation.stage import Rejected
from schemas import VideoView, from_arrow
from schemas.store import Dataset
from schemas.store.manifest import manifest_path

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class StageRows:
    """What a collection stage produced: rows per table it writes, what it dropped, and summary numbers."""

    rows: dict[str, list[Any]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    extra: Any = None  # results other stages read but no table holds (difficulty estimates)


@dataclass
class Collection:
    """The input of collection stages: the dataset's videos as views, the run's config, shared LLMs."""

    dataset: Path
    views: dict[str, VideoView]
    config: Any  # the run's config: one section per stage name, plus the sections stages `use`
    llm: Callable[[Any], Any]  # LLMConfig -> a loaded LLMBackend, shared by every stage of the run
    results: dict[str, StageRows] = field(default_factory=dict)

    def rows(self, table: str) -> list[Any]:
        """The rows of `table` the latest stage writing it produced in this run (refine's chains over draft's)."""
        for result in reversed(list(self.results.values())):
            if table in result.rows:
                return result.rows[table]
        return []

    def published(self, table: str) -> list[Any]:
        """The rows of `table` in the dataset's latest revision (written by earlier runs); none if no revision."""
        if not manifest_path(self.dataset).exists():
            return []
        return from_arrow(table, Dataset(self.dataset).read(table))

    def extra(self, stage: str) -> Any:
        result = self.results.get(stage)
        return result.extra if result is not None else None


class Batches(Protocol):
    size: int  # items per batch (LLM requests per call)

    def map(
        self,
        keys: Sequence[str],
        items: Sequence[T],
        fn: Callable[[list[T]], list[R]],
        codec: str | type,
        cacheable: Callable[[R], bool] = ...,
        size: int = ...,
    ) -> list[R]:
        """`fn` over `items` in batches; `keys[i]` names item i's result for the cache. `codec` says how a result
        is stored: a table name (a record of that table) or a dataclass type (its fields as JSON)."""
        ...


class InlineBatches:
    """`Batches` without a cache: `fn` on every item, in batches of `size`."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.ran = 0

    def map(
        self,
        keys: Sequence[str],
        items: Sequence[T],
        fn: Callable[[list[T]], list[R]],
        codec: str | type,
        cacheable: Callable[[R], bool] = lambda r: True,
        size: int = 0,
    ) -> list[R]:
        step = max(1, size or self.size)
        out: list[R] = []
        for i in range(0, len(items), step):
            out += fn(list(items[i : i + step]))
        self.ran += len(items)
        return out
