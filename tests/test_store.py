"""The dataset store: round trips, revisions, atomicity under SIGKILL, the writer lock, checksums."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from benchmarks.records import sample_records
from schemas import SCHEMA_VERSION, TABLES, from_arrow
from schemas.store import (
    CorruptShard,
    Dataset,
    DatasetLocked,
    DatasetNotFound,
    DatasetWriter,
    SchemaVersionError,
)


def test_every_table_round_trips(dataset_dir: Path) -> None:
    recs = sample_records()
    assert set(recs) == set(TABLES)
    with DatasetWriter(dataset_dir) as w:
        for table, rows in recs.items():
            w.append(table, rows)
        assert w.commit(config={"k": 1}) == 1
    ds = Dataset(dataset_dir)
    for table, rows in recs.items():
        assert from_arrow(table, ds.read(table)) == rows, table
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["revisions"][0]["config"] == {"k": 1}
    shard = manifest["shards"][0]
    assert shard["rows"] >= 1 and len(shard["sha256"]) == 64
    assert Path(dataset_dir / shard["file"]).name == shard["sha256"][:32] + ".parquet"


def test_load_dataset_reads_table_folders_as_they_are(dataset_dir: Path) -> None:
    import datasets

    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records()["shots"])
        w.commit()
    ds = datasets.load_dataset("parquet", data_dir=str(dataset_dir / "shots"), split="train")
    assert sorted(ds["start"]) == [0.0, 4.0]


def test_new_run_is_new_revision_and_old_revision_stays_readable(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records("a" * 64)["shots"])
        w.commit()
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records("b" * 64)["shots"])
        assert w.commit() == 2
    assert Dataset(dataset_dir).rows("shots") == 4
    assert Dataset(dataset_dir, revision=1).read("shots").column("video_id").to_pylist() == ["a" * 64] * 2


def test_identical_shard_is_not_listed_twice(dataset_dir: Path) -> None:
    for _ in range(2):
        with DatasetWriter(dataset_dir) as w:
            w.append("shots", sample_records()["shots"])
            w.commit()
    assert Dataset(dataset_dir).rows("shots") == 2


def test_schema_mismatch_is_a_clear_error(dataset_dir: Path) -> None:
    from schemas.store import StoreError

    with DatasetWriter(dataset_dir) as w, pytest.raises(StoreError, match="shots"):
        w.append("shots", pa.table({"nope": [1]}))


def _hold_lock(root: str, ready: Any, release: Any) -> None:  # multiprocessing Events of a fork context
    with DatasetWriter(root):
        ready.set()
        release.wait(30)


def test_second_writer_gets_lock_error_naming_holder(dataset_dir: Path) -> None:
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold_lock, args=(str(dataset_dir), ready, release))
    p.start()
    try:
        assert ready.wait(20)
        with pytest.raises(DatasetLocked, match=rf"pid {p.pid}"):
            DatasetWriter(dataset_dir).open()
    finally:
        release.set()
        p.join(10)
    with DatasetWriter(dataset_dir):  # released when the holder exits
        pass


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    import pyarrow.parquet as pq
    from schemas.store import DatasetWriter
    from benchmarks.records import sample_records

    root = sys.argv[1]
    with DatasetWriter(root) as w:
        w.append("shots", sample_records("b" * 64)["shots"])
        def slow_write(data, where, table):
            # Write half a file, flush it, then hang: the parent SIGKILLs us mid-shard.
            with open(where, "wb") as fh:
                fh.write(b"PAR1" + b"x" * 1000)
                fh.flush()
            print("MIDSHARD", flush=True)
            time.sleep(60)
        DatasetWriter._write_shard = staticmethod(slow_write)
        w.append("words", sample_records("b" * 64)["words"])
        w.commit()
    """
)


