"""`DIR/{sft,grpo,dpo}/{split}.parquet` for TRL: SFT as conversational prompt/completion (for
`completion_only_loss`), GRPO prompts with the reward columns (solution, problem_type, options, span), DPO
prompt/chosen/rejected as message lists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flows.exports.common import Options
from flows.exports.tables import copy_queries

if TYPE_CHECKING:
    import duckdb

# One query per output table; `?` is the split.
QUERIES = {
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


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    return copy_queries(con, QUERIES, out)
