"""Scheduled curation: a Prefect deployment that curates the videos dropped into a folder since the last tick.

Each scheduled run lists INPUT_DIR and curates only the files whose content is not in the dataset yet; with
nothing new it logs "nothing new" and returns without starting a curate run (no lock, no revision). The
deployment is served by `flow.serve`-style runners (`prefect.serve`) against a Prefect server; `serve_schedule` is
what `vidcot schedule` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.types.entrypoint import EntrypointType

from curation.probe import sha256_file
from curation.registry import STAGES, stages_until
from curation.stage import stage_key
from flows.cache import StageCache
from flows.config import CurateConfig, load_config
from flows.curate import run_curate
from flows.errors import UserError
from flows.inputs import expand_inputs
from flows.lognoise import ThreadTimeoutNoise
from flows.perception import entry_key
from flows.publish import existing_ids, published_rejects
from schemas import from_arrow
from schemas.store.errors import DatasetLocked

log = logging.getLogger(__name__)

FLOW_NAME = "vidcot-scheduled-curate"


@dataclass
class Pending:
    """What one look at INPUT_DIR found: the files to curate, and how many were already in the dataset."""

    new: list[Path] = field(default_factory=list)
    known: int = 0
    rejected: int = 0  # files the dataset already holds a probe rejection for (unreadable, too short, …)


def pending_videos(input_dir: Path, dataset: Path, config: CurateConfig) -> Pending:
    """Files under `input_dir` whose content hash is not in the dataset's `videos` table.

    A file probed before (same path, size and mtime: the probe cache key) is judged by its cached content hash
    without reading it again; any other file is hashed. A file whose probe rejection is already published is not
    new; a transient probe failure was never cached, so that file is tried again.
    """
    entry, table = STAGES[0].name, STAGES[0].writes[0]  # the stage that turns files into video records: probe
    known = existing_ids(dataset, table, "video_id")
    rejects = {(k, r) for s, r, k in published_rejects(dataset) if s == entry}
    cache = StageCache(dataset)
    probe_hash = stage_key(STAGES[0], config, {})  # where curate caches probe results (flows/cache.py)
    found = Pending()
    for path in expand_inputs([input_dir], config.run.extensions):
        try:
            key = entry_key(path)
        except OSError:  # removed since it was listed
            continue
        hit = cache.get(entry, probe_hash, key)
        if hit is not None and not hit.ok:
            if (str(path), hit.reason) in rejects:
                found.rejected += 1
                continue
            found.new.append(path)
            continue
        if hit is not None:
            video_id = from_arrow(table, cache.table(entry, probe_hash, key, table))[0].video_id
        else:
            try:
                video_id = sha256_file(path)
            except OSError:
                continue
        if video_id in known:
            found.known += 1
        else:
            found.new.append(path)
    return found


@flow(name=FLOW_NAME, persist_result=False, log_prints=False)
def scheduled_curate(
    input_dir: str,
    dataset: str,
    config_file: str | None = None,
    overrides: list[str] | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """One scheduled tick: curate the videos in `input_dir` that `dataset` does not hold yet."""
    logger = get_run_logger()
    _quiet_thread_timeouts()
    config = load_config(Path(config_file) if config_file else None, overrides or [])
    folder = Path(input_dir)
    if not folder.is_dir():
        raise UserError(f"input folder {input_dir} does not exist")
    pending = pending_videos(folder, Path(dataset), config)
    if not pending.new:
        logger.info(
            "nothing new in %s (%d files already in %s, %d rejected before)",
            input_dir,
            pending.known,
            dataset,
            pending.rejected,
        )
        return {"new": 0, "known": pending.known, "revision": None}
    logger.info("%d new in %s: %s", len(pending.new), input_dir, ", ".join(p.name for p in pending.new))
    try:
        summary = run_curate(pending.new, Path(dataset), config, until=until, show_progress=False)
    except DatasetLocked as e:
        # Another run (an earlier tick, or a manual `vidcot curate`) holds the dataset; the next tick retries.
        logger.warning("dataset busy, skipping this tick: %s", e)
        return {"new": len(pending.new), "known": pending.known, "revision": None, "busy": True}
    added = ", ".join(f"{t} {n}" for t, n in summary.rows_added.items() if n)
    logger.info(
        "curated %d new files into %s (%d kept, %d rejected) as revision %d: %s",
        len(pending.new),
        dataset,
        summary.kept,
        sum(summary.rejected.values()),
        summary.revision,
        added,
    )
    return {"new": len(pending.new), "known": pending.known, "revision": summary.revision}


def _quiet_thread_timeouts() -> None:
    task_log = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, ThreadTimeoutNoise) for f in task_log.filters):
        task_log.addFilter(ThreadTimeoutNoise())


def build_deployment(
    name: str,
    input_dir: Path,
    dataset: Path,
    *,
    cron: str | None = None,
    interval: float | None = None,
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    until: str | None = None,
) -> Any:
    """The deployment `vidcot schedule` serves; also usable with `prefect.serve(...)` beside other deployments."""
    if (cron is None) == (interval is None):
        raise UserError("give exactly one of --cron or --interval")
    if interval is not None and interval <= 0:
        raise UserError(f"--interval must be a positive number of seconds, got {interval}")
    if not input_dir.is_dir():
        raise UserError(f"input folder {input_dir} does not exist")
    try:
        stages_until(until)
    except ValueError as e:
        raise UserError(str(e)) from None
    load_config(config_file, overrides or [])  # a bad config fails now, not at the first tick
    parameters = {
        "input_dir": str(input_dir.resolve()),
        "dataset": str(dataset.resolve()),
        "config_file": str(config_file.resolve()) if config_file else None,
        "overrides": list(overrides or []),
        "until": until,
    }
    try:
        return scheduled_curate.to_deployment(
            name=name,
            cron=cron,
            interval=interval,
            parameters=parameters,
            description=f"curate new videos from {parameters['input_dir']} into {parameters['dataset']}",
            tags=["vidcot"],
            entrypoint_type=EntrypointType.MODULE_PATH,  # importable wherever vidcot is installed
        )
    except ValueError as e:  # pydantic's ValidationError is a ValueError: a cron string that does not parse
        raise UserError(f"bad schedule: {e}") from None


def serve_schedule(deployment: Any) -> None:
    """Register `deployment` with the Prefect server at PREFECT_API_URL and run its scheduled runs until stopped.

    One run at a time (`limit=1`): a tick that comes while the previous one still curates waits for it. Stopping
    the process pauses the schedule.
    """
    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise UserError(
            "scheduling needs a Prefect server: run `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    _check_server(str(url))
    log.info("serving %s/%s against %s", FLOW_NAME, deployment.name, url)
    serve(deployment, limit=1, print_starting_message=True)


def _check_server(url: str) -> None:
    """One health check, so a wrong or stopped server is a one-line error rather than a retry loop."""
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=10).raise_for_status()
    except httpx.HTTPError as e:
        raise UserError(f"no Prefect server answers at PREFECT_API_URL={url} ({e})") from None
