"""`DIR/{sft,rl,pairs}/{split}.parquet`: the pool tables as they are, one file per split, so
`load_dataset("parquet", data_dir="DIR/sft")` gives train/val/test splits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flows.exports.common import Options
from flows.exports.tables import copy_queries

if TYPE_CHECKING:
    import duckdb


def write(con: duckdb.DuckDBPyConnection, out: Path, options: Options) -> dict[str, int]:
    queries = {t: f"SELECT * FROM {t} WHERE split = ? ORDER BY 1" for t in ("sft", "rl", "pairs")}
    return copy_queries(con, queries, out)
