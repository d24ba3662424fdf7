"""The `curate` Prefect flow: probe → shots (+ keyframes) → ASR → visual evidence, cached, resumable, one revision.

Each video goes through each stage as a Prefect task on a thread pool. Stage work is cached per video by content
hash and stage config hash (flows/cache.py), so a re-run or a resumed run repeats nothing; the dataset lock is held
for the whole run; everything the run produced is published at the end as one new revision.
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
from prefect.futures import PrefectFuture, as_completed
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curation import __version__
from curation.probe import find_duplicates
from flows.cache import Outcome, StageCache
from flows.config import CurateConfig
from flows.perception import PERCEPTION_STAGES, RunContext, perceive_one, probe_one
from flows.publish import mark_rejected, publish_perception, publish_rejects
from flows.runners import build_task_runner
from flows.synthesis import SYNTHESIS_STAGES, SynthesisSummary, run_synthesis
from flows.workers import StagePool
from schemas import Provenance, RejectRecord, VideoRecord
from schemas.store import DatasetWriter

log = logging.getLogger(__name__)

STAGES = PERCEPTION_STAGES + SYNTHESIS_STAGES
# A video rejected by one of these stages goes no further; other stages' rejections only drop that stage's rows.
FATAL = {"probe", "shots"}


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
        }


@task(name="probe", persist_result=False, cache_policy=NO_CACHE)
def probe_task(path: str, ctx: RunContext) -> tuple[Outcome, VideoRecord | None]:
    return probe_one(Path(path), ctx)


@task(name="perceive", persist_result=False, cache_policy=NO_CACHE)
def perceive_task(stage: str, video: VideoRecord, ctx: RunContext) -> Outcome:
    return perceive_one(stage, video, ctx)


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


def _drain(futures: dict[PrefectFuture[Any], str], stage: str, progress: Progress, bar: Any) -> dict[str, Any]:
    """Wait for a stage's futures; a task that raised or timed out becomes a rejected Outcome."""
    results: dict[str, Any] = {}
    hits = 0
    for fut in as_completed(list(futures)):
        key = futures[fut]
        res = fut.result(raise_on_failure=False)
        if isinstance(res, BaseException):
            res = _failed(stage, key, res) if stage != "probe" else (_failed(stage, key, res), None)
        out = res[0] if isinstance(res, tuple) else res
        hits += int(out.cache_hit)
        results[key] = res
        progress.update(bar, advance=1, note=f"{hits} cached" if hits else "")
    return results


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
    stages = list(STAGES[: STAGES.index(until) + 1])
    summary = RunSummary(inputs=len(paths))
    rejects: list[RejectRecord] = []
    with DatasetWriter(root) as writer:
        ctx = RunContext(root, config, StageCache(root), StagePool())
        with _progress(show_progress) as progress:
            # probe
            bar = progress.add_task("probe", total=len(paths), note="")
            t0 = time.perf_counter()
            futs = {
                probe_task.with_options(timeout_seconds=config.run.timeouts.get("probe")).submit(p, ctx): p
                for p in paths
            }
            probed = _drain(futs, "probe", progress, bar)
            summary.stage_wall["probe"] = time.perf_counter() - t0
            videos: list[VideoRecord] = []
            for path in paths:
                out, video = probed[path]
                _account(summary, out)
                if video is None:
                    rejects.append(_reject_row(ctx, out, path=path))
                else:
                    videos.append(video)
            dupes = {id(v): r for v, r in find_duplicates(videos)}
            kept = []
            for v in videos:
                if id(v) in dupes:
                    r = dupes[id(v)]
                    rejects.append(
                        _reject_row(ctx, Outcome("probe", v.video_id, "rejected", r.reason, r.detail), path=v.path)
                    )
                else:
                    kept.append(v)
            alive = {v.video_id: v for v in kept}
            outcomes: dict[tuple[str, str], Outcome] = {}
            for stage in [s for s in stages[1:] if s in PERCEPTION_STAGES]:
                todo = list(alive.values())
                bar = progress.add_task(stage, total=len(todo), note="")
                t0 = time.perf_counter()
                task_ = perceive_task.with_options(timeout_seconds=config.run.timeouts.get(stage))
                stage_futs: dict[PrefectFuture[Any], str] = {task_.submit(stage, v, ctx): v.video_id for v in todo}
                done = _drain(stage_futs, stage, progress, bar)
                summary.stage_wall[stage] = time.perf_counter() - t0
                for vid, out in done.items():
                    outcomes[(stage, vid)] = out
                    _account(summary, out)
                    if not out.ok:
                        rejects.append(_reject_row(ctx, out, path=alive[vid].path, video_id=vid))
                        if stage in FATAL:
                            alive[vid] = mark_rejected(alive[vid])
            final = [alive[v.video_id] for v in kept]
            summary.kept = sum(v.status == "ok" for v in final)
            for (stage, _), out in outcomes.items():
                if out.ok and stage == "shots":
                    summary.shots += out.counts.get("shots", 0)
                    summary.frames += out.counts.get("frames", 0)
                if out.ok and stage == "asr":
                    summary.speech_minutes += out.stats.get("speech_seconds", 0.0) / 60
            perception = [s for s in stages if s in PERCEPTION_STAGES]
            summary.rows_added = publish_perception(writer, ctx, final, outcomes, perception)
            summary.rows_added["rejects"] = publish_rejects(writer, ctx, rejects)
            provenance = {"vidcot": __version__, "stages": stages}
            summary.revision = writer.commit(
                config=config.model_dump(mode="json"), provenance=provenance, summary=summary.to_json()
            )
            synth = [s for s in stages if s in SYNTHESIS_STAGES]
            if synth and writer.manifest is not None and writer.manifest.revision > 0:
                summary.synthesis = SynthesisSummary()
                synth_rejects = run_synthesis(writer, ctx, synth, progress, summary.synthesis)
                summary.synthesis.rows_added["rejects"] = publish_rejects(writer, ctx, synth_rejects)
                summary.revision = writer.commit(
                    config=config.model_dump(mode="json"),
                    provenance=provenance,
                    summary=summary.synthesis.to_json(),
                )
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


def _account(summary: RunSummary, out: Outcome) -> None:
    if not out.cache_hit:
        summary.stage_seconds[out.stage] = summary.stage_seconds.get(out.stage, 0.0) + out.seconds
    if out.cache_hit:
        summary.cache_hits[out.stage] += 1
    else:
        summary.stage_runs[out.stage] += 1
    if not out.ok and out.reason is not None:
        summary.rejected[f"{out.stage}:{out.reason}"] += 1


def _reject_row(ctx: RunContext, out: Outcome, path: str, video_id: str | None = None) -> RejectRecord:
    stage_cfg = getattr(ctx.config, out.stage)
    prov = Provenance(stage=out.stage, config_hash=stage_cfg.config_hash(), package_version=__version__)
    return RejectRecord(out.stage, out.reason or "unknown", out.detail, path, video_id, None, prov)


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
