"""`DIR/video_r1_{split}.json`, Video-R1's JSON list: problem_id, problem, problem_type, options, data_type
("video"), path, solution (`<answer>…</answer>`), process (the accepted `<think>…</think>`, empty for RL-only
items), plus task_id and data_source."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flows.exports.common import SPLITS, Options, write_json

if TYPE_CHECKING:
    import duckdb

QUERY = """
WITH t AS (SELECT DISTINCT ON (task_id) * FROM tasks),
     v AS (SELECT DISTINCT ON (video_id) video_id, path FROM videos),
     chains AS (SELECT task_id, messages[len(messages)].content AS chain FROM sft),
     items AS (SELECT task_id FROM sft UNION SELECT task_id FROM rl)
SELECT t.task_id, t.question, t.problem_type, t.options, t.answer, v.path, chains.chain
FROM t JOIN items USING (task_id) JOIN v USING (video_id) LEFT JOIN chains USING (task_id)
WHERE t.split = ?
ORDER BY t.task_id, chains.chain
"""


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    from trainers.rewards import parse_completion

    counts = {}
    for split in SPLITS:
        rows = con.execute(QUERY, [split]).fetchall()
        items: list[dict[str, object]] = []
        for task_id, question, ptype, options_, answer, path, chain in rows:
            think = parse_completion(chain).think if chain else None
            items.append(
                {
                    "problem_id": len(items),
                    "problem": question,
                    "problem_type": ptype,
                    "options": list(options_ or []),
                    "data_type": "video",
                    "path": path,
                    "solution": f"<answer>{answer}</answer>",
                    "process": f"<think>{think}</think>" if think is not None else "",
                    "task_id": task_id,
                    "data_source": "vidcot",
                }
            )
        if items:
            counts[f"video_r1_{split}.json"] = write_json(out / f"video_r1_{split}.json", items)
    return counts
