"""The `curate` Prefect flow: every registered stage in order, cached, resumable, published as revisions.

Per-video stages (probe → shots (+ keyframes) → ASR → visual evidence) run on each video as Prefect tasks on the
configured task runner; collection stages (tasks → … → pools, flows/synthesis.py) run over the whole collection.
Stage work is cached per item under each stage's key (flows/cache.py), so a re-run or a resumed run repeats
nothing; the dataset lock is held for the whole run; the per-video results are published as one revision, the
collection results as the next.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curation import __version__
from curation.probe import find_duplicates
from curation.registry import NAMES, stages_until
from curation.stage import Rejected
from flows.cache import Outcome, StageCache
from flows.config import CurateConfig
from flows.perception import RunContext, run_one
from flows.publish import mark_rejected, publish_rejects, publish_videos, reject_row, stage_provenance, written
from flows.runners import build_task_runner
from flows.synthesis import SynthesisSummary, run_synthesis
from flows.workers import StagePool
from schemas import RejectRecord, VideoRecord, from_arrow
from schemas.store import DatasetWriter

log = logging.getLogger(__name__)

STAGES = NAMES


@dataclass
class RunSummary:
    """What a run did, for the summary table, the manifest revision and tests."""

    inputs: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_wall: dict[str, float] = field(default_factory=dict)
    cache_hits: Counter[str] = field(default_factory=Counter)
    stage_runs: Counter[str] = field(default_factory=Counter)
    shots: int = 0
    frames: int = 0
    speech_minutes: float = 0.0
    rows_added: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    wall_seconds: float = 0.0
    synthesis: SynthesisSummary | None = None
    stage_keys: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stage_wall": {k: round(v, 3) for k, v in self.stage_wall.items()},
            "cache_hits": dict(self.cache_hits),
            "stage_runs": dict(self.stage_runs),
            "shots": self.shots,
            "frames": self.frames,
            "speech_minutes": round(self.speech_minutes, 3),
            "rows_added": self.rows_added,
            "revision": self.revision,
            "wall_seconds": round(self.wall_seconds, 3),
            "synthesis": self.synthesis.to_json() if self.synthesis else None,
            "stage_keys": self.stage_keys,
        }

    def account(self, out: Outcome) -> None:
        """Count one per-video outcome: time, cache hit or run, rejection, and what it produced."""
        if out.cache_hit:
            self.cache_hits[out.stage] += 1
        else:
            self.stage_seconds[out.stage] = self.stage_seconds.get(out.stage, 0.0) + out.seconds
            self.stage_runs[out.stage] += 1
        if not out.ok:
            self.rejected[f"{out.stage}:{out.reason}"] += 1
            return
        self.shots += out.counts.get("shots", 0)
        self.frames += out.counts.get("frames", 0)
        self.speech_minutes += out.stats.get("speech_seconds", 0.0) / 60


@task(name="stage", persist_result=False, cache_policy=NO_CACHE)
def stage_task(stage: str, key: str, item: Any, ctx: RunContext) -> Outcome:
    return run_one(stage, key, item, ctx)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=Console(stderr=True),
        disable=not enabled,
    )


def _failed(stage: str, key: str, result: BaseException) -> Outcome:
    reason = "timeout" if "timed out" in str(result).lower() or isinstance(result, TimeoutError) else "stage_error"
    return Outcome(stage, key, "rejected", reason, f"{type(result).__name__}: {result}")


def run_video_stage(
    stage: str, items: dict[str, Any], ctx: RunContext, progress: Progress, summary: RunSummary
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


@flow(name="vidcot-curate", persist_result=False, log_prints=False, validate_parameters=False)
def curate_flow(
    paths: list[str],
    dataset: str,
    config: CurateConfig,
    until: str = "pools",
    show_progress: bool = True,
    card: bool = True,
) -> RunSummary:
    """Curate `paths` into `dataset`, running the stages up to and including `until`; then rebuild its card."""
    t_start = time.perf_counter()
    root = Path(dataset)
    stages = stages_until(until)
    per_video = [s.name for s in stages if s.per_video]
    summary = RunSummary(inputs=len(paths))
    rejects: list[RejectRecord] = []
    with DatasetWriter(root) as writer:
        ctx = RunContext(root, config, StageCache(root), StagePool())
        summary.stage_keys = {s.name: ctx.keys[s.name] for s in stages}

        def reject(out: Outcome, path: str, video_id: str | None = None) -> None:
            why = Rejected(out.reason or "unknown", out.detail, video_id, None, path)
            rejects.append(reject_row(out.stage, why, stage_provenance(ctx, out.stage)))

        with _progress(show_progress) as progress:
            # The first stage turns input files into video records; the rest run on the videos still alive.
            entry, rest = per_video[0], per_video[1:]
            keyed: dict[str, str] = {}
            for p in paths:
                try:
                    keyed[p] = ctx.stage_class(entry).item_key(p)
                except OSError as e:
                    out = Outcome(entry, p, "rejected", "unreadable", str(e))
                    summary.account(out)
                    reject(out, p)
            probed = run_video_stage(entry, {keyed[p]: Path(p) for p in keyed}, ctx, progress, summary)
            videos: list[VideoRecord] = []
            for p, key in keyed.items():
                out = probed[key]
                if out.ok:
                    videos.append(from_arrow("videos", ctx.cache.table(entry, ctx.keys[entry], key, "videos"))[0])
                else:
                    reject(out, p)
            dupes = {id(v): r for v, r in find_duplicates(videos)}
            kept = []
            for v in videos:
                if id(v) in dupes:
                    r = dupes[id(v)]
                    reject(Outcome(entry, v.video_id, "rejected", r.reason, r.detail), v.path)
                else:
                    kept.append(v)
            alive = {v.video_id: v for v in kept}
            outcomes: dict[tuple[str, str], Outcome] = {}
            for stage in rest:
                fatal = ctx.stage_class(stage).fatal
                done = run_video_stage(stage, {vid: v for vid, v in alive.items()}, ctx, progress, summary)
                for vid, out in done.items():
                    outcomes[(stage, vid)] = out
                    if not out.ok:
                        reject(out, alive[vid].path, vid)
                        if fatal:
                            alive[vid] = mark_rejected(alive[vid])
            final = [alive[v.video_id] for v in kept]
            summary.kept = sum(v.status == "ok" for v in final)
            staged = publish_videos(writer, ctx, final, outcomes, per_video)
            publish_rejects(writer, ctx, rejects)
            provenance = {"vidcot": __version__, "stages": [s.name for s in stages]}
            summary.revision = writer.commit(
                config=config.model_dump(mode="json"), provenance=provenance, summary=summary.to_json()
            )
            # Rows the revision wrote (new or changed), per table the run staged; the manifest has the details.
            summary.rows_added = {t: written(writer).get(t, 0) for t in [*staged, "rejects"]}
            collection = [s for s in stages if not s.per_video]
            if collection and writer.manifest is not None and writer.manifest.revision > 0:
                summary.synthesis = SynthesisSummary()
                synth_rejects = run_synthesis(writer, ctx, collection, progress, summary.synthesis)
                publish_rejects(writer, ctx, synth_rejects)
                summary.revision = writer.commit(
                    config=config.model_dump(mode="json"),
                    provenance=provenance,
                    summary=summary.synthesis.to_json(),
                )
                tables = [t for s in collection for t in s.writes] + ["rejects"]
                summary.synthesis.rows_added = {t: written(writer).get(t, 0) for t in dict.fromkeys(tables)}
                summary.synthesis.revision = summary.revision
        if card and writer.manifest is not None and writer.manifest.revision > 0:
            _write_card(root)  # still under the writer's lock: no other run can publish in between
        summary.wall_seconds = time.perf_counter() - t_start
    return summary


def _write_card(root: Path) -> None:
    """Rebuild the dataset card; the data is already published, so a failure here is a warning, not a failed run."""
    try:
        from data_cards.card import ensure_card

        ensure_card(root)
    except Exception as e:
        log.warning("dataset card not written (%s: %s); `vidcot card %s` retries", type(e).__name__, e, root)


def run_curate(
    paths: list[Path],
    dataset: Path,
    config: CurateConfig,
    until: str = "pools",
    show_progress: bool = True,
    card: bool = True,
) -> RunSummary:
    """Run the flow on the task runner `config.run` selects (threads by default, or Dask; flows/runners.py)."""
    runner: Any = build_task_runner(config.run)
    flow_ = curate_flow.with_options(task_runner=runner)
    return flow_([str(p) for p in paths], str(dataset), config, until, show_progress, card)
