"""Run the collection stages (tasks → draft → refine → verify → negatives → difficulty → pools) over a dataset.

One loop over the registry: each stage is built, run on the collection, timed, given a progress bar, and its rows
and rejections collected; per-item LLM work is cached by `CachedBatches`, keyed by the stage's key and the item's
id, so a re-run or a resumed run only generates what is new, and its batches of misses run as Prefect tasks on the
run's task runner (threads, or Dask workers), each worker with its own LLM. Orchestration only: every decision lives
in curation/.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from rich.progress import Progress

from curation.collection import Batches, Collection, Work
from curation.llm.base import LLMBackend
from curation.llm.factory import LLMConfig
from curation.stage import Stage
from curation.views import load_views
from flows.cache import Outcome
from flows.errors import UserError
from flows.perception import RunContext
from flows.publish import publish_rows, reject_row
from flows.workers import PooledLLM, StagePool, process_pool
from schemas import RejectRecord, from_arrow, to_arrow
from schemas.store import DatasetWriter
from schemas.synthesis import SourceAcceptance


@dataclass
class SynthesisSummary:
    tasks: int = 0
    drafted: int = 0
    not_drafted: int = 0  # tasks no pool takes whatever their chain (prompt-answerable): not drafted
    not_estimated: int = 0  # tasks difficulty did not estimate (no RL row could take them)
    cached: Counter[str] = field(default_factory=Counter)
    ran: Counter[str] = field(default_factory=Counter)  # items computed (not cached) by the per-item stages
    verdicts: Counter[str] = field(default_factory=Counter)
    grounding_draft: float = 0.0
    grounding_accepted: float = 0.0
    citation_draft: float = 0.0
    citation_accepted: float = 0.0
    by_model: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    absence_tasks: int = 0
    prompt_answerable_tasks: int = 0  # tasks whose prompt prints the answer (kept out of the pools by default)
    by_source: dict[str, SourceAcceptance] = field(default_factory=dict)  # chains per cot.source, accepted
    checks: dict[str, dict[str, int]] = field(default_factory=dict)  # verifier check -> chains it ran on, failed
    pools: dict[str, int] = field(default_factory=dict)
    stage_wall: dict[str, float] = field(default_factory=dict)
    # CPU seconds of the flow process (its worker threads included, Dask workers' not): on shared cores a fairer
    # measure of a stage's cost than its wall time
    stage_cpu: dict[str, float] = field(default_factory=dict)
    rows_added: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    other: dict[str, Any] = field(default_factory=dict)  # "stage.stat" for a stat with no field of its own

    @property
    def prompt_answerable_share(self) -> float:
        """Share of the run's tasks that the prompt answers (0 for no tasks)."""
        return self.prompt_answerable_tasks / self.tasks if self.tasks else 0.0

    def absorb(self, stats: dict[str, Any], stage: str = "stage") -> None:
        """A stage's summary numbers (`StageRows.stats`): under the field of the same name, or in `other` as
        `stage.name` when there is none, so no stat a stage reports is dropped."""
        for name, value in stats.items():
            if name in {f.name for f in dataclasses.fields(self)}:
                setattr(self, name, value)
            else:
                self.other[f"{stage}.{name}"] = value

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "drafted": self.drafted,
            "not_drafted": self.not_drafted,
            "not_estimated": self.not_estimated,
            "cached": dict(self.cached),
            "ran": dict(self.ran),
            "verdicts": dict(self.verdicts),
            "grounding_draft_mean": round(self.grounding_draft, 4),
            "grounding_accepted_mean": round(self.grounding_accepted, 4),
            "citation_accuracy_draft_mean": round(self.citation_draft, 4),
            "citation_accuracy_accepted_mean": round(self.citation_accepted, 4),
            "absence_tasks": self.absence_tasks,
            "drafters": {
                m: {
                    "chains": c["chains"],
                    "accepted": c["accepted"],
                    "acceptance": round(c["accepted"] / c["chains"], 4) if c["chains"] else 0.0,
                }
                for m, c in sorted(self.by_model.items())
            },  # fmt: skip
            "checks": self.checks,
            "sources": {
                s: {"chains": a.chains, "accepted": a.accepted, "acceptance": round(a.rate, 4)}
                for s, a in self.by_source.items()
            },
            "prompt_answerable_tasks": self.prompt_answerable_tasks,
            "prompt_answerable_share": round(self.prompt_answerable_share, 4),
            "pools": self.pools,
            "stage_wall": {k: round(v, 3) for k, v in self.stage_wall.items()},
            "stage_cpu": {k: round(v, 3) for k, v in self.stage_cpu.items()},
            "rows_added": self.rows_added,
            "revision": self.revision,
            "other": self.other,
        }


class Backends:
    """The run's LLMs, one per distinct config, shared by draft, refine, self-consistency and difficulty. What a
    stage gets is a `PooledLLM`: each worker thread or process that runs the stage's batches loads its own copy
    once (flows/workers.py), and a stage sent to a Dask worker carries the config, not the model."""

    def __init__(self, pool: StagePool | None = None) -> None:
        self.pool = pool if pool is not None else StagePool()

    def get(self, cfg: LLMConfig) -> LLMBackend:
        return PooledLLM(cfg, self.pool)

    def close(self) -> None:
        """Release the LLMs loaded in this process (Dask workers keep theirs until they stop)."""
        self.pool.close_llms()


class Batch:
    """A batch and the work to do on it, as one task parameter that Prefect does not look inside (it would walk
    every record of every view looking for futures to resolve)."""

    __slots__ = ("items", "work")

    def __init__(self, work: Work[Any, Any], items: list[Any]) -> None:
        self.work, self.items = work, items


