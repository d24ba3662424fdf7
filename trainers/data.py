"""The curated pools as training data: `sft` as prompt/completion chats, `rl` as prompts with verifiable columns.

Shards are read where they lie (``Dataset(root).files(table)`` → ``datasets.load_dataset("parquet", ...)``): no
export step, and ``streaming=True`` reads pools larger than memory shard by shard.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from schemas.store import Dataset
from trainers.prompts import strip_subtitles

log = logging.getLogger(__name__)

def shard_files(data: Path | str, table: str) -> list[str]:
    """The table's shard paths; ValueError when the dataset has none (the pool was never built)."""
    files = [str(p) for p in Dataset(data).files(table)]
    if not files:
        raise ValueError(f"dataset {data} has no {table!r} shards; build the pools first")
    return files


def load_table(data: Path | str, table: str, streaming: bool = False) -> Any:
    """A pool table as a ``datasets`` (Iterable)Dataset straight from its shards.

    Shards written before a column was added lack it, and ``load_dataset("parquet")`` refuses files whose columns
    differ; such a mixed pool is read through Arrow instead (missing columns become nulls), in memory.
    """
    import datasets
    import pyarrow.parquet as pq

    files = shard_files(data, table)
    if len({tuple(pq.read_schema(f).names) for f in files}) == 1:
        return datasets.load_dataset("parquet", data_files=files, split="train", streaming=streaming)
    log.info("%s shards of %s have different columns (written by different versions); reading via Arrow", table,
             data)  # fmt: skip
    ds = datasets.Dataset(Dataset(data).read(table))
    return ds.to_iterable_dataset() if streaming else ds


def _plain_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def sft_example(row: dict[str, Any], subtitles: bool = True) -> dict[str, Any]:
    """One ``sft`` row as a conversational prompt/completion pair: everything before the last assistant turn is
    the prompt, that turn the completion (so ``completion_only_loss`` puts the loss on it alone)."""
    messages = _plain_messages(row["messages"])
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise ValueError(f"sft row {row.get('sample_id')!r} has no assistant turn")
    prompt = messages[:last]
    return {
        "prompt": prompt if subtitles else strip_subtitles(prompt),
        "completion": [messages[last]],
    }


def _with_images(data: Path | str, images: int, make: Any) -> Any:
    """``make(row)`` plus, when ``images`` > 0, an ``images`` column of up to that many keyframes of the row's video
    (for vision-language models; see trainers/vision.py)."""
    if images <= 0:
        return make
    from trainers.vision import KeyframeImages

    frames = KeyframeImages(data, images)

    def example(row: dict[str, Any]) -> dict[str, Any]:
        return {**make(row), "images": frames.for_row(row["video_id"], row.get("keyframe_ids"))}

    return example


def load_sft(
    data: Path | str, split: str = "train", streaming: bool = False, subtitles: bool = True, images: int = 0
) -> Any:
    """The ``sft`` pool's ``split`` rows as a ``datasets`` (Iterable)Dataset with ``prompt``/``completion`` (and
    ``images``: up to ``images`` keyframes per row, for vision-language models)."""
    ds = load_table(data, "sft", streaming)
    columns = list(ds.column_names or [])
    ds = ds.filter(lambda r: r["split"] == split)
    return ds.map(_with_images(data, images, lambda r: sft_example(r, subtitles)), remove_columns=columns)


def rl_example(row: dict[str, Any], subtitles: bool = True) -> dict[str, Any]:
    """One ``rl`` row with the columns reward functions read (``solution``, ``problem_type``, ``options``,
    ``difficulty``, ``sample_id``) and a plain message-list ``prompt``."""
    prompt = _plain_messages(row["prompt"])
    return {
        "prompt": prompt if subtitles else strip_subtitles(prompt),
        "solution": row["solution"],
        "problem_type": row["problem_type"],
        "options": list(row.get("options") or []),
        "difficulty": float(row["difficulty"]) if row.get("difficulty") is not None else None,
        "sample_id": row["sample_id"],
        "video_id": row.get("video_id", ""),
    }


def load_rl(
    data: Path | str, split: str = "train", subtitles: bool = True, streaming: bool = False, images: int = 0
) -> Any:
    """The ``rl`` pool's ``split`` rows as a ``datasets`` Dataset for ``GRPOTrainer`` (``images`` as in load_sft)."""
    ds = load_table(data, "rl", streaming)
    columns = list(ds.column_names or [])
    ds = ds.filter(lambda r: r["split"] == split)
    return ds.map(_with_images(data, images, lambda r: rl_example(r, subtitles)), remove_columns=columns)


def rl_rows(data: Path | str, split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The ``rl`` pool's ``split`` rows as plain dicts (Arrow filter; for eval, which needs no HF cache).
    ``split`` may name several splits, comma-separated (``val,test``: every held-out video)."""
    shard_files(data, "rl")
    table = Dataset(data).read("rl")  # all columns: shards from older versions may lack some (keyframe_ids)
    table = table.filter(pc.is_in(table["split"], pa.array([s.strip() for s in split.split(",")])))
    if limit is not None:
        table = table.slice(0, limit)
    rows = [{**rl_example(r), "keyframe_ids": list(r.get("keyframe_ids") or [])} for r in table.to_pylist()]
    if not rows:
        raise ValueError(f"dataset {data} has no {split!r} rows in the rl pool")
    return rows
