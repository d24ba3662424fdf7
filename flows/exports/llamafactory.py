"""`DIR/dataset_info.json` + `DIR/vidcot_{sft,dpo}_{split}.json` for LLaMA-Factory: ShareGPT-style messages (the
system turn first, `<video>` before the user text) with a `videos` list; DPO pairs as `chosen`/`rejected`
assistant turns (`ranking: true`). Train with `dataset_dir: DIR` and `dataset: vidcot_sft_train`; clip paths are
found relative to `media_dir` (default: DIR), so `--copy-media` gives a self-contained folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.exports.common import SPLITS, Options, pool_rows, with_video_tag, write_json

if TYPE_CHECKING:
    import duckdb

TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
        "system_tag": "system"}  # fmt: skip


def _entry(file_name: str, ranking: bool) -> dict[str, Any]:
    columns = {"messages": "messages", "videos": "videos"}
    if ranking:
        columns |= {"chosen": "chosen", "rejected": "rejected"}
    entry: dict[str, Any] = {"file_name": file_name, "formatting": "sharegpt", "columns": columns, "tags": TAGS}
    if ranking:
        entry["ranking"] = True
    return entry


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    counts: dict[str, int] = {}
    info: dict[str, Any] = {}
    for kind, table in (("sft", "sft"), ("dpo", "pairs")):
        for split in SPLITS:
            items = []
            for r in pool_rows(con, table, split):
                item_id = r["pair_id"] if table == "pairs" else r["sample_id"]
                video = options.media.path(r["video_path"], r["video_id"], item_id)
                if table == "pairs":
                    items.append(
                        {
                            "messages": with_video_tag(r["prompt"]),
                            "chosen": {"role": "assistant", "content": r["chosen"]},
                            "rejected": {"role": "assistant", "content": r["rejected"]},
                            "videos": [video],
                        }
                    )
                else:
                    items.append({"messages": with_video_tag(r["messages"]), "videos": [video]})
            if items:
                name = f"vidcot_{kind}_{split}"
                counts[f"{name}.json"] = write_json(out / f"{name}.json", items)
                info[name] = _entry(f"{name}.json", ranking=kind == "dpo")
    if info:
        write_json(out / "dataset_info.json", info)
    return counts
