"""`vidcot query` and `vidcot info`: views over exactly the listed shards, output formats, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchmarks.keyed_records import add_revision, keyed_records
from schemas.store import Dataset, DatasetWriter
from schemas.store.query import connect


def vidcot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )


@pytest.fixture
def two_revisions(dataset_dir: Path) -> Path:
    for vid in ("a" * 64, "b" * 64):
        add_revision(dataset_dir, vid)
    return dataset_dir


def test_views_see_exactly_the_listed_shards(two_revisions: Path) -> None:
    # A stray shard that the manifest does not list must be invisible.
    listed = Dataset(two_revisions).files("shots")[0]
    shutil.copy(listed, two_revisions / "shots" / "stray.parquet")
    con = connect(two_revisions)
    assert con.execute("SELECT count(*) FROM shots").fetchone() == (4,)
    assert con.execute("SELECT count(DISTINCT video_id) FROM videos").fetchone() == (2,)
    assert connect(two_revisions, revision=1).execute("SELECT count(*) FROM shots").fetchone() == (2,)


def test_empty_tables_are_queryable(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", keyed_records()["shots"])
        w.commit()
    con = connect(dataset_dir)
    assert con.execute("SELECT count(*) FROM sft").fetchone() == (0,)
    assert "messages" in [d[0] for d in con.execute("SELECT * FROM sft").description]


def test_query_formats_and_output(two_revisions: Path, tmp_path: Path) -> None:
    r = vidcot(
        "query",
        str(two_revisions),
        "SELECT video_id, count(*) AS n FROM shots GROUP BY 1 ORDER BY 1",
        "--format",
        "jsonl",
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows == [{"video_id": "a" * 64, "n": 2}, {"video_id": "b" * 64, "n": 2}]
    r = vidcot("query", str(two_revisions), "SELECT start FROM shots ORDER BY start", "--format", "csv")
    assert r.stdout.split() == ["start", "0.0", "0.0", "4.0", "4.0"]
    out = tmp_path / "res.parquet"
    r = vidcot("query", str(two_revisions), "SELECT * FROM frames", "--output", str(out))
    assert r.returncode == 0 and pq.read_table(out).num_rows == 2
    r = vidcot("query", str(two_revisions), "SELECT frame_id, jpeg FROM frames")
    assert r.returncode == 0 and "bytes>" in r.stdout


def test_listing_tables_without_sql(two_revisions: Path) -> None:
    r = vidcot("query", str(two_revisions))
    assert r.returncode == 0
    assert "rejects" in r.stdout and "video_id" in r.stdout


def test_bad_sql_is_one_clear_line_exit_2(two_revisions: Path) -> None:
    r = vidcot("query", str(two_revisions), "SELEC nonsense FROM shots")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "error" in r.stderr.lower()


def test_missing_dataset_is_one_clear_line_exit_2(tmp_path: Path) -> None:
    for cmd in (["query", str(tmp_path / "nope"), "SELECT 1"], ["info", str(tmp_path / "nope")]):
        r = vidcot(*cmd)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "no dataset" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_info_lists_revisions_and_verifies(two_revisions: Path) -> None:
    r = vidcot("info", str(two_revisions), "--json", "--verify")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["revision"] == 2 and len(doc["revisions"]) == 2
    manifest = json.loads((two_revisions / "manifest.json").read_text())
    assert doc["tables"]["shots"]["rows"] == 4 and doc["verified_shards"] == len(manifest["shards"])


def test_every_subcommand_has_help() -> None:
    from flows.cli import build_parser

    r = vidcot("--help")
    assert r.returncode == 0
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    names = list(sub.choices)  # type: ignore[arg-type]
    assert {"query", "info", "samples"} <= set(names)
    for name in names:
        h = vidcot(name, "--help")
        assert h.returncode == 0 and "usage: vidcot" in h.stdout, name
