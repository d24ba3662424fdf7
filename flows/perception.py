"""Per-video stages: `run_video_stage` runs one stage over the videos as Prefect tasks, each item through
`run_one` (the stage cache around the stage's `process`). Holds no stage logic."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from curation.registry import BY_NAME, STAGES
from curation.stage import Rejected, Stage, stage_keys
from flows.cache import Outcome, StageCache
from flows.config import CurateConfig
from flows.workers import StagePool
from schemas import from_arrow, to_arrow

if TYPE_CHECKING:
    from rich.progress import Progress


class Tally(Protocol):
    """Where a stage's outcomes and wall time are counted (flows.summary.RunSummary)."""

    stage_wall: dict[str, float]

    def account(self, out: Outcome) -> None: ...


log = logging.getLogger(__name__)

# Rejections caused by the run rather than the video are not cached, so a re-run tries again.
TRANSIENT = {"stage_error", "timeout", "cache_error"}


@dataclass
class RunContext:
    """What every task of a run shares: the dataset, the config, the stage cache, the workers' stage objects,
    and each stage's cache key (`curation.stage.stage_key`)."""

    dataset: Path
    config: CurateConfig
    cache: StageCache
    pool: StagePool
    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys = stage_keys(STAGES, self.config)

    def config_hash(self, stage: str) -> str:
        """The stage's config hash, as its rows' provenance records it."""
        return str(getattr(self.config, stage).config_hash())

    def stage_class(self, name: str) -> type[Stage[Any, Any, Any]]:
        return BY_NAME[name]

    def stage(self, name: str) -> Stage[Any, Any, Any]:
        return self.pool.get(BY_NAME[name], getattr(self.config, name))

    def rows(self, stage: str, key: str, table: str) -> list[Any]:
        """The cached rows of `table` that `stage` produced for item `key`."""
        return from_arrow(table, self.cache.table(stage, self.keys[stage], key, table))


def entry_key(path: Path) -> str:
    """The entry stage's (the first registered) cache key of an input file."""
    return STAGES[0].item_key(path)


def _call(stage: Stage[Any, Any, Any], item: Any) -> Any:
    try:
        return stage.process(item)
    except Exception as e:  # a stage bug must cost one video, not the run
        log.exception("%s failed unexpectedly", stage.name)
        return Rejected("stage_error", f"{type(e).__name__}: {e}")


def run_one(name: str, key: str, item: Any, ctx: RunContext) -> Outcome:
    """Run per-video stage `name` on `item` (cache key `key`), or return its cached outcome."""
    cls = BY_NAME[name]
    h = ctx.keys[name]
    hit = ctx.cache.get(name, h, key)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    stage = ctx.stage(name)
    result = _call(stage, cls.input_for(item, lambda up, table: ctx.rows(up, BY_NAME[up].item_key(item), table)))
    seconds = time.perf_counter() - t0
    if isinstance(result, Rejected):
        out = Outcome(name, key, "rejected", result.reason, result.detail, seconds)
        if result.reason not in TRANSIENT:
            ctx.cache.put(name, h, out, {})
        return out
    parts = result if isinstance(result, tuple) else (result,)
    tables: dict[str, pa.Table] = {
        table: to_arrow(table, rows if isinstance(rows, list) else [rows])
        for table, rows in zip(cls.writes, parts, strict=True)
    }
    out = Outcome(
        name, key, "ok", seconds=seconds, counts={n: t.num_rows for n, t in tables.items()}, stats=stage.stats(tables)
    )
    return out if ctx.cache.put(name, h, out, tables) else _uncached(out)


def _uncached(out: Outcome) -> Outcome:
    """A result the cache could not store is lost to publishing (which reads the cache): a transient reject."""
    return Outcome(out.stage, out.key, "rejected", "cache_error", "the stage cache could not store the result",
                   out.seconds)  # fmt: skip


@task(name="stage", persist_result=False, cache_policy=NO_CACHE)
def stage_task(stage: str, key: str, item: Any, ctx: RunContext) -> Outcome:
    return run_one(stage, key, item, ctx)


def _failed(stage: str, key: str, result: BaseException) -> Outcome:
    reason = "timeout" if "timed out" in str(result).lower() or isinstance(result, TimeoutError) else "stage_error"
    return Outcome(stage, key, "rejected", reason, f"{type(result).__name__}: {result}")


def run_video_stage(
    stage: str, items: dict[str, Any], ctx: RunContext, progress: Progress, summary: Tally
) -> dict[str, Outcome]:
    """The one helper every per-video stage runs through: a Prefect task per item (`items` by cache key) on the
    run's task runner, with the stage's timeout, a progress bar, timing and the summary's counts. A task that
    raised or timed out becomes a rejected outcome."""
    bar = progress.add_task(stage, total=len(items), note="")
    t0 = time.perf_counter()
    task_ = stage_task.with_options(name=stage, timeout_seconds=getattr(ctx.config.run.timeouts, stage, None))
    futures = {task_.submit(stage, key, item, ctx): key for key, item in items.items()}
    done: dict[str, Outcome] = {}
    hits = 0
    for fut in as_completed(list(futures)):
        key = futures[fut]
        res = fut.result(raise_on_failure=False)
        out = _failed(stage, key, res) if isinstance(res, BaseException) else res
        hits += int(out.cache_hit)
        done[key] = out
        summary.account(out)
        progress.update(bar, advance=1, note=f"{hits} cached" if hits else "")
    summary.stage_wall[stage] = time.perf_counter() - t0
    return done
