"""Samples: a silver task with its chain(s) of thought, verdict, pools, split and difficulty."""

from __future__ import annotations

from typing import Any

import duckdb

from flows.browse.filters import PAGE_SIZE, SampleFilters, clamp_page
from flows.browse.queries import one, rows, scalar

# One row per (task, chain); a task that was never drafted has one row with verdict 'not drafted'.
SAMPLE_ROWS = """
WITH t AS (SELECT DISTINCT ON (task_id) task_id, video_id, generator, problem_type, question, answer, split,
                  subtitle_leak FROM tasks),
     d AS (SELECT task_id, max(difficulty) AS difficulty FROM rl GROUP BY task_id),
     v AS (SELECT DISTINCT ON (video_id) video_id, path AS video_path FROM videos)
SELECT t.*, v.video_path, c.cot_id, c.reject_reason,
       CASE WHEN c.cot_id IS NULL THEN 'not drafted' WHEN c.accepted THEN 'accepted' ELSE 'rejected' END AS verdict,
       t.task_id IN (SELECT task_id FROM sft) AS in_sft,
       t.task_id IN (SELECT task_id FROM rl) AS in_rl,
       t.task_id IN (SELECT task_id FROM pairs) AS in_pairs,
       d.difficulty
FROM t LEFT JOIN cot c ON c.task_id = t.task_id LEFT JOIN d ON d.task_id = t.task_id
     LEFT JOIN v ON v.video_id = t.video_id
"""


def list_samples(
    con: duckdb.DuckDBPyConnection, filters: SampleFilters, page_size: int = PAGE_SIZE
) -> tuple[int, list[dict[str, Any]]]:
    """(rows matching the filters, the rows of the requested page — the last page when it is past the end)."""
    where, params = filters.where()
    total = int(scalar(con, f"SELECT count(*) FROM ({SAMPLE_ROWS}) WHERE {where}", params) or 0)
    page = rows(
        con,
        f"SELECT * FROM ({SAMPLE_ROWS}) WHERE {where} ORDER BY video_id, task_id, cot_id LIMIT ? OFFSET ?",
        [*params, page_size, (clamp_page(filters.page, total, page_size) - 1) * page_size],
    )
    return total, page


def filter_choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each filter can take in this dataset (small DISTINCT scans)."""

    def distinct(sql: str) -> list[str]:
        return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]

    return {
        "split": distinct("SELECT DISTINCT split FROM tasks ORDER BY 1"),
        "problem_type": distinct("SELECT DISTINCT problem_type FROM tasks ORDER BY 1"),
        "reason": distinct("SELECT DISTINCT reject_reason FROM cot ORDER BY 1"),
    }


def sample(con: duckdb.DuckDBPyConnection, task_id: str) -> dict[str, Any] | None:
    """Everything the sample page shows for one task, or None if there is no such task."""
    task = one(
        con,
        """SELECT t.* EXCLUDE (provenance), v.path AS video_path, v.duration AS video_duration
           FROM (SELECT * FROM tasks WHERE task_id = ? LIMIT 1) t
           LEFT JOIN (SELECT DISTINCT ON (video_id) video_id, path, duration FROM videos) v USING (video_id)""",
        [task_id],
    )
    if task is None:
        return None
    chains = rows(con, "SELECT * EXCLUDE (provenance) FROM cot WHERE task_id = ? ORDER BY cot_id", [task_id])
    pools = rows(
        con,
        """SELECT 'sft' AS pool, sample_id AS id, split, NULL AS difficulty, NULL AS detail FROM sft WHERE task_id = ?
           UNION ALL
           SELECT 'rl', sample_id, split, difficulty, solution FROM rl WHERE task_id = ?
           UNION ALL
           SELECT 'pairs', pair_id, split, NULL, reason FROM pairs WHERE task_id = ?
           ORDER BY 1, 2""",
        [task_id, task_id, task_id],
    )
    cot_ids = [c["cot_id"] for c in chains]
    negatives = rows(
        con,
        """SELECT negative_id, kind, anchor_id, value, score FROM negatives
           WHERE anchor_id = ? OR list_contains(?, anchor_id)
              OR negative_id IN (SELECT unnest(negatives) FROM rl WHERE task_id = ?)
           ORDER BY kind, score DESC, negative_id""",
        [task_id, cot_ids, task_id],
    )
    pairs = rows(
        con, "SELECT pair_id, reason, chosen, rejected FROM pairs WHERE task_id = ? ORDER BY pair_id", [task_id]
    )
    return {
        "task": task,
        "chains": chains,
        "pools": pools,
        "negatives": negatives,
        "pairs": pairs,
        "frames": keyframes(con, task),
    }


def keyframes(con: duckdb.DuckDBPyConnection, task: dict[str, Any], limit: int = 12) -> list[dict[str, Any]]:
    """The keyframes a task was built from (its evidence ids name frames or shots, and the SFT row lists
    keyframes); failing that, the video's first keyframes."""
    ids = list(task.get("evidence_ids") or [])
    found = rows(
        con,
        """SELECT frame_id, shot_id, time FROM frames
           WHERE video_id = ? AND (list_contains(?, frame_id) OR list_contains(?, shot_id)
                 OR frame_id IN (SELECT unnest(keyframe_ids) FROM sft WHERE task_id = ?))
           ORDER BY time LIMIT ?""",
        [task["video_id"], ids, ids, task["task_id"], limit],
    )
    if found:
        return found
    return rows(
        con,
        "SELECT frame_id, shot_id, time FROM frames WHERE video_id = ? ORDER BY time LIMIT ?",
        [task["video_id"], limit],
    )
