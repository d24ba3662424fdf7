"""Superseded shards leave the table folders for `.history/TABLE/`: `load_dataset("parquet", data_dir=DS/TABLE)` on
the folders as they are reads the latest view (one row per key), older revisions read their shards where the
manifest now says they lie, and a writer killed anywhere in the move leaves a dataset that verifies and only unlisted
files, which the next writer removes (never a listed one).

Datasets are written with the store directly (real Parquet shards, a real manifest, DuckDB, `datasets`).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from benchmarks.keyed_records import keyed_records
from flows.cli import main as vidcot
from schemas import SCHEMA_VERSION, TABLES, Message, SftRecord, from_arrow
from schemas.store import CorruptShard, Dataset, DatasetWriter, StoreError
from schemas.store.atomic import sha256_file
from schemas.store.integrity import verify_dataset
from schemas.store.query import connect

A, B = "a" * 64, "b" * 64


def write(root: Path, records: dict[str, list[Any]]) -> int:
    with DatasetWriter(root) as w:
        for table, rows in records.items():
            w.append(table, rows)
        return w.commit()


def rewritten(sft: SftRecord, answer: str) -> SftRecord:
    """The same sample (same key) with another target."""
    msgs = [*sft.messages[:-1], Message("assistant", f"<think>again</think><answer>{answer}</answer>")]
    return dataclasses.replace(sft, messages=msgs)


def two_revisions(root: Path) -> tuple[list[SftRecord], list[SftRecord]]:
    """Revision 1: every table for videos A and B (one shard per table). Revision 2: A's SFT sample rewritten, which
    drops revision 1's sft shard (B's row survives in a new shard). Returns the sft rows of each, by sample id."""
    a, b = keyed_records(A), keyed_records(B)
    assert write(root, {t: a[t] + b[t] for t in TABLES}) == 1
    new = rewritten(a["sft"][0], "B")
    assert write(root, {"sft": [new]}) == 2
    return sorted(a["sft"] + b["sft"], key=key), sorted([new, *b["sft"]], key=key)


def key(r: SftRecord) -> str:
    return r.sample_id


def sft_rows(root: Path, revision: int | None = None) -> list[SftRecord]:
    return sorted(from_arrow("sft", Dataset(root, revision).read("sft")), key=key)


def load_folder(root: Path, table: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The table folder as Hugging Face `datasets` reads it, offline, into a fresh cache."""
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    loaded = datasets.load_dataset("parquet", data_dir=str(root / table), split="train", cache_dir=str(cache))
    return sorted(loaded.to_list(), key=lambda r: r["sample_id"])


def as_loaded(rows: list[SftRecord]) -> list[tuple[str, str]]:
    return [(r.sample_id, r.messages[-1].content) for r in rows]


def loaded(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["sample_id"], r["messages"][-1]["content"]) for r in rows]


def on_disk(root: Path) -> tuple[set[str], set[str]]:
    """Files in the table folders, and in the history folders."""
    tables = {p.relative_to(root).as_posix() for t in TABLES for p in (root / t).glob("*") if (root / t).is_dir()}
    history = {p.relative_to(root).as_posix() for p in root.glob(".history/*/*")}
    return tables, history


def listed(root: Path) -> tuple[set[str], set[str]]:
    """Shards of the latest view, and every other shard the manifest lists."""
    m = Dataset(root).manifest
    latest = {s.file for t in TABLES for s in m.shards_of(t)}
    return latest, {s.file for s in m.shards} - latest


def manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / "manifest.json").read_text())


