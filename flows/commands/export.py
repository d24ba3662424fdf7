"""`vidcot export DATASET --format hf|video-r1|trl --out DIR`: the pools in the formats trainers read.

- `hf`: `DIR/{sft,rl,pairs}/{split}.parquet`, the pool tables as they are, one file per split, so
  `load_dataset("parquet", data_dir="DIR/sft")` gives train/val/test splits.
- `video-r1`: `DIR/video_r1_{split}.json`, Video-R1's JSON list: problem_id, problem, problem_type, options,
  data_type ("video"), path, solution (`<answer>…</answer>`), process (the accepted `<think>…</think>`, empty
  for RL-only items), plus task_id and data_source.
- `trl`: `DIR/{sft,grpo,dpo}/{split}.parquet` — SFT as conversational prompt/completion (for
  `completion_only_loss`), GRPO prompts with the reward columns (solution, problem_type, options, span), DPO
  prompt/chosen/rejected as message lists.

The files are written into a fresh temporary folder beside DIR, which is renamed into place when every file is
written: a failed export leaves nothing behind, and DIR holds exactly one export's files. An existing non-empty DIR
is refused unless --overwrite is given; then it is replaced whole. DIR may not lie inside DATASET.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from flows.errors import UserError

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
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created; outside DATASET)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR whole if it exists and is not empty")
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


def _export(con: duckdb.DuckDBPyConnection, fmt: str, out: Path) -> dict[str, int]:
    """Write one format's files under `out`; {file relative to out: rows}."""
    if fmt == "video-r1":
        return _video_r1(con, out)
    counts: dict[str, int] = {}
    queries = (
        TRL_QUERIES
        if fmt == "trl"
        else {t: f"SELECT * FROM {t} WHERE split = ? ORDER BY 1" for t in ("sft", "rl", "pairs")}
    )
    for name, sql in queries.items():
        for split in SPLITS:
            n = _copy(con, sql, [split], out / name / f"{split}.parquet")
            if n:
                counts[f"{name}/{split}.parquet"] = n
    return counts


def check_target(out: Path, dataset: Path, overwrite: bool) -> Path:
    """The resolved export folder, or a UserError saying why `out` cannot be one. Nothing is created here."""
    target = out.resolve()
    root = dataset.resolve()
    if target == root or target.is_relative_to(root):
        raise UserError(f"--out {out} is inside the dataset {dataset}; export to a folder outside it")
    if root.is_relative_to(target):
        raise UserError(f"--out {out} holds the dataset {dataset}; export to a folder outside it")
    if Path.cwd().resolve().is_relative_to(target):
        raise UserError(f"--out {out} holds the current directory; export to a folder of its own")
    if target.exists() and not target.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise UserError(f"--out {out} cannot be made: {existing} is a file, not a folder")
    if target.is_dir() and not overwrite and any(target.iterdir()):
        raise UserError(f"--out {out} exists and is not empty; choose a new folder, or --overwrite to replace it")
    return target


@contextlib.contextmanager
def staging(target: Path, shown: Path) -> Iterator[Path]:
    """A fresh folder beside `target` to write into; on success it replaces `target` whole, on any failure it
    is removed and `target` is untouched."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.export-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as e:
        raise UserError(f"cannot write to {shown}: {e.strerror or e}") from None
    try:
        yield tmp
        _swap_in(tmp, target)
    except OSError as e:
        raise UserError(f"cannot write to {shown}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, target: Path) -> None:
    """Rename `new` to `target`; an existing `target` is moved aside first and removed once `new` is in place."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.parent / f".{target.name}.replaced-{secrets.token_hex(4)}"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)  # put the previous export back
        raise
    shutil.rmtree(old, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    from schemas.store.query import connect

    target = check_target(args.out, args.dataset, args.overwrite)
    con = connect(args.dataset, args.revision)
    pools = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("sft", "rl", "pairs")}
    if not any(pools.values()):
        raise UserError(f"nothing to export: {args.dataset} has empty sft, rl and pairs tables (run `vidcot curate`)")
    with staging(target, args.out) as tmp:
        counts = _export(con, args.format, tmp)
    for name, n in counts.items():
        print(f"{args.out / name}: {n} rows")
    return 0
