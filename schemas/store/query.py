"""DuckDB over a dataset: one view per table, over exactly the shards the manifest lists, on a sandboxed connection.

The connection touches no file at all: each view reads its shards through an Arrow dataset opened here, in Python,
after every shard was checked against the manifest (reader.py `Dataset.path`), and DuckDB itself is given no path it
may open — not even the shards, which a path allowed for reading would also allow `COPY … TO` to overwrite. So SQL
cannot read another file, a URL, or the shards by path, nor write anywhere (`COPY … TO`, `ATTACH`, `EXPORT
DATABASE`), install or load an extension, or spill to disk; the settings are locked so SQL cannot undo this.
In-memory tables and views are allowed: they touch no file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from schemas import TABLES, schema_for
from schemas.store.errors import CorruptShard
from schemas.store.manifest import Shard
from schemas.store.reader import Dataset

# Set before the sandbox closes (the first two only take effect at start-up).
_SANDBOX_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(root: Path | str, revision: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory, sandboxed DuckDB connection with a view per table. Tables with no shards are empty views.
    Raises CorruptShard naming the first shard that is missing or does not match the manifest."""
    ds = Dataset(root, revision)
    sources = {t: _source(ds, t) for t in TABLES}
    con = duckdb.connect(":memory:", config=_SANDBOX_CONFIG)
    try:
        con.execute("SET allowed_paths = []")
        con.execute("SET allowed_directories = []")
        con.execute("SET temp_directory = ''")  # no spilling: an allowed temp folder would be a writable one
        con.execute("SET enable_external_access = false")
        for table, source in sources.items():
            con.register(f"_shards_{table}", source)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _shards_{table}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _source(ds: Dataset, table: str) -> pa.Table | pads.Dataset:
    """The table's shards (each checked first) as one Arrow dataset over their union of columns, or an empty table."""
    shards = ds.shards(table)
    if not shards:
        return schema_for(table).empty_table()
    paths = [str(ds.path(s)) for s in shards]
    schemas = [_schema_of(s, p) for s, p in zip(shards, paths, strict=True)]
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise CorruptShard(f"shards of {table} do not share a schema: {e}") from None
    return pads.dataset(paths, schema=schema, format="parquet")


def _schema_of(shard: Shard, path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise CorruptShard(f"shard {shard.file} cannot be read: {e}") from None


def describe(root: Path | str, revision: int | None = None) -> list[tuple[str, int, str]]:
    """(table, rows, columns) for every table, rows from the manifest (no scan)."""
    ds = Dataset(root, revision)
    return [(t, ds.rows(t), ", ".join(schema_for(t).names)) for t in TABLES]