def test_sigkill_mid_shard_leaves_previous_revision_and_no_partial_shard(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records("a" * 64)["shots"])
        w.commit()
    before = (dataset_dir / "manifest.json").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(dataset_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "MIDSHARD"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert (dataset_dir / "manifest.json").read_bytes() == before
    ds = Dataset(dataset_dir)
    assert ds.read("shots").column("video_id").to_pylist() == ["a" * 64] * 2
    assert ds.rows("words") == 0
    visible = sorted(p.relative_to(dataset_dir).as_posix() for p in dataset_dir.glob("[a-z]*/*.parquet"))
    assert visible == [s.file for s in ds.shards("shots")]
    # The next writer cleans up after the killed one and can write again.
    with DatasetWriter(dataset_dir) as w:
        assert not (dataset_dir / ".staging").exists()
        w.append("words", sample_records("b" * 64)["words"])
        assert w.commit() == 2


def test_flipped_bytes_are_caught_by_checksum(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records()["shots"])
        w.commit()
    shard = Dataset(dataset_dir).shards("shots")[0]
    path = dataset_dir / shard.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptShard, match=shard.file):
        Dataset(dataset_dir).read("shots")


def test_newer_schema_version_is_refused(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("shots", sample_records()["shots"])
        w.commit()
    doc = json.loads((dataset_dir / "manifest.json").read_text())
    doc["schema_version"] = SCHEMA_VERSION + 1
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(SchemaVersionError, match=f"dataset written by a newer vidcot.*{SCHEMA_VERSION + 1}.*upgrade"):
        Dataset(dataset_dir)


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound, match="no dataset"):
        Dataset(tmp_path / "nothing")


def test_lock_released_after_sigkill(dataset_dir: Path) -> None:
    code = (
        "import sys, time; from schemas.store import DatasetWriter; "
        "w = DatasetWriter(sys.argv[1]); w.open(); print('L', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(dataset_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "L"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    start = time.monotonic()
    with DatasetWriter(dataset_dir):
        pass
    assert time.monotonic() - start < 5


KILLED_SUPERSEDING_WRITER = textwrap.dedent(
    """
    import dataclasses, sys, time
    import schemas.store.writer as writer_module
    from schemas.store import DatasetWriter
    from benchmarks.keyed_records import keyed_records

    root = sys.argv[1]
    def hang(*args, **kw):
        # New shards and the survivors of superseded ones are in place; the manifest is not replaced yet.
        print("BEFORE_MANIFEST", flush=True)
        time.sleep(60)
    writer_module.save_manifest = hang
    recs = keyed_records("a" * 64)
    with DatasetWriter(root) as w:
        w.replace("shots", [dataclasses.replace(s, end=s.end + 1) for s in recs["shots"]], ["a" * 64])
        w.commit()
    """
)


def test_sigkill_while_superseding_leaves_the_previous_revision_whole(dataset_dir: Path) -> None:
    import dataclasses

    from benchmarks.keyed_records import keyed_records
    from schemas.store.integrity import verify_dataset

    recs = keyed_records("a" * 64)
    with DatasetWriter(dataset_dir) as w:
        for table, rows in recs.items():
            w.append(table, rows)
        w.commit()
    before = (dataset_dir / "manifest.json").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SUPERSEDING_WRITER, str(dataset_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "BEFORE_MANIFEST"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert (dataset_dir / "manifest.json").read_bytes() == before
    assert from_arrow("shots", Dataset(dataset_dir).read("shots")) == recs["shots"]
    assert Dataset(dataset_dir).rows("tasks") == 1 and verify_dataset(dataset_dir).ok
    # The run again, not killed: one row per shot, its derived rows gone, revision 1 as it was.
    moved = [dataclasses.replace(s, end=s.end + 1) for s in recs["shots"]]
    with DatasetWriter(dataset_dir) as w:
        w.replace("shots", moved, ["a" * 64])
        assert w.commit() == 2
    assert from_arrow("shots", Dataset(dataset_dir).read("shots")) == moved
    assert Dataset(dataset_dir).rows("frames") == 0 and Dataset(dataset_dir, 1).rows("frames") == 1
    # The table folders hold the latest view; the superseded shards lie in the history folder, as listed.
    m = Dataset(dataset_dir).manifest
    latest = {s.file for t in TABLES for s in m.shards_of(t)}
    assert {p.relative_to(dataset_dir).as_posix() for p in dataset_dir.glob("[a-z]*/*.parquet")} == latest
    history = {p.relative_to(dataset_dir).as_posix() for p in dataset_dir.glob(".history/*/*")}
    assert history == {s.file for s in m.shards} - latest and history
    assert verify_dataset(dataset_dir).ok