def test_load_dataset_on_a_table_folder_reads_the_latest_rows_once(
    dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = two_revisions(dataset_dir)
    assert sft_rows(dataset_dir) == new and sft_rows(dataset_dir, 1) == old
    got = load_folder(dataset_dir, "sft", tmp_path / "hf", monkeypatch)
    assert loaded(got) == as_loaded(new)  # two rows, one per sample id, A's the rewritten one
    assert len({r["sample_id"] for r in got}) == len(got) == 2
    # Exactly the latest shards are in the table folders; the dropped one is in the history, checksum unchanged.
    assert on_disk(dataset_dir) == listed(dataset_dir)
    (gone,) = [s for s in manifest(dataset_dir)["shards"] if s["dropped"] is not None]
    assert gone["file"].startswith(".history/sft/") and gone["revision"] == 1 and gone["dropped"] == 2
    assert sha256_file(dataset_dir / gone["file"]) == gone["sha256"]
    assert Path(gone["file"]).name == gone["sha256"][:32] + ".parquet"
    # Revision 1 reads from there, through the CLI too, and the whole dataset verifies.
    assert vidcot(["query", str(dataset_dir), "SELECT sample_id, messages FROM sft ORDER BY 1", "--revision", "1",
                   "--format", "jsonl"]) == 0  # fmt: skip
    at_1 = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["sample_id"], r["messages"][-1]["content"]) for r in at_1] == as_loaded(old)
    assert vidcot(["info", str(dataset_dir), "--verify"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "every key is unique in each of 2 revisions" in out
    assert verify_dataset(dataset_dir).ok and verify_dataset(dataset_dir).notes == []


def test_only_an_old_revision_may_read_history_shards(dataset_dir: Path) -> None:
    two_revisions(dataset_dir)
    (gone,) = [s for s in Dataset(dataset_dir).manifest.shards if s.dropped is not None]
    path = dataset_dir / gone.file
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        connect(dataset_dir).execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    con = connect(dataset_dir, revision=1)
    # Revision 1 reads its history shard through its views; SQL opens no path at all (schemas/store/query.py).
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    assert con.execute("SELECT count(*) FROM sft").fetchall() == [(2,)]
    # Revision 1 may read its own shards only: not those revision 2 wrote in their place (new and surviving rows).
    now, then = (Dataset(dataset_dir, rev).shards("sft") for rev in (None, 1))
    later = {s.file for s in now} - {s.file for s in then}
    assert len(later) == 2
    for file in later:
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute(f"SELECT count(*) FROM read_parquet('{dataset_dir / file}')").fetchall()


KILLED_BEFORE_UNLINK = textwrap.dedent(
    """
    import dataclasses, os, signal, sys
    from pathlib import Path
    from schemas import TABLES
    from schemas.store import DatasetWriter
    from benchmarks.keyed_records import keyed_records

    root = Path(sys.argv[1]).resolve()
    real_unlink = os.unlink

    def unlink(path, *args, **kw):
        # The first file removed from a table folder is the superseded shard: its manifest is committed by now.
        p = Path(path).resolve()
        if p.parent.parent == root and p.parent.name in TABLES:
            print("UNLINK", p.relative_to(root).as_posix(), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return real_unlink(path, *args, **kw)

    os.unlink = unlink
    sft = keyed_records("a" * 64)["sft"][0]
    last = dataclasses.replace(sft.messages[-1], content="<think>again</think><answer>B</answer>")
    sft = dataclasses.replace(sft, messages=[*sft.messages[:-1], last])
    with DatasetWriter(root) as w:
        w.append("sft", [sft])
        w.commit()
    """
)


@pytest.mark.skip(reason="the old layout's step: a table folder is now a link switched in one rename, and nothing is "
                  "unlinked from it (tests/test_integrity_publish.py kills the writer at every step instead)")
def test_sigkill_between_the_manifest_and_the_unlink_leaves_a_dataset_that_verifies(
    dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = keyed_records(A), keyed_records(B)
    write(dataset_dir, {t: a[t] + b[t] for t in TABLES})
    old = sft_rows(dataset_dir)
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_UNLINK, str(dataset_dir)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    (line,) = proc.stdout.splitlines()
    left = line.split()[1]
    # Revision 2 is published and lists the shard in the history; the old path is an unlisted leftover.
    doc = manifest(dataset_dir)
    assert doc["revision"] == 2
    assert left not in {s["file"] for s in doc["shards"]} and f".history/{left}" in {s["file"] for s in doc["shards"]}
    assert (dataset_dir / left).is_file()
    new = sorted([rewritten(a["sft"][0], "B"), *b["sft"]], key=key)
    assert sft_rows(dataset_dir) == new and sft_rows(dataset_dir, 1) == old
    verdict = verify_dataset(dataset_dir)
    assert verdict.ok, verdict.problems
    # The next writer removes the leftover (and nothing listed); then the folder reads the latest rows once.
    with DatasetWriter(dataset_dir):
        pass
    assert not (dataset_dir / left).exists()
    assert on_disk(dataset_dir) == listed(dataset_dir)
    assert loaded(load_folder(dataset_dir, "sft", tmp_path / "hf", monkeypatch)) == as_loaded(new)
    assert verify_dataset(dataset_dir).ok and sft_rows(dataset_dir, 1) == old


@pytest.mark.skip(reason="the old layout's step: a table folder is now a link switched in one rename, and nothing is "
                  "unlinked from it (tests/test_integrity_publish.py kills the writer at every step instead)")
def test_an_unlink_that_fails_after_the_commit_still_publishes_the_revision(
    dataset_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = keyed_records(A), keyed_records(B)
    write(dataset_dir, {t: a[t] + b[t] for t in TABLES})
    real_unlink = os.unlink
    root = dataset_dir.resolve()

    def unlink(path: Any, *args: Any, **kw: Any) -> None:
        if Path(path).resolve().parent == root / "sft":
            raise OSError(errno.EIO, "Input/output error")
        real_unlink(path, *args, **kw)

    with DatasetWriter(dataset_dir) as w:
        w.append("sft", [rewritten(a["sft"][0], "B")])
        monkeypatch.setattr(os, "unlink", unlink)
        assert w.commit() == 2  # not "nothing was published": the manifest is in place
        monkeypatch.setattr(os, "unlink", real_unlink)
    assert "the next write removes it" in caplog.text
    tables, _ = on_disk(dataset_dir)
    latest, _ = listed(dataset_dir)
    assert len(tables - latest) == 1 and verify_dataset(dataset_dir).ok
    with DatasetWriter(dataset_dir):
        pass
    assert on_disk(dataset_dir) == listed(dataset_dir)


def test_a_writer_that_fails_before_the_commit_leaves_only_unlisted_links(
    dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemas.store.writer as writer_module

    a, b = keyed_records(A), keyed_records(B)
    write(dataset_dir, {t: a[t] + b[t] for t in TABLES})
    before = (dataset_dir / "manifest.json").read_bytes()
    old = sft_rows(dataset_dir)

    def full(*_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer_module, "save_manifest", full)
    with pytest.raises(StoreError, match="nothing was published"), DatasetWriter(dataset_dir) as w:
        w.append("sft", [rewritten(a["sft"][0], "B")])
        w.commit()
    monkeypatch.undo()
    assert (dataset_dir / "manifest.json").read_bytes() == before
    _, history = on_disk(dataset_dir)
    assert history and not listed(dataset_dir)[1]  # linked into the history, but not listed there
    assert sft_rows(dataset_dir) == old and verify_dataset(dataset_dir).ok
    with DatasetWriter(dataset_dir) as w:
        assert on_disk(dataset_dir) == listed(dataset_dir) == (listed(dataset_dir)[0], set())
        w.append("sft", [rewritten(a["sft"][0], "B")])
        assert w.commit() == 2
    assert on_disk(dataset_dir) == listed(dataset_dir) and sft_rows(dataset_dir, 1) == old


def test_rows_that_come_back_keep_every_listed_file(dataset_dir: Path) -> None:
    """A/B/A/B: the shard of revision 3 has the bytes of revision 1's, dropped at 2 and now in the history; the same
    name is listed in both folders, and neither the move nor the clean-up may remove a listed file."""
    recs = keyed_records(A)
    first = recs["sft"]
    second = [rewritten(first[0], "B")]
    for i, rows in enumerate([first, second, first, second, first], start=1):
        assert write(dataset_dir, {**recs, "sft": rows} if i == 1 else {"sft": rows}) == i
        with DatasetWriter(dataset_dir):  # the clean-up a next writer does
            pass
        assert on_disk(dataset_dir) == listed(dataset_dir)
        assert verify_dataset(dataset_dir).ok
    for rev in range(1, 6):
        assert sft_rows(dataset_dir, rev) == (first if rev % 2 else second), rev
    m = Dataset(dataset_dir).manifest
    names = [Path(s.file).name for s in m.shards if s.table == "sft"]
    assert len(names) == 5 and len(set(names)) == 2  # the same two shards, each listed again as its rows come back
    assert {s.file for s in m.shards_of("sft")} == {f"sft/{names[0]}"}


def test_shards_a_previous_store_dropped_in_place_move_on_the_next_write(dataset_dir: Path) -> None:
    old, new = two_revisions(dataset_dir)
    # As the store before the history folder wrote it: the dropped shard still in the table folder.
    doc = manifest(dataset_dir)
    for s in doc["shards"]:
        if s["file"].startswith(".history/"):
            s["file"] = s["file"].removeprefix(".history/")
            (dataset_dir / ".history" / s["file"]).rename(dataset_dir / s["file"])
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    assert sft_rows(dataset_dir, 1) == old and sft_rows(dataset_dir) == new and verify_dataset(dataset_dir).ok
    b = keyed_records(B)
    newer = rewritten(b["sft"][0], "C")
    assert write(dataset_dir, {"sft": [newer]}) == 3
    assert on_disk(dataset_dir) == listed(dataset_dir)
    assert all(s.in_history for s in Dataset(dataset_dir).manifest.shards if s.dropped is not None)
    assert sft_rows(dataset_dir, 1) == old and sft_rows(dataset_dir, 2) == new
    assert sft_rows(dataset_dir) == sorted([new[0], newer], key=key) and verify_dataset(dataset_dir).ok


@pytest.mark.parametrize("dropped", [None, 2])
def test_a_history_path_is_refused_unless_the_shard_was_dropped(dataset_dir: Path, dropped: int | None) -> None:
    two_revisions(dataset_dir)
    doc = manifest(dataset_dir)
    live = next(s for s in doc["shards"] if s["dropped"] is None and s["table"] == "shots")
    live["file"] = f".history/{live['file']}"
    live["dropped"] = dropped
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    if dropped is None:  # a live shard out of its table folder: load_dataset would miss it
        with pytest.raises(StoreError, match="not a shard file inside the dataset"):
            Dataset(dataset_dir)
    else:  # well formed, but the file is not there: verification names it
        with pytest.raises(CorruptShard, match=live["file"]):
            verify_dataset(dataset_dir)


def test_a_newer_manifest_is_a_one_line_error_and_an_older_one_is_written_as_this_version(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_revisions(dataset_dir)
    doc = manifest(dataset_dir)
    doc["schema_version"] = SCHEMA_VERSION - 1
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    assert sft_rows(dataset_dir, 1)  # an older manifest reads; written again, it says what wrote it
    write(dataset_dir, {"sft": [rewritten(keyed_records(B)["sft"][0], "C")]})
    assert manifest(dataset_dir)["schema_version"] == SCHEMA_VERSION
    doc = manifest(dataset_dir)
    doc["schema_version"] = SCHEMA_VERSION + 1
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    for argv in (["info", str(dataset_dir), "--verify"], ["query", str(dataset_dir), "SELECT 1", "--revision", "1"]):
        assert vidcot(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"dataset written by a newer vidcot: {dataset_dir / 'manifest.json'} has schema version " in err
        assert f"{SCHEMA_VERSION + 1}" in err and "upgrade vidcot" in err
    doc["schema_version"] = "2"
    (dataset_dir / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="no valid schema_version"):
        Dataset(dataset_dir)
