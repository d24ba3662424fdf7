"""Publish a run's stage results into the dataset as shards of one revision.

Each stage's rows go through `DatasetWriter.replace` for the videos it produced them for, so after the revision
the latest view holds exactly what the stage now produces for those videos (rows identical to what is there are
not rewritten; rows of tables derived from changed rows leave unless this revision rewrites them: schemas/keys.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from curation import __version__
from curation.registry import BY_NAME
from curation.stage import Rejected
from flows.cache import Outcome
from flows.perception import RunContext
from schemas import Provenance, RejectRecord, VideoRecord, schema_for
from schemas.store import DatasetWriter
from schemas.store.manifest import manifest_path
from schemas.store.query import connect


def published_keys(dataset: Path, table: str) -> set[tuple[str, str]]:
    """(video_id, stage config hash) pairs already in `table`."""
    if not manifest_path(dataset).exists():
        return set()
    con = connect(dataset)
    rows = con.execute(f"SELECT DISTINCT video_id, provenance.config_hash FROM {table}").fetchall()
    return {(v, h) for v, h in rows}


def existing_ids(dataset: Path, table: str, column: str) -> set[str]:
    """Ids already in `table` (pool rows, tasks and chains are keyed by deterministic ids)."""
    if not manifest_path(dataset).exists():
        return set()
    return {r[0] for r in connect(dataset).execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()}


def published_rejects(dataset: Path) -> set[tuple[str, str, str]]:
    if not manifest_path(dataset).exists():
        return set()
    rows = connect(dataset).execute("SELECT DISTINCT stage, reason, coalesce(video_id, path) FROM rejects").fetchall()
    return {(s, r, k) for s, r, k in rows}


def _batches(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Concatenate small per-video tables into shards of about `rows` rows."""
    pending: list[pa.Table] = []
    count = 0
    for t in tables:
        if t.num_rows == 0:
            continue
        pending.append(t)
        count += t.num_rows
        if count >= rows:
            yield pa.concat_tables(pending)
            pending, count = [], 0
    if pending:
        yield pa.concat_tables(pending)


def publish_videos(
    writer: DatasetWriter,
    ctx: RunContext,
    videos: list[VideoRecord],
    outcomes: dict[tuple[str, str], Outcome],
    stages: list[str],
) -> dict[str, int]:
    """Stage every table the run's per-video stages produced for `videos`; returns rows staged per table.

    The `videos` table gets the records as the run left them (a video a fatal stage rejected has that status).
    Every other table gets, per stage, the cached rows of each video the stage computed in this run, whose rows are
    not published yet, or whose rows of a stage it needs are published again now (the store drops derived rows of a
    video whose parents change unless the same revision writes them: shots settings A → B → A make shots a cache hit
    to publish again, and evidence, a cache hit whose rows look published, must follow). A cache hit already published
    with nothing upstream published again is left alone: nothing to read or compare."""
    staged: dict[str, int] = {}
    shard_rows = ctx.config.run.shard_rows
    order = sorted(videos, key=lambda v: v.video_id)
    published: dict[str, set[str]] = {}  # stage -> videos whose rows this revision stages again
    for stage in stages:
        cls = BY_NAME[stage]
        if stage == stages[0]:  # the entry stage's table holds the video records as the run left them
            staged[cls.writes[0]] = writer.append(cls.writes[0], order) if order else 0
            continue
        h = ctx.config_hash(stage)
        have = published_keys(ctx.dataset, cls.writes[0])
        upstream = set().union(*(published.get(n, set()) for n in cls.needs))
        todo: dict[str, str] = {}  # video id -> cache key
        for v in order:
            out = outcomes.get((stage, v.video_id))
            if out is None or not out.ok:
                continue
            if not out.cache_hit or (v.video_id, h) not in have or v.video_id in upstream:
                todo[v.video_id] = out.key
        published[stage] = set(todo)
        for table in cls.writes:
            staged[table] = writer.replace(table, [], todo) if todo else 0  # a video may now have no rows
            parts = (ctx.cache.table(stage, ctx.keys[stage], key, table) for key in todo.values())
            staged[table] += sum(writer.replace(table, batch, todo) for batch in _batches(parts, shard_rows))
    return staged


def publish_rows(writer: DatasetWriter, table: str, rows: list[Any], videos: Iterable[str]) -> int:
    """Stage a collection stage's rows of `table` for every video of the collection, ordered by id."""
    column = schema_for(table).names[0]
    return writer.replace(table, sorted(rows, key=lambda r: getattr(r, column)), videos)


def written(writer: DatasetWriter) -> dict[str, int]:
    """Rows the writer's last commit wrote per table (new or changed; identical rows are not written again)."""
    return {table: change.written for table, change in writer.changes.items()}


def reject_row(stage: str, rejected: Rejected, provenance: Provenance | None = None) -> RejectRecord:
    """The `rejects` row of one dropped thing (every stage's rejections go through here)."""
    return RejectRecord(
        stage, rejected.reason or "unknown", rejected.detail, rejected.path, rejected.video_id, rejected.item_id,
        provenance,
    )  # fmt: skip


def stage_provenance(ctx: RunContext, stage: str) -> Provenance:
    """Provenance of a per-video stage's rejects (no models: the flow process has not loaded them)."""
    return Provenance(stage=stage, config_hash=ctx.config_hash(stage), package_version=__version__)


def publish_rejects(writer: DatasetWriter, ctx: RunContext, rejects: list[RejectRecord]) -> int:
    have = published_rejects(ctx.dataset)
    fresh = [r for r in rejects if (r.stage, r.reason, r.video_id or r.path) not in have]
    fresh.sort(key=lambda r: (r.stage, r.path or "", r.reason))
    return writer.append("rejects", fresh) if fresh else 0


def mark_rejected(video: VideoRecord) -> VideoRecord:
    return dataclasses.replace(video, status="rejected")
