"""The overview's numbers (when the data card's statistics are not available) and reject reasons."""

from __future__ import annotations

from typing import Any

import duckdb

from flows.browse.filters import PAGE_SIZE
from flows.browse.queries import one, rows, scalar
from schemas.synthesis import COT_SOURCES


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Headline numbers, each one aggregate query (no table is read into Python)."""
    videos = (
        one(
            con,
            """SELECT count(*) FILTER (WHERE status = 'ok') AS kept, count(*) FILTER (WHERE status <> 'ok') AS rejected,
                  coalesce(sum(duration) FILTER (WHERE status = 'ok'), 0) AS seconds
           FROM (SELECT DISTINCT ON (video_id) status, duration FROM videos)""",
        )
        or {}
    )
    speech = scalar(con, 'SELECT coalesce(sum("end" - start), 0) FROM segments') or 0.0
    chains = (
        one(
            con,
            """SELECT count(*) AS drafted, count(*) FILTER (WHERE accepted) AS accepted,
                  avg(grounding_draft) AS grounding_draft, avg(grounding) FILTER (WHERE accepted) AS grounding
           FROM cot""",
        )
        or {}
    )
    return {
        "videos_kept": videos.get("kept", 0),
        "videos_rejected": videos.get("rejected", 0),
        "video_minutes": float(videos.get("seconds") or 0) / 60,
        "speech_minutes": float(speech) / 60,
        "shots": scalar(con, "SELECT count(*) FROM shots"),
        "keyframes": scalar(con, "SELECT count(*) FROM frames"),
        "tasks": scalar(con, "SELECT count(DISTINCT task_id) FROM tasks"),
        **chains,
    }


def tasks_by_type(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows per problem type in tasks, sft and rl."""
    return rows(
        con,
        """WITH t AS (SELECT problem_type, count(*) AS n FROM (SELECT DISTINCT ON (task_id) problem_type FROM tasks)
                     GROUP BY 1),
                s AS (SELECT problem_type, count(*) AS n FROM sft GROUP BY 1),
                r AS (SELECT problem_type, count(*) AS n FROM rl GROUP BY 1)
           SELECT problem_type, coalesce(t.n, 0) AS tasks, coalesce(s.n, 0) AS sft, coalesce(r.n, 0) AS rl
           FROM t FULL JOIN s USING (problem_type) FULL JOIN r USING (problem_type)
           ORDER BY tasks DESC, problem_type""",
    )


def pools_by_split(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        con,
        """SELECT pool, split, count(*) AS n FROM (
             SELECT 'sft' AS pool, split FROM sft UNION ALL SELECT 'rl', split FROM rl
             UNION ALL SELECT 'pairs', split FROM pairs)
           GROUP BY ALL ORDER BY pool, split""",
    )


def reject_reasons(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Everything dropped, counted by stage and reason: the rejects table and the verifier's chain verdicts."""
    return rows(
        con,
        """SELECT stage, reason, count(*) AS n, 'rejects' AS source FROM rejects GROUP BY ALL
           UNION ALL
           SELECT 'verify', reject_reason, count(*), 'cot' FROM cot WHERE NOT accepted GROUP BY ALL
           ORDER BY n DESC, stage, reason""",
    )


def check_acceptance(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per verifier check: chains it judged and chains that failed it (none before checks were recorded)."""
    if not {"checks_run", "checks_failed"} <= _columns(con, "cot"):
        return []
    return rows(
        con,
        """WITH run AS (SELECT name, count(*) AS n, avg(pos) AS pos FROM
                          (SELECT unnest(checks_run) AS name, generate_subscripts(checks_run, 1) AS pos
                           FROM cot) GROUP BY name),
                failed AS (SELECT name, count(*) AS n FROM (SELECT unnest(checks_failed) AS name FROM cot)
                           GROUP BY name)
           SELECT run.name AS name, run.n AS checked, coalesce(failed.n, 0) AS failed
           FROM run LEFT JOIN failed USING (name) ORDER BY run.pos, run.name""",
    )


def source_acceptance(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Chains and accepted chains per `cot.source` in COT_SOURCES order ("unrecorded" for chains drafted before
    the source was kept; none when the column is missing)."""
    if "source" not in _columns(con, "cot"):
        return []
    order = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(COT_SOURCES))
    return rows(
        con,
        f"""SELECT * FROM (SELECT coalesce(nullif(source, ''), 'unrecorded') AS source, count(*) AS chains,
                                  count(*) FILTER (WHERE accepted) AS accepted FROM cot GROUP BY 1)
            ORDER BY CASE source {order} ELSE {len(COT_SOURCES)} END, source""",
    )


def prompt_answerable(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """Tasks whose prompt prints the answer (`flagged`) and how many of them have sft or rl rows (`in_pools`);
    None when the tasks table has no such flag."""
    if "prompt_answerable" not in _columns(con, "tasks"):
        return None
    return one(
        con,
        """SELECT count(*) AS flagged,
                  count(*) FILTER (WHERE task_id IN (SELECT task_id FROM sft UNION SELECT task_id FROM rl)) AS in_pools
           FROM (SELECT DISTINCT ON (task_id) task_id FROM tasks WHERE prompt_answerable)""",
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {str(r[0]) for r in con.execute(f"DESCRIBE {table}").fetchall()}


def list_rejects(
    con: duckdb.DuckDBPyConnection, stage: str, reason: str, video: str, page: int, page_size: int = PAGE_SIZE
) -> tuple[int, list[dict[str, Any]]]:
    """(rejects matching stage, reason and video — any when empty, one page of them)."""
    clauses, params = [], []
    for column, value in (("stage", stage), ("reason", reason), ("video_id", video)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = " AND ".join(clauses) or "TRUE"
    total = int(scalar(con, f"SELECT count(*) FROM rejects WHERE {where}", params) or 0)
    found = rows(
        con,
        f"""SELECT stage, reason, detail, path, video_id, item_id,
                   coalesce((SELECT t.task_id FROM tasks t WHERE t.task_id = r.item_id LIMIT 1),
                            (SELECT c.task_id FROM cot c WHERE c.cot_id = r.item_id LIMIT 1)) AS task_id
            FROM rejects r WHERE {where} ORDER BY stage, reason, path, item_id LIMIT ? OFFSET ?""",
        [*params, page_size, (page - 1) * page_size],
    )
    return total, found
