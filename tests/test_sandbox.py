"""The DuckDB connection behind query, browse, cards and trainers reads the dataset's listed shards and nothing else.

Each hostile statement a user could type into `vidcot query` is refused with one line and exit 2, leaves every file
of the dataset as it was, and the dataset still opens and verifies.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from benchmarks.keyed_records import add_revision
from flows.cli import main as vidcot
from schemas.store import Dataset
from schemas.store.integrity import verify_dataset
from schemas.store.query import connect


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two revisions, shared by the tests here: none of them may change a file of it (each checks)."""
    dataset_dir = tmp_path_factory.mktemp("sandbox") / "ds"
    for vid in ("a" * 64, "b" * 64):
        add_revision(dataset_dir, vid)
    return dataset_dir


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def hostile(root: Path, outside: Path) -> dict[str, str]:
    shard = Dataset(root).shards("sft")[0].file
    return {
        "copy over the manifest": f"COPY (SELECT 'x') TO '{root}/manifest.json'",
        "copy into a shard folder": f"COPY (SELECT * FROM sft) TO '{root}/sft/evil.parquet' (FORMAT parquet)",
        "copy over a shard": f"COPY (SELECT * FROM sft) TO '{root}/{shard}' (FORMAT parquet)",
        "copy outside": f"COPY (SELECT 1) TO '{outside}/x.csv'",
        "read another file": "SELECT * FROM read_csv('/etc/passwd')",
        "read the manifest": f"SELECT * FROM read_text('{root}/manifest.json')",
        "list files": "SELECT * FROM glob('/etc/*')",
        "attach a database": f"ATTACH '{root}/x.duckdb' AS x",
        "create a table on disk": f"ATTACH '{outside}/y.duckdb' AS y; CREATE TABLE y.t AS SELECT 1",
        "export the database": f"EXPORT DATABASE '{root}/export'",
        "install an extension": "INSTALL httpfs",
        "load an extension": "LOAD httpfs",
        "read a URL": "SELECT * FROM read_parquet('https://example.com/x.parquet')",
        "unlock external access": "SET enable_external_access = true",
        "widen the allowed paths": "SET allowed_directories = ['/']",
        "spill to a folder": f"SET temp_directory = '{root}/tmp'",
    }


@pytest.mark.parametrize(
    "case",
    [
        "copy over the manifest",
        "copy into a shard folder",
        "copy over a shard",
        "copy outside",
        "read another file",
        "read the manifest",
        "list files",
        "attach a database",
        "create a table on disk",
        "export the database",
        "install an extension",
        "load an extension",
        "read a URL",
        "unlock external access",
        "widen the allowed paths",
        "spill to a folder",
    ],
)
def test_hostile_query_is_one_line_exit_2_and_changes_nothing(
    ds: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sql = hostile(ds, outside)[case]
    before = files_of(ds)
    assert vidcot(["query", str(ds), sql]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("vidcot query: error:"), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert files_of(ds) == before
    assert list(outside.iterdir()) == []
    assert verify_dataset(ds).ok
    assert vidcot(["query", str(ds), "SELECT count(*) AS n FROM sft", "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out) == {"n": 2}


def test_views_read_the_shards_but_no_path_is_open_to_sql(ds: Path) -> None:
    con = connect(ds)
    shard = Dataset(ds).shards("shots")[0].file
    assert con.execute("SELECT count(*) FROM shots").fetchall() == [(4,)]
    # Not even a listed shard by its path: a path open to reading would be open to `COPY … TO` as well.
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        con.execute(f"SELECT count(*) FROM read_parquet('{ds / shard}')").fetchall()
    # A stray file in a table folder is not part of the dataset.
    stray = ds / "shots" / "stray.parquet"
    stray.write_bytes((ds / shard).read_bytes())
    try:
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute(f"SELECT count(*) FROM read_parquet('{stray}')").fetchall()
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute(f"SELECT count(*) FROM read_parquet('{ds}/shots/*.parquet')").fetchall()
    finally:
        stray.unlink()
    # In-memory work is fine: it touches no file.
    con.execute("CREATE TABLE scratch AS SELECT video_id FROM shots")
    assert con.execute("SELECT count(*) FROM scratch").fetchall() == [(4,)]


def test_an_older_revision_cannot_read_shards_of_a_later_one(ds: Path) -> None:
    later = {s.file for s in Dataset(ds).shards("shots")} - {s.file for s in Dataset(ds, 1).shards("shots")}
    con = connect(ds, revision=1)
    assert con.execute("SELECT count(*) FROM shots").fetchall() == [(2,)]
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        con.execute(f"SELECT * FROM read_parquet('{ds / later.pop()}')").fetchall()


def test_settings_are_locked(ds: Path) -> None:
    con = connect(ds)
    for sql in ("SET enable_external_access = true", "RESET enable_external_access", "SET lock_configuration = false"):
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute(sql)
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "lock_configuration": "true",
    }
