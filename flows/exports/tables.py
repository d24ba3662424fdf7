"""Pool tables copied to Parquet, one file per query and split (the `hf` and `trl` formats)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flows.exports.common import SPLITS

if TYPE_CHECKING:
    import duckdb


def copy_queries(con: duckdb.DuckDBPyConnection, queries: dict[str, str], out: Path) -> dict[str, int]:
    """`out/{name}/{split}.parquet` for each query (`?` is the split); splits with no rows are left out."""
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for name, sql in queries.items():
        for split in SPLITS:
            table = con.sql(sql, params=[split]).to_arrow_table()
            if table.num_rows == 0:
                continue
            path = out / name / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd")
            counts[f"{name}/{split}.parquet"] = table.num_rows
    return counts
