"""`DIR/{sft,grpo,dpo}/{split}.jsonl` for ms-swift: `messages` (`<video>` before the user text) with a `videos`
list; GRPO rows are the prompt with the reward columns (solution, problem_type, options); DPO rows end in the
chosen turn with `rejected_response`. `DIR/vidcot_swift_reward.py` registers our reward as `vidcot`:
`swift rlhf --rlhf_type grpo --external_plugins DIR/vidcot_swift_reward.py --reward_funcs vidcot`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.exports.common import SPLITS, Options, pool_rows, with_video_tag, write_json, write_reward_file

if TYPE_CHECKING:
    import duckdb

REWARD_FILE = "vidcot_swift_reward.py"
TABLES = {"sft": "sft", "grpo": "rl", "dpo": "pairs"}


def _item(kind: str, r: dict[str, Any], video: str) -> dict[str, Any]:
    if kind == "sft":
        return {"messages": with_video_tag(r["messages"]), "videos": [video]}
    if kind == "grpo":
        return {
            "messages": with_video_tag(r["prompt"]),
            "videos": [video],
            "solution": r["solution"],
            "problem_type": r["problem_type"],
            "options": list(r["options"] or []),
        }
    chosen = {"role": "assistant", "content": r["chosen"]}
    return {"messages": [*with_video_tag(r["prompt"]), chosen], "rejected_response": r["rejected"], "videos": [video]}


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, table in TABLES.items():
        for split in SPLITS:
            items = []
            for r in pool_rows(con, table, split):
                item_id = r["pair_id"] if table == "pairs" else r["sample_id"]
                items.append(_item(kind, r, options.media.path(r["video_path"], r["video_id"], item_id)))
            if items:
                counts[f"{kind}/{split}.jsonl"] = write_json(out / kind / f"{split}.jsonl", items, lines=True)
    if any(k.startswith("grpo/") for k in counts):
        write_reward_file(
            out / REWARD_FILE,
            options.reward_root,
            "vidcot's GRPO reward for ms-swift (`--external_plugins` this file, `--reward_funcs vidcot`).",
            "from trainers.framework_rewards import register_swift  # noqa: E402\n\nregister_swift()",
        )
    return counts
