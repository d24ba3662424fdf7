"""The contract of collection stages (tasks, draft, refine, verify, negatives, difficulty, pools).

A collection stage sees every video at once, because distractors, near-duplicates and splits look across videos:
`run(collection, batches) -> StageRows`. What earlier stages of the run produced is in `collection.results`; the
rows a stage returns are published to the tables it declares in `writes`. Per-item work worth caching (the LLM
calls of draft, refine and difficulty) goes through `batches.map(keys, items, work, late=…)`: `Batches` below calls
`work` in batches, here (for tests and library use); the flow's subclass also looks each key up in the stage cache,
caches and counts, and runs the batches as tasks on the run's workers, which is why the stages describe their work
as a `Work` (data that can cross to another process) rather than a closure. Once the stage's timeout
(`run.timeouts`) has passed no batch starts, and `late` gives each item left its `timeout` result, which is never
cached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from schemas import TaskRecord, VideoView, from_arrow
from schemas.store import Dataset
from schemas.store.manifest import manifest_path
from schemas.synthesis import Rejected

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Work(Generic[T, R]):
    """A collection stage's per-item work as data: `stage.<method>(batch, views)`, or `(batch, views, tasks)` when
    `tasks` is given (refine looks up each chain's task). Items have a `video_id` (and a `task_id` with `tasks`).

    What another process needs to run a batch: the stage object (its config; the flow gives stages LLMs that
    cross as their config, flows/workers.py) and, through `part`, only the views and tasks of that batch."""

    stage: Any
    method: str
    views: Mapping[str, VideoView]
    tasks: Mapping[str, TaskRecord] | None = None

    def __call__(self, batch: list[T]) -> list[R]:
        fn = getattr(self.stage, self.method)
        result: list[R] = fn(batch, self.views) if self.tasks is None else fn(batch, self.views, self.tasks)
        return result

    def part(self, batch: Sequence[T]) -> Work[T, R]:
        """This work with just the views (and tasks) that `batch` reads: what is sent with it to a worker."""
        items: Sequence[Any] = batch
        views = {v: self.views[v] for v in dict.fromkeys(item.video_id for item in items)}
        if self.tasks is None:
            return replace(self, views=views)
        tasks = {t: self.tasks[t] for t in dict.fromkeys(item.task_id for item in items)}
        return replace(self, views=views, tasks=tasks)


class Batches:
    """Per-item work in batches of `size` (LLM requests per call), until `timeout` seconds from now; no cache.

    The one batching loop: the flow's `CachedBatches` (flows/synthesis.py) adds the cache, counts and progress
    through `_lookup`, `_store`, `_progress` and `_counted`, and runs the batches on the run's workers (`_run`)."""

    def __init__(self, size: int = 16, timeout: float | None = None, stage: str = "stage", workers: int = 1) -> None:
        self.size, self.timeout, self.stage = size, timeout, stage
        self.workers = max(1, workers)  # batches that run at once (the flow's task runner)
        # Wall-clock time, not a process's own counter: a worker process checks it before it starts a batch.
        self.deadline = time.time() + timeout if timeout is not None else None
        self.ran = 0  # items `fn` computed
        self.timed_out = 0  # items left to `late`

    def map(
        self,
        keys: Sequence[str],
        items: Sequence[T],
        fn: Callable[[list[T]], list[R]],
        codec: str | type,
        cacheable: Callable[[R], bool] = lambda r: True,
        size: int = 0,
        *,
        late: Callable[[T, Rejected], R],
    ) -> list[R]:
        """`fn` over `items` in batches; `keys[i]` names item i's result for the cache. `fn` is a `Work` where the
        batches may run in other processes (the flow's); any callable runs here. `codec` says how a result is
        stored: a table name (a record of that table) or a dataclass type (its fields as JSON). Once the stage's
        timeout has passed no batch starts: each item left gets `late(item, Rejected("timeout", …))`, which is
        never cached, so a re-run does it."""
        out: list[R | None] = [self._lookup(key, codec) for key in keys]
        misses = [i for i, r in enumerate(out) if r is None]
        self._progress(len(items), len(items) - len(misses))
        step = self.step(len(misses), max(1, size or self.size))
        parts = [misses[start : start + step] for start in range(0, len(misses), step)]
        started: set[int] = set()
        ran = 0
        for j, rows, seconds in self._run(fn, [[items[i] for i in part] for part in parts]):
            part = parts[j]
            started.add(j)
            per = seconds / max(1, len(part))
            for i, row in zip(part, rows, strict=True):
                out[i] = row
                if cacheable(row):  # a down endpoint is asked again next run
                    self._store(keys[i], row, codec, per)
            ran += len(part)
            self._progress(0, len(part))
        left = [i for j, part in enumerate(parts) if j not in started for i in part]
        if left:
            self._late(left, items, out, late)
        self.ran += ran
        self._counted(len(items) - len(misses), ran)
        return [r for r in out if r is not None]

    def step(self, n: int, size: int) -> int:
        """Items per batch for `n` items: at most `size`, in a number of batches that is a multiple of `workers`,
        of even size, so that no worker idles while another finishes a longer batch (24 tasks on 2 workers: 12 and
        12, not 16 and 8; one worker gets the same number of batches as before, evened out)."""
        if n <= 0:
            return size
        batches = -(-n // size)
        batches = -(-batches // self.workers) * self.workers
        return max(1, -(-n // batches))

    def expired(self) -> bool:
        """Whether the stage's timeout has passed (then no batch starts)."""
        return self.deadline is not None and time.time() >= self.deadline

    def _run(self, fn: Callable[[list[T]], list[R]], batches: list[list[T]]) -> Iterator[tuple[int, list[R], float]]:
        """`(j, fn(batches[j]), seconds)` for each batch started before the deadline, in any order; a batch not
        yielded was not started. This one: in order, here."""
        for j, batch in enumerate(batches):
            if self.expired():
                return
            t0 = time.perf_counter()
            rows = fn(batch)
            yield j, rows, time.perf_counter() - t0

    def _late(self, left: list[int], items: Sequence[T], out: list[R | None], late: Callable[[T, Rejected], R]) -> None:
        why = Rejected("timeout", f"the {self.stage} stage's timeout ({self.timeout:g} s) passed before this item")
        for i in left:
            out[i] = late(items[i], why)
        self.timed_out += len(left)
        self._progress(0, len(left))
        log.warning("%s: its timeout (%g s, run.timeouts.%s) passed; the %d items not started get reason `timeout` "
                    "(not cached: a re-run does them)", self.stage, self.timeout, self.stage, len(left))  # fmt: skip

    def _lookup(self, key: str, codec: str | type) -> Any:
        """Item `key`'s stored result, or None to compute it."""
        return None

    def _store(self, key: str, row: Any, codec: str | type, seconds: float) -> None:
        """Keep item `key`'s result (`seconds`: its share of its batch's time)."""

    def _progress(self, total: int, advance: int) -> None:
        """`total` more items were asked for; `advance` more have a result."""

    def _counted(self, cached: int, ran: int) -> None:
        """One `map` call found `cached` results stored and computed `ran`."""
