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
from pathlib import Path
from typing import Any

from prefect import flow
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curation import __version__
from curation.registry import stages_until
from curation.stage import Rejected
from flows.cache import Outcome, StageCache
from flows.config import CurateConfig
from flows.errors import UserError
from flows.perception import RunContext, run_video_stage
from flows.publish import mark_rejected, publish_rejects, publish_videos, reject_row, stage_provenance, written
from flows.runners import build_task_runner
from flows.summary import RunSummary
from flows.synthesis import SynthesisSummary, run_synthesis
from flows.workers import StagePool
from schemas import RejectRecord, VideoRecord
from schemas.store import DatasetLock, DatasetWriter

log = logging.getLogger(__name__)


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


@flow(name="vidcot-curate", persist_result=False, log_prints=False, validate_parameters=False)
def curate_flow(
    paths: list[str],
    dataset: str,
    config: CurateConfig,
    until: str | None = None,
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
        cache = StageCache(root)
        if swept := cache.sweep():
            log.info("removed %d unfinished cache entries a killed run left", swept)
        ctx = RunContext(root, config, cache, StagePool())
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
                    videos.append(ctx.rows(entry, key, ctx.stage_class(entry).writes[0])[0])
                else:
                    reject(out, p)
            dupes = {id(v): r for v, r in ctx.stage_class(entry).duplicates(videos)}
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
                todo = {vid: v for vid, v in alive.items() if v.status == "ok"}  # a fatal reject stops a video
                done = run_video_stage(stage, todo, ctx, progress, summary)
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
    until: str | None = None,
    show_progress: bool = True,
    card: bool = True,
) -> RunSummary:
    """Run the flow on the task runner `config.run` selects (threads by default, or Dask; flows/runners.py)."""
    try:
        stages_until(until)
    except ValueError as e:
        raise UserError(str(e)) from None
    DatasetLock(dataset).ensure_free()  # a second writer is refused now, not after Prefect's server has started
    runner: Any = build_task_runner(config.run)
    flow_ = curate_flow.with_options(task_runner=runner)
    return flow_([str(p) for p in paths], str(dataset), config, until, show_progress, card)
