"""`DIR/{split}.parquet` for verl's RL trainers: `prompt` (chat messages, `<video>` before the user text),
`videos`, `data_source` ("vidcot"), `ability` (the problem type), `reward_model` {style: "rule", ground_truth: the
answer}, `extra_info` (index, sample_id, task_id, problem_type, options, prompt). `DIR/vidcot_reward.py` has
`compute_score` for `custom_reward_function.path`: it scores with our rewards, exactly as `vidcot train grpo`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.exports.common import SPLITS, Options, pool_rows, with_video_tag, write_parquet, write_reward_file

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

REWARD_FILE = "vidcot_reward.py"
DATA_SOURCE = "vidcot"


def _item(r: dict[str, Any], index: int, video: str) -> dict[str, Any]:
    prompt = with_video_tag(r["prompt"])
    return {
        "data_source": DATA_SOURCE,
        "prompt": prompt,
        "videos": [video],
        "ability": r["problem_type"],
        "reward_model": {"style": "rule", "ground_truth": r["solution"]},
        "extra_info": {
            "index": index,
            "split": r["split"],
            "sample_id": r["sample_id"],
            "task_id": r["task_id"],
            "problem_type": r["problem_type"],
            "options": list(r["options"] or []),
            "prompt": prompt,
        },
    }


def _schema() -> pa.Schema:
    import pyarrow as pa

    text = pa.string()
    messages = pa.list_(pa.struct([("role", text), ("content", text)]))
    info = [("index", pa.int64()), ("split", text), ("sample_id", text), ("task_id", text), ("problem_type", text),
            ("options", pa.list_(text)), ("prompt", messages)]  # fmt: skip
    return pa.schema(
        [("data_source", text), ("prompt", messages), ("videos", pa.list_(text)), ("ability", text),
         ("reward_model", pa.struct([("style", text), ("ground_truth", text)])), ("extra_info", pa.struct(info))]
    )  # fmt: skip


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    counts: dict[str, int] = {}
    for split in SPLITS:
        items = [
            _item(r, i, options.media.path(r["video_path"], r["video_id"], r["sample_id"]))
            for i, r in enumerate(pool_rows(con, "rl", split))
        ]
        if items:
            counts[f"{split}.parquet"] = write_parquet(out / f"{split}.parquet", items, _schema())
    if counts:
        write_reward_file(
            out / REWARD_FILE,
            options.reward_root,
            "vidcot's reward for verl: `custom_reward_function.path` is this file, `.name` is `compute_score`.",
            "from trainers.framework_rewards import compute_score  # noqa: E402, F401",
        )
    return counts
