"""DuckDB over a dataset: one view per table, over exactly the shards the manifest lists."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import duckdb
import pyarrow as pa

from schemas import TABLES, schema_for
from schemas.store.errors import CorruptShard
from schemas.store.manifest import Shard
from schemas.store.reader import Dataset


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(root: Path | str, revision: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table. Tables with no shards are empty views."""
    ds = Dataset(root, revision)
    con = duckdb.connect(":memory:")
    for table in TABLES:
        shards = ds.shards(table)
        for s in shards:
            ds.check(s)  # cheap size check: a missing or truncated shard is named, not a DuckDB IO error
        if shards:
            files = ", ".join(_sql_str(str(ds.root / s.file)) for s in shards)
            try:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{files}], union_by_name=true)")
            except duckdb.Error as e:  # a damaged footer: name the shard, not DuckDB's internals
                _raise_corrupt(ds, shards, e)
        else:
            empty: pa.Table = schema_for(table).empty_table()
            con.register(f"_empty_{table}", empty)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _empty_{table}")
    return con


def _raise_corrupt(ds: Dataset, shards: list[Shard], error: duckdb.Error) -> NoReturn:
    """Find the shard DuckDB could not read by its checksum and raise CorruptShard naming it."""
    for s in shards:
        ds.check(s, full=True)
    reason = str(error).strip().splitlines()[0]
    raise CorruptShard(f"cannot read shards {', '.join(s.file for s in shards)}: {reason}") from None


def describe(root: Path | str, revision: int | None = None) -> list[tuple[str, int, str]]:
    """(table, rows, columns) for every table, rows from the manifest (no scan)."""
    ds = Dataset(root, revision)
    return [(t, ds.rows(t), ", ".join(schema_for(t).names)) for t in TABLES]