@task(name="batch", persist_result=False, cache_policy=NO_CACHE)
def batch_task(batch: Batch, deadline: float | None) -> tuple[list[Any], float, dict[str, str]] | None:
    """One batch of a collection stage's per-item work, on a worker: its results, seconds and the model ids of the
    LLMs the worker has loaded (so the flow process need not load a model to name it in provenance), or None when
    the stage's timeout (`deadline`, wall-clock) passed before it could start."""
    if deadline is not None and time.time() >= deadline:
        return None
    t0 = time.perf_counter()
    rows = batch.work(batch.items)
    return rows, time.perf_counter() - t0, process_pool().llm_ids()


class CachedBatches(Batches):
    """`curation.collection.Batches` through the stage cache: each item's result is stored under the stage's key
    and the item's key; misses are computed in batches of `run.llm_batch`, a task each on the run's task runner,
    until the stage's `run.timeouts` passes, with progress and counts. Results are stored here as they come back."""

    def __init__(
        self, ctx: RunContext, stage: str, summary: SynthesisSummary, grow: Callable[[int], None],
        tick: Callable[[int], None],
    ) -> None:  # fmt: skip
        run = ctx.config.run
        super().__init__(run.llm_batch, getattr(run.timeouts, stage, None), stage, run.workers)
        self.ctx, self.summary = ctx, summary
        self.key = ctx.keys[stage]
        self._grow, self._tick = grow, tick

    def _lookup(self, key: str, codec: str | type) -> Any:
        cache, stage = self.ctx.cache, self.stage
        hit = cache.get(stage, self.key, key)
        if hit is None:
            return None
        if isinstance(codec, str):
            return from_arrow(codec, cache.table(stage, self.key, key, codec))[0]
        return codec(**(hit.payload or {}))

    def _store(self, key: str, row: Any, codec: str | type, seconds: float) -> None:
        if isinstance(codec, str):
            done = Outcome(self.stage, key, "ok", seconds=seconds)
            self.ctx.cache.put(self.stage, self.key, done, {codec: to_arrow(codec, [row])})
        else:
            done = Outcome(self.stage, key, "ok", seconds=seconds, payload=dataclasses.asdict(row))
            self.ctx.cache.put(self.stage, self.key, done, {})

    def _run(
        self, fn: Callable[[list[Any]], list[Any]], batches: list[list[Any]]
    ) -> Iterator[tuple[int, list[Any], float]]:
        """Each batch as a Prefect task on the run's task runner (threads, or Dask workers), results as they come;
        here, in order, for a callable that is not a `Work` (it cannot cross to a worker) or outside a flow run."""
        if not isinstance(fn, Work) or FlowRunContext.get() is None:
            yield from super()._run(fn, batches)
            return
        task_ = batch_task.with_options(name=self.stage)
        futures = {task_.submit(Batch(fn.part(b), b), self.deadline): j for j, b in enumerate(batches)}
        for fut in as_completed(list(futures)):
            done = fut.result()
            if done is not None:
                rows, seconds, ids = done
                self.ctx.pool.learn_llm_ids(ids)
                yield futures[fut], rows, seconds

    def _progress(self, total: int, advance: int) -> None:
        if total:
            self._grow(total)
        self._tick(advance)

    def _counted(self, cached: int, ran: int) -> None:
        self.summary.cached[self.stage] += cached
        self.summary.ran[self.stage] += ran


def run_stage(
    ctx: RunContext,
    cls: type[Stage[Any, Any, Any]],
    collection: Collection,
    summary: SynthesisSummary,
    progress: Any = None,
) -> list[RejectRecord]:
    """The one helper every collection stage runs through: build it, run it over `collection` with the stage
    cache for its per-item work, a progress bar and its wall time; keep its result in `collection.results`, its
    numbers in `summary`; returns its rejections as `rejects` rows."""
    progress = progress if progress is not None else Progress(disable=True)
    t0, cpu0 = time.perf_counter(), time.process_time()
    bar = progress.add_task(cls.name, total=None, note="")
    grown = [0]

    def grow(n: int) -> None:
        grown[0] += n
        progress.update(bar, total=grown[0])

    def tick(n: int) -> None:
        progress.update(bar, advance=n)

    batches = CachedBatches(ctx, cls.name, summary, grow, tick)  # the stage's timeout counts from here
    try:
        stage = cls.build(collection)
        result = stage.run(collection, batches)
    except Exception as e:  # raised before anything of the collection stages is published
        why = f"{type(e).__name__}: {e}"
        raise UserError(f"the {cls.name} stage failed ({why}); no collection results of this run were published") from e
    collection.results[cls.name] = result
    summary.absorb(result.stats, cls.name)
    if not grown[0]:
        progress.update(bar, total=1, completed=1)
    summary.stage_wall[cls.name] = time.perf_counter() - t0
    summary.stage_cpu[cls.name] = time.process_time() - cpu0
    prov = stage.provenance()
    return [reject_row(cls.name, r, prov) for r in result.rejected]


def run_synthesis(
    writer: DatasetWriter,
    ctx: RunContext,
    stages: list[type[Stage[Any, Any, Any]]],
    progress: Any,
    summary: SynthesisSummary,
) -> list[RejectRecord]:
    """Run the collection `stages` over every video in the dataset; stage their rows in `writer`."""
    backends = Backends(ctx.pool)
    collection = Collection(ctx.dataset, load_views(ctx.dataset), ctx.config, backends.get)
    rejects: list[RejectRecord] = []
    try:
        for cls in stages:
            rejects += run_stage(ctx, cls, collection, summary, progress)
    finally:
        backends.close()
    for table in dict.fromkeys(t for cls in stages for t in cls.writes):
        publish_rows(writer, table, collection.rows(table), collection.views)
    return rejects
