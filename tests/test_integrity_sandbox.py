"""The query sandbox writes nothing: every write-shaped statement a user could aim at a shard leaves its bytes as
they were (the shard paths used to be open to DuckDB for reading, and so to `COPY … TO` with `USE_TMP_FILE false`).
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import duckdb
import pytest

from benchmarks.keyed_records import add_revision
from flows.cli import main as vidcot
from schemas import TABLES
from schemas.store import Dataset
from schemas.store.query import connect

# Every way of writing a file that DuckDB's SQL offers, each aimed at `{p}` (a shard's path) or its folder `{d}`.
WRITES = [
    "COPY (SELECT 1 AS x) TO '{p}' (FORMAT parquet, USE_TMP_FILE false)",
    "COPY (SELECT 1 AS x) TO '{p}' (FORMAT parquet, USE_TMP_FILE true)",
    "COPY (SELECT 1 AS x) TO '{p}' (FORMAT csv, USE_TMP_FILE false)",
    "COPY (SELECT 1 AS x) TO '{p}' (FORMAT json, USE_TMP_FILE 0)",
    "COPY (SELECT 1 AS x) TO '{p}' (FORMAT parquet, USE_TMP_FILE false, OVERWRITE true)",
    "COPY (SELECT 1 AS x) TO '{d}' (FORMAT parquet, OVERWRITE_OR_IGNORE true, PER_THREAD_OUTPUT true)",
    "COPY (SELECT 1 AS x) TO '{d}' (FORMAT parquet, PARTITION_BY (x), OVERWRITE true)",
    "COPY {t} TO '{p}' (FORMAT parquet, USE_TMP_FILE false)",
    "CREATE TABLE w AS SELECT 1 AS x; COPY w TO '{p}' (USE_TMP_FILE false)",
    "EXPORT DATABASE '{d}' (FORMAT parquet)",
    "ATTACH '{p}' AS db",
    "ATTACH '{p}' AS db (READ_ONLY false); CREATE TABLE db.t AS SELECT 1",
    "ATTACH '{p}' (TYPE sqlite)",
    "PRAGMA enable_profiling='json'; PRAGMA profiling_output='{p}'; SELECT 1",
    "SET profiling_output = '{p}'",
    "SET allowed_paths = ['{p}']",
    "SET enable_external_access = true; COPY (SELECT 1) TO '{p}' (USE_TMP_FILE false)",
    "SET lock_configuration = false",
    "SET temp_directory = '{d}'",
    "PRAGMA memory_limit='1MB'; SET temp_directory='{d}'",
    "CHECKPOINT",
    "INSTALL sqlite; LOAD sqlite",
]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox_fuzz") / "ds"
    for vid in ("a" * 64, "b" * 64):
        add_revision(root, vid)
    return root


def test_no_write_statement_changes_any_shard(ds: Path) -> None:
    """Every statement of WRITES against every shard path (listed and historic) of every table: each is refused,
    and every file of the dataset keeps its bytes."""
    before = _digests(ds)
    m = Dataset(ds).manifest
    targets = sorted({s.file: s.table for s in m.shards}.items())
    assert len(targets) >= len(TABLES)
    tried = refused = 0
    con = connect(ds)
    try:
        for (file, table), template in itertools.product(targets, WRITES):
            path = ds / file
            sql = template.format(p=path, d=path.parent, t=table)
            tried += 1
            try:
                con.execute(sql)
            except duckdb.Error:
                refused += 1
                continue
            finally:
                con.execute("DROP TABLE IF EXISTS w")
            assert "SELECT 1" in sql or "CHECKPOINT" in sql, f"accepted: {sql}"
    finally:
        con.close()
    assert _digests(ds) == before
    assert refused >= tried - len(targets) * 2  # only the in-memory-harmless ones may run
    assert Dataset(ds).verify() == len([s for t in TABLES for s in Dataset(ds).shards(t)])


def test_the_reported_overwrite_is_refused_by_the_cli(ds: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shard = Dataset(ds).shards("sft")[0].file
    before = (ds / shard).read_bytes()
    sql = f"COPY (SELECT 1 AS x) TO '{ds / shard}' (FORMAT parquet, USE_TMP_FILE false)"
    assert vidcot(["query", str(ds), sql]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disabled by configuration" in err, err
    assert (ds / shard).read_bytes() == before
