"""The numbers of a dataset card, computed with DuckDB over exactly the shards of one revision.

`collect_stats(root, revision=None) -> CardStats` is the one entry point; the card (`data_cards.card`) and the
browse page both call it. Everything is an aggregate query: no table is read into Python row by row, and the
`frames` table is only ever touched for its `provenance` column (its JPEG bytes are never read).
"""

from __future__ import annotations

import logging
import math
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from schemas import TABLES, schema_for
from schemas.card import (
    CardProvenance,
    CardStats,
    CheckAcceptance,
    CitationAccuracy,
    Histogram,
    ModelAcceptance,
    RejectCount,
    RevisionInfo,
)
from schemas.store import Dataset
from schemas.store.query import connect
from schemas.synthesis import COT_SOURCES, SourceAcceptance

log = logging.getLogger(__name__)

POOLS = ("sft", "rl", "pairs")
DIFFICULTY_BINS = 10
CHAIN_BINS = 12
# Versions worth knowing when someone asks how a dataset was made; missing ones are left out.
PACKAGES = (
    "vidcot",
    "torch",
    "transformers",
    "trl",
    "faster-whisper",
    "ctranslate2",
    "scenedetect",
    "av",
    "opencv-python-headless",
    "opencv-python",
    "pytesseract",
    "duckdb",
    "pyarrow",
    "datasets",
    "prefect",
)
# Words in the chain a reader trains on: the refined text when refinement rewrote it, else the draft.
CHAIN_WORDS = "len(regexp_split_to_array(trim(coalesce(refined, draft)), '\\s+'))"


def collect_stats(root: Path | str, revision: int | None = None) -> CardStats:
    """Statistics of the dataset at `root` as of `revision` (the latest when None).

    Stable entry point, shared by `vidcot card` and `vidcot browse`. Raises the store's errors
    (`DatasetNotFound`, `StoreError` for a revision that does not exist, `CorruptShard` for a missing shard).
    """
    ds = Dataset(root, revision)
    rev = ds.revision
    con = connect(root, rev)
    try:
        return _collect(con, ds, rev)
    finally:
        con.close()


def _collect(con: duckdb.DuckDBPyConnection, ds: Dataset, rev: int) -> CardStats:
    m = ds.manifest
    this = next((r for r in m.revisions if r.revision == rev), None)
    kept, rejected, seconds = _one(
        con,
        """SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok), coalesce(sum(dur) FILTER (WHERE ok), 0)
           FROM (SELECT video_id, bool_or(status = 'ok') AS ok, max(duration) AS dur FROM videos GROUP BY video_id)""",
    )
    # Files the probe rejected (unreadable, duplicates, …) never became `videos` rows; count them as rejected too.
    (unprobed,) = _one(con, "SELECT count(*) FROM rejects WHERE stage = 'probe'")
    languages = {
        str(lang): round(float(sec) / 60, 3)
        for lang, sec in con.execute(
            'SELECT language, sum("end" - start) AS s FROM segments GROUP BY language ORDER BY s DESC'
        ).fetchall()
    }
    stats = CardStats(
        dataset=str(ds.root),
        revision=rev,
        created=this.created if this else "",
        videos=int(kept),
        videos_rejected=int(rejected) + int(unprobed),
        hours=round(float(seconds) / 3600, 4),
        shots=ds.rows("shots"),
        keyframes=ds.rows("frames"),
        speech_minutes=round(sum(languages.values()), 3),
        languages=languages,
        table_rows={t: ds.rows(t) for t in TABLES},
    )
    stats.pool_rows = {t: _counts(con, f"SELECT split, count(*) FROM {t} GROUP BY 1 ORDER BY 1") for t in POOLS}
    stats.rejects = [
        RejectCount(str(stage), str(reason), int(n))
        for stage, reason, n in con.execute(
            "SELECT stage, reason, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, stage, reason"
        ).fetchall()
    ]
    stats.problem_types = {
        t: _counts(con, f"SELECT problem_type, count(*) AS n FROM {t} GROUP BY 1 ORDER BY n DESC, 1")
        for t in ("tasks", "sft", "rl")
    }
    stats.generators = _counts(con, "SELECT generator, count(*) AS n FROM tasks GROUP BY 1 ORDER BY n DESC, 1")
    tasks, leaks, absent = _one(
        con,
        "SELECT count(*), count(*) FILTER (WHERE subtitle_leak), count(*) FILTER (WHERE generator = 'absence') "
        "FROM tasks",
    )
    if tasks:
        stats.subtitle_leak_share = round(leaks / tasks, 4)
        stats.absence_share = round(absent / tasks, 4)
    stats.prompt_answerable_tasks, stats.prompt_answerable_in_pools = _prompt_answerable(con)
    if tasks and "prompt_answerable" in _columns(con, "tasks"):
        stats.prompt_answerable_share = round(stats.prompt_answerable_tasks / tasks, 4)
    stats.difficulty = _difficulty(con)
    stats.chain_words_all, stats.chain_words_accepted = _chain_lengths(con)
    stats.acceptance = [
        ModelAcceptance(str(model), int(n), int(ok))
        for model, n, ok in con.execute(
            "SELECT model, count(*) AS n, count(*) FILTER (WHERE accepted) FROM cot GROUP BY model ORDER BY n DESC"
        ).fetchall()
    ]
    stats.cot_reject_reasons = _counts(
        con,
        "SELECT coalesce(reject_reason, 'unspecified'), count(*) AS n FROM cot WHERE NOT accepted "
        "GROUP BY 1 ORDER BY n DESC, 1",
    )
    stats.citation_accuracy = _citation_accuracy(con)
    stats.check_acceptance = _check_acceptance(con)
    stats.source_acceptance = _source_acceptance(con)
    stats.revisions = [
        RevisionInfo(r.revision, r.created, r.command, sum(s.rows for s in m.shards if s.revision == r.revision))
        for r in m.revisions
        if r.revision <= rev
    ]
    stats.provenance = _provenance(con, this.config if this else {})
    return stats


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None  # aggregates without GROUP BY always return one row
    return tuple(row)


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(k): int(n) for k, n in con.execute(sql).fetchall()}


