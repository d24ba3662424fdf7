"""Videos: the list, one video's shots, keyframes, evidence and transcript, and one keyframe's JPEG bytes."""

from __future__ import annotations

from typing import Any

import duckdb

from flows.browse.filters import PAGE_SIZE, clamp_page
from flows.browse.queries import one, rows, scalar

SHOTS_PER_PAGE = 30

VIDEO_ROWS = """
SELECT v.video_id, v.path, v.status, v.duration, v.width, v.height, v.fps, v.has_audio,
       (SELECT count(*) FROM shots s WHERE s.video_id = v.video_id) AS shots,
       (SELECT count(*) FROM tasks t WHERE t.video_id = v.video_id) AS tasks,
       (SELECT count(*) FROM sft p WHERE p.video_id = v.video_id) AS sft,
       (SELECT count(*) FROM rejects r WHERE r.video_id = v.video_id) AS rejects
FROM (SELECT DISTINCT ON (video_id) * FROM videos) v
"""


def list_videos(
    con: duckdb.DuckDBPyConnection, page: int, status: str = "", page_size: int = PAGE_SIZE
) -> tuple[int, list[dict[str, Any]]]:
    """(videos with that status — any when empty, the rows of one page ordered by path; the last page when `page`
    is past the end)."""
    where, params = ("status = ?", [status]) if status else ("TRUE", [])
    total = int(scalar(con, f"SELECT count(*) FROM ({VIDEO_ROWS}) WHERE {where}", params) or 0)
    found = rows(
        con,
        f"SELECT * FROM ({VIDEO_ROWS}) WHERE {where} ORDER BY path, video_id LIMIT ? OFFSET ?",
        [*params, page_size, (clamp_page(page, total, page_size) - 1) * page_size],
    )
    return total, found


def video(
    con: duckdb.DuckDBPyConnection, video_id: str, shot_page: int = 1, shots_per_page: int = SHOTS_PER_PAGE
) -> dict[str, Any] | None:
    """The video page's data: metadata, every shot and keyframe time (for the timeline), the keyframes with their
    evidence for one page of shots, the transcript, tasks and rejects."""
    meta = one(con, "SELECT * EXCLUDE (provenance) FROM videos WHERE video_id = ? LIMIT 1", [video_id])
    if meta is None:
        return None
    shots = rows(
        con,
        'SELECT shot_id, "index", start, "end", transition_in FROM shots WHERE video_id = ? ORDER BY start, "index"',
        [video_id],
    )
    times = rows(con, "SELECT frame_id, shot_id, time FROM frames WHERE video_id = ? ORDER BY time", [video_id])
    first = (shot_page - 1) * shots_per_page
    page_shots = [s["shot_id"] for s in shots[first : first + shots_per_page]]
    frames = rows(
        con,
        """SELECT f.frame_id, f.shot_id, f.time, f.width, f.height,
                  e.backend, e.objects, e.ocr_text, e.people, e.faces, e.colours, e.brightness, e.motion, e.caption
           FROM (SELECT frame_id, shot_id, time, width, height FROM frames
                 WHERE video_id = ? AND list_contains(?, shot_id)) f
           LEFT JOIN (SELECT * EXCLUDE (provenance) FROM evidence WHERE video_id = ?) e USING (frame_id)
           ORDER BY f.time, f.frame_id""",
        [video_id, page_shots, video_id],
    )
    segments = rows(
        con,
        """SELECT segment_id, start, "end", text, language, avg_logprob, no_speech_prob FROM segments
           WHERE video_id = ? ORDER BY start, "index\"""",
        [video_id],
    )
    tasks = rows(
        con,
        """SELECT t.task_id, t.problem_type, t.question, t.split,
                  (SELECT bool_or(accepted) FROM cot c WHERE c.task_id = t.task_id) AS accepted
           FROM (SELECT DISTINCT ON (task_id) * FROM tasks WHERE video_id = ?) t ORDER BY t.task_id""",
        [video_id],
    )
    rejects = rows(
        con,
        "SELECT stage, reason, detail, item_id FROM rejects WHERE video_id = ? ORDER BY stage, reason, item_id",
        [video_id],
    )
    return {
        "video": meta,
        "shots": shots,
        "keyframe_times": times,
        "frames": frames,
        "segments": segments,
        "tasks": tasks,
        "rejects": rejects,
    }


def frame_jpeg(con: duckdb.DuckDBPyConnection, frame_id: str) -> bytes | None:
    """One keyframe's JPEG bytes (DuckDB reads only the row groups whose statistics can hold the id)."""
    got = con.execute("SELECT jpeg FROM frames WHERE frame_id = ? LIMIT 1", [frame_id]).fetchone()
    return bytes(got[0]) if got else None
