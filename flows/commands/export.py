"""`vidcot export DATASET --format hf|video-r1|trl --out DIR`: the pools in the formats trainers read.

- `hf`: `DIR/{sft,rl,pairs}/{split}.parquet`, the pool tables as they are, one file per split, so
  `load_dataset("parquet", data_dir="DIR/sft")` gives train/val/test splits.
- `video-r1`: `DIR/video_r1_{split}.json`, Video-R1's JSON list: problem_id, problem, problem_type, options,
  data_type ("video"), path, solution (`<answer>…</answer>`), process (the accepted `<think>…</think>`, empty
  for RL-only items), plus task_id and data_source.
- `trl`: `DIR/{sft,grpo,dpo}/{split}.parquet` — SFT as conversational prompt/completion (for
  `completion_only_loss`), GRPO prompts with the reward columns (solution, problem_type, options, span), DPO
  prompt/chosen/rejected as message lists.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from flows.cli import UserError

if TYPE_CHECKING:
    import duckdb

FORMATS = ("hf", "video-r1", "trl")
SPLITS = ("train", "val", "test")

# Queries per output table of the trl format; `?` is the split.
TRL_QUERIES = {
    "sft": """SELECT sample_id, task_id, video_id, problem_type, video_path, keyframe_ids,
                     list_slice(messages, 1, len(messages) - 1) AS prompt,
                     list_slice(messages, len(messages), len(messages)) AS completion
              FROM sft WHERE split = ? ORDER BY sample_id""",
    "grpo": """SELECT sample_id, task_id, video_id, prompt, solution, problem_type, options, span, difficulty,
                      video_path
               FROM rl WHERE split = ? ORDER BY sample_id""",
    "dpo": """SELECT pair_id, task_id, video_id, prompt,
                     [{'role': 'assistant', 'content': chosen}] AS chosen,
                     [{'role': 'assistant', 'content': rejected}] AS rejected, reason
              FROM pairs WHERE split = ? ORDER BY pair_id""",
}

VIDEO_R1_QUERY = """
WITH t AS (SELECT DISTINCT ON (task_id) * FROM tasks),
     v AS (SELECT DISTINCT ON (video_id) video_id, path FROM videos),
     chains AS (SELECT task_id, messages[len(messages)].content AS chain FROM sft),
     items AS (SELECT task_id FROM sft UNION SELECT task_id FROM rl)
SELECT t.task_id, t.question, t.problem_type, t.options, t.answer, v.path, chains.chain
FROM t JOIN items USING (task_id) JOIN v USING (video_id) LEFT JOIN chains USING (task_id)
WHERE t.split = ?
ORDER BY t.task_id, chains.chain
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export the sft/rl/pairs pools for Hugging Face, Video-R1 or TRL",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: vidcot export out/demo --format video-r1 --out out/video-r1",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET")
    p.add_argument("--format", choices=FORMATS, required=True, help="output format")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--revision", type=int, help="export an older revision of the dataset")
    p.set_defaults(func=run)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, params: list, path: Path) -> int:
    rel = con.sql(sql, params=params).to_arrow_table()
    if rel.num_rows == 0:
        return 0
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rel, path, compression="zstd")
    return rel.num_rows


def _video_r1(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    from trainers.rewards import parse_completion

    counts = {}
    for split in SPLITS:
        rows = con.execute(VIDEO_R1_QUERY, [split]).fetchall()
        items: list[dict[str, object]] = []
        for task_id, question, ptype, options, answer, path, chain in rows:
            think = parse_completion(chain).think if chain else None
            items.append(
                {
                    "problem_id": len(items),
                    "problem": question,
                    "problem_type": ptype,
                    "options": list(options or []),
                    "data_type": "video",
                    "path": path,
                    "solution": f"<answer>{answer}</answer>",
                    "process": f"<think>{think}</think>" if think is not None else "",
                    "task_id": task_id,
                    "data_source": "vidcot",
                }
            )
        if items:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"video_r1_{split}.json").write_text(json.dumps(items, indent=1, ensure_ascii=False))
            counts[f"video_r1_{split}.json"] = len(items)
    return counts


def run(args: argparse.Namespace) -> int:
    from schemas.store.query import connect

    con = connect(args.dataset, args.revision)
    pools = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("sft", "rl", "pairs")}
    if not any(pools.values()):
        raise UserError(f"nothing to export: {args.dataset} has empty sft, rl and pairs tables (run `vidcot curate`)")
    counts: dict[str, int] = {}
    if args.format == "video-r1":
        counts = _video_r1(con, args.out)
    else:
        queries = (
            TRL_QUERIES
            if args.format == "trl"
            else {t: f"SELECT * FROM {t} WHERE split = ? ORDER BY 1" for t in ("sft", "rl", "pairs")}
        )
        for name, sql in queries.items():
            for split in SPLITS:
                n = _copy(con, sql, [split], args.out / name / f"{split}.parquet")
                if n:
                    counts[f"{name}/{split}.parquet"] = n
    for name, n in counts.items():
        print(f"{args.out / name}: {n} rows")
    return 0
