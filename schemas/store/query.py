"""DuckDB over a dataset: one view per table, over exactly the shards the manifest lists, on a sandboxed connection.

The connection is read-only to the world: it may read the dataset's listed shards and nothing else (no other file,
no URL, no writing anywhere — `COPY … TO`, `ATTACH`, `EXPORT DATABASE` —, no extension installed or loaded, no
spilling to disk), and its settings are locked so SQL cannot undo this. In-memory tables and views are allowed:
they touch no file.
"""

from __future__ import annotations

import os
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


# Set before the sandbox closes (the first two only take effect at start-up).
_SANDBOX_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(root: Path | str, revision: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory, sandboxed DuckDB connection with a view per table. Tables with no shards are empty views."""
    ds = Dataset(root, revision)
    shards = {t: ds.shards(t) for t in TABLES}
    for table_shards in shards.values():
        for s in table_shards:
            ds.check(s)  # cheap size check: a missing or truncated shard is named, not a DuckDB IO error
    # The paths as given (for callers that name shards as `root / file`) and absolute, both allowed.
    paths = {str(ds.root / s.file) for ss in shards.values() for s in ss}
    paths |= {os.path.abspath(p) for p in paths}
    con = duckdb.connect(":memory:", config=_SANDBOX_CONFIG)
    try:
        con.execute(f"SET allowed_paths = [{', '.join(_sql_str(p) for p in sorted(paths))}]")
        con.execute("SET allowed_directories = []")
        con.execute("SET temp_directory = ''")  # no spilling: an allowed temp folder would be a writable one
        con.execute("SET enable_external_access = false")
        _create_views(con, ds, shards)
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _create_views(con: duckdb.DuckDBPyConnection, ds: Dataset, all_shards: dict[str, list[Shard]]) -> None:
    for table in TABLES:
        shards = all_shards[table]
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