def _histogram(con: duckdb.DuckDBPyConnection, sql: str, edges: list[float]) -> Histogram:
    """`sql` yields (bin index, count); bins outside the edges are clamped to the first or last bin."""
    counts = [0] * (len(edges) - 1)
    for b, n in con.execute(sql).fetchall():
        counts[min(max(int(b), 0), len(counts) - 1)] += int(n)
    return Histogram(edges=edges, counts=counts)


def _difficulty(con: duckdb.DuckDBPyConnection) -> Histogram:
    edges = [round(i / DIFFICULTY_BINS, 2) for i in range(DIFFICULTY_BINS + 1)]
    sql = (
        f"SELECT floor(difficulty * {DIFFICULTY_BINS}) AS b, count(*) FROM rl "
        "WHERE difficulty IS NOT NULL AND NOT isnan(difficulty) GROUP BY b"
    )
    return _histogram(con, sql, edges)


def _nice_width(longest: int, bins: int) -> int:
    """A round bin width (1, 2, 5 × 10^k) so that `bins` bins cover 0..longest."""
    raw = max(longest / bins, 1.0)
    exp = 10 ** math.floor(math.log10(raw))
    return int(next(m * exp for m in (1, 2, 5, 10) if m * exp >= raw))


def _chain_lengths(con: duckdb.DuckDBPyConnection) -> tuple[Histogram, Histogram]:
    (longest,) = _one(con, f"SELECT coalesce(max({CHAIN_WORDS}), 0) FROM cot")
    width = _nice_width(int(longest), CHAIN_BINS)
    edges = [float(i * width) for i in range(int(longest) // width + 2)]
    base = f"SELECT floor({CHAIN_WORDS} / {width}) AS b, count(*) FROM cot"
    return (
        _histogram(con, f"{base} GROUP BY b", edges),
        _histogram(con, f"{base} WHERE accepted GROUP BY b", edges),
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {str(row[0]) for row in con.execute(f"DESCRIBE {table}").fetchall()}


def _citation_accuracy(con: duckdb.DuckDBPyConnection) -> CitationAccuracy | None:
    """Mean citation accuracy of accepted vs all chains, when `cot` has that column (older datasets do not)."""
    if "citation_accuracy" not in _columns(con, "cot"):
        return None
    acc, every = _one(con, "SELECT avg(citation_accuracy) FILTER (WHERE accepted), avg(citation_accuracy) FROM cot")
    return CitationAccuracy(
        accepted=None if acc is None else round(float(acc), 4),
        all=None if every is None else round(float(every), 4),
    )


def _check_acceptance(con: duckdb.DuckDBPyConnection) -> list[CheckAcceptance]:
    """Per verifier check: chains it judged and chains that failed it (from `cot.checks_run` / `checks_failed`;
    none for datasets verified before checks were recorded). Ordered by where the check runs in the verifier."""
    if not {"checks_run", "checks_failed"} <= _columns(con, "cot"):
        return []
    sql = """
        WITH run AS (SELECT name, count(*) AS n, avg(pos) AS pos FROM
                       (SELECT unnest(checks_run) AS name, generate_subscripts(checks_run, 1) AS pos FROM cot)
                     GROUP BY name),
             failed AS (SELECT name, count(*) AS n FROM (SELECT unnest(checks_failed) AS name FROM cot) GROUP BY name)
        SELECT run.name, run.n, coalesce(failed.n, 0) FROM run LEFT JOIN failed USING (name) ORDER BY run.pos, run.name
    """
    return [CheckAcceptance(str(name), int(n), int(f)) for name, n, f in con.execute(sql).fetchall()]


def _source_acceptance(con: duckdb.DuckDBPyConnection) -> list[SourceAcceptance]:
    """Chains and accepted chains per `cot.source` (skeleton, polished, rationale, blind; "unrecorded" for chains
    drafted before the source was kept), in COT_SOURCES order; none for datasets without the column."""
    if "source" not in _columns(con, "cot"):
        return []
    sql = """SELECT coalesce(nullif(source, ''), 'unrecorded'), count(*), count(*) FILTER (WHERE accepted)
             FROM cot GROUP BY 1"""
    found = [SourceAcceptance(str(src), int(n), int(ok)) for src, n, ok in con.execute(sql).fetchall()]
    order = {name: i for i, name in enumerate(COT_SOURCES)}
    return sorted(found, key=lambda a: (order.get(a.source, len(order)), a.source))


def _prompt_answerable(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(tasks the prompt answers, how many of them have rows in sft or rl); (0, 0) for datasets without the flag."""
    if "prompt_answerable" not in _columns(con, "tasks"):
        return 0, 0
    flagged, pooled = _one(
        con,
        """SELECT count(*), count(*) FILTER (WHERE task_id IN (SELECT task_id FROM sft UNION SELECT task_id FROM rl))
           FROM (SELECT DISTINCT ON (task_id) task_id FROM tasks WHERE prompt_answerable)""",
    )
    return int(flagged), int(pooled)


def _provenance(con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> CardProvenance:
    """Distinct models, prompt hashes, config hashes and versions over every table's `provenance` column."""
    parts = [
        f"SELECT DISTINCT provenance.stage AS stage, provenance.models AS models, provenance.prompt_hash AS prompt, "
        f"provenance.config_hash AS cfg, provenance.package_version AS version FROM {t} WHERE provenance IS NOT NULL"
        for t in TABLES
        if "provenance" in schema_for(t).names
    ]
    sql = f"SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}) ORDER BY stage"
    models: dict[str, set[str]] = {}
    prompts: dict[str, set[str]] = {}
    configs: dict[str, set[str]] = {}
    versions: set[str] = set()
    for stage, stage_models, prompt, cfg, version in con.execute(sql).fetchall():
        models.setdefault(stage, set()).update(m for m in stage_models or [] if m)
        if prompt:
            prompts.setdefault(stage, set()).add(prompt)
        if cfg:
            configs.setdefault(stage, set()).add(cfg)
        if version:
            versions.add(version)
    return CardProvenance(
        models={k: sorted(v) for k, v in models.items() if v},
        prompt_hashes={k: sorted(v) for k, v in prompts.items()},
        config_hashes={k: sorted(v) for k, v in configs.items()},
        vidcot_versions=sorted(versions),
        packages=_package_versions(),
        config=config,
    )


def _package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
